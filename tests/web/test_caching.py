"""Public pages any cache may keep: no cookie, Cache-Control, ETag and 304, Vary, and the
process's own copy following every organiser's change at once."""

from __future__ import annotations

import re
from datetime import timedelta

import brotli
import pytest
from sqlmodel import select

from booking.models import EventSpeaker, SiteBrand, TicketType, Venue
from booking.web.pagecache import FRESH_SECONDS
from tests.conftest import sign_in
from tests.factories import make_event, make_speaker, make_ticket_type

PAGES = ["/", "{event}", "{event}/embed", "{event}.ics", "/api/events", "/api/{event}"]


@pytest.fixture
def debate(session):  # type: ignore[no-untyped-def]
    event = make_event(session, title="London and Brexit", capacity=50)
    make_speaker(session, event, name="Andrew Adonis")
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Members", price=500, visible=False, position=1)
    return event


def _path(template: str, event) -> str:  # type: ignore[no-untyped-def]
    path = template.format(event=f"/events/{event.slug}")
    return path.replace("/api//events/", "/api/events/")


@pytest.mark.parametrize("template", PAGES)
def test_a_first_visit_sets_no_cookie_and_any_cache_may_keep_it(client, debate, template):
    response = client.get(_path(template, debate))
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert not client.cookies
    cache = response.headers["cache-control"]
    assert re.fullmatch(r"public, max-age=\d+, stale-while-revalidate=\d+", cache), cache
    assert response.headers["vary"] == "Accept-Encoding"
    assert re.fullmatch(r'"[0-9a-f]{24}(-br|-gzip)?"', response.headers["etag"])
    # The site's own headers are still on every answer.
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" in response.headers


@pytest.mark.parametrize("template", PAGES)
def test_a_matching_etag_gets_304_and_another_the_page(client, debate, template):
    path = _path(template, debate)
    first = client.get(path)
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["cache-control"] == first.headers["cache-control"]
    assert "set-cookie" not in again.headers
    other = client.get(path, headers={"If-None-Match": '"0000", "1111"'})
    assert other.status_code == 200 and other.content == first.content


def test_each_encoding_has_its_own_etag(client, debate):
    path = f"/events/{debate.slug}"
    br = client.get(path, headers={"Accept-Encoding": "br"})
    gz = client.get(path, headers={"Accept-Encoding": "gzip"})
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert br.headers["content-encoding"] == "br" and gz.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in plain.headers
    assert len({br.headers["etag"], gz.headers["etag"], plain.headers["etag"]}) == 3
    assert br.text == gz.text == plain.text
    # A validator of one encoding does not stand for another.
    crossed = client.get(
        path, headers={"Accept-Encoding": "gzip", "If-None-Match": br.headers["etag"]}
    )
    assert crossed.status_code == 200


