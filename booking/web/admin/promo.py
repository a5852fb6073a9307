"""Back office: promo links for articles, access codes, the per-article report and snippets."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from sqlmodel import Session, col, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from booking.domain import access_codes, audit, inputs, promo, promo_report
from booking.domain.errors import BookingError, InvalidInput
from booking.models import (
    AccessCode,
    Event,
    EventOrganiser,
    Organisation,
    PromoLink,
    TicketType,
)
from booking.web.admin.common import flash
from booking.web.admin.common import page as admin_page
from booking.web.auth import current_user
from booking.web.services import absolute_url, services

MAX_DISCOUNT_POUNDS = 10_000
ORG_MESSAGE = "Choose an organisation from the list"
CODE_MESSAGE = "Choose an access code from the list"
TYPE_MESSAGE = "Choose a ticket type from the list"


def _load(session: Session, *, event_id: int) -> dict[str, Any]:
    event = session.get(Event, event_id)
    if event is None:
        raise HTTPException(404)
    organisations = session.exec(
        select(Organisation)
        .join(EventOrganiser)
        .where(EventOrganiser.event_id == event_id)
        .order_by(col(EventOrganiser.position))
    ).all()
    return {
        "event": event,
        "links": session.exec(
            select(PromoLink).where(PromoLink.event_id == event_id).order_by(col(PromoLink.id))
        ).all(),
        "codes": session.exec(
            select(AccessCode).where(AccessCode.event_id == event_id).order_by(col(AccessCode.id))
        ).all(),
        "organisations": list(organisations),
        "ticket_types": session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id)
            .order_by(col(TicketType.position))
        ).all(),
        "report": promo_report.build(session, event_id=event_id),
        "hidden_types": session.exec(
            select(TicketType)
            .where(TicketType.event_id == event_id, col(TicketType.visible).is_(False))
            .order_by(col(TicketType.position))
        ).all(),
        "used_links": {
            link.id
            for link in session.exec(select(PromoLink).where(PromoLink.event_id == event_id))
            if link.id is not None and promo.link_used(session, link_id=link.id)
        },
        "used_codes": {
            code.id
            for code in session.exec(select(AccessCode).where(AccessCode.event_id == event_id))
            if code.id is not None and access_codes.used(session, access_code_id=code.id)
        },
    }


def long_url(request: Request, event: Event, link: PromoLink) -> str:
    query = urlencode(
        {
            "promo": link.code,
            "utm_source": "article",
            "utm_medium": "promo-link",
            "utm_campaign": link.code,
        }
    )
    return absolute_url(request, request.url_for("event", slug=event.slug).path) + "?" + query


async def page(
    request: Request,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    svc = services(request)
    data = await svc.read(_load, event_id=request.path_params["event_id"])
    event = data["event"]
    urls = {
        link.id: {
            "short": absolute_url(request, request.url_for("promo_link", code=link.code).path),
            "long": long_url(request, event, link),
            "embed": absolute_url(request, request.url_for("event_embed", slug=event.slug).path)
            + f"?promo={link.code}",
        }
        for link in data["links"]
    }
    return admin_page(
        request,
        "admin/promo.html",
        {
            **data,
            "urls": urls,
            "values": values or {},
            "errors": errors or {},
        },
        status=status,
    )


async def promo_page(request: Request) -> Response:
    return await page(request)


def _discount(raw: str) -> int:
    if not raw.strip():
        return 0
    return inputs.pence(raw, name="Discount", missing="", maximum=MAX_DISCOUNT_POUNDS)


def _choice(raw: str, message: str) -> int | None:
    """An id picked from one of the page's lists; None for "none"."""
    if not raw.strip():
        return None
    picked = inputs.row_id(raw)
    if picked is None:
        raise ValueError(message)
    return picked


def code_terms(values: dict[str, str]) -> tuple[inputs.Errors, dict[str, Any]]:
    """What a code's form says it does (for access_codes.create and update), with a message
    per field for what could not be read."""
    errors = inputs.Errors()
    amount = errors.take("discount_amount", lambda: _discount(values["discount_amount"])) or 0
    percent = errors.take(
        "discount_percent",
        lambda: inputs.optional_whole_number(
            values["discount_percent"], name="Percentage off", minimum=0, maximum=100
        ),
    )
    max_uses = errors.take(
        "max_uses",
        lambda: inputs.optional_whole_number(
            values["max_uses"], name="Use limit", minimum=1, maximum=1_000_000
        ),
    )
    unlocks = errors.take("unlocks", lambda: _choice(values["unlocks"], TYPE_MESSAGE))
    terms = {
        "unlocks_ticket_type_id": unlocks,
        "discount_amount": amount,
        "discount_percent": percent or 0,
        "max_uses": max_uses,
    }
    return errors, terms


