"""The OpenAPI 3.1 document of /api/v1, written by hand; the steps and triggers come
from the workflow files, so a new step or trigger is documented the day it is added.

tests/api/test_api_schema.py validates it and runs Schemathesis against it.
"""

from __future__ import annotations

from typing import Any

from vastbas import queries

NULLABLE_STRING = {"type": ["string", "null"]}
REF = "#/components/schemas/"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF + name}


def _object(properties: dict[str, Any], *, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": [name for name in properties if name not in optional],
    }


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


UNAUTHORIZED = {
    **_error("Ingen, ogiltig eller återkallad API-nyckel."),
    "headers": {
        "WWW-Authenticate": {
            "description": "Hur man autentiserar sig (RFC 6750).",
            "required": True,
            "schema": {"type": "string"},
        }
    },
}
REFERENCE = {
    "name": "reference",
    "in": "path",
    "required": True,
    "description": "Ärendets diarienummer, t.ex. VB-2026-0042.",
    "schema": {"type": "string", "pattern": "^[A-Za-z0-9-]{1,20}$"},
}
INT = {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }


def _schemas() -> dict[str, Any]:
    deadline = _object(
        {"label": {"type": "string"}, "due_on": {"type": "string", "format": "date"},
         "overdue": {"type": "boolean"}}
    )  # fmt: skip
    return {
        "Error": _object(
            {
                "error": {"type": "string"},
                "message": {"type": "string"},
                "reasons": {"type": "array", "items": {"type": "string"}},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
                "current_version": {"type": "integer"},
            },
            optional=("reasons", "fields", "current_version"),
        ),
        "Deadline": deadline,
        "CaseRow": _object(
            {
                "reference": {"type": "string"},
                "step": {"type": "string"},
                "closed": {"type": "boolean"},
                "outcome": NULLABLE_STRING,
                "unit": NULLABLE_STRING,
                "koordinatorer": {"type": "array", "items": {"type": "string"}},
                "next_deadline": {"oneOf": [_ref("Deadline"), {"type": "null"}]},
                "overdue": {"type": "boolean"},
            }
        ),
        "CaseList": _object(
            {
                "cases": {"type": "array", "items": _ref("CaseRow")},
                "total": {"type": "integer", "minimum": 0},
                "page": {"type": "integer", "minimum": 1},
                "pages": {"type": "integer", "minimum": 1},
                "per_page": {"type": "integer", "minimum": 1},
            }
        ),
        "Case": _object(
            {
                "reference": {"type": "string"},
                "version": {"type": "integer"},
                "workflow": {"type": "string"},
                "state": {"type": "string"},
                "step": {"type": "string"},
                "closed": {"type": "boolean"},
                "outcome": NULLABLE_STRING,
                "period": {"type": "integer"},
                "child_name": {"type": "string"},
                "personnummer": {"type": "string", "description": "Maskerat."},
                "unit": NULLABLE_STRING,
                "my_roles": {"type": "array", "items": {"type": "string"}},
                "roles": {
                    "type": "array",
                    "items": _object(
                        {
                            "role": {"type": "string"},
                            "label": {"type": "string"},
                            "name": NULLABLE_STRING,
                            "since": {"type": ["string", "null"], "format": "date-time"},
                        }
                    ),
                },
                "deadlines": {"type": "array", "items": _ref("Deadline")},
                "transitions": {
                    "type": "array",
                    "items": _object(
                        {
                            "trigger": {"type": "string"},
                            "label": {"type": "string"},
                            "ready": {"type": "boolean"},
                            "missing": {"type": "array", "items": {"type": "string"}},
                            "requires_reason": {"type": "boolean"},
                        }
                    ),
                },
                "meetings": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": {"type": "integer"},
                            "kind": {"type": "string"},
                            "starts_at": {"type": "string", "format": "date-time"},
                            "held": {"type": "boolean"},
                        }
                    ),
                },
            }
        ),
        "Deadlines": _object(
            {
                "reference": {"type": "string"},
                "deadlines": {"type": "array", "items": _ref("Deadline")},
            }
        ),  # fmt: skip
        "TransitionRequest": _object(
            {
                "version": {**INT, "description": "Den version av ärendet du utgår från."},
                "reason": {
                    "type": ["string", "null"],
                    "description": "Skäl, när steget kräver ett (t.ex. avslut i förtid).",
                },
            },
            optional=("reason",),
        ),
        "Transitioned": _object(
            {
                "reference": {"type": "string"},
                "state": {"type": "string"},
                "step": {"type": "string"},
                "closed": {"type": "boolean"},
                "outcome": NULLABLE_STRING,
                "version": {"type": "integer"},
            }
        ),
        "Notifications": _object(
            {
                "unread": {"type": "integer", "minimum": 0},
                "notifications": {
                    "type": "array",
                    "items": _object(
                        {
                            "id": {"type": "integer"},
                            "subject": {"type": "string"},
                            "created_at": {"type": "string", "format": "date-time"},
                            "read": {"type": "boolean"},
                            "case_reference": NULLABLE_STRING,
                        }
                    ),
                },
            }
        ),
    }


