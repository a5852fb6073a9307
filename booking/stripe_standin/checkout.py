"""Checkout Session creation and expiry, validated like Stripe's API."""

from typing import TYPE_CHECKING, Any

from . import objects
from .catalog import (
    INTENT_DATA_PARAMS,
    LINE_ITEM_PARAMS,
    LOCALES,
    PRICE_DATA_PARAMS,
    PRODUCT_DATA_PARAMS,
    SESSION_CREATE_PARAMS,
    SUBMIT_TYPES,
    UI_MODES,
)
from .errors import ApiError, invalid, missing
from .ids import session_id
from .money import MINIMUM_CHARGE, format_amount
from .params import (
    as_bool,
    as_email,
    as_enum,
    as_expand,
    as_int,
    as_list,
    as_metadata,
    as_str,
    as_url,
    reject_unknown,
)
from .records import SessionRecord

if TYPE_CHECKING:
    from .state import StandIn

MIN_EXPIRY, MAX_EXPIRY = 30 * 60, 24 * 3600


def create(store: "StandIn", params: dict[str, Any], request: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/checkout/sessions``."""
    reject_unknown(params, SESSION_CREATE_PARAMS)
    mode = as_enum(params, "mode", "mode", ("payment", "setup", "subscription"))
    if mode is None:
        raise missing("mode")
    if mode != "payment":
        raise invalid("mode", "Only mode=payment is available on this test server.")
    ui_mode = as_enum(params, "ui_mode", "ui_mode", UI_MODES) or "hosted_page"
    if ui_mode != "hosted_page":
        raise invalid("ui_mode", "Only ui_mode=hosted_page is available on this test server.")
    now = store.now()
    fields: dict[str, Any] = {
        "id": session_id(),
        "success_url": as_url(params, "success_url", "success_url", required=True),
        "cancel_url": as_url(params, "cancel_url", "cancel_url"),
        "customer_email": as_email(params, "customer_email", "customer_email"),
        "client_reference_id": _reference(params),
        "metadata": as_metadata(params),
        "locale": as_enum(params, "locale", "locale", LOCALES),
        "submit_type": as_enum(params, "submit_type", "submit_type", SUBMIT_TYPES),
        "customer_creation": as_enum(
            params, "customer_creation", "customer_creation", ("always", "if_required")
        )
        or "if_required",
        "allow_promotion_codes": as_bool(params, "allow_promotion_codes", "allow_promotion_codes"),
        "billing_address_collection": as_enum(
            params, "billing_address_collection", "billing_address_collection", ("auto", "required")
        ),
        "expires_at": _expires_at(params, now),
    }
    intent_data = _intent_data(params)
    items, created = _line_items(store, params, now)
    currencies = {item["currency"] for item in items}
    if len(currencies) > 1:
        raise invalid("line_items", "All line items must have the same currency.")
    fields["currency"] = currencies.pop()
    fields["amount_total"] = sum(item["amount_total"] for item in items)
    _check_minimum(fields["amount_total"], fields["currency"])
    url = f"{store.base_url}/c/pay/{fields['id']}"
    session = objects.checkout_session(fields, now, url)
    for obj in created:
        store.put(obj)
    store.sessions[session["id"]] = SessionRecord(session, items, intent_data)
    return store.render(session, as_expand(params))


def expire_open(store: "StandIn", record: SessionRecord, request: dict[str, Any]) -> dict[str, Any]:
    """``POST /v1/checkout/sessions/{id}/expire``: only an open session can expire."""
    status = record.obj["status"]
    if status != "open":
        raise ApiError(
            400,
            'Only Checkout Sessions with a status in ["open"] can be expired. '
            f"This Checkout Session has a status of `{status}`.",
        )
    expire(store, record, request)
    return store.render(record.obj)


def expire(store: "StandIn", record: SessionRecord, request: dict[str, Any] | None) -> None:
    record.obj.update(status="expired", url=None)
    store.emit("checkout.session.expired", record.obj, request)


def _reference(params: dict[str, Any]) -> str | None:
    ref = as_str(params, "client_reference_id", "client_reference_id")
    if ref is not None and len(ref) > 200:
        raise invalid("client_reference_id", "client_reference_id must be at most 200 characters.")
    return ref


def _expires_at(params: dict[str, Any], now: int) -> int:
    value = as_int(params, "expires_at", "expires_at")
    if value is None:
        return now + MAX_EXPIRY
    if value < now + MIN_EXPIRY:
        raise invalid(
            "expires_at",
            "The expires_at timestamp must be at least 30 minutes from Checkout Session creation.",
            "parameter_invalid_integer",
        )
    if value > now + MAX_EXPIRY:
        raise invalid(
            "expires_at",
            "The expires_at timestamp must be less than 24 hours from Checkout Session creation.",
            "parameter_invalid_integer",
        )
    return value


def _intent_data(params: dict[str, Any]) -> dict[str, Any]:
    data = params.get("payment_intent_data") or {}
    if not isinstance(data, dict):
        raise invalid("payment_intent_data", "Invalid hash")
    reject_unknown(data, INTENT_DATA_PARAMS, "payment_intent_data")
    return {
        "metadata": as_metadata(data, "metadata", "payment_intent_data[metadata]"),
        "description": as_str(data, "description", "payment_intent_data[description]"),
    }


def _line_items(store: "StandIn", params: dict[str, Any], now: int) -> tuple[list[Any], list[Any]]:
    """Validate ``line_items``; return the items and the new prices/products to store."""
    raw = as_list(params, "line_items", "line_items")
    if not raw:
        raise missing("line_items")
    if len(raw) > 100:
        raise invalid("line_items", "You may only specify up to 100 line items.")
    items, created = [], []
    for i, item in enumerate(raw):
        where = f"line_items[{i}]"
        if not isinstance(item, dict):
            raise invalid(where, "Invalid hash")
        reject_unknown(item, LINE_ITEM_PARAMS, where)
        quantity = as_int(item, "quantity", f"{where}[quantity]", required=True, minimum=1)
        price, product = _price(store, item, where, now)
        if price["id"] not in store.objects:
            created += [product, price]
        items.append(objects.line_item(price, quantity or 1, product["name"]))
    return items, created


def _price(
    store: "StandIn", item: dict[str, Any], where: str, now: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    price_id = as_str(item, "price", f"{where}[price]")
    if price_id is not None:
        price = store.get("price", price_id, f"{where}[price]")
        return price, store.get("product", price["product"])
    data = item.get("price_data")
    if data is None:
        raise missing(f"{where}[price_data]")
    if not isinstance(data, dict):
        raise invalid(f"{where}[price_data]", "Invalid hash")
    at = f"{where}[price_data]"
    reject_unknown(data, PRICE_DATA_PARAMS, at)
    currency = (as_str(data, "currency", f"{at}[currency]", required=True) or "").lower()
    if len(currency) != 3 or not currency.isalpha():
        raise invalid(f"{at}[currency]", f"Invalid currency: {currency}.")
    amount = as_int(data, "unit_amount", f"{at}[unit_amount]", required=True)
    product_id = as_str(data, "product", f"{at}[product]")
    if product_id is not None:
        product = store.get("product", product_id, f"{at}[product]")
    else:
        product = _product(data, at, now)
    return objects.price(currency, amount or 0, product["id"], now), product


def _product(data: dict[str, Any], at: str, now: int) -> dict[str, Any]:
    product = data.get("product_data")
    if product is None:
        raise missing(f"{at}[product_data]")
    if not isinstance(product, dict):
        raise invalid(f"{at}[product_data]", "Invalid hash")
    reject_unknown(product, PRODUCT_DATA_PARAMS, f"{at}[product_data]")
    name = as_str(product, "name", f"{at}[product_data][name]", required=True)
    description = as_str(product, "description", f"{at}[product_data][description]")
    metadata = as_metadata(product, "metadata", f"{at}[product_data][metadata]")
    return objects.product(name or "", metadata, description, now)


def _check_minimum(total: int, currency: str) -> None:
    minimum = MINIMUM_CHARGE.get(currency)
    if minimum is not None and total < minimum:
        raise invalid(
            "line_items",
            "The Checkout Session's total amount due must add up to at least "
            f"{format_amount(minimum, currency)} {currency}",
            "amount_too_small",
        )
