"""What every handler reaches through `request.app.state`: the services, and rendering a page."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from booking.runtime import Services


def services(request: Request) -> Services:
    svc: Services = request.app.state.services
    return svc


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    from booking import branding
    from booking.web.security import LazyToken

    svc = services(request)
    ctx = {
        "settings": svc.settings,
        "brand": branding.current(svc),
        "now": svc.now(),
        "csrf_token": LazyToken(request) if "session" in request.scope else "",
        **(context or {}),
    }
    return svc.templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=headers
    )


def absolute_url(request: Request, path: str) -> str:
    return services(request).settings.base_url.rstrip("/") + path


__all__ = ["Services", "absolute_url", "render", "services"]
