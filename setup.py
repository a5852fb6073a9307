"""Build hook (the project's metadata is in pyproject.toml): a built wheel carries the
top-level `templates/` and `static/` (with `static/vendor/`, made by `npm ci`) as
`booking/templates` and `booking/static`, so an installed copy serves every page. An editable
install finds them in the repository instead (`booking.settings.resource_dir`)."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
FOLDERS = ("templates", "static")


class BuildPy(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return
        if not (ROOT / "static" / "vendor").is_dir():
            raise SystemExit("static/vendor/ is missing: run `npm ci` before building the package")
        for name in FOLDERS:
            shutil.copytree(
                ROOT / name,
                Path(self.build_lib) / "booking" / name,
                ignore=shutil.ignore_patterns(".*", "__pycache__"),
                dirs_exist_ok=True,
            )


setup(cmdclass={"build_py": BuildPy})
