"""Shared fixtures: the stand-in and a webhook receiver, each served from a thread."""

import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from booking.payments import LineItem, Payments
from booking.stripe_standin import ServerHandle, StandIn, serve_in_thread
from booking.stripe_standin.app import bind, serve_app_in_thread

SECRET = "whsec_test_standin_suite"
API_KEY = "sk_test_standin_suite"
SUCCESS_URL = "http://shop.test/checkout/done?session_id={CHECKOUT_SESSION_ID}"
CANCEL_URL = "http://shop.test/checkout/cancelled"

stripe.enable_telemetry = False


class Receiver:
    """Collects webhook deliveries and checks each signature with the stripe library."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self._cond = threading.Condition()
        self.deliveries: list[dict[str, Any]] = []
        self.fail_next = 0
        self.fail_status = 500

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        header = request.headers.get("stripe-signature")
        try:
            event = stripe.Webhook.construct_event(body, header, self.secret)
            verified, event_id, event_type = True, event.id, event.type
        except (ValueError, stripe.SignatureVerificationError):
            verified, event_id, event_type = False, None, None
        with self._cond:
            status = 200
            if self.fail_next > 0:
                self.fail_next -= 1
                status = self.fail_status
            self.deliveries.append(
                {
                    "id": event_id,
                    "type": event_type,
                    "verified": verified,
                    "status": status,
                    "signature": header,
                    "body": body,
                    "content_type": request.headers.get("content-type"),
                }
            )
            self._cond.notify_all()
        return Response(status_code=status)

    def accepted(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self._cond:
            return [
                d
                for d in self.deliveries
                if d["status"] == 200 and d["verified"] and event_type in (None, d["type"])
            ]

    def wait_for(self, predicate: Callable[["Receiver"], bool], timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate(self):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return True

    def wait_for_type(self, event_type: str, count: int = 1, timeout: float = 5.0) -> list:
        assert self.wait_for(lambda r: len(r.accepted(event_type)) >= count, timeout), (
            f"no {event_type} webhook; got {[d['type'] for d in self.deliveries]}"
        )
        return self.accepted(event_type)

    def reset(self) -> None:
        with self._cond:
            self.deliveries.clear()
            self.fail_next = 0
            self.fail_status = 500


@pytest.fixture(scope="session")
def receiver_server() -> Iterator[tuple[Receiver, ServerHandle]]:
    receiver = Receiver(SECRET)
    app = Starlette(routes=[Route("/webhook", receiver.endpoint, methods=["POST"])])
    handle = serve_app_in_thread(app, bind(), name="webhook-receiver")
    yield receiver, handle
    handle.stop()


@pytest.fixture(scope="session")
def server(receiver_server: tuple[Receiver, ServerHandle]) -> Iterator[ServerHandle]:
    _, receiver_handle = receiver_server
    handle = serve_in_thread(
        webhook_url=f"{receiver_handle.url}/webhook",
        webhook_secret=SECRET,
        delivery_schedule=(0, 0.1, 0.2, 0.4, 0.8),
        delivery_timeout=2.0,
    )
    yield handle
    handle.stop()


@pytest.fixture
def receiver(receiver_server: tuple[Receiver, ServerHandle], standin: StandIn) -> Receiver:
    return receiver_server[0]


@pytest.fixture
def standin(server: ServerHandle, receiver_server: tuple[Receiver, ServerHandle]) -> StandIn:
    """The stand-in's state, emptied (and the receiver cleared) before each test."""
    state = server.standin
    state.wait_for_deliveries(5)
    state.reset()
    receiver_server[0].reset()
    return state


@pytest.fixture
def base_url(server: ServerHandle, standin: StandIn) -> str:
    return server.url


@pytest.fixture
async def client(base_url: str) -> AsyncIterator[stripe.StripeClient]:
    """The real stripe library, pointed at the stand-in."""
    http_client = stripe.HTTPXClient(timeout=5, verify_ssl_certs=False)  # plain http anyway
    yield stripe.StripeClient(
        API_KEY,
        base_addresses={"api": base_url},
        http_client=http_client,
        max_network_retries=2,
    )
    await http_client.close_async()


@pytest.fixture
async def payments(base_url: str) -> AsyncIterator[Payments]:
    adapter = Payments(secret_key=API_KEY, webhook_secret=SECRET, api_base=base_url, timeout=2)
    yield adapter
    await adapter.aclose()


@pytest.fixture
async def http(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """A plain HTTP client (the buyer's browser, or raw API calls)."""
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as plain:
        yield plain


def session_params(**overrides: Any) -> dict[str, Any]:
    """Checkout params shaped like booking's: two ticket lines, GBP, 31-minute hold."""
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 1250,
                    "product_data": {"name": "Debate night: standard"},
                },
            },
            {
                "quantity": 1,
                "price_data": {
                    "currency": "gbp",
                    "unit_amount": 500,
                    "product_data": {"name": "Debate night: concession"},
                },
            },
        ],
        "customer_email": "buyer@example.test",
        "client_reference_id": "order_42",
        "metadata": {"order_id": "42"},
        "payment_intent_data": {"metadata": {"order_id": "42"}},
        "expires_at": int(time.time()) + 31 * 60,
        "success_url": SUCCESS_URL,
        "cancel_url": CANCEL_URL,
        "submit_type": "book",
        "locale": "en-GB",
    }
    params.update(overrides)
    return params


@pytest.fixture
def make_params() -> Callable[..., dict[str, Any]]:
    return session_params


@pytest.fixture
def create_session(
    client: stripe.StripeClient,
) -> Callable[..., Any]:
    """``await create_session(**overrides)`` -> a Session made through the real library."""

    async def create(**overrides: Any) -> stripe.checkout.Session:
        return await client.v1.checkout.sessions.create_async(session_params(**overrides))

    return create


@pytest.fixture
def checkout_args() -> Callable[[datetime], dict[str, Any]]:
    """Arguments for ``Payments.create_checkout`` as booking would pass them."""

    def build(expires_at: datetime) -> dict[str, Any]:
        return {
            "order_ref": "order_7",
            "lines": [LineItem("Debate night", 1500, 2, "gbp")],
            "customer_email": "buyer@example.test",
            "expires_at": expires_at,
            "success_url": "http://shop.test/done?session_id={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://shop.test/cancel",
            "metadata": {"order_id": "7"},
            "idempotency_key": "checkout:order_7:1",
        }

    return build


@pytest.fixture
def hold_until() -> Callable[[int], datetime]:
    return lambda minutes=31: datetime.now(UTC) + timedelta(minutes=minutes)


HTTPX_DATA_WARNING = (
    "ignore:Use 'content=<...>' to upload raw bytes/text content.:DeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """stripe 16's own HTTPXClient passes ``data=<str>`` to httpx, which warns on each POST.

    Tests here drive the unmodified library, so only that one warning is let through;
    booking.payments sends ``content=`` and needs no such allowance.
    """
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.filterwarnings(HTTPX_DATA_WARNING))
