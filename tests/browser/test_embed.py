"""The ticket box inside an article: framed by another site, its button opens the event page."""

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from booking import demo
from booking.domain import promo
from booking.models import Event, utcnow
from booking.stripe_standin.app import bind, serve_app_in_thread
from tests.browser.conftest import assert_accessible, screenshot


def article_site(embed_url: str):  # type: ignore[no-untyped-def]
    async def article(request):  # type: ignore[no-untyped-def]
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><title>An article</title></head><body>"
            "<main><h1>London and Brexit: the debate</h1><p>Buy your tickets here:</p>"
            f"<iframe src='{embed_url}' title='Tickets' width='100%' height='300'></iframe>"
            "</main></body></html>"
        )

    return serve_app_in_thread(
        Starlette(routes=[Route("/", article)]), bind("127.0.0.1", 0), name="article-site"
    )


def test_the_ticket_box_in_an_article_opens_the_event_page(
    page, live_server, db, session, settings
):
    demo.load(session, settings=settings, now=utcnow())
    event = session.exec(Event.__table__.select().where(Event.slug == "london-and-brexit")).first()  # type: ignore[attr-defined]
    with db.write_session() as s:
        promo.create_link(
            s,
            event_id=event.id,
            label="On London article",
            organisation_id=None,
            now=utcnow(),
            code="onlondon",
        )
    site = article_site(f"{live_server.url}/events/london-and-brexit/embed?promo=onlondon")
    try:
        page.goto(site.url + "/")
        frame = page.frame_locator("iframe")
        assert frame.get_by_text("Andrew Adonis").first.is_visible()
        screenshot(page, "embed-in-article")
        frame.get_by_role("link", name="Buy tickets").click()
        page.wait_for_url("**/events/london-and-brexit")
        assert page.get_by_role("heading", name="London and Brexit").first.is_visible()
        page.goto(f"{live_server.url}/events/london-and-brexit/embed?promo=onlondon")
        assert_accessible(page)
    finally:
        site.stop()
