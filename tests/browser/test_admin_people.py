"""An organiser at a laptop looks after an event's people: issues guest-list tickets that arrive
by email (a real SMTP server) and work at the door, writes to ticket holders once per address,
and corrects a buyer's email address before sending the tickets again. Every page passes axe."""

from __future__ import annotations

import zxingcpp
from PIL import Image
from playwright.sync_api import expect
from sqlmodel import select

from booking.models import HolderMessage, MailKind, MailOutbox, Order
from tests.admin_orders.conftest import add_order
from tests.browser.conftest import assert_accessible, screenshot
from tests.conftest import ARTIFACTS, PASSWORD
from tests.factories import make_event, make_organisation, make_ticket_type
from tests.helpers import ticket_types
from tests.mail.flows import deliver, pay, sender

LAPTOP = {"width": 1280, "height": 900}


def _debate(session):  # type: ignore[no-untyped-def]
    event = make_event(
        session,
        slug="london-and-brexit",
        title="London and Brexit",
        capacity=40,
        contact_email="events@onlondon.example",
    )
    make_ticket_type(session, event, name="Standard", price=1000)
    make_ticket_type(session, event, name="Concession", price=500, position=1)
    make_organisation(session, event, name="On London")
    return event


def _sign_in(page, live_server, organiser, path: str) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size(LAPTOP)
    page.goto(f"{live_server.url}/sign-in?next={path}")
    page.get_by_label("Email address").fill(organiser.email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


def _click(page, role: str, name: str) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation():
        # .first: the event's tab row may carry the same link as the page
        page.get_by_role(role, name=name, exact=True).first.click()  # type: ignore[arg-type]


def _qr_codes(message) -> list[str]:  # type: ignore[no-untyped-def]
    """The ticket codes in an email's QR images, read by zxing-cpp."""
    import io

    found = []
    for part in message.walk():
        if part.get_content_type() == "image/png":
            image = Image.open(io.BytesIO(part.get_content()))
            found += [r.text for r in zxingcpp.read_barcodes(image)]
    return found


def test_guest_list_tickets_arrive_by_email_and_work_at_the_door(
    page, live_server, session, organiser, smtp, settings, db, clock
):
    event = _debate(session)
    speaker_type = make_ticket_type(
        session, event, name="Speaker", price=0, visible=False, position=2
    )
    _sign_in(page, live_server, organiser, f"/admin/events/{event.id}")
    _click(page, "link", "Guest list")
    assert_accessible(page)
    screenshot(page, "people-guest-list-empty")

    # A mistake is explained beside the field, with the typing kept.
    page.get_by_label("Name").fill("Andrew Adonis")
    page.get_by_label("Email address").fill("andrew@example")
    page.get_by_label("Ticket type").select_option(label="Speaker (hidden)")
    page.get_by_label("Number of tickets").fill("2")
    _click(page, "button", "Issue tickets")
    expect(page.locator(".error-summary")).to_contain_text("correct format")
    expect(page.get_by_label("Name")).to_have_value("Andrew Adonis")
    assert_accessible(page)
    screenshot(page, "people-guest-list-error")
    page.get_by_label("Email address").fill("andrew@example.com")
    _click(page, "button", "Issue tickets")
    expect(page.get_by_text("2 complimentary tickets issued to Andrew Adonis")).to_be_visible()
    expect(page.locator("table")).to_contain_text("Complimentary")
    assert_accessible(page)
    screenshot(page, "people-guest-list")

    # The tickets arrive by email, with QR codes a phone can read.
    assert deliver(sender(smtp.settings_for(settings), db)).sent == 1
    [message] = smtp.messages
    assert message["To"].addresses[0].addr_spec == "andrew@example.com"
    assert message["Subject"].startswith("Your tickets: London and Brexit")
    assert "Complimentary" in message.get_body(("plain",)).get_content()
    codes = _qr_codes(message)
    order = session.exec(select(Order).where(Order.complimentary)).one()
    assert len(codes) == 2 and {t.ticket_type_id for t in _tickets(session, order)} == {
        speaker_type.id
    }

    # At the door, the first code is admitted through the door screen and its API.
    page.goto(f"{live_server.url}/door/{event.slug}")
    page.get_by_label("Ticket code or reference").fill(codes[0])
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#result-title")).to_have_text("Admitted")
    expect(page.locator("#result-name")).to_have_text("Andrew Adonis · Speaker")
    page.get_by_role("button", name="Scan next").click()

    # The organiser cancels the guest's tickets; the other code stops working.
    page.goto(f"{live_server.url}/admin/events/{event.id}/guests")
    _click(page, "link", "Cancel the tickets of Andrew Adonis")
    assert_accessible(page)
    screenshot(page, "people-guest-cancel")
    _click(page, "button", "Cancel the tickets")
    expect(page.get_by_text("their seats are back on sale")).to_be_visible()
    assert session.exec(select(Order.status).where(Order.id == order.id)).one() == "cancelled"
    page.goto(f"{live_server.url}/door/{event.slug}")
    page.get_by_label("Ticket code or reference").fill(codes[1])
    page.get_by_role("button", name="Check in").click()
    expect(page.locator("#result-title")).to_have_text("Not valid")


def _tickets(session, order):  # type: ignore[no-untyped-def]
    from booking.models import Ticket

    return session.exec(select(Ticket).where(Ticket.order_id == order.id)).all()


def test_a_message_reaches_each_ticket_holder_once(
    page, live_server, session, organiser, smtp, settings, db, clock
):
    event = _debate(session)
    standard, concession = ticket_types(session, event)[:2]
    add_order(session, event, [standard, standard], name="Ada Lovelace", email="ada@example.com")
    add_order(session, event, [concession], name="Ada Lovelace", email="ada@example.com")
    add_order(session, event, [standard], name="Grace Hopper", email="grace@example.com")
    add_order(session, event, [standard], name="Gone", email="gone@example.com", status="cancelled")

    _sign_in(page, live_server, organiser, f"/admin/events/{event.id}")
    _click(page, "link", "Message ticket holders")
    assert_accessible(page)
    page.get_by_label("Subject line").fill("We have moved to the Great Hall")
    page.get_by_label("Message", exact=True).fill(
        "Same time, new room.\n\nThe doors open at 18:30."
    )
    _click(page, "button", "Preview email")
    frame = page.frame_locator("iframe.preview-frame")
    expect(frame.get_by_text("Same time, new room.")).to_be_visible()
    expect(page.get_by_role("button", name="Send to 2 people")).to_be_visible()
    assert_accessible(page)
    # Full-page captures leave the sandboxed frame blank, so capture it on its own first,
    # once its content has been painted.
    page.wait_for_timeout(1000)
    page.locator("iframe.preview-frame").screenshot(
        path=str(ARTIFACTS / "people-message-preview-email.png")
    )
    screenshot(page, "people-message-preview")
    _click(page, "button", "Send to 2 people")
    expect(page.get_by_text("Your message is on its way to 2 people.")).to_be_visible()
    expect(page.locator("table")).to_contain_text("We have moved to the Great Hall")
    expect(page.locator("table")).to_contain_text("Olive Organiser")
    assert_accessible(page)
    screenshot(page, "people-message-sent")

    # The same message again asks first; "No" sends nothing.
    page.get_by_label("Subject line").fill("We have moved to the Great Hall")
    page.get_by_label("Message", exact=True).fill(
        "Same time, new room.\n\nThe doors open at 18:30."
    )
    _click(page, "button", "Send the message")
    expect(page.get_by_role("heading", name="This message has already been sent")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "people-message-again")
    _click(page, "link", "No, do not send it")

    assert deliver(sender(smtp.settings_for(settings), db)).sent == 2
    to = sorted(m["To"].addresses[0].addr_spec for m in smtp.messages)
    assert to == ["ada@example.com", "grace@example.com"]
    assert {m["Subject"] for m in smtp.messages} == {"We have moved to the Great Hall"}
    [sent] = session.exec(select(HolderMessage)).all()
    assert (sent.recipients, sent.created_by) == (2, organiser.id)
    page.goto(f"{live_server.url}/admin/events/{event.id}/messages")
    assert len(page.locator("tbody tr").all()) == 1


def test_change_a_buyers_email_then_resend(
    page, live_server, client, session, standin, organiser, smtp, settings, db, clock
):
    event = _debate(session)
    standard, _ = ticket_types(session, event)
    order = pay(client, session, event, standin, {standard.id: 2}, email="ada@exmaple.com")
    _sign_in(page, live_server, organiser, f"/admin/events/{event.id}")
    with page.expect_navigation():
        page.locator("#main").locator(".event-tabs").get_by_role(
            "link", name="Orders", exact=True
        ).click()
    expect(page.locator("table")).to_contain_text("Direct")
    assert_accessible(page)
    screenshot(page, "people-orders")
    _click(page, "link", order.reference)
    _click(page, "link", "Change the email address")
    assert_accessible(page)
    screenshot(page, "people-change-email")
    page.get_by_label("Email address").fill("ada@example.com")
    _click(page, "button", "Save the email address")
    expect(page.get_by_text("The order's email address is now ada@example.com")).to_be_visible()
    expect(page.locator(".activity")).to_contain_text(
        "changed the buyer's email address from ada@exmaple.com to ada@example.com"
    )
    _click(page, "button", "Resend the confirmation email")
    expect(page.get_by_text("will be sent again to ada@example.com")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "people-order-after-email-change")

    deliver(sender(smtp.settings_for(settings), db))
    resent = session.exec(select(MailOutbox).where(MailOutbox.kind == MailKind.RESEND)).one()
    assert resent.recipient == "ada@example.com"
    to = [m["To"].addresses[0].addr_spec for m in smtp.messages]
    assert to.count("ada@example.com") == 1 and to.count("ada@exmaple.com") == 1  # first one
    [again] = [m for m in smtp.messages if m["To"].addresses[0].addr_spec == "ada@example.com"]
    assert len(_qr_codes(again)) == 2

    # A partial refund's confirmation page offers to tell the buyer.
    page.goto(f"{live_server.url}/admin/orders/{order.id}/refund")
    page.locator("input[name=ticket]").first.check()
    page.get_by_label("Reason for the refund").fill("Cannot come")
    _click(page, "button", "Continue")
    expect(page.get_by_label("Email ada@example.com about this refund")).to_be_visible()
    assert_accessible(page)
    screenshot(page, "people-refund-confirm")