def _paths() -> dict[str, Any]:
    steps = [choice.value for choice in queries.step_choices()]
    triggers = sorted({t.trigger for w in queries.all_workflows() for t in w.transitions})
    common = {"401": UNAUTHORIZED, "default": _error("Annat fel.")}
    return {
        "/cases": {
            "get": {
                "operationId": "listCases",
                "summary": "Ärenden du får se, med samma filter som listan Ärenden.",
                "parameters": [
                    _query("state", {"type": "string", "enum": steps}, "Steg."),
                    _query("unit_id", INT, "Enhetens id."),
                    _query("koordinator_id", INT, "Koordinatorns person-id."),
                    _query("overdue", {"type": "boolean"}, "Bara ärenden med försenad frist."),
                    _query(
                        "search",
                        {"type": "string", "maxLength": 40, "pattern": "^[^\\x00-\\x1f\\x7f]*$"},
                        "Del av diarienumret.",
                    ),
                    _query("page", INT, "Sida, från 1."),
                    _query("per_page", {**INT, "maximum": 100}, "Ärenden per sida."),
                ],
                "responses": {
                    "200": _json(_ref("CaseList"), "En sida av ärendelistan."),
                    "400": _error("Ogiltig parameter."),
                    **common,
                },
            }
        },
        "/cases/{reference}": {
            "get": {
                "operationId": "readCase",
                "summary": "Ett ärende (läsningen loggas).",
                "parameters": [REFERENCE],
                "responses": {
                    "200": _json(_ref("Case"), "Ärendet."),
                    "404": _error("Ärendet finns inte, eller så har du ingen roll i det."),
                    **common,
                },
            }
        },
        "/cases/{reference}/deadlines": {
            "get": {
                "operationId": "caseDeadlines",
                "summary": "Ärendets öppna tidsfrister.",
                "parameters": [REFERENCE],
                "responses": {
                    "200": _json(_ref("Deadlines"), "Tidsfristerna."),
                    "404": _error("Ärendet finns inte, eller så har du ingen roll i det."),
                    **common,
                },
            }
        },
        "/cases/{reference}/transitions/{trigger}": {
            "post": {
                "operationId": "fireTransition",
                "summary": "För ärendet till nästa steg (eller avsluta det).",
                "parameters": [
                    REFERENCE,
                    {
                        "name": "trigger",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "enum": triggers},
                    },
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": _ref("TransitionRequest")}},
                },
                "responses": {
                    "200": _json(_ref("Transitioned"), "Ärendet i sitt nya steg."),
                    "400": _error("Det går inte nu: vad som saknas står i reasons."),
                    "403": _error("Din roll i ärendet ger inte behörighet till steget."),
                    "404": _error("Ärendet finns inte, eller så har du ingen roll i det."),
                    "409": _error(
                        "Ärendet har ändrats av någon annan; current_version är dess version nu."
                    ),
                    **common,
                },
            }
        },
        "/notifications": {
            "get": {
                "operationId": "listNotifications",
                "summary": "Dina meddelanden, olästa först.",
                "parameters": [_query("limit", {**INT, "maximum": 100}, "Högst så många.")],
                "responses": {
                    "200": _json(_ref("Notifications"), "Meddelandena."),
                    "400": _error("Ogiltig parameter."),
                    **common,
                },
            }
        },
    }


def document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, served at /api/v1/openapi.json."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Västbas API",
            "version": "1",
            "description": (
                "Samma ärenden och behörigheter som i webbgränssnittet. Skapa en API-nyckel "
                "under Mina nycklar och skicka den som Authorization: Bearer <nyckel>."
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": _paths(),
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }
