"""Booking's Stripe adapter. The only app module that imports ``stripe``.

It returns booking's own frozen dataclasses, never Stripe objects, and turns every Stripe
failure into :class:`PaymentError` whose message is safe to show a buyer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams, SessionCreateParamsPaymentIntentData

LOCALE: Final = "en-GB"
SUBMIT_TYPE: Final = "book"


@dataclass(frozen=True)
class LineItem:
    name: str
    unit_amount: int
    quantity: int
    currency: str


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    status: str  # "open" | "complete" | "expired"
    payment_status: str  # "unpaid" | "paid" | "no_payment_required"
    amount_total: int
    currency: str
    client_reference_id: str | None
    metadata: dict[str, str]
    payment_intent: str | None
    customer_email: str | None  # the email the buyer paid with, once known
    expires_at: datetime
    lines: tuple[LineItem, ...] = ()


@dataclass(frozen=True)
class Refund:
    id: str
    status: str
    amount: int
    currency: str
    payment_intent: str | None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Charge:
    id: str
    payment_intent: str | None
    amount: int
    amount_refunded: int  # all refunded so far, whoever asked for it
    currency: str
    metadata: dict[str, str] = field(default_factory=dict)  # copied from its PaymentIntent

    @property
    def left(self) -> int:
        """What may still be refunded."""
        return max(0, self.amount - self.amount_refunded)


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str
    object: dict[str, Any]
    created: datetime


class PaymentError(Exception):
    """A payment-provider failure. ``str(err)`` is safe to show buyers."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.code = code
        self.http_status = http_status
        self.request_id = request_id


def is_missing(exc: PaymentError) -> bool:
    """Stripe does not know the object asked for (it will never know it: do not retry)."""
    return exc.code == "resource_missing" or exc.http_status == 404


class InvalidWebhook(ValueError):
    """The webhook's signature is missing, wrong or too old, or its body is not an event."""


class _HTTPXClient(stripe.HTTPXClient):
    """stripe's httpx client, passing the encoded form as ``content=``.

    stripe 16 hands httpx the body as ``data=<str>``, which httpx deprecates with a
    DeprecationWarning on every POST; the bytes on the wire are the same either way.
    """

    def _get_request_args_kwargs(
        self, method: str, url: str, headers: Any, post_data: Any
    ) -> list[Any]:
        args, kwargs = super()._get_request_args_kwargs(method, url, headers, post_data)
        body = kwargs.pop("data", None)
        if body:
            kwargs["content"] = body
        return [args, kwargs]


