"""The OpenAPI 3.1 description of the open data API, served at /api/v1/openapi.json.

Tests validate real responses against these schemas and check every /api/v1 route is here, so
the document cannot drift from the code unnoticed.
"""

from __future__ import annotations

from typing import Any

from volunteer_app.core.bounds import EARLIEST_DAY, YEARS_AHEAD

NULLABLE_STRING = {"type": ["string", "null"]}
NULLABLE_NUMBER = {"type": ["number", "null"]}
MAX_PAGE = 1_000_000
# What every text parameter may hold: anything but control characters (web.py refuses them
# in every request).
TEXT = {"type": "string", "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _page_of(item: str) -> dict:
    return {
        "type": "object",
        "required": ["data", "meta", "links"],
        "additionalProperties": False,
        "properties": {
            "data": {"type": "array", "items": _ref(item)},
            "meta": _ref("PageMeta"),
            "links": _ref("PageLinks"),
        },
    }


def _page_params() -> list[dict]:
    return [
        {
            "name": "page",
            "in": "query",
            "description": "Page number, from 1.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        },
        {
            "name": "per_page",
            "in": "query",
            "description": "Items per page, at most 100.",
            "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
        },
    ]


def _date_param(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "description": f"{description} Nothing is recorded before {EARLIEST_DAY.year} or more"
        f" than {YEARS_AHEAD} years ahead, so an earlier or later date reads as that edge.",
        "schema": {"type": "string", "format": "date"},
    }


def _text_param(name: str, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": where == "path", "schema": TEXT}


def _ok(schema: str, description: str) -> dict:
    return {
        "200": {
            "description": description,
            "headers": {
                "ETag": {"description": "Hash of the body.", "schema": {"type": "string"}},
                "Cache-Control": {"schema": {"type": "string"}},
            },
            "content": {"application/json": {"schema": _ref(schema)}},
        },
        "304": {"description": "Not modified (If-None-Match matched the ETag)."},
        "400": _error("Bad parameter (page, per_page, a date or a control character)."),
        "404": _error("No such page or item."),
    }


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": _ref("Error")}}}


SLUG_REF = {
    "type": "object",
    "required": ["slug", "name"],
    "additionalProperties": False,
    "properties": {"slug": {"type": "string"}, "name": {"type": "string"}},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["status", "code", "message"],
                "additionalProperties": False,
                "properties": {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                },
            }
        },
    },
    "PageMeta": {
        "type": "object",
        "required": ["page", "per_page", "total", "pages"],
        "properties": {
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1, "maximum": 100},
            "total": {"type": "integer", "minimum": 0},
            "pages": {"type": "integer", "minimum": 1},
            "from": {"type": "string", "format": "date"},
            "to": {"type": "string", "format": "date"},
            "priority_share_percent": {"type": ["integer", "null"]},
        },
    },
    "PageLinks": {
        "type": "object",
        "required": ["self", "first", "last", "next", "prev"],
        "additionalProperties": False,
        "properties": {
            "self": {"type": "string"},
            "first": {"type": "string"},
            "last": {"type": "string"},
            "next": NULLABLE_STRING,
            "prev": NULLABLE_STRING,
        },
    },
    "Cause": SLUG_REF,
    "Organization": SLUG_REF,
    "Neighborhood": SLUG_REF,
    "Initiative": {
        "type": "object",
        "required": [
            "slug",
            "title",
            "summary",
            "status",
            "cause",
            "organization",
            "neighborhoods",
            "timezone",
            "minimum_age",
            "url",
            "links",
        ],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "summary": {"type": "string"},
            "status": {"type": "string", "enum": ["published", "closed"]},
            "cause": _ref("Cause"),
            "organization": _ref("Organization"),
            "neighborhoods": {"type": "array", "items": _ref("Neighborhood")},
            "timezone": {"type": "string"},
            "minimum_age": {"type": "integer"},
            "url": {"type": "string", "description": "The initiative's public page."},
            "links": {
                "type": "object",
                "required": ["self", "impact", "shifts", "badge"],
                "additionalProperties": False,
                "properties": {
                    "self": {"type": "string"},
                    "impact": {"type": "string"},
                    "shifts": {"type": "string"},
                    "badge": {"type": "string"},
                },
            },
        },
    },
    "Goal": {
        "type": "object",
        "required": [
            "name",
            "unit",
            "kind",
            "target",
            "baseline",
            "deadline_on",
            "achieved",
            "percent",
        ],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string"},
            "unit": {"type": "string"},
            "kind": {"type": "string", "enum": ["output", "outcome"]},
            "target": {"type": "number"},
            "baseline": NULLABLE_NUMBER,
            "deadline_on": {"type": ["string", "null"], "format": "date"},
            "achieved": {"type": "number", "description": "Sum of records not withdrawn."},
            "percent": {"type": "integer", "description": "Whole percent of the target."},
        },
    },
    "Totals": {
        "type": "object",
        "required": ["volunteers", "hours", "value_usd"],
        "additionalProperties": False,
        "properties": {
            "volunteers": {"type": "integer", "description": "People with approved hours."},
            "hours": {"type": "number", "description": "Approved hours, one decimal."},
            "value_usd": {
                "type": "number",
                "description": "Hours times the value of an hour in the year served.",
            },
        },
    },
    "Shift": {
        "type": "object",
        "required": [
            "id",
            "code",
            "initiative",
            "starts_at",
            "ends_at",
            "timezone",
            "location_name",
            "address",
            "neighborhood",
            "role",
            "capacity",
            "spots_left",
            "url",
        ],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "integer"},
            "code": {"type": "string", "description": "Text JOIN and this code to sign up."},
            "initiative": {
                "type": "object",
                "required": ["slug", "title"],
                "additionalProperties": False,
                "properties": {"slug": {"type": "string"}, "title": {"type": "string"}},
            },
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "timezone": {"type": "string"},
            "location_name": {"type": "string"},
            "address": {"type": "string"},
            "neighborhood": {"oneOf": [_ref("Neighborhood"), {"type": "null"}]},
            "role": NULLABLE_STRING,
            "capacity": {"type": "integer", "minimum": 0},
            "spots_left": {"type": "integer", "minimum": 0},
            "url": {"type": "string"},
        },
    },
    "InitiativeImpact": {
        "type": "object",
        "required": ["slug", "title", "status", "totals", "goals", "links"],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "string", "enum": ["published", "closed"]},
            "totals": _ref("Totals"),
            "goals": {"type": "array", "items": _ref("Goal")},
            "links": {
                "type": "object",
                "required": ["self", "page"],
                "additionalProperties": False,
                "properties": {"self": {"type": "string"}, "page": {"type": "string"}},
            },
        },
    },
    "NeighborhoodImpact": {
        "type": "object",
        "required": [
            "slug",
            "name",
            "is_priority",
            "resident_volunteers",
            "resident_hours",
            "service_hours",
            "service_volunteers",
            "shifts",
        ],
        "additionalProperties": False,
        "properties": {
            "slug": {"type": "string"},
            "name": {"type": "string"},
            "is_priority": {"type": "boolean"},
            "resident_volunteers": {
                "type": "integer",
                "description": "Volunteers living there with approved hours in the period.",
            },
            "resident_hours": {"type": "number"},
            "service_hours": {"type": "number", "description": "Hours served there."},
            "service_volunteers": {"type": "integer"},
            "shifts": {"type": "integer", "description": "Scheduled shifts there."},
        },
    },
    "InitiativePage": _page_of("Initiative"),
    "InitiativeDetail": None,  # below: an Initiative with its story, goals and totals
    "ShiftPage": _page_of("Shift"),
    "InitiativeImpactPage": _page_of("InitiativeImpact"),
    "NeighborhoodImpactPage": _page_of("NeighborhoodImpact"),
}


