"""Back office: the accounts that can sign in, invitations, deactivation; and the public
/invitation/{token} page where an invited person sets their password (once)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import accounts, inputs, users
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.tickets import derive_key
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.services import render, services


async def user_list(request: Request) -> Response:
    svc = services(request)
    listing = await svc.read(users.overview, now=svc.now())
    me = await actor(request)
    return page(request, "admin/users.html", {"accounts": listing, "me": me})


async def invite(request: Request) -> Response:
    svc = services(request)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = values_of(await request.form())
        found = inputs.Errors()
        email = found.take(
            "email", lambda: inputs.email(values.get("email"), missing="Enter their email address")
        )
        role = found.take("role", lambda: _role(values.get("role", "")))
        errors = dict(found)
        if not errors and email and role:
            try:
                await svc.write(
                    accounts.invite,
                    email=email,
                    role=role,
                    invited_by=await actor(request),
                    now=svc.now(),
                    key=derive_key(svc.settings.secret_key, "invitations"),
                )
            except InvalidInput as exc:
                errors = exc.errors
            except Conflict as exc:
                errors = {"email": exc.message}
            else:
                flash(request, f"Invitation sent to {email}. The link works once, for 7 days.")
                return redirect(request, "admin_users")
    context = {"values": values, "errors": errors}
    return page(request, "admin/invite.html", context, status=400 if errors else 200)


def _role(raw: str) -> Any:
    try:
        return users.read_role(raw)
    except InvalidInput as exc:
        raise ValueError(exc.errors["role"]) from None


async def deactivate(request: Request) -> Response:
    return await _set_active(request, users.deactivate, "can no longer sign in")


async def reactivate(request: Request) -> Response:
    return await _set_active(request, users.reactivate, "can sign in again")


async def _set_active(request: Request, change: Any, words: str) -> Response:
    svc = services(request)
    try:
        user = await svc.write(
            change, user_id=path_id(request, "user_id"), actor=await actor(request), now=svc.now()
        )
    except NotFound:
        raise HTTPException(404) from None
    except Conflict as exc:
        flash(request, exc.message)
    else:
        flash(request, f"{user.email} {words}.")
    return redirect(request, "admin_users")


async def accept(request: Request) -> Response:
    """The invited person chooses a password; the link then stops working."""
    svc = services(request)
    token = str(request.path_params["token"])[:100]
    try:
        invitation = await svc.read(accounts.pending_invitation, token=token, now=svc.now())
    except NotFound:
        return render(
            request,
            "admin/invitation_used.html",
            {},
            status_code=404,
            headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
        )
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        password = str(form.get("password", ""))[:1000]
        if not password:
            errors["password"] = "Enter a password"  # noqa: S105 (a message)
        else:
            try:
                await svc.write(
                    accounts.accept_invitation, token=token, password=password, now=svc.now()
                )
            except InvalidInput as exc:
                errors = exc.errors
            except (NotFound, Conflict) as exc:
                errors = {"password": exc.message}
            else:
                url = request.url_for("sign_in").path + "?welcome=1"
                return RedirectResponse(url, 303)
    return render(
        request,
        "admin/invitation.html",
        {"invitation": invitation, "errors": errors, "min_length": accounts.MIN_PASSWORD},
        status_code=400 if errors else 200,
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


routes = [
    Route("/users", user_list, name="admin_users"),
    Route("/users/invite", invite, methods=["GET", "POST"], name="admin_user_invite"),
    Route(
        "/users/{user_id:id}/deactivate",
        deactivate,
        methods=["POST"],
        name="admin_user_deactivate",
    ),
    Route(
        "/users/{user_id:id}/reactivate",
        reactivate,
        methods=["POST"],
        name="admin_user_reactivate",
    ),
]
public_routes = [
    Route("/invitation/{token:str}", accept, methods=["GET", "POST"], name="invitation"),
]
