"""The buyer's access needs on the order page: checkboxes and a short note, audited."""

from __future__ import annotations

from sqlmodel import select

from booking.models import AuditEntry, Order
from tests.helpers import buy, csrf_from, ticket_types
from tests.mail.flows import pay


def _paid(client, session, event, standin):  # type: ignore[no-untyped-def]
    standard, _ = ticket_types(session, event)
    return pay(client, session, event, standin, {standard.id: 1})


def _stored(session, order):  # type: ignore[no-untyped-def]
    session.expire_all()
    saved = session.get(Order, order.id)
    return saved.access_needs, saved.access_note


def test_the_buyer_gives_and_changes_access_needs(client, session, event, standin):
    order = _paid(client, session, event, standin)
    page = client.get(f"/orders/{order.token}")
    assert "Tell us about access needs" in page.text
    url = f"/orders/{order.token}/access"
    form = client.get(url)
    assert form.status_code == 200 and form.headers["x-robots-tag"] == "noindex"
    assert 'type="checkbox" value="bsl"' in form.text
    token = csrf_from(client, url)

    done = client.post(
        url,
        data={"csrf_token": token, "needs": ["hearing_loop", "bsl"], "access_note": " Row A "},
    )
    assert done.status_code == 303 and done.headers["location"].endswith("#access")
    assert _stored(session, order) == ("hearing_loop,bsl", "Row A")
    shown = client.get(done.headers["location"].split("#")[0])
    assert "Your access needs have been saved" in shown.text
    assert "<li>Hearing loop</li>" in shown.text and "<li>Row A</li>" in shown.text
    [entry] = session.exec(
        select(AuditEntry).where(AuditEntry.action == "order.access_needs_changed")
    ).all()
    assert entry.actor == "buyer" and entry.order_id == order.id
    assert entry.data["needs"] == {"before": "", "after": "Hearing loop; BSL interpretation: Row A"}

    client.post(url, data={"csrf_token": token})  # everything unticked
    assert _stored(session, order) == ("", "")


def test_wrong_input_re_renders_and_saves_nothing(client, session, event, standin):
    order = _paid(client, session, event, standin)
    url = f"/orders/{order.token}/access"
    token = csrf_from(client, url)
    long = client.post(
        url, data={"csrf_token": token, "needs": "step_free", "access_note": "x" * 201}
    )
    assert long.status_code == 400 and "There is a problem" in long.text
    assert "200 characters or fewer" in long.text
    assert 'value="step_free" checked' in long.text  # the ticked box stays ticked
    odd = client.post(url, data={"csrf_token": token, "needs": "<script>"})
    assert odd.status_code == 400 and "Select access needs from the list" in odd.text
    assert "<script>" not in odd.text
    assert _stored(session, order) == ("", "")
    assert client.post(url, data={"needs": "bsl"}).status_code == 403  # no CSRF token


def test_only_a_paid_order_has_access_needs(client, session, event, standin):
    standard, _ = ticket_types(session, event)
    assert client.get("/orders/no-such-order-token-xx/access").status_code == 404
    buy(client, event, {standard.id: 1})
    pending = session.exec(select(Order)).one()
    assert client.get(f"/orders/{pending.token}/access").status_code == 404


def test_access_changes_read_as_sentences():
    from tests.web.test_activity import _say

    assert (
        _say(
            "order.access_needs_changed",
            {"needs": {"before": "", "after": "BSL: Row A"}},
            actor_id=None,
            actor="buyer",
        )
        == "The buyer changed the access needs from none to BSL: Row A"
    )
    assert (
        _say(
            "ticket_type.updated",
            {"name": "Front", "access_place": {"before": "", "after": "wheelchair"}},
        )
        == "Sam Organiser changed Front's kind of place from a seat to a wheelchair space"
    )
