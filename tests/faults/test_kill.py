"""SIGKILL at random points: two app processes and a `booking worker` on one database, with
a stream of checkouts, payments on Stripe's page (some after pressing Back), buyers
cancelling for a refund, organisers refunding a ticket and door check-ins. A random process
is killed in the middle of an operation and started again, and now and then Stripe fails
the next few calls. At the end the jobs run (a sweep half an hour later, the refunds job,
the mail sender) and every invariant holds: seats, paid orders, refunds and emails.
FAULTS_BUDGET=N runs N times the operations. FAULTS_SEED replays the plan (the operations,
the victims, the moments of the kills, the Stripe faults); which order or process an
operation picks still depends on timing.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
import time
from collections import Counter
from datetime import timedelta

import httpx
import pytest
from sqlmodel import Session, select

from booking import checkout, lifecycle, mail
from booking.domain import accounts
from booking.models import Order, OrderStatus, Role, Ticket, TicketStatus, utcnow
from booking.runtime import Services
from booking.templating import make_templates
from tests.conftest import PASSWORD, Clock
from tests.factories import make_event, make_ticket_type
from tests.faults import invariants
from tests.faults.conftest import budget

pytestmark = pytest.mark.slow
OPERATIONS = 50
KILL_CHANCE = 0.2
STRIPE_FAULT_CHANCE = 0.15
STRIPE_FAULTS = {
    "500": {"status": 500},
    "429": {"status": 429},
    "reset": {"action": "reset"},
    "answer-lost": {"status": 500, "when": "after"},
}
STAFF = "door-faults@example.com"
ORGANISER = "organiser-faults@example.com"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _sale(session: Session, db):  # type: ignore[no-untyped-def]
    event = make_event(session, capacity=14, buyer_cancel_allowed=True, buyer_cancel_cutoff_hours=1)
    types = [
        make_ticket_type(session, event, name="Standard", price=1000, capacity=10),
        make_ticket_type(session, event, name="Concession", price=500, capacity=6, position=1),
    ]
    with db.write_session() as ws:
        accounts.create_user(ws, email=STAFF, role=Role.STAFF, password=PASSWORD, name="Door")
    with db.write_session() as ws:
        accounts.create_user(
            ws, email=ORGANISER, role=Role.ORGANISER, password=PASSWORD, name="Olive"
        )
    return event, types


def _signed_in(url: str, email: str) -> httpx.Cookies:
    with httpx.Client(base_url=url, timeout=30) as client:
        token = CSRF.search(client.get("/sign-in").text)
        assert token
        signed = client.post(
            "/sign-in", data={"csrf_token": token.group(1), "email": email, "password": PASSWORD}
        )
        assert signed.status_code == 303, signed.text
        return client.cookies


class Stream:
    """The operations, each against a random app process; outcomes are counted."""

    def __init__(self, cluster, session, standin, event, types, rng, figures) -> None:  # type: ignore[no-untyped-def]
        self.cluster, self.session, self.standin = cluster, session, standin
        self.event, self.types, self.figures = event, types, figures
        self.rng = random.Random(rng.random())  # picks within operations, apart from the plan
        self.sessions: list[str] = []  # Checkout Sessions made, not yet paid
        self.buyers = 0
        self.staff_csrf = ""
        self.staff_cookies: httpx.Cookies | None = None
        self.organiser: httpx.Cookies | None = None

    def url(self) -> str:
        return self.rng.choice(self.cluster.serving())

    def outcome(self, op: str, result: str) -> None:
        self.figures.add(f"{op}:{result}")
        self.figures.add("operations")

    def run(self, op: str) -> None:
        try:
            result = getattr(self, op)()
        except httpx.TransportError:
            result = "interrupted"  # the process it talked to was killed
        self.outcome(op, result)

    def checkout(self) -> str:
        self.buyers += 1
        tt = self.rng.choice(self.types)
        with httpx.Client(base_url=self.url(), timeout=30) as client:
            page = client.get(f"/events/{self.event.slug}")
            token = CSRF.search(page.text)
            if not token:  # every ticket is sold or held: the page has no form
                assert page.status_code == 200, page.text
                return "sold-out"
            response = client.post(
                f"/events/{self.event.slug}/checkout",
                data={
                    "csrf_token": token.group(1),
                    "name": f"Buyer {self.buyers}",
                    "email": f"buyer{self.buyers}@example.com",
                    f"qty-{tt.id}": str(self.rng.randint(1, 2)),
                },
            )
        assert response.status_code < 500 or response.status_code == 503, response.text
        if response.status_code == 303:
            self.sessions.append(response.headers["location"].rsplit("/", 1)[-1])
        return str(response.status_code)

    def pay(self) -> str:
        if not self.sessions:
            return "nothing"
        cs_id = self.sessions.pop(self.rng.randrange(len(self.sessions)))
        paid = httpx.post(
            f"{self.standin_url}/_test/checkout/{cs_id}/pay",
            json={"card": "4242424242424242"},
            timeout=30,
        )
        if paid.status_code != 200:
            return f"refused-{paid.status_code}"
        if self.rng.random() < 0.8:  # some buyers close the tab before coming back
            back = httpx.get(f"{self.url()}/checkout/success?session_id={cs_id}", timeout=30)
            assert back.status_code in (303, 404), back.text
        return "paid"

    def back(self) -> str:
        """A buyer presses Back on Stripe's page; some pay in the other tab all the same."""
        if not self.sessions:
            return "nothing"
        cs_id = self.rng.choice(self.sessions)
        order = self.session.exec(select(Order).where(Order.stripe_session_id == cs_id)).first()
        self.session.commit()
        if order is None:
            return "nothing"
        back = httpx.get(f"{self.url()}/checkout/cancel/{order.token}", timeout=30)
        assert back.status_code == 303, back.text
        return str(back.status_code)

    def _paid_order(self) -> Order | None:
        paid = self.session.exec(select(Order).where(Order.status == OrderStatus.PAID)).all()
        self.session.commit()
        return self.rng.choice(paid) if paid else None

    def cancel(self) -> str:
        order = self._paid_order()
        if order is None:
            return "nothing"
        with httpx.Client(base_url=self.url(), timeout=30) as client:
            page = client.get(f"/orders/{order.token}/cancel")
            token = CSRF.search(page.text)
            if not token:
                assert page.status_code == 200, page.text
                return "too-late"
            done = client.post(f"/orders/{order.token}/cancel", data={"csrf_token": token.group(1)})
        assert done.status_code in (303, 409), done.text
        return str(done.status_code)

    def refund(self) -> str:
        """An organiser refunds one ticket of a paid order (a part of it, when it has more)."""
        order = self._paid_order()
        if order is None:
            return "nothing"
        ticket = self.rng.choice(
            self.session.exec(
                select(Ticket).where(
                    Ticket.order_id == order.id, Ticket.status == TicketStatus.VALID
                )
            ).all()
        )
        self.session.commit()
        if self.organiser is None:
            self.organiser = _signed_in(self.url(), ORGANISER)
        with httpx.Client(base_url=self.url(), cookies=self.organiser, timeout=30) as client:
            page = client.get(f"/admin/orders/{order.id}")
            token = CSRF.search(page.text)
            assert token, page.status_code
            done = client.post(
                f"/admin/orders/{order.id}/refund",
                data={
                    "csrf_token": token.group(1),
                    "reason": "Cannot come",
                    "ticket": str(ticket.id),
                    "confirm": "yes",
                },
            )
        assert done.status_code in (303, 400, 409), done.text
        return str(done.status_code)

    def _staff(self) -> tuple[httpx.Cookies, str]:
        if self.staff_cookies is None:
            with httpx.Client(base_url=self.url(), timeout=30) as client:
                token = CSRF.search(client.get("/sign-in").text)
                assert token
                signed = client.post(
                    "/sign-in",
                    data={"csrf_token": token.group(1), "email": STAFF, "password": PASSWORD},
                )
                assert signed.status_code == 303, signed.text
                page = client.get(f"/door/{self.event.slug}")
                csrf = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
                assert csrf
                self.staff_cookies, self.staff_csrf = client.cookies, csrf.group(1)
        return self.staff_cookies, self.staff_csrf

    def checkin(self) -> str:
        valid = self.session.exec(select(Ticket).where(Ticket.status == TicketStatus.VALID)).all()
        self.session.commit()
        if not valid:
            return "nothing"
        cookies, csrf = self._staff()
        ticket = self.rng.choice(valid)
        with httpx.Client(cookies=cookies, timeout=30) as client:
            r = client.post(
                f"{self.url()}/api/events/{self.event.slug}/checkins",
                json={"code": ticket.code, "nonce": secrets.token_hex(8), "device": "phone"},
                headers={"X-CSRF-Token": csrf},
            )
        assert r.status_code == 200, r.text
        return str(r.json()["result"])