SCHEMAS["InitiativeDetail"] = {
    **SCHEMAS["Initiative"],
    "required": [*SCHEMAS["Initiative"]["required"], "story", "goals", "totals"],
    "properties": {
        **SCHEMAS["Initiative"]["properties"],
        "story": {"type": "string"},
        "goals": {"type": "array", "items": _ref("Goal")},
        "totals": _ref("Totals"),
    },
}


def _initiative_paths() -> dict:
    """The published initiatives, and one initiative."""
    return {
        "/initiatives": {
            "get": {
                "operationId": "listInitiatives",
                "summary": "Published initiatives",
                "parameters": [
                    *_page_params(),
                    _text_param("cause"),
                    _text_param("neighborhood"),
                ],
                "responses": _ok("InitiativePage", "A page of initiatives."),
            }
        },
        "/initiatives/{slug}": {
            "get": {
                "operationId": "getInitiative",
                "summary": "One published or closed initiative with goals and totals",
                "parameters": [_text_param("slug", "path")],
                "responses": _ok("InitiativeDetail", "The initiative."),
            }
        },
    }


def _shift_paths() -> dict:
    """The upcoming shifts."""
    return {
        "/shifts": {
            "get": {
                "operationId": "listShifts",
                "summary": "Upcoming shifts with spots left",
                "parameters": [
                    *_page_params(),
                    _text_param("initiative"),
                    _text_param("neighborhood"),
                    _date_param("from", "First local date (included)."),
                    _date_param("to", "Last local date (included); before from, no days."),
                ],
                "responses": _ok("ShiftPage", "A page of shifts, soonest first."),
            }
        },
    }


def _impact_paths() -> dict:
    """Each initiative's impact, and each neighborhood's."""
    return {
        "/impact/initiatives": {
            "get": {
                "operationId": "listInitiativeImpact",
                "summary": "All-time totals and goals of each published or closed initiative",
                "parameters": _page_params(),
                "responses": _ok("InitiativeImpactPage", "A page of initiatives' impact."),
            }
        },
        "/impact/neighborhoods": {
            "get": {
                "operationId": "listNeighborhoodImpact",
                "summary": "Volunteers and service per neighborhood for a period",
                "description": "Default period: the last twelve months.",
                "parameters": [
                    *_page_params(),
                    _date_param("from", "First local date (included)."),
                    _date_param("to", "Last local date (included)."),
                ],
                "responses": _ok("NeighborhoodImpactPage", "A page of neighborhoods."),
            }
        },
    }


def _document_paths() -> dict:
    """This document itself."""
    return {
        "/openapi.json": {
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "responses": {
                    "200": {
                        "description": "The OpenAPI document.",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
    }


def document(server_url: str) -> dict:
    """The whole OpenAPI document, with the server this app answers on."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "Open volunteering data",
            "version": "1.0.0",
            "description": (
                "Read-only open data about the city's volunteer initiatives, shifts and their "
                "impact. No personal data. Every list is paginated; every answer carries an "
                "ETag (send it back in If-None-Match for a 304) and may be cached 5 minutes. "
                "Dates are local dates in the program's timezone; instants are UTC (ISO 8601)."
            ),
        },
        "servers": [{"url": server_url}],
        "paths": {
            **_initiative_paths(),
            **_shift_paths(),
            **_impact_paths(),
            **_document_paths(),
        },
        "components": {"schemas": SCHEMAS},
    }
