"""Promo links, attribution through checkout, access codes, the report and the ticket box."""

import csv
import io

import pytest
from sqlmodel import select

from booking.domain import access_codes, promo, promo_report
from booking.models import Order, PromoVisit
from tests.conftest import sign_in
from tests.factories import NOW, make_event, make_organisation, make_ticket_type
from tests.helpers import buy, session_id_of, ticket_types

BROWSER = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) Safari/604.1"}


@pytest.fixture
def link(db, session, event):
    org = make_organisation(session, event, name="On London")
    with db.write_session() as s:
        return promo.create_link(
            s,
            event_id=event.id,
            label="Islington CLP article",
            organisation_id=org.id,
            now=NOW,
            code="islington",
        )


def pay(client, standin, response):
    cs_id = session_id_of(response)
    result = standin.pay(cs_id, "4242424242424242")
    client.get(result.redirect_url.replace("http://testserver", ""))
    return cs_id


def test_a_reader_from_an_article_link_is_attributed_through_payment(
    client, session, event, link, standin
):
    client.headers.update(BROWSER)
    landing = client.get("/t/ISLINGTON")  # codes are case-insensitive
    assert landing.status_code == 303 and landing.headers["location"] == f"/events/{event.slug}"
    standard, _ = ticket_types(session, event)
    pay(client, standin, buy(client, event, {standard.id: 2}))
    order = session.exec(select(Order)).one()
    assert order.status == "paid" and order.promo_link_id == link.id
    assert order.source == "link:islington"
    with_report = promo_report.build(session, event_id=event.id)
    row = with_report.links[0]
    assert (row.visits, row.orders_paid, row.tickets, row.revenue) == (1, 1, 2, 2000)
    assert with_report.direct.orders_paid == 0


def test_a_direct_visitor_is_not_attributed(client, session, event, link, standin):
    standard, _ = ticket_types(session, event)
    pay(client, standin, buy(client, event, {standard.id: 1}))
    order = session.exec(select(Order)).one()
    assert order.promo_link_id is None and order.source == ""


def test_visits_count_people_once_and_bots_apart(client, session, event, link):
    client.headers.update(BROWSER)
    for _ in range(3):
        client.get("/t/islington")  # reloads within half an hour count once
    client.get("/t/islington", headers={"User-Agent": "Googlebot/2.1"})
    visits = session.exec(select(PromoVisit)).all()
    assert sorted(v.bot for v in visits) == [False, True]


def test_utm_parameters_on_an_event_url_are_recorded(client, session, event, standin):
    client.headers.update(BROWSER)
    client.get(f"/events/{event.slug}?utm_source=newsletter&utm_medium=email&utm_campaign=nov")
    standard, _ = ticket_types(session, event)
    buy(client, event, {standard.id: 1})
    order = session.exec(select(Order)).one()
    assert order.source == "utm:newsletter/email/nov"
    assert session.exec(select(PromoVisit)).one().source == "utm:newsletter/email/nov"


@pytest.mark.parametrize(
    "path",
    [
        "/t/nope",
        "/t/https:%2F%2Fevil.example",
        "/t/%2F%2Fevil.example",
        "/t/..%2F..%2Fadmin",
        "/t/" + "x" * 300,
    ],
)
def test_unknown_codes_land_on_the_event_list_and_never_leave_the_site(client, path, link):
    response = client.get(path)
    assert response.status_code in (303, 404)
    if response.status_code == 303:
        assert response.headers["location"] == "/?notice=unknown-link"
        page = client.get(response.headers["location"])
        assert "That link has expired or is not recognised" in page.text


def test_a_disabled_link_lands_on_the_list(client, db, session, link):
    link.active = False
    session.add(link)
    session.commit()
    assert client.get("/t/islington").headers["location"] == "/?notice=unknown-link"


@pytest.fixture
def members(db, session, event):
    hidden = make_ticket_type(
        session, event, name="London Society members", price=700, visible=False, position=2
    )
    with db.write_session() as s:
        code = access_codes.create(
            s,
            event_id=event.id,
            code="lonsoc",
            label="Members",
            unlocks_ticket_type_id=hidden.id,
            max_uses=10,
        )
    return hidden, code


def test_an_access_code_unlocks_the_hidden_ticket_type(client, session, event, members, standin):
    hidden, _ = members
    assert "London Society members" not in client.get(f"/events/{event.slug}").text
    page = client.get(f"/events/{event.slug}?code=lonsoc")
    assert page.status_code == 200 and "London Society members" in page.text
    assert "Code LONSOC applied" in page.text
    response = buy_with(client, event, {hidden.id: 2}, code="LONSOC")
    assert response.status_code == 303
    order = session.exec(select(Order)).one()
    assert order.total == 1400 and order.access_code_id == members[1].id