def _converge(settings, db, smtp, now) -> None:  # type: ignore[no-untyped-def]
    """The jobs, as the worker runs them, half an hour on: lapsed holds swept (paid ones
    fulfilled), refunds sent, leases of killed senders run out and mail delivered."""

    async def jobs() -> None:
        svc = Services(
            settings=smtp.settings_for(settings), db=db, templates=make_templates(settings.tz)
        )
        svc.clock = Clock(now)
        async with lifecycle.running(svc):
            for _ in range(3):
                await checkout.sweep_lapsed(svc)
                await checkout.settle_refunds(svc)
                await mail.deliver_pending(svc)

    asyncio.run(jobs())


def test_kill_9_during_orders_payments_refunds_and_checkins(
    cluster, session, db, settings, standin, standin_server, smtp, figures, rng
):
    event, types = _sale(session, db)
    standin.configure_webhook(cluster.urls[0] + "/stripe/webhook")
    cluster.start_all()
    stream = Stream(cluster, session, standin, event, types, rng, figures)
    stream.standin_url = standin_server.url  # type: ignore[attr-defined]
    ops = ["checkout"] * 4 + ["pay"] * 3 + ["back", "cancel", "refund", "checkin"]
    checks = 0
    started = time.monotonic()
    for _ in range(OPERATIONS * budget()):
        op = rng.choice(ops)
        killer = None
        if rng.random() < KILL_CHANCE:
            victim = rng.choice(cluster.names)
            killer = threading.Timer(rng.uniform(0, 0.3), cluster.kill, (victim,))
            killer.start()
            figures.add(f"killed:{victim}")
            figures.add("faults")
        if rng.random() < STRIPE_FAULT_CHANCE:  # Stripe fails the next call or few as well
            kind = rng.choice(list(STRIPE_FAULTS))
            standin.add_fault(path_prefix="/v1/", count=rng.randint(1, 3), **STRIPE_FAULTS[kind])
            figures.add(f"stripe:{kind}")
            figures.add("faults")
        stream.run(op)
        if killer is not None:
            killer.join()
            # Started again at once; like a proxy, the stream sends requests to the app
            # processes that answer meanwhile.
            cluster.start(victim, wait=False)
        checks += invariants.seats(session, event, utcnow())
        session.commit()
    figures["stream_seconds"] = round(time.monotonic() - started, 1)
    for name in cluster.names[:2]:
        cluster.wait_ready(name)
    time.sleep(4)  # the worker's mail job runs every 3 s
    standin.faults.clear()
    standin.configure_webhook(None)
    standin.wait_for_deliveries(timeout=10)
    cluster.stop()

    later = utcnow() + timedelta(minutes=32)
    _converge(settings, db, smtp, later)
    checks += invariants.seats(session, event, later)
    checks += invariants.no_paid_order_lost(session, standin)
    checks += invariants.refunds_once(session, standin, settled=True)
    resent_allowed = int(figures.get("killed:worker", 0))  # type: ignore[call-overload]
    mail_checks, copies = invariants.emails_once(
        session, smtp.messages, resent_allowed=resent_allowed
    )
    checks += mail_checks
    statuses = Counter(o.status for o in session.exec(select(Order)).all())
    figures.update(
        invariant_checks=checks,
        orders_paid=statuses[OrderStatus.PAID],
        orders_cancelled=statuses[OrderStatus.CANCELLED],
        orders_refunded=statuses[OrderStatus.REFUNDED],
        stripe_refunds=len(invariants.standin_refunds(standin)),
        emails_received=len(smtp.messages),
        emails_resent_same_id=copies,
    )
    assert figures.get("faults", 0), "no process was killed: raise KILL_CHANCE or OPERATIONS"
