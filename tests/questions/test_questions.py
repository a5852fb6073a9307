"""Questions for the panel: sent with the booking or from the order page, edited until the
deadline, moderated by organisers, read by the chair through a private link."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from sqlmodel import select

from booking.models import Order, OrderStatus, Question, QuestionStatus, Ticket
from tests.questions.conftest import CSRF, book_with_question, order_of, post_form

HOSTILE = '<script>alert("q")</script> =HYPERLINK("http://evil.example") & more'


def _questions(session):  # type: ignore[no-untyped-def]
    return session.exec(select(Question).order_by(Question.id)).all()


def test_a_question_sent_with_the_booking_reaches_moderation_with_the_first_name_only(
    client, session, debate, organiser_client
):
    response = book_with_question(
        client, session, debate, question="  Will the night buses come back?  "
    )
    order = order_of(session, response)
    [question] = _questions(session)
    first_ticket = session.exec(
        select(Ticket).where(Ticket.order_id == order.id).order_by(Ticket.id)
    ).first()
    assert (question.ticket_id, question.text) == (
        first_ticket.id,
        "Will the night buses come back?",
    )
    assert question.status == QuestionStatus.SUBMITTED and not question.show_full_name

    page = organiser_client.get(f"/admin/events/{debate.id}/questions")
    assert page.status_code == 200
    assert "Will the night buses come back?" in page.text
    assert "Ada (Free seat)" in page.text and "Lovelace" not in page.text
    assert "To decide (1)" in page.text

    order_page = client.get(f"/orders/{order.token}")
    assert "Will the night buses come back?" in order_page.text
    assert "Change your question" in order_page.text and "Send a question" in order_page.text


def test_the_buy_form_offers_the_question_only_when_the_event_takes_them(client, session, debate):
    html = client.get(f"/events/{debate.slug}").text
    assert "A question for the panel (optional)" in html
    too_long = book_with_question(client, session, debate, question="x" * 281)
    assert too_long.status_code == 400
    assert "Your question must be 280 characters or fewer" in too_long.text
    assert session.exec(select(Order)).first() is None  # nothing booked

    debate.questions_on = False
    session.add(debate)
    session.commit()
    assert "A question for the panel" not in client.get(f"/events/{debate.slug}").text
    order_of(session, book_with_question(client, session, debate, question="Ignored?"))
    assert _questions(session) == []


def test_an_unpaid_order_s_question_stays_out_of_moderation(
    client, session, db, debate, organiser_client
):
    order = order_of(session, book_with_question(client, session, debate, question="Held?"))
    with db.write() as ws:
        ws.get(Order, order.id).status = OrderStatus.EXPIRED  # type: ignore[union-attr]
    page = organiser_client.get(f"/admin/events/{debate.id}/questions")
    assert "Held?" not in page.text and "All (0)" in page.text


def test_edit_until_the_deadline_then_refused_with_a_clear_message(
    client, session, db, debate, clock
):
    order = order_of(session, book_with_question(client, session, debate))
    path = f"/orders/{order.token}/tickets/2/question"
    saved = post_form(client, path, {"question": "First words", "question_full_name": "yes"})
    assert saved.status_code == 303 and saved.headers["location"].endswith("#questions")
    [q] = _questions(session)
    assert (q.text, q.show_full_name) == ("First words", True)
    assert "Your question for the panel is saved" in client.get(f"/orders/{order.token}").text

    with db.write() as ws:
        ws.get(Question, q.id).status = QuestionStatus.ACCEPTED  # type: ignore[union-attr]
    edited = post_form(client, path, {"question": "Better words"})
    assert edited.status_code == 303
    [q] = _questions(session)
    assert (q.text, q.show_full_name, q.status) == ("Better words", False, "submitted")

    form_page = client.get(path).text  # the form, before the clock moves on
    token = CSRF.search(form_page).group(1)  # type: ignore[union-attr]
    clock.now = debate.starts_at - timedelta(hours=2)  # the deadline
    refused = client.post(path, data={"csrf_token": token, "question": "Too late"})
    assert refused.status_code == 409
    assert "Questions for the panel have closed" in refused.text
    assert "closed at" in refused.text and '<form method="post" novalidate' not in refused.text
    assert _questions(session)[0].text == "Better words"
    order_page = client.get(f"/orders/{order.token}").text
    assert (
        "Questions for the panel closed at" in order_page
        and "Change your question" not in order_page
    )


def test_one_question_per_ticket_and_withdrawing_it(client, session, debate):
    order = order_of(session, book_with_question(client, session, debate, tickets=2))
    for n in (1, 2, 1):
        assert (
            post_form(
                client,
                f"/orders/{order.token}/tickets/{n}/question",
                {"question": f"From ticket {n}"},
            ).status_code
            == 303
        )
    assert sorted(q.text for q in _questions(session)) == ["From ticket 1", "From ticket 2"]
    assert (
        post_form(client, f"/orders/{order.token}/tickets/1/question", {"question": ""}).status_code
        == 303
    )
    assert [q.text for q in _questions(session)] == ["From ticket 2"]
    assert client.get(f"/orders/{order.token}/tickets/9/question").status_code == 404


def _act(organiser_client, event, question, action, **extra):  # type: ignore[no-untyped-def]
    page = organiser_client.get(f"/admin/events/{event.id}/questions")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    return organiser_client.post(
        f"/admin/events/{event.id}/questions/{question.id}",
        data={"csrf_token": token, "action": action, "show": "all", **extra},
    )


def test_moderation_accepts_rejects_stars_themes_and_orders_for_the_chair(
    client, session, debate, organiser_client
):
    texts = ["First?", "Second?", "Third?", "Fourth?"]
    for n, text in enumerate(texts):
        book_with_question(
            client,
            session,
            debate,
            question=text,
            tickets=1,
            name=f"Asker{n} Surname{n}",
            email=f"a{n}@example.com",
            consent=n == 1,
        )
    q1, q2, q3, q4 = _questions(session)
    for q in (q1, q2, q3):
        assert _act(organiser_client, debate, q, "accept").status_code == 303
    assert _act(organiser_client, debate, q4, "reject").status_code == 303
    _act(organiser_client, debate, q2, "star")
    _act(organiser_client, debate, q3, "theme", theme="Night buses")
    moved = _act(organiser_client, debate, q3, "up")
    assert moved.headers["location"].endswith(f"?status=all#question-{q3.id}")
    _act(organiser_client, debate, q3, "up")  # now first

    accepted = organiser_client.get(f"/admin/events/{debate.id}/questions?status=accepted").text
    assert "Fourth?" not in accepted and "Accepted (3)" in accepted and "Rejected (1)" in accepted
    assert accepted.index("Third?") < accepted.index("First?") < accepted.index("Second?")
    assert "Theme: Night buses" in accepted and "★ Starred" in accepted
    rejected = organiser_client.get(f"/admin/events/{debate.id}/questions?status=rejected").text
    assert "Fourth?" in rejected and "First?" not in rejected

    printed = organiser_client.get(f"/admin/events/{debate.id}/questions/print").text
    assert printed.index("Third?") < printed.index("First?") < printed.index("Second?")
    assert "Asker1 Surname1" in printed and "Surname0" not in printed and "Fourth?" not in printed

    assert _act(organiser_client, debate, q4, "up").status_code == 303  # refused, not a 500
    assert _act(organiser_client, debate, q4, "explode").status_code == 303
    bad_theme = _act(organiser_client, debate, q1, "theme", theme="t" * 61)
    assert (
        "Theme must be 60 characters or fewer"
        in organiser_client.get(bad_theme.headers["location"]).text
    )


def test_the_chair_s_private_link_shows_the_accepted_questions_and_can_be_revoked(
    client, session, debate, organiser_client
):
    book_with_question(client, session, debate, question="Accepted one?", tickets=1)
    book_with_question(
        client,
        session,
        debate,
        question="Not yet?",
        tickets=1,
        name="Bob Crow",
        email="bob@example.com",
    )
    q1, _ = _questions(session)
    _act(organiser_client, debate, q1, "accept")
    page = organiser_client.get(f"/admin/events/{debate.id}/questions").text
    assert "/chair/" not in page
    made = organiser_client.post(
        f"/admin/events/{debate.id}/questions/chair-link",
        data={"csrf_token": CSRF.search(page).group(1), "action": "make"},  # type: ignore[union-attr]
    )
    assert made.status_code == 303
    page = organiser_client.get(f"/admin/events/{debate.id}/questions").text
    link = page.split("http://testserver/chair/", 1)[1].split("<", 1)[0]
    chair = client.get(f"/chair/{link}")
    assert chair.status_code == 200 and chair.headers["x-robots-tag"] == "noindex"
    assert "Accepted one?" in chair.text and "Not yet?" not in chair.text
    assert client.get(f"/chair/{link}/print").status_code == 200
    assert client.get(f"/chair/{link[:-1]}x").status_code == 404
    assert client.get(f"/chair/{debate.id + 1}/{link.split('/')[1]}").status_code == 404

    organiser_client.post(
        f"/admin/events/{debate.id}/questions/chair-link",
        data={"csrf_token": CSRF.search(page).group(1), "action": "revoke"},  # type: ignore[union-attr]
    )
    assert client.get(f"/chair/{link}").status_code == 404


def test_hostile_text_is_escaped_everywhere_and_csv_cells_cannot_run(
    client, session, debate, organiser_client
):
    order = order_of(
        session,
        book_with_question(
            client,
            session,
            debate,
            question=HOSTILE,
            tickets=1,
            name="=cmd|' /C calc'!A0 X",
            email="eve@example.com",
            consent=True,
        ),
    )
    [q] = _questions(session)
    _act(organiser_client, debate, q, "theme", theme='-2+3 <b onmouseover="x">')
    _act(organiser_client, debate, q, "accept")
    page = organiser_client.get(f"/admin/events/{debate.id}/questions").text
    organiser_client.post(
        f"/admin/events/{debate.id}/questions/chair-link",
        data={"csrf_token": CSRF.search(page).group(1), "action": "make"},  # type: ignore[union-attr]
    )
    page = organiser_client.get(f"/admin/events/{debate.id}/questions").text
    link = page.split("http://testserver/chair/", 1)[1].split("<", 1)[0]
    views = [
        page,
        organiser_client.get(f"/admin/events/{debate.id}/questions/print").text,
        client.get(f"/chair/{link}").text,
        client.get(f"/chair/{link}/print").text,
        client.get(f"/orders/{order.token}").text,
        client.get(f"/orders/{order.token}/tickets/1/question").text,
    ]
    for html in views:
        assert "<script>alert" not in html and "<b onmouseover" not in html
        assert "&lt;script&gt;alert(" in html
    assert "&lt;b onmouseover=" in views[0]

    raw = organiser_client.get(f"/admin/events/{debate.id}/questions.csv")
    assert raw.status_code == 200 and raw.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(raw.text.lstrip("\ufeff"))))
    assert rows[0][0] == "Order" and len(rows) == 2
    by = dict(zip(rows[0], rows[1], strict=True))
    assert by["Theme"] == '\'-2+3 <b onmouseover="x">'
    assert by["Asked by"].startswith("'=cmd")
    assert by["Question"] == HOSTILE  # starts with "<": no formula, kept as typed


def test_moderation_and_the_csv_are_for_organisers_only(client, session, debate, app, staff):
    from starlette.testclient import TestClient

    from tests.conftest import sign_in

    for path in ("/questions", "/questions.csv", "/questions/print"):
        assert client.get(f"/admin/events/{debate.id}{path}").status_code in (303, 401, 403)
    with TestClient(app, follow_redirects=False) as door:
        sign_in(door, staff)
        assert door.get(f"/admin/events/{debate.id}/questions").status_code in (302, 303, 403)
