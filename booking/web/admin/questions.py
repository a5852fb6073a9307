"""Back office: questions for the panel. Accept, reject, star, give a theme, put the accepted
ones in the chair's order; a print view and CSV; the chair's private link."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from booking.domain import questions, reports
from booking.domain.errors import InvalidInput, NotFound
from booking.domain.tickets import derive_key
from booking.models import Event, QuestionStatus
from booking.web.admin.common import actor, flash, page, path_id, redirect, values_of
from booking.web.admin.exports import csv_lines
from booking.web.services import absolute_url, services

FILTERS = {"all": None, **{s.value: s for s in QuestionStatus}}
CSV_HEADER = ["Order", "Theme", "Starred", "Asked by", "Ticket type", "Question", "Status"]


def chair_key(request: Request) -> bytes:
    return derive_key(services(request).settings.secret_key, "chair")


def chair_url(request: Request, event: Event) -> str:
    token = questions.chair_token(chair_key(request), event)
    if not token:
        return ""
    path = request.url_for("chair", event_id=event.id, token=token).path
    return absolute_url(request, path)


def _state(session: Session, *, event_id: int, status: QuestionStatus | None) -> dict[str, Any]:
    event = reports.get_event(session, event_id=event_id)
    everything = questions.listed(session, event_id=event_id)
    counts = {
        key: sum(1 for r in everything if s is None or r.question.status == s)
        for key, s in FILTERS.items()
    }
    shown = [r for r in everything if status is None or r.question.status == status]
    return {"event": event, "rows": shown, "counts": counts}


async def moderation(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    show = request.query_params.get("status", "all")
    if show not in FILTERS:
        show = "all"
    try:
        state = await svc.read(_state, event_id=event_id, status=FILTERS[show])
    except NotFound:
        raise HTTPException(404) from None
    context = {
        **state,
        "show": show,
        "filters": FILTERS,
        "chair_url": chair_url(request, state["event"]),
        "deadline": questions.deadline(state["event"]),
        "errors": {},
        "max_theme": questions.MAX_THEME,
    }
    return page(request, "admin/questions.html", context)


async def act(request: Request) -> Response:
    """One moderation step on one question, then back to the same filter and place."""
    svc = services(request)
    event_id, question_id = path_id(request, "event_id"), path_id(request, "question_id")
    values = values_of(await request.form())
    show = values.get("show", "all") if values.get("show") in FILTERS else "all"
    try:
        await svc.write(
            questions.moderate,
            event_id=event_id,
            question_id=question_id,
            action=values.get("action", ""),
            theme=values.get("theme", ""),
            actor=await actor(request),
            now=svc.now(),
        )
    except NotFound:
        raise HTTPException(404) from None
    except InvalidInput as exc:
        flash(request, next(iter(exc.errors.values())))
    url = request.url_for("admin_event_questions", event_id=event_id).path
    return RedirectResponse(f"{url}?status={show}#question-{question_id}", 303)


async def chair_link(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    on = values_of(await request.form()).get("action") == "make"
    try:
        await svc.write(
            questions.set_chair_link,
            event_id=event_id,
            on=on,
            actor=await actor(request),
            now=svc.now(),
        )
    except NotFound:
        raise HTTPException(404) from None
    flash(
        request,
        "A new private link for the chair is ready below; any earlier link no longer works."
        if on
        else "The chair's link no longer works.",
    )
    return redirect(request, "admin_event_questions", event_id=event_id)


def _running(session: Session, *, event_id: int) -> dict[str, Any]:
    event = reports.get_event(session, event_id=event_id)
    return {"event": event, "rows": questions.running_order(session, event_id=event_id)}


async def print_view(request: Request) -> Response:
    svc = services(request)
    try:
        state = await svc.read(_running, event_id=path_id(request, "event_id"))
    except NotFound:
        raise HTTPException(404) from None
    return page(request, "chair/print.html", state)


async def questions_csv(request: Request) -> Response:
    svc = services(request)
    event_id = path_id(request, "event_id")
    try:
        state = await svc.read(_state, event_id=event_id, status=None)
    except NotFound:
        raise HTTPException(404) from None
    rows = [CSV_HEADER] + [
        [
            str(r.question.position) if r.question.status == QuestionStatus.ACCEPTED else "",
            r.question.theme,
            "yes" if r.question.starred else "",
            r.asker,
            r.ticket_type,
            r.question.text,
            r.question.status,
        ]
        for r in state["rows"]
    ]
    slug = state["event"].slug
    return StreamingResponse(
        csv_lines(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{slug}-questions.csv"'},
    )


routes = [
    Route("/events/{event_id:id}/questions", moderation, name="admin_event_questions"),
    Route(
        "/events/{event_id:id}/questions/{question_id:id}",
        act,
        methods=["POST"],
        name="admin_event_question_act",
    ),
    Route(
        "/events/{event_id:id}/questions/chair-link",
        chair_link,
        methods=["POST"],
        name="admin_event_chair_link",
    ),
    Route("/events/{event_id:id}/questions/print", print_view, name="admin_event_questions_print"),
    Route("/events/{event_id:id}/questions.csv", questions_csv, name="admin_event_questions_csv"),
]