def buy_with(client, event, quantities, code):
    from tests.helpers import csrf_from

    token = csrf_from(client, f"/events/{event.slug}?code={code}")
    form = {"csrf_token": token, "name": "Ada", "email": "ada@example.com", "code": code}
    form.update({f"qty-{k}": str(v) for k, v in quantities.items()})
    return client.post(f"/events/{event.slug}/checkout", data=form)


def test_a_wrong_code_gets_a_clear_message_and_unlocks_nothing(client, session, event, members):
    hidden, _ = members
    page = client.get(f"/events/{event.slug}?code=WRONG")
    assert page.status_code == 400
    assert "There is no code WRONG for this event" in page.text
    assert "London Society members" not in page.text
    response = buy_with(client, event, {hidden.id: 1}, code="WRONG")
    assert response.status_code == 400
    assert session.exec(select(Order)).all() == []


def test_a_discount_is_priced_on_the_server_and_sent_to_stripe(client, db, session, event, standin):
    with db.write_session() as s:
        access_codes.create(s, event_id=event.id, code="HALF", discount_percent=50)
    standard, _ = ticket_types(session, event)
    assert buy_with(client, event, {standard.id: 2}, code="half").status_code == 303
    order = session.exec(select(Order)).one()
    assert (order.total, order.discount_total) == (1000, 1000)
    created = next(r for r in standin.requests() if r["path"] == "/v1/checkout/sessions")
    items = created["params"]["line_items"]
    items = items.values() if isinstance(items, dict) else items
    assert [int(i["price_data"]["unit_amount"]) for i in items] == [500]


def test_a_link_can_carry_a_code(client, db, session, event, members, standin):
    hidden, code = members
    with db.write_session() as s:
        promo.create_link(
            s,
            event_id=event.id,
            label="Members newsletter",
            organisation_id=None,
            now=NOW,
            code="members",
            access_code_id=code.id,
        )
    client.headers.update(BROWSER)
    landing = client.get("/t/members")
    page = client.get(landing.headers["location"])
    assert "London Society members" in page.text and "Code LONSOC applied" in page.text


def test_the_ticket_box_can_be_framed_and_is_small(client, session, event, link):
    response = client.get(f"/events/{event.slug}/embed?promo=islington")
    assert response.status_code == 200
    assert "x-frame-options" not in response.headers
    assert "frame-ancestors *" in response.headers["content-security-policy"]
    assert len(response.content) < 30_000
    assert 'target="_top"' in response.text and "/t/islington" in response.text
    # Every other page still refuses to be framed.
    assert client.get(f"/events/{event.slug}").headers["x-frame-options"] == "DENY"


def test_the_ticket_box_says_sold_out(client, session, standin):
    event = make_event(session, capacity=1)
    tt = make_ticket_type(session, event)
    buy(client, event, {tt.id: 1})
    html = client.get(f"/events/{event.slug}/embed").text
    assert "Sold out" in html and "Buy tickets" not in html


def test_report_and_csv_for_organisers(client, session, event, link, organiser, standin):
    client.headers.update(BROWSER)
    client.get("/t/islington")
    standard, _ = ticket_types(session, event)
    pay(client, standin, buy(client, event, {standard.id: 2}, name='=HYPERLINK("x")'))
    sign_in(client, organiser)
    page = client.get(f"/admin/events/{event.id}/promo")
    assert page.status_code == 200 and "Islington CLP article" in page.text
    assert "http://testserver/t/islington" in page.text
    response = client.get(f"/admin/events/{event.id}/promo.csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    row = next(r for r in rows if r["name"] == "Islington CLP article")
    assert (row["visits"], row["orders_paid"], row["tickets"], row["revenue_pounds"]) == (
        "1",
        "1",
        "2",
        "20.00",
    )
    assert next(r for r in rows if r["kind"] == "organisation")["name"] == "On London"


def test_organisers_make_links_and_codes_with_validation(client, session, event, organiser):
    sign_in(client, organiser)
    from tests.helpers import csrf_from

    token = csrf_from(client, f"/admin/events/{event.id}/promo")
    bad = client.post(
        f"/admin/events/{event.id}/promo/links",
        data={"csrf_token": token, "label": "", "link_code": "no spaces!"},
    )
    assert bad.status_code == 400 and "Enter a label" in bad.text
    ok = client.post(
        f"/admin/events/{event.id}/promo/links",
        data={"csrf_token": token, "label": "Evening Standard piece", "link_code": ""},
    )
    assert ok.status_code == 303
    code = client.post(
        f"/admin/events/{event.id}/promo/codes",
        data={"csrf_token": token, "code": "TENOFF", "discount_amount": "lots"},
    )
    assert code.status_code == 400 and "Discount must be an amount of money" in code.text
    code = client.post(
        f"/admin/events/{event.id}/promo/codes",
        data={"csrf_token": token, "code": "TENOFF", "discount_percent": "10"},
    )
    assert code.status_code == 303
