"""GET /api/v1/feeds: the URLs of every public calendar feed (API.md), and the feeds
themselves described in the OpenAPI document."""

from __future__ import annotations

from flask import jsonify

from gathering.accounts.services import list_branches
from gathering.api import bp, error_responses
from gathering.calendar.views import feed_urls, webcal
from gathering.extensions import db
from gathering.urls import external_url


@bp.get("/feeds")
def feeds():
    urls = feed_urls(list_branches(db.session))
    urls["page"] = external_url("calendar.subscribe")
    urls["webcal"] = {
        "all": webcal(urls["all"]),
        "branches": {slug: webcal(u) for slug, u in urls["branches"].items()},
        "kinds": {kind: webcal(u) for kind, u in urls["kinds"].items()},
    }
    return jsonify(urls)


_URL_MAP = {"type": "object", "additionalProperties": {"type": "string", "format": "uri"}}

OPENAPI_SCHEMAS = {
    "Feeds": {
        "type": "object",
        "required": ["all", "branches", "kinds"],
        "properties": {
            "all": {"type": "string", "format": "uri",
                    "description": "Feed of all public events"},
            "branches": {**_URL_MAP, "description": "Feed of each branch, by slug"},
            "kinds": {**_URL_MAP, "description": "Feed of each kind of event"},
            "page": {"type": "string", "format": "uri",
                     "description": "Page explaining how to subscribe (Google Calendar, "
                                    "iPhone)"},
            "webcal": {
                "type": "object",
                "description": "The same feeds as webcal:// links (open the subscribe "
                               "dialog of calendar apps)",
                "properties": {"all": {"type": "string"}, "branches": _URL_MAP,
                               "kinds": _URL_MAP},
            },
        },
    },
}

_ICS = {"200": {"description": "An iCalendar (RFC 5545) document; ETag and Last-Modified",
                "content": {"text/calendar": {"schema": {"type": "string"}}}},
        "304": {"description": "Not modified (If-None-Match / If-Modified-Since)"}}
_FILTERS = [
    {"name": "branch", "in": "query", "description": "Branch slug; repeat or comma-separate",
     "schema": {"type": "array", "items": {"type": "string"}}, "explode": True},
    {"name": "kind", "in": "query", "description": "Kind of event; repeat or comma-separate",
     "schema": {"type": "array", "items": {"type": "string", "enum": [
         "kids_cafeteria", "shared_meal", "film_screening", "study_session", "workshop",
         "summit", "other"]}}, "explode": True},
    {"name": "lang", "in": "query", "description": "Language of the texts (default ja)",
     "schema": {"type": "string", "enum": ["ja", "en"]}},
]


def _feed(summary: str, params: list) -> dict:
    return {"get": {"tags": ["calendar"], "summary": summary, "parameters": params + _FILTERS,
                    "responses": {**_ICS, **error_responses(400, 404)}}}


OPENAPI_PATHS = {
    "/api/v1/feeds": {
        "get": {
            "tags": ["calendar"],
            "summary": "URLs of the calendar feeds: all events, each branch, each kind",
            "responses": {"200": {"description": "Feed URLs", "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/Feeds"}}}}},
        }
    },
    "/calendar/all.ics": _feed("Feed of all public events (series as RRULE)", []),
    "/calendar/branches/{slug}.ics": _feed(
        "Feed of one branch's events",
        [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]),
    "/calendar/kinds/{kind}.ics": _feed(
        "Feed of one kind of events",
        [{"name": "kind", "in": "path", "required": True, "schema": {"type": "string"}}]),
    "/events/{event_id}.ics": {"get": {
        "tags": ["calendar"], "summary": "One event as an .ics file (add to calendar)",
        "parameters": [{"name": "event_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {**_ICS, "404": {"description": "Unknown or draft event"}}}},
    "/calendar/me/{token}.ics": {"get": {
        "tags": ["calendar"],
        "summary": "Personal feed of one sign-up, with a reminder (secret URL from the "
                   "manage page)",
        "parameters": [{"name": "token", "in": "path", "required": True,
                        "schema": {"type": "string"}},
                       {"name": "lang", "in": "query", "schema": {"type": "string",
                                                                 "enum": ["ja", "en"]}}],
        "responses": {**_ICS, "404": {"description": "Unknown token (nothing revealed)"}}}},
}
