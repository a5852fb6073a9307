"""Errors that carry a code (for tests, the JSON API and logs) and a message for people."""

from __future__ import annotations


class BookingError(Exception):
    code = "booking_error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(BookingError):
    code = "not_found"
    status = 404


class InvalidInput(BookingError):
    """Bad input for a form or an API call; `errors` maps field names to messages."""

    code = "invalid"
    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(next(iter(errors.values())) if errors else "Check your answers")
        self.errors = errors


class SoldOut(BookingError):
    code = "sold_out"
    status = 409


class SalesClosed(BookingError):
    code = "sales_closed"
    status = 409


class EventCancelled(BookingError):
    code = "event_cancelled"
    status = 409


class Conflict(BookingError):
    code = "conflict"
    status = 409
