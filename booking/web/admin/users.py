"""Back office: the accounts that can sign in, invitations, deactivation; and the public
/invitation/{token} page where an invited person sets their password (once)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import accounts, catalogue, inputs, users
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.domain.tickets import derive_key
from booking.models import Role
from booking.web.admin.common import FLASH, actor, flash, page, path_id, redirect, values_of
from booking.web.auth import SESSION_KEY, client_address
from booking.web.services import absolute_url, render, services


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
                user = await svc.write(
                    accounts.accept_invitation, token=token, password=password, now=svc.now()
                )
            except InvalidInput as exc:
                errors = exc.errors
            except (NotFound, Conflict) as exc:
                errors = {"password": exc.message}
            else:
                login = await svc.write(
                    accounts.start_session,
                    user=user,
                    now=svc.now(),
                    address=client_address(request),
                    user_agent=request.headers.get("user-agent", ""),
                )
                request.session.clear()  # a new session and CSRF token, as at sign-in
                request.session[SESSION_KEY] = login
                request.session[FLASH] = "Your password is saved and you are signed in."
                home = "/door" if user.role == Role.STAFF else "/admin"
                return RedirectResponse(home, 303)
    return render(
        request,
        "admin/invitation.html",
        {"invitation": invitation, "errors": errors, "min_length": accounts.MIN_PASSWORD},
        status_code=400 if errors else 200,
        headers={"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"},
    )


async def resend(request: Request) -> Response:
    svc = services(request)
    try:
        invitation = await svc.write(
            accounts.resend_invitation,
            invitation_id=path_id(request, "invitation_id"),
            actor=await actor(request),
            now=svc.now(),
            key=derive_key(svc.settings.secret_key, "invitations"),
        )
    except NotFound as exc:
        flash(request, exc.message)
    else:
        flash(
            request,
            f"A new invitation is on its way to {invitation.email}, good for "
            f"{accounts.INVITATION_DAYS} days. The link in the earlier email no longer works.",
        )
    return redirect(request, "admin_users")


async def revoke(request: Request) -> Response:
    svc = services(request)
    try:
        invitation = await svc.write(
            accounts.revoke_invitation,
            invitation_id=path_id(request, "invitation_id"),
            actor=await actor(request),
            now=svc.now(),
        )
    except NotFound as exc:
        flash(request, exc.message)
    else:
        flash(
            request, f"The invitation to {invitation.email} is revoked: its link no longer works."
        )
    return redirect(request, "admin_users")


async def copy_link(request: Request) -> Response:
    """A fresh link shown once, for the organiser to send another way (a message, a chat)."""
    svc = services(request)
    try:
        invitation, token = await svc.write(
            accounts.invitation_link,
            invitation_id=path_id(request, "invitation_id"),
            actor=await actor(request),
            now=svc.now(),
            key=derive_key(svc.settings.secret_key, "invitations"),
        )
    except NotFound as exc:
        flash(request, exc.message)
        return redirect(request, "admin_users")
    link = absolute_url(request, request.url_for("invitation", token=token).path)
    context = {"invitation": invitation, "link": link, "days": accounts.INVITATION_DAYS}
    return page(request, "admin/invitation_link.html", context)


async def door_events(request: Request) -> Response:
    """Limit a door staff member to named events (or none: every event)."""
    svc = services(request)
    user_id = path_id(request, "user_id")
    listing = await svc.read(users.overview, now=svc.now())
    user = next((u for u in listing.users if u.id == user_id), None)
    if user is None or user.role != Role.STAFF:
        raise HTTPException(404)
    upcoming, past = await svc.read(catalogue.upcoming_and_past, now=svc.now())
    chosen = [str(i) for i in await svc.read(users.door_event_ids, user_id=user_id)]
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        chosen = [str(v) for v in form.getlist("events")][:500]
        ids = [i for i in (inputs.row_id(v) for v in chosen) if i is not None]
        try:
            await svc.write(
                users.set_door_events,
                user_id=user_id,
                event_ids=ids,
                actor=await actor(request),
                now=svc.now(),
            )
        except InvalidInput as exc:
            errors = exc.errors
        else:
            who = user.name or user.email
            flash(
                request,
                f"{who} can check people in at {len(ids)} event{'s' if len(ids) != 1 else ''}."
                if ids
                else f"{who} can check people in at every event.",
            )
            return redirect(request, "admin_users")
    context = {
        "user": user,
        "events": upcoming + past[:10],
        "chosen": chosen,
        "errors": errors,
    }
    return page(request, "admin/door_events.html", context, status=400 if errors else 200)


routes = [
    Route("/users", user_list, name="admin_users"),
    Route(
        "/users/{user_id:id}/events",
        door_events,
        methods=["GET", "POST"],
        name="admin_user_events",
    ),
    Route(
        "/users/invitations/{invitation_id:id}/resend",
        resend,
        methods=["POST"],
        name="admin_invitation_resend",
    ),
    Route(
        "/users/invitations/{invitation_id:id}/revoke",
        revoke,
        methods=["POST"],
        name="admin_invitation_revoke",
    ),
    Route(
        "/users/invitations/{invitation_id:id}/link",
        copy_link,
        methods=["POST"],
        name="admin_invitation_link",
    ),
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