class Payments:
    """Async access to Stripe Checkout for booking."""

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        api_base: str | None = None,
        timeout: float = 10,
        max_network_retries: int = 2,
    ) -> None:
        stripe.enable_telemetry = False
        self._webhook_secret = webhook_secret
        # Certificate checks only mean something over https (a loopback stand-in is http).
        plain_http = api_base is not None and api_base.startswith("http://")
        self._http = _HTTPXClient(timeout=timeout, verify_ssl_certs=not plain_http)
        self._client = stripe.StripeClient(
            secret_key,
            stripe_version=stripe.api_version,
            base_addresses={"api": api_base.rstrip("/")} if api_base else None,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    async def __aenter__(self) -> Payments:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # stripe leaves it unannotated

    async def create_checkout(
        self,
        *,
        order_ref: str,
        lines: list[LineItem],
        customer_email: str,
        expires_at: datetime,
        success_url: str,
        cancel_url: str,
        metadata: dict[str, str],
        idempotency_key: str,
        description: str | None = None,
    ) -> CheckoutSession:
        """Create a hosted Checkout Session; ``success_url`` may hold ``{CHECKOUT_SESSION_ID}``."""
        if expires_at.tzinfo is None:
            raise ValueError("expires_at must be timezone-aware")
        intent_data: SessionCreateParamsPaymentIntentData = {"metadata": dict(metadata)}
        if description:
            intent_data["description"] = description
        params: SessionCreateParams = {
            "mode": "payment",
            "line_items": [
                {
                    "quantity": line.quantity,
                    "price_data": {
                        "currency": line.currency.lower(),
                        "unit_amount": line.unit_amount,
                        "product_data": {"name": line.name},
                    },
                }
                for line in lines
            ],
            "customer_email": customer_email,
            "client_reference_id": order_ref,
            "metadata": dict(metadata),
            "payment_intent_data": intent_data,
            "expires_at": int(expires_at.timestamp()),
            "success_url": success_url,
            "cancel_url": cancel_url,
            "submit_type": SUBMIT_TYPE,
            "locale": LOCALE,
        }
        sessions = self._client.v1.checkout.sessions
        try:
            session = await sessions.create_async(params, {"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc
        return _to_session(session)

    async def retrieve_checkout(self, session_id: str) -> CheckoutSession:
        sessions = self._client.v1.checkout.sessions
        try:
            session = await sessions.retrieve_async(session_id, {"expand": ["line_items"]})
            return _to_session(session, await self._all_lines(session))
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc

    async def expire_checkout(self, session_id: str) -> CheckoutSession:
        """Expire an open session. If Stripe says it can't (already complete or expired),
        return the session's real state instead."""
        sessions = self._client.v1.checkout.sessions
        try:
            session = await sessions.expire_async(session_id, {"expand": ["line_items"]})
        except stripe.InvalidRequestError as exc:
            if exc.http_status == 404 or exc.code == "resource_missing":
                raise _payment_error(exc) from exc
            return await self.retrieve_checkout(session_id)
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc
        return _to_session(session)

    async def refund(
        self,
        *,
        payment_intent: str,
        amount: int | None,
        idempotency_key: str,
        reason: str = "requested_by_customer",
        metadata: dict[str, str] | None = None,
    ) -> Refund:
        """Refund ``amount`` (all that is left when None) of a PaymentIntent."""
        params: RefundCreateParams = {"payment_intent": payment_intent, "reason": reason}
        if amount is not None:
            params["amount"] = amount
        if metadata:
            params["metadata"] = dict(metadata)
        try:
            refund = await self._client.v1.refunds.create_async(
                params, {"idempotency_key": idempotency_key}
            )
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc
        return _to_refund(refund)

    async def list_refunds(self, *, payment_intent: str) -> list[Refund]:
        """Every refund of a PaymentIntent's charge, newest first (all pages)."""
        try:
            listing = await self._client.v1.refunds.list_async(
                {"payment_intent": payment_intent, "limit": 100}
            )
            return [_to_refund(refund) async for refund in listing.auto_paging_iter()]
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc

    async def retrieve_charge(self, charge_id: str) -> Charge:
        """The charge as Stripe has it now (a webhook's copy of it is not trusted)."""
        try:
            charge = await self._client.v1.charges.retrieve_async(charge_id)
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc
        return _to_charge(charge)

    async def charge_of(self, payment_intent: str) -> Charge | None:
        """The PaymentIntent's latest charge as Stripe has it now (None if it has none)."""
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(
                payment_intent, {"expand": ["latest_charge"]}
            )
        except stripe.StripeError as exc:
            raise _payment_error(exc) from exc
        charge = intent.latest_charge
        if charge is None:
            return None
        if isinstance(charge, str):
            return await self.retrieve_charge(charge)
        return _to_charge(charge)

    def parse_webhook(self, payload: bytes, signature_header: str | None) -> WebhookEvent:
        """Verify the ``Stripe-Signature`` over the raw body (300 s tolerance) and parse it."""
        if not signature_header:
            raise InvalidWebhook("missing Stripe-Signature header")
        try:
            event = stripe.Webhook.construct_event(payload, signature_header, self._webhook_secret)
        except stripe.SignatureVerificationError as exc:
            raise InvalidWebhook(f"bad signature: {exc.user_message}") from exc
        except ValueError as exc:
            raise InvalidWebhook("payload is not a Stripe event") from exc
        try:
            return _to_event(event)
        except (AttributeError, KeyError, TypeError) as exc:
            raise InvalidWebhook("payload is not a Stripe event") from exc

    async def _all_lines(self, session: Any) -> tuple[LineItem, ...]:
        lines = _to_lines(session)
        if "line_items" not in session or not session.line_items.has_more:
            return lines
        listing = await self._client.v1.checkout.sessions.line_items.list_async(
            session.id, {"limit": 100}
        )
        return tuple([_to_line(item) async for item in listing.auto_paging_iter()])


# -- conversions: Stripe objects -> booking's dataclasses ---------------------------------
def _to_session(session: Any, lines: tuple[LineItem, ...] | None = None) -> CheckoutSession:
    intent = session.payment_intent
    details = session.customer_details
    email = details.email if details is not None else None
    return CheckoutSession(
        id=session.id,
        url=session.url,
        status=session.status,
        payment_status=session.payment_status,
        amount_total=session.amount_total or 0,
        currency=session.currency,
        client_reference_id=session.client_reference_id,
        metadata=_plain_metadata(session.metadata),
        payment_intent=intent if intent is None or isinstance(intent, str) else intent.id,
        customer_email=email or session.customer_email,
        expires_at=datetime.fromtimestamp(session.expires_at, UTC),
        lines=_to_lines(session) if lines is None else lines,
    )


def _to_lines(session: Any) -> tuple[LineItem, ...]:
    if "line_items" not in session or session.line_items is None:
        return ()
    return tuple(_to_line(item) for item in session.line_items.data)


def _to_line(item: Any) -> LineItem:
    quantity = item.quantity or 1
    price = item.price
    unit = price.unit_amount if price is not None else None
    return LineItem(
        name=item.description,
        unit_amount=unit if unit is not None else item.amount_subtotal // quantity,
        quantity=quantity,
        currency=item.currency,
    )


def _to_refund(refund: Any) -> Refund:
    intent = refund.payment_intent
    return Refund(
        id=refund.id,
        status=refund.status,
        amount=refund.amount,
        currency=refund.currency,
        payment_intent=intent if intent is None or isinstance(intent, str) else intent.id,
        metadata=_plain_metadata(refund.metadata),
    )


def _to_charge(charge: Any) -> Charge:
    intent = charge.payment_intent
    return Charge(
        id=charge.id,
        payment_intent=intent if intent is None or isinstance(intent, str) else intent.id,
        amount=charge.amount,
        amount_refunded=charge.amount_refunded,
        currency=charge.currency,
        metadata=_plain_metadata(charge.metadata),
    )


def _to_event(event: Any) -> WebhookEvent:
    obj = event.data.object
    return WebhookEvent(
        id=event.id,
        type=event.type,
        object_id=obj.id,
        object=obj.to_dict(for_json=True),
        created=datetime.fromtimestamp(event.created, UTC),
    )


def _plain_metadata(metadata: Any) -> dict[str, str]:
    if metadata is None:
        return {}
    return {str(k): str(v) for k, v in metadata.to_dict().items()}


# -- errors ---------------------------------------------------------------------------------
_RETRY_LATER = "We couldn't reach our payment provider. Please try again in a moment."
_UNAVAILABLE = "Card payments are unavailable right now. Please try again later."
_FAILED = "We couldn't set up your payment. Please try again, or contact us if it keeps happening."


def _payment_error(exc: stripe.StripeError) -> PaymentError:
    """Map a Stripe error to a buyer-safe PaymentError (details stay on the attributes)."""
    retryable = False
    if isinstance(exc, stripe.APIConnectionError | stripe.RateLimitError | stripe.APIError):
        message, retryable = _RETRY_LATER, True
    elif isinstance(exc, stripe.CardError):
        message = exc.user_message or "Your card was declined."
    elif isinstance(exc, stripe.AuthenticationError | stripe.PermissionError):
        message = _UNAVAILABLE
    elif isinstance(exc, stripe.InvalidRequestError) and exc.code == "resource_missing":
        message = "We couldn't find that payment."
    else:
        message = _FAILED
        retryable = exc.http_status == 409 and not isinstance(exc, stripe.IdempotencyError)
    return PaymentError(
        message,
        retryable=retryable,
        code=exc.code,
        http_status=exc.http_status,
        request_id=exc.request_id,
    )