async def create_link(request: Request) -> Response:
    svc = services(request)
    event_id = request.path_params["event_id"]
    form = await request.form()
    values = {
        k: str(form.get(k, ""))[:300]
        for k in ("label", "link_code", "organisation_id", "access_code_id")
    }
    errors = inputs.Errors()
    org = errors.take("organisation_id", lambda: _choice(values["organisation_id"], ORG_MESSAGE))
    code_id = errors.take("access_code_id", lambda: _choice(values["access_code_id"], CODE_MESSAGE))
    if errors:
        return await page(request, values, errors, 400)
    try:
        link = await svc.write(
            promo.create_link,
            event_id=event_id,
            label=values["label"],
            organisation_id=org,
            now=svc.now(),
            code=values["link_code"],
            access_code_id=code_id,
        )
    except InvalidInput as exc:
        errors = inputs.Errors(
            {("link_code" if k == "code" else k): v for k, v in exc.errors.items()}
        )
        return await page(request, values, errors, 400)
    except BookingError as exc:
        return await page(request, values, {"link_code": exc.message}, exc.status)
    flash(request, f"The link /t/{link.code} is made. Copy it into the article below.")
    await _audit(
        request,
        "promo_link.created",
        "promo_link",
        link.id,
        event_id,
        {"code": link.code, "label": link.label},
    )
    return RedirectResponse(
        request.url_for("admin_promo", event_id=event_id).path + f"#link-{link.id}", 303
    )


async def create_code(request: Request) -> Response:
    svc = services(request)
    event_id = request.path_params["event_id"]
    form = await request.form()
    keys = ("code", "code_label", "unlocks", "discount_amount", "discount_percent", "max_uses")
    values = {k: str(form.get(k, ""))[:100] for k in keys}
    errors, terms = code_terms(values)
    if errors:
        return await page(request, values, errors, 400)
    try:
        code = await svc.write(
            access_codes.create,
            event_id=event_id,
            code=values["code"],
            label=values["code_label"],
            **terms,
        )
    except InvalidInput as exc:
        return await page(request, values, exc.errors, 400)
    except BookingError as exc:
        return await page(request, values, {"code": exc.message}, exc.status)
    await _audit(
        request,
        "access_code.created",
        "access_code",
        code.id,
        event_id,
        {
            "code": code.code,
            "discount_amount": terms["discount_amount"],
            "discount_percent": terms["discount_percent"],
            "max_uses": terms["max_uses"],
            "unlocks_ticket_type_id": terms["unlocks_ticket_type_id"],
        },
    )
    flash(request, f"The code {code.code} is made.")
    return RedirectResponse(
        request.url_for("admin_promo", event_id=event_id).path + f"#code-{code.id}", 303
    )


async def _audit(
    request: Request,
    action: str,
    subject: str,
    subject_id: int | None,
    event_id: int,
    data: dict[str, Any],
) -> None:
    svc = services(request)
    user = await current_user(request)
    assert user is not None

    def work(session: Session) -> None:
        with session.begin():
            audit.record(
                session,
                action,
                subject_type=subject,
                subject_id=subject_id,
                actor=user,
                now=svc.now(),
                event_id=event_id,
                data=data,
            )

    await svc.write(work)


CSV_COLUMNS = [
    "kind",
    "name",
    "visits",
    "bot_visits",
    "orders_started",
    "orders_paid",
    "tickets",
    "revenue_pounds",
    "conversion",
    "attended",
]


def _csv_rows(report: promo_report.Report) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    groups = [
        ("link", report.links),
        ("code", report.codes),
        ("organisation", report.organisations),
        ("utm", report.utm),
        ("direct", [report.direct]),
    ]
    for kind, rows in groups:
        for row in rows:
            label = row.label
            if label[:1] in ("=", "+", "-", "@", "\t", "\r"):
                label = "'" + label  # spreadsheet-safe
            conversion = "" if row.conversion is None else f"{row.conversion:.4f}"
            writer.writerow(
                [
                    kind,
                    label,
                    row.visits,
                    row.bot_visits,
                    row.orders_started,
                    row.orders_paid,
                    row.tickets,
                    f"{row.revenue / 100:.2f}",
                    conversion,
                    row.attended,
                ]
            )
    yield buffer.getvalue()


async def report_csv(request: Request) -> Response:
    svc = services(request)
    event_id = request.path_params["event_id"]
    data = await svc.read(_load, event_id=event_id)
    return StreamingResponse(
        _csv_rows(data["report"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{data["event"].slug}-promo.csv"'},
    )


routes = [
    Route("/events/{event_id:id}/promo", promo_page, name="admin_promo"),
    Route(
        "/events/{event_id:id}/promo/links", create_link, methods=["POST"], name="admin_promo_link"
    ),
    Route(
        "/events/{event_id:id}/promo/codes", create_code, methods=["POST"], name="admin_promo_code"
    ),
    Route("/events/{event_id:id}/promo.csv", report_csv, name="admin_promo_csv"),
]
