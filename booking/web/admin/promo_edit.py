"""Back office: changing promo links and access codes after they are made: edit, switch off
or on (a leaked code stops working at once), and delete while unused. Each action ends on
the promo page with a notice saying what happened."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session, col, select
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from booking.domain import access_codes, audit, inputs, promo
from booking.domain.errors import Conflict, InvalidInput, NotFound
from booking.models import (
    AccessCode,
    Event,
    EventOrganiser,
    Organisation,
    TicketType,
    User,
)
from booking.web.admin.common import actor, flash, page, path_id
from booking.web.admin.promo import CODE_MESSAGE, ORG_MESSAGE, _choice, code_terms
from booking.web.services import services


def _back(request: Request, event_id: int, anchor: str) -> Response:
    url = request.url_for("admin_promo", event_id=event_id).path
    return RedirectResponse(f"{url}#{anchor}", 303)


def _record(
    session: Session,
    *,
    action: str,
    subject: str,
    row_id: int | None,
    event_id: int,
    who: User,
    now: Any,
    data: dict[str, Any],
) -> None:
    with session.begin():
        audit.record(
            session,
            action,
            subject_type=subject,
            subject_id=row_id,
            actor=who,
            now=now,
            event_id=event_id,
            data=data,
        )


async def _audit(request: Request, action: str, subject: str, row_id: Any, **data: Any) -> None:
    svc = services(request)
    await svc.write(
        _record,
        action=action,
        subject=subject,
        row_id=row_id,
        event_id=path_id(request, "event_id"),
        who=await actor(request),
        now=svc.now(),
        data=data,
    )


def _choices(session: Session, *, event_id: int) -> dict[str, Any]:
    event = session.get(Event, event_id)
    if event is None:
        raise NotFound("No event at this address")
    return {
        "event": event,
        "organisations": list(
            session.exec(
                select(Organisation)
                .join(EventOrganiser)
                .where(EventOrganiser.event_id == event_id)
                .order_by(col(EventOrganiser.position))
            )
        ),
        "codes": list(
            session.exec(
                select(AccessCode)
                .where(AccessCode.event_id == event_id)
                .order_by(col(AccessCode.id))
            )
        ),
        "hidden_types": list(
            session.exec(
                select(TicketType)
                .where(TicketType.event_id == event_id, col(TicketType.visible).is_(False))
                .order_by(col(TicketType.position), col(TicketType.id))
            )
        ),
    }


async def edit_link(request: Request) -> Response:
    svc = services(request)
    event_id, link_id = path_id(request, "event_id"), path_id(request, "link_id")
    link = await svc.read(promo.get_link, event_id=event_id, link_id=link_id)
    choices = await svc.read(_choices, event_id=event_id)
    values = {
        "label": link.label,
        "organisation_id": str(link.organisation_id or ""),
        "access_code_id": str(link.access_code_id or ""),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, ""))[:400] for k in values}
        taken = inputs.Errors()
        org = taken.take("organisation_id", lambda: _choice(values["organisation_id"], ORG_MESSAGE))
        code_id = taken.take(
            "access_code_id", lambda: _choice(values["access_code_id"], CODE_MESSAGE)
        )
        try:
            if taken:
                raise InvalidInput(dict(taken))
            changed = await svc.write(
                promo.update_link,
                event_id=event_id,
                link_id=link_id,
                label=values["label"],
                organisation_id=org,
                access_code_id=code_id,
            )
        except InvalidInput as exc:
            errors = exc.errors
        else:
            if changed:
                await _audit(
                    request, "promo_link.updated", "promo_link", link_id, code=link.code, **changed
                )
            flash(request, f"The link /t/{link.code} is saved.")
            return _back(request, event_id, f"link-{link_id}")
    context = {**choices, "link": link, "values": values, "errors": errors}
    return page(request, "admin/promo_link_form.html", context, status=400 if errors else 200)


async def edit_code(request: Request) -> Response:
    svc = services(request)
    event_id, code_id = path_id(request, "event_id"), path_id(request, "code_id")
    code = await svc.read(access_codes.get, event_id=event_id, code_id=code_id)
    choices = await svc.read(_choices, event_id=event_id)
    values = {
        "code_label": code.label,
        "unlocks": str(code.unlocks_ticket_type_id or ""),
        "discount_amount": f"{code.discount_amount / 100:.2f}" if code.discount_amount else "",
        "discount_percent": str(code.discount_percent or ""),
        "max_uses": "" if code.max_uses is None else str(code.max_uses),
    }
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form()
        values = {k: str(form.get(k, ""))[:100] for k in values}
        taken, terms = code_terms(values)
        errors = dict(taken)
        if not errors:
            try:
                changed = await svc.write(
                    access_codes.update,
                    event_id=event_id,
                    code_id=code_id,
                    label=values["code_label"],
                    **terms,
                )
            except InvalidInput as exc:
                errors = exc.errors
            else:
                if changed:
                    await _audit(
                        request,
                        "access_code.updated",
                        "access_code",
                        code_id,
                        code=code.code,
                        **changed,
                    )
                flash(request, f"The code {code.code} is saved.")
                return _back(request, event_id, f"code-{code_id}")
    context = {**choices, "code": code, "values": values, "errors": errors}
    return page(request, "admin/promo_code_form.html", context, status=400 if errors else 200)


async def switch_link(request: Request) -> Response:
    svc = services(request)
    event_id, link_id = path_id(request, "event_id"), path_id(request, "link_id")
    active = (await request.form()).get("active") == "yes"
    link = await svc.write(promo.set_link_active, event_id=event_id, link_id=link_id, active=active)
    action = "promo_link.switched_on" if active else "promo_link.switched_off"
    await _audit(request, action, "promo_link", link_id, code=link.code)
    flash(
        request,
        f"The link /t/{link.code} works again."
        if active
        else f"The link /t/{link.code} is switched off: it no longer leads to the event.",
    )
    return _back(request, event_id, f"link-{link_id}")


async def switch_code(request: Request) -> Response:
    svc = services(request)
    event_id, code_id = path_id(request, "event_id"), path_id(request, "code_id")
    active = (await request.form()).get("active") == "yes"
    code = await svc.write(
        access_codes.set_active, event_id=event_id, code_id=code_id, active=active
    )
    action = "access_code.switched_on" if active else "access_code.switched_off"
    await _audit(request, action, "access_code", code_id, code=code.code)
    flash(
        request,
        f"The code {code.code} works again."
        if active
        else f"The code {code.code} is switched off: readers who type it are told it is no "
        "longer valid, and orders not yet placed cannot use it.",
    )
    return _back(request, event_id, f"code-{code_id}")


async def delete_link(request: Request) -> Response:
    svc = services(request)
    event_id, link_id = path_id(request, "event_id"), path_id(request, "link_id")
    try:
        link = await svc.write(promo.delete_link, event_id=event_id, link_id=link_id)
    except Conflict as exc:
        flash(request, exc.message)
        return _back(request, event_id, f"link-{link_id}")
    await _audit(request, "promo_link.deleted", "promo_link", link_id, code=link.code)
    flash(request, f"The link /t/{link.code} is deleted.")
    return _back(request, event_id, "links")


async def delete_code(request: Request) -> Response:
    svc = services(request)
    event_id, code_id = path_id(request, "event_id"), path_id(request, "code_id")
    try:
        code = await svc.write(access_codes.delete, event_id=event_id, code_id=code_id)
    except Conflict as exc:
        flash(request, exc.message)
        return _back(request, event_id, f"code-{code_id}")
    await _audit(request, "access_code.deleted", "access_code", code_id, code=code.code)
    flash(request, f"The code {code.code} is deleted.")
    return _back(request, event_id, "codes")


_LINK = "/events/{event_id:id}/promo/links/{link_id:id}"
_CODE = "/events/{event_id:id}/promo/codes/{code_id:id}"
routes = [
    Route(_LINK, edit_link, methods=["GET", "POST"], name="admin_promo_link_edit"),
    Route(f"{_LINK}/active", switch_link, methods=["POST"], name="admin_promo_link_active"),
    Route(f"{_LINK}/delete", delete_link, methods=["POST"], name="admin_promo_link_delete"),
    Route(_CODE, edit_code, methods=["GET", "POST"], name="admin_promo_code_edit"),
    Route(f"{_CODE}/active", switch_code, methods=["POST"], name="admin_promo_code_active"),
    Route(f"{_CODE}/delete", delete_code, methods=["POST"], name="admin_promo_code_delete"),
]
