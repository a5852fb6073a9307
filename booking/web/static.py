"""/static: fingerprinted addresses are cached for a year, plain ones briefly."""

from __future__ import annotations

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from booking import static_assets

PINNED_CACHE = "public, max-age=31536000, immutable"
PLAIN_CACHE = "public, max-age=300"


class FingerprintedFiles(StaticFiles):
    """StaticFiles that also answers `css/site.<digest>.css` with `css/site.css`."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        real, pinned = static_assets.resolve(path)
        response = await super().get_response(real, scope)
        if response.status_code in (200, 304):
            response.headers["Cache-Control"] = PINNED_CACHE if pinned else PLAIN_CACHE
        return response
