"""Signing in and out, and the guard that every back-office and door route sits behind.

The signed session cookie carries a random login token; the database keeps its hash, so
any process can check it and signing out ends it everywhere. The token changes at every
sign-in (with the CSRF token), and attempts are throttled as booking.domain.login describes.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from booking.domain import accounts, login
from booking.models import Role, User
from booking.web.security import safe_next
from booking.web.services import render, services

SESSION_KEY = "login"


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def current_user(request: Request) -> User | None:
    """The signed-in user, looked up once per request."""
    if "user" in request.scope:
        known: User | None = request.scope["user"]
        return known
    token = request.session.get(SESSION_KEY)
    user = None
    if isinstance(token, str):
        svc = services(request)
        user = await svc.read(accounts.user_for_session, token=token, now=svc.now())
    request.scope["user"] = user
    return user


class RequireRole:
    """ASGI guard for a Mount: signed-out users go to sign in (and come back); users
    without one of `roles` get 403."""

    def __init__(self, app: ASGIApp, *, roles: Iterable[Role], api: bool = False) -> None:
        self.app = app
        self.roles = set(roles)
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        user = await current_user(request)
        if self.api and (user is None or user.role not in self.roles):
            status = 401 if user is None else 403
            message = "Sign in first" if user is None else "Your account cannot do this"
            response: Response = JSONResponse({"error": "forbidden", "message": message}, status)
        elif user is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            url = request.url_for("sign_in").include_query_params(next=target)
            response = RedirectResponse(str(url.path) + "?" + url.query, 303)
        elif user.role not in self.roles:
            response = render(
                request,
                "errors/error.html",
                {"status": 403, "detail": "You do not have access to this page"},
                status_code=403,
            )
        else:
            await self.app(scope, receive, _no_store(send))
            return
        await response(scope, receive, send)


def _no_store(send: Send) -> Send:
    """Signed-in pages stay out of every cache (the browser's back button, shared proxies),
    unless one says otherwise itself (the door's revalidated ticket list)."""

    async def sender(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            if not any(k.lower() == b"cache-control" for k, _ in headers):
                headers.append((b"cache-control", b"no-store"))
            message["headers"] = headers
        await send(message)

    return sender


async def sign_in(request: Request) -> Response:
    svc = services(request)
    next_url = safe_next(request.query_params.get("next"), "/admin")
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        form = await request.form()
        values = {"email": str(form.get("email", "")).strip()[:254]}
        next_url = safe_next(str(form.get("next", "")), "/admin")
        password = str(form.get("password", ""))
        attempt = login.Attempt(
            email=accounts.normalise_email(values["email"]), address=client_address(request)
        )
        if not values["email"]:
            errors["email"] = "Enter your email address"
        if not password:
            errors["password"] = "Enter your password"  # noqa: S105 (a message)
        if not errors:
            # The attempt is counted before the password is checked (see domain.login).
            admitted = await svc.write(login.admit, attempt=attempt, now=svc.now())
            if not admitted:
                errors["email"] = "Too many failed attempts. Wait 15 minutes and try again"
                status = 429
            else:
                user = await svc.read(accounts.authenticate, email=attempt.email, password=password)
                await svc.write(
                    login.settle, attempt=attempt, succeeded=user is not None, now=svc.now()
                )
                if user is None:
                    errors["email"] = "Enter the email address and password for your account"
                    status = 400
                else:
                    token = await svc.write(
                        accounts.start_session,
                        user=user,
                        now=svc.now(),
                        address=attempt.address,
                        user_agent=request.headers.get("user-agent", ""),
                    )
                    request.session.clear()  # a new session id and CSRF token at sign-in
                    request.session[SESSION_KEY] = token
                    home = "/door" if user.role == Role.STAFF and next_url == "/admin" else next_url
                    return RedirectResponse(home, 303)
        if errors and status == 200:
            status = 400
    return render(
        request,
        "admin/sign_in.html",
        {"values": values, "errors": errors, "next": next_url},
        status_code=status,
    )


async def sign_out(request: Request) -> Response:
    svc = services(request)
    token = request.session.get(SESSION_KEY)
    if isinstance(token, str):
        await svc.write(accounts.end_session, token=token)
    request.session.clear()
    return RedirectResponse(request.url_for("sign_in").path + "?signed_out=1", 303)


routes = [
    Route("/sign-in", sign_in, methods=["GET", "POST"], name="sign_in"),
    Route("/sign-out", sign_out, methods=["POST"], name="sign_out"),
]