@pytest.mark.parametrize("coding", ["br", "gzip"])
@pytest.mark.parametrize(
    ("template", "media"),
    [
        ("{event}", "text/html"),
        ("/api/{event}", "application/json"),
        ("{event}.ics", "text/calendar"),
        ("/", "text/html"),
    ],
)
def test_pages_are_compressed(client, debate, coding, template, media):
    with client.stream(
        "GET", _path(template, debate), headers={"Accept-Encoding": coding}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert response.headers["content-type"].startswith(media)
    assert response.headers["content-encoding"] == coding
    plain = client.get(_path(template, debate), headers={"Accept-Encoding": "identity"}).content
    if coding == "br":
        assert brotli.decompress(raw) == plain
    assert len(raw) < len(plain) * 0.8


def test_the_event_page_is_under_5_kb_compressed(client, debate):
    with client.stream(
        "GET", f"/events/{debate.slug}", headers={"Accept-Encoding": "br"}
    ) as response:
        raw = b"".join(response.iter_raw())
    assert len(raw) < 5 * 1024


def test_small_answers_are_not_compressed(client):
    response = client.get("/healthz", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200 and "content-encoding" not in response.headers


def test_pages_for_one_reader_stay_private(client, session, debate, organiser):
    path = f"/events/{debate.slug}"
    for response in [
        client.get(path + "?code=NOPE"),  # a code applied (or refused)
        client.get(path + "?cancelled=1"),
        client.post(path + "/checkout", data={"csrf_token": _token(client, path)}),  # errors
    ]:
        assert response.headers["cache-control"] == "private, no-store", response.request.url
        assert "etag" not in response.headers
    sign_in(client, organiser)
    signed_in = client.get(path)
    assert signed_in.headers["cache-control"] == "private, no-store"
    preview = client.get(f"/admin/events/{debate.id}/preview")
    assert preview.status_code == 200 and "no-store" in preview.headers["cache-control"]


def _token(client, path: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def test_a_reader_arriving_by_promo_link_gets_their_own_page(client, session, debate):
    from booking.models import PromoLink

    session.add(PromoLink(event_id=debate.id, code="article", label="Article"))
    session.commit()
    landing = client.get("/t/article")
    assert "set-cookie" in landing.headers  # the link's redirect may set the cookie
    page = client.get(landing.headers["location"])
    assert page.headers["cache-control"] == "private, no-store"
    assert page.context["tickets_first"] is True


def test_an_organisers_change_shows_at_once(client, session, debate):
    path = f"/events/{debate.slug}"
    api = f"/api/events/{debate.slug}"
    assert "London and Brexit" in client.get(path).text
    assert client.get(api).json()["title"] == "London and Brexit"
    first_etag = client.get(path).headers["etag"]

    debate.title = "London after Brexit"
    session.add(debate)
    session.commit()
    assert "London after Brexit" in client.get(path).text
    assert client.get(api).json()["title"] == "London after Brexit"
    assert client.get(path, headers={"If-None-Match": first_etag}).status_code == 200

    venue = session.get(Venue, debate.venue_id)
    venue.name = "Bishopsgate Institute"
    session.add(venue)
    session.commit()
    assert "Bishopsgate Institute" in client.get(path).text

    standard = session.exec(select(TicketType).where(TicketType.name == "Standard")).one()
    standard.price = 1500
    session.add(standard)
    session.commit()
    assert "£15" in client.get(path).text

    place = session.exec(select(EventSpeaker)).one()
    session.delete(place)
    session.commit()
    assert "Andrew Adonis" not in client.get(path).text


def test_a_change_through_the_back_office_shows_at_once(client, session, debate, organiser):
    from tests.factories import make_speaker as add_speaker

    path = f"/events/{debate.slug}"
    speaker = add_speaker(session, debate, position=1, name="Daniel Moylan")
    reader = client.__class__(client.app, follow_redirects=False)
    assert "Daniel Moylan" in reader.get(path).text
    sign_in(client, organiser)
    token = _token(client, f"/admin/events/{debate.id}/speakers")
    hidden = client.post(
        f"/admin/events/{debate.id}/speakers/{speaker.id}/visibility",
        data={"csrf_token": token, "visibility": "hidden"},
    )
    assert hidden.status_code == 303
    assert "Daniel Moylan" not in reader.get(path).text


def test_a_new_brand_shows_at_once(client, session, debate):
    path = f"/events/{debate.slug}"
    assert "Radio Free London" not in client.get(path).text
    brand = SiteBrand(id=1, site_name="Radio Free London", brand_colour="#112233")
    brand.link_colour = "#223344"
    session.add(brand)
    session.commit()
    assert "Radio Free London" in client.get(path).text


def test_sale_states_follow_within_seconds(client, session, debate, clock):
    path = f"/events/{debate.slug}"
    standard = session.exec(select(TicketType).where(TicketType.name == "Standard")).one()
    # Time alone (no write) moves a ticket type out of sale: seen within FRESH_SECONDS.
    standard.sales_end = clock.now + timedelta(seconds=1)
    session.add(standard)
    session.commit()
    before = client.get(path).text
    clock.advance(seconds=FRESH_SECONDS + 1)
    after = client.get(path).text
    assert before != after
    assert "Continue to payment" in before and "Continue to payment" not in after


def test_static_files_have_fingerprinted_names_and_long_caching(client, debate):
    html = client.get(f"/events/{debate.slug}").text
    links = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert links and all(re.search(r"\.[0-9a-f]{10}\.(css|js)$", link) for link in links), links
    for link in links:
        response = client.get(link, headers={"Accept-Encoding": "br"})
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-encoding"] == "br"
        assert response.headers["vary"] == "Accept-Encoding"
    css = next(link for link in links if link.endswith(".css"))
    plain = re.sub(r"\.[0-9a-f]{10}\.css$", ".css", css)
    response = client.get(plain, headers={"Accept-Encoding": "gzip"})
    assert response.headers["cache-control"] == "public, max-age=300"
    assert response.headers["content-encoding"] == "gzip"
    assert response.headers["etag"].startswith('W/"')  # compressed here: a weak validator
    stale = re.sub(r"\.[0-9a-f]{10}\.css$", ".0000000000.css", css)
    old = client.get(stale)
    assert old.status_code == 200 and old.headers["cache-control"] == "public, max-age=300"
    assert client.get("/static/css/no-such.0123456789.css").status_code == 404


def _post_checkout(client, path: str, token: str, **fields: str):  # type: ignore[no-untyped-def]
    return client.post(path + "/checkout", data={"csrf_token": token, **fields})


def test_a_checkout_reads_the_event_from_the_process_copy(client, debate, count_queries):
    path = f"/events/{debate.slug}"
    token = _token(client, path)
    _post_checkout(client, path, token, name="Ada")  # reads the page's data once
    count_queries.reset()
    again = _post_checkout(client, path, token, name="Ada")
    assert again.status_code == 400 and "Enter your email address" in again.text
    # Only the content version is read (on the driver's cursor, which the counter does not
    # see): the event, its ticket types and what is left come from the kept copy.
    assert count_queries.count == 0, count_queries.statements


def test_a_checkout_sees_an_organisers_change_at_once(client, session, debate):
    path = f"/events/{debate.slug}"
    token = _token(client, path)
    standard = session.exec(select(TicketType).where(TicketType.name == "Standard")).one()
    assert _post_checkout(client, path, token, name="Ada").status_code == 400  # kept now
    standard.name = "Standing"
    standard.max_per_order = 2
    session.add(standard)
    session.commit()
    refused = _post_checkout(
        client, path, token, name="Ada", email="ada@example.com", **{f"qty-{standard.id}": "3"}
    )
    assert refused.status_code == 400
    assert "Number of Standing tickets must be 2 or fewer" in refused.text
