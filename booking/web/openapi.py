"""The JSON API described as OpenAPI 3.1, served at /api/openapi.json.

Written by hand, here and nowhere else: the public event API (`api.py`) and the door's
check-in API (`door.py`). tests/web/test_openapi.py sends Schemathesis-generated requests to
every operation and checks each answer against this document.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from booking.web.boundary import MAX_ID


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


STR = {"type": "string"}
INT = {"type": "integer"}
WHEN = {"type": "string", "format": "date-time"}
TEXT_IN = {"type": "string", "maxLength": 100}
ACCESS = {"type": "string", "description": "The order's access needs as one line; empty if none"}

SCHEMAS: dict[str, Any] = {
    "Error": _obj({"error": STR}, {"message": STR}),
    "Venue": _obj({k: STR for k in ("name", "address", "locality", "postcode", "map_url")}),
    "EventSummary": _obj(
        {
            "slug": STR,
            "title": STR,
            "strapline": STR,
            "status": STR,
            "starts_at": WHEN,
            "ends_at": _nullable(WHEN),
            "doors_at": _nullable(WHEN),
            "venue": _nullable(_ref("Venue")),
            "url": STR,
        }
    ),
    "EventDetail": {
        "allOf": [
            _ref("EventSummary"),
            _obj(
                {
                    "more_speakers_to_be_announced": {"type": "boolean"},
                    "organisers": {"type": "array", "items": _obj({"name": STR, "url": STR})},
                    "speakers": {
                        "type": "array",
                        "items": _obj({"name": STR, "affiliation": STR, "role": STR}),
                    },
                    "ticket_types": {"type": "array", "items": _ref("TicketType")},
                }
            ),
        ]
    },
    "TicketType": _obj(
        {
            "id": INT,
            "name": STR,
            "description": STR,
            "price": {**INT, "minimum": 0, "description": "In pence"},
            "currency": STR,
            "remaining": _nullable(INT),
            "state": STR,
            "max_per_order": INT,
        }
    ),
    "Counts": _obj(
        {
            "admitted": INT,
            "expected": INT,
            "conflicts": INT,
            "by_type": {
                "type": "array",
                "items": _obj({"name": STR, "admitted": INT, "expected": INT}),
            },
            "server_time": WHEN,
        },
        {"changes": {"type": "object", "additionalProperties": _ref("ListEntry")}},
    ),
    "ListEntry": _obj(
        {
            "name": STR,
            "type": STR,
            "ref": STR,
            "order": STR,
            "status": STR,
            "checked_in_at": _nullable(WHEN),
            "by": STR,
            "device": STR,
            "access": ACCESS,
        }
    ),
    "Admit": _obj({"code": TEXT_IN, "nonce": TEXT_IN}, {"device": TEXT_IN}),
    "Outcome": _obj(
        {
            "result": {"enum": ["admitted", "already_checked_in", "not_valid"]},
            "reason": _nullable(STR),
            "message": STR,
            "code": STR,
            "ticket": _nullable(
                _obj({"name": STR, "type": STR, "reference": STR, "access": ACCESS})
            ),
            "checked_in_at": _nullable(WHEN),
            "by": STR,
            "device": STR,
            "checkin_id": _nullable(INT),
        }
    ),
    "Bulk": _obj(
        {
            "device": TEXT_IN,
            "admissions": {
                "type": "array",
                "maxItems": 500,
                "items": _obj({"code": TEXT_IN, "nonce": TEXT_IN}, {"at": WHEN}),
            },
        }
    ),
    "BulkResults": _obj(
        {
            "results": {
                "type": "array",
                "items": _obj(
                    {
                        "nonce": STR,
                        "result": {"enum": ["admitted", "conflict", "not_valid"]},
                        "reason": _nullable(STR),
                        "message": STR,
                        "code": STR,
                        "first": _nullable(_obj({"at": _nullable(WHEN), "by": STR, "device": STR})),
                    }
                ),
            }
        }
    ),
    "Undo": {
        "type": "object",
        "properties": {
            "code": TEXT_IN,
            "nonce": TEXT_IN,
            "checkin_id": {**INT, "minimum": 0, "maximum": MAX_ID},
        },
    },
    "Undone": _obj(
        {"ok": {"type": "boolean"}, "message": STR, "checkin_id": _nullable(INT)},
        {"duplicate": {"type": "boolean"}, "still_in": {"type": "boolean"}},
    ),
    "Device": {"type": "object", "properties": {"device": TEXT_IN, "name": TEXT_IN}},
    "DeviceNamed": _obj({"device": STR, "name": STR}),
    "Attendees": _obj(
        {
            "attendees": {
                "type": "array",
                "items": _obj(
                    {
                        "code": STR,
                        "name": STR,
                        "type": STR,
                        "reference": STR,
                        "order_reference": STR,
                        "status": STR,
                        "checked_in_at": _nullable(WHEN),
                        "by": STR,
                        "access": ACCESS,
                    }
                ),
            }
        }
    ),
    "TicketList": _obj(
        {
            "event": STR,
            "salt": STR,
            "expires_at": WHEN,
            "server_time": WHEN,
            "tickets": {"type": "object", "additionalProperties": _ref("ListEntry")},
        }
    ),
}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


ERROR = _ref("Error")
SLUG = {"name": "slug", "in": "path", "required": True, "schema": STR}
DOOR_ERRORS = {
    "401": _json(ERROR, "Not signed in"),
    "403": _json(ERROR, "Signed in with a role that may not use the door"),
    "404": _json(ERROR, "No such event"),
}
DOOR_POST_ERRORS = {
    **DOOR_ERRORS,
    "403": {
        "description": "A role that may not use the door, or no valid X-CSRF-Token (plain text)",
        "content": {"application/json": {"schema": ERROR}, "text/plain": {"schema": STR}},
    },
}
DOOR = {"security": [{"session": []}], "tags": ["door"]}
DOOR_POST = {"security": [{"session": [], "csrf": []}], "tags": ["door"]}


def _body(name: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(name)}}}


PATHS: dict[str, Any] = {
    "/api/events": {
        "get": {
            "summary": "Upcoming and past published events",
            "tags": ["public"],
            "responses": {
                "200": _json(
                    _obj(
                        {
                            "upcoming": {"type": "array", "items": _ref("EventSummary")},
                            "past": {"type": "array", "items": _ref("EventSummary")},
                        }
                    ),
                    "The events",
                )
            },
        }
    },
    "/api/events/{slug}": {
        "get": {
            "summary": "One published event with its speakers and ticket types",
            "tags": ["public"],
            "parameters": [SLUG],
            "responses": {
                "200": _json(_ref("EventDetail"), "The event"),
                "404": _json(ERROR, "No such event"),
            },
        }
    },
    "/healthz": {
        "get": {
            "summary": "Whether the app and its database answer",
            "tags": ["public"],
            "responses": {
                "200": _json(_obj({"status": {"const": "ok"}}), "Healthy"),
                "503": _json(_obj({"status": STR}, {"reason": STR}), "The database is down"),
            },
        }
    },
    "/api/events/{slug}/checkins": {
        "get": {
            **DOOR,
            "summary": "Admitted against expected; with ?since=, the changes since then",
            "parameters": [
                SLUG,
                {"name": "since", "in": "query", "required": False, "schema": WHEN},
            ],
            "responses": {
                "200": _json(_ref("Counts"), "The counts"),
                "400": _json(ERROR, "since is not a time with a zone"),
                **DOOR_ERRORS,
            },
        },
        "post": {
            **DOOR_POST,
            "summary": "Admit a ticket by its code or reference",
            "parameters": [SLUG],
            "requestBody": _body("Admit"),
            "responses": {
                "200": _json(_ref("Outcome"), "Admitted, already in, or not valid"),
                "400": _json(ERROR, "Not a JSON object with a code and a nonce"),
                **DOOR_POST_ERRORS,
            },
        },
    },
    "/api/events/{slug}/checkins/bulk": {
        "post": {
            **DOOR_POST,
            "summary": "Sync admissions a device made offline",
            "parameters": [SLUG],
            "requestBody": _body("Bulk"),
            "responses": {
                "200": _json(_ref("BulkResults"), "One result per admission"),
                "400": _json(ERROR, "Not a device and a list of up to 500 admissions"),
                **DOOR_POST_ERRORS,
            },
        }
    },
    "/api/events/{slug}/checkins/undo": {
        "post": {
            **DOOR_POST,
            "summary": "Take back an admission",
            "parameters": [SLUG],
            "requestBody": _body("Undo"),
            "responses": {
                "200": _json(_ref("Undone"), "Undone, or why not"),
                "400": _json(ERROR, "Not a JSON object, or checkin_id not a number"),
                **DOOR_POST_ERRORS,
            },
        }
    },
    "/api/events/{slug}/device": {
        "post": {
            **DOOR_POST,
            "summary": 'Name this device ("Main door phone")',
            "parameters": [SLUG],
            "requestBody": _body("Device"),
            "responses": {
                "200": _json(_ref("DeviceNamed"), "The device and its new name"),
                "400": _json(ERROR, "No device, or a name that is empty or too long"),
                **DOOR_POST_ERRORS,
            },
        }
    },
    "/api/events/{slug}/attendees": {
        "get": {
            **DOOR,
            "summary": "Search tickets by name, email or reference",
            "parameters": [
                SLUG,
                {"name": "q", "in": "query", "required": False, "schema": STR},
            ],
            "responses": {"200": _json(_ref("Attendees"), "Up to 20 tickets"), **DOOR_ERRORS},
        }
    },
    "/api/events/{slug}/tickets": {
        "get": {
            **DOOR,
            "summary": "The offline list of the event's tickets",
            "parameters": [
                SLUG,
                {"name": "If-None-Match", "in": "header", "required": False, "schema": STR},
            ],
            "responses": {
                "200": _json(_ref("TicketList"), "The list"),
                "304": {"description": "The device's copy is current"},
                **DOOR_ERRORS,
            },
        }
    },
}

# Any operation refuses a NUL character in its query (booking.web.boundary).
for _item in PATHS.values():
    for _operation in _item.values():
        _operation["responses"].setdefault("400", _json(ERROR, "A NUL character in the query"))

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "booking",
        "version": "1",
        "description": "Public event facts, and the door's check-in API (see the README).",
    },
    "paths": PATHS,
    "components": {
        "schemas": SCHEMAS,
        "securitySchemes": {
            "session": {"type": "apiKey", "in": "cookie", "name": "booking_session"},
            "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"},
        },
    },
}


async def openapi_json(request: Request) -> Response:
    return JSONResponse(DOCUMENT)


routes = [Route("/api/openapi.json", openapi_json, name="api_openapi")]
