"""Back office: an event's dashboard. Capacity, money, sales per day, promo links and
check-ins, with the chart drawn on the server (booking.charts)."""

from __future__ import annotations

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking import charts
from booking.domain import admissions, attendance, reports
from booking.web.admin.common import page, path_id
from booking.web.services import services


def sales_chart(days: list[reports.Day]) -> Markup:
    """Tickets sold per day as an SVG bar chart."""
    bars = [
        charts.Bar(
            label=f"{d.day.day} {d.day:%b}",
            value=d.tickets,
            title=f"{d.day:%A} {d.day.day} {d.day:%B}: {d.tickets} tickets",
        )
        for d in days
    ]
    total = sum(d.tickets for d in days)
    first, last = days[0].day, days[-1].day
    return charts.bar_chart(
        bars,
        chart_id="sales-chart",
        title="Tickets sold per day",
        description=(
            f"{total} tickets sold from {first.day} {first:%B %Y} to {last.day} {last:%B %Y}, "
            f"at most {max(d.tickets for d in days)} in a day. The table below has every day."
        ),
    )


async def dashboard(request: Request) -> Response:
    svc = services(request)
    data = await svc.read(
        reports.dashboard,
        event_id=path_id(request, "event_id"),
        now=svc.now(),
        zone=svc.settings.tz,
    )
    chart = sales_chart(data.days) if data.days else None
    log = await svc.read(admissions.for_event, event_id=data.event.id, limit=0)
    return page(
        request,
        "admin/dashboard.html",
        {"data": data, "event": data.event, "chart": chart, "door": log},
    )


async def checkins(request: Request) -> Response:
    """The event's door log: who came in when, on which device, and double admissions."""
    svc = services(request)
    event = await svc.read(reports.get_event, event_id=path_id(request, "event_id"))
    log = await svc.read(admissions.for_event, event_id=event.id)
    counts = await svc.read(attendance.counts, event_id=event.id)
    return page(request, "admin/checkins.html", {"event": event, "door": log, "counts": counts})


routes = [
    Route("/events/{event_id:id}/dashboard", dashboard, name="admin_event_dashboard"),
    Route("/events/{event_id:id}/checkins", checkins, name="admin_event_checkins"),
]
