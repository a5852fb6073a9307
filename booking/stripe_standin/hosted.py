"""The hosted payment page at ``/c/pay/{id}``."""

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .errors import ApiError
from .money import format_amount
from .records import SessionRecord
from .state import StandIn

# Inside the installed package (a built wheel), else the repository's top-level templates/.
DEFAULT_TEMPLATES = next(
    (
        base / "templates" / "stripe_standin"
        for base in Path(__file__).resolve().parents[1:3]
        if (base / "templates" / "stripe_standin").is_dir()
    ),
    Path(__file__).resolve().parents[2] / "templates" / "stripe_standin",
)


def routes(store: StandIn, templates_dir: Path | None = None) -> list[Route]:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir or DEFAULT_TEMPLATES)), autoescape=True
    )

    def render(name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
        html = env.get_template(name).render(account_name=store.account_name, **context)
        return HTMLResponse(html, status, headers={"Cache-Control": "no-store"})

    def unavailable(record: SessionRecord | None) -> HTMLResponse:
        if record is None:
            return render("unavailable.html", {"reason": "missing", "back": None}, 404)
        obj = record.obj
        return render("unavailable.html", {"reason": obj["status"], "back": obj["cancel_url"]})

    async def page(request: Request) -> Response:
        record = _open_record(store, request.path_params["id"])
        if record is None or record.obj["status"] != "open":
            return unavailable(record)
        return render("checkout.html", _context(record, {}, None))

    async def submit(request: Request) -> Response:
        session_id = request.path_params["id"]
        async with request.form() as form:
            values = {k: str(v) for k, v in form.items()}
        try:
            result = store.pay(
                session_id,
                card=values.get("card_number", ""),
                email=values.get("email"),
                name=values.get("cardholder_name"),
                expiry=values.get("card_expiry", ""),
                cvc=values.get("card_cvc", ""),
                delayed=values.get("delayed") == "1",
            )
        except ApiError:
            return unavailable(_open_record(store, session_id))
        if result.ok and result.redirect_url:
            return RedirectResponse(result.redirect_url, status_code=303)
        record = _open_record(store, session_id)
        if record is None or record.obj["status"] != "open":
            return unavailable(record)
        status = 402 if result.decline_code else 400
        return render("checkout.html", _context(record, values, result.error), status)

    return [
        Route("/c/pay/{id}", page, methods=["GET"]),
        Route("/c/pay/{id}", submit, methods=["POST"]),
    ]


def _open_record(store: StandIn, session_id: str) -> SessionRecord | None:
    store.sweep()
    with store.lock:
        return store.sessions.get(session_id)


def _context(record: SessionRecord, values: dict[str, str], error: str | None) -> dict[str, Any]:
    obj = record.obj
    currency = obj["currency"]
    locked_email = obj["customer_email"]
    return {
        "id": obj["id"],
        "items": [
            {
                "name": item["description"],
                "quantity": item["quantity"],
                "unit": format_amount(item["price"]["unit_amount"], currency),
                "amount": format_amount(item["amount_total"], currency),
            }
            for item in record.line_items
        ],
        "total": format_amount(obj["amount_total"], currency),
        "email": locked_email or values.get("email", ""),
        "email_locked": bool(locked_email),
        "card_number": values.get("card_number", ""),
        "card_expiry": values.get("card_expiry", ""),
        "card_cvc": values.get("card_cvc", ""),
        "cardholder_name": values.get("cardholder_name", ""),
        "delayed": values.get("delayed") == "1",
        "back": obj["cancel_url"],
        "error": error,
    }
