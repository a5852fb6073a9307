"""The package's layers point one way: the web package may use everything below it, but the
domain, the jobs and the mail never reach up into `booking.web`."""

from __future__ import annotations

import ast
from pathlib import Path

import booking

ROOT = Path(booking.__file__).parent
# The application's assembly and entry points are the only modules outside `booking/web/`
# that wire the web layer in.
ENTRY_POINTS = {"app.py", "asgi.py", "cli.py", "__main__.py"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_nothing_below_the_web_layer_imports_it() -> None:
    offenders = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] == "web" or str(relative) in ENTRY_POINTS:
            continue
        reaching_up = sorted(
            name for name in imported_modules(path) if name.startswith("booking.web")
        )
        if reaching_up:
            offenders[str(relative)] = reaching_up
    assert offenders == {}


def test_the_check_sees_an_import_of_the_web_layer(tmp_path: Path) -> None:
    module = tmp_path / "jobs.py"
    module.write_text("from booking.web.services import Services\nimport booking.web.public\n")
    assert {"booking.web.services.Services", "booking.web.public"} <= imported_modules(module)
