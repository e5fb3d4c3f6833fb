"""Public reads of branches and events, and the organizers' event writes (API.md)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l

from gathering.accounts.models import Branch
from gathering.accounts.services import list_branches
from gathering.api import (
    PAGE_PARAMS,
    ApiError,
    api_user,
    bp,
    error_responses,
    json_body,
    page_args,
    paginated,
    paginated_schema,
)
from gathering.errors import ValidationFailed
from gathering.events import services
from gathering.events.models import EventKind
from gathering.extensions import db, limiter
from gathering.rsvp.mails import notify_event_cancelled, notify_event_moved, notify_promoted
from gathering.timeutil import TOKYO, to_local, utcnow
from gathering.urls import external_url


def _iso(value: datetime | None) -> str | None:
    return to_local(value).isoformat() if value else None


def branch_json(branch: Branch) -> dict:
    return {
        "slug": branch.slug,
        "name": branch.name,
        "region": branch.region,
        "urls": {
            "page": external_url("events.branch", slug=branch.slug),
            "ics": external_url("calendar.feed_branch", slug=branch.slug),
        },
    }


def event_json(event, now: datetime | None = None) -> dict:
    now = now or utcnow()
    venue = event.venue
    return {
        "id": event.id,
        "title": event.title,
        "kind": event.kind,
        "status": event.status,
        "starts_at": _iso(event.starts_at),
        "ends_at": _iso(event.ends_at),
        "description": event.description,
        "branch": {"slug": event.branch.slug, "name": event.branch.name},
        "venue": {
            "name": venue.name,
            "postal_code": venue.postal_code,
            "address": venue.address,
            "access_notes": venue.access_notes,
            "accessibility_notes": venue.accessibility_notes,
            "map_url": venue.map_url,
        } if venue else None,
        "capacity": event.capacity,
        "seats_left": event.seats_left,
        "signup_open": services.is_signup_open(event, now),
        "signup_opens_at": _iso(event.signup_opens_at),
        "signup_closes_at": _iso(event.signup_closes_at),
        "fees": [{"code": f.code, "label": f.label, "amount": f.amount} for f in event.fees],
        "fee_basis": event.fee_basis,
        "series_id": event.series_id,
        "urls": {
            "page": external_url("events.detail", event_id=event.id),
            "ics": external_url("calendar.event_ics", event_id=event.id),
            "signup": external_url("events.detail", event_id=event.id) + "#signup",
        },
    }


def _date_arg(name: str) -> date | None:
    raw = request.args.get(name)
    if not raw:
        return None
    try:  # YYYY-MM-DD only (API.md): fromisoformat alone reads 20261212 and 2026-W50-1 too
        if len(raw) != 10 or raw[4] != "-" or raw[7] != "-":
            raise ValueError(raw)
        day = date.fromisoformat(raw)
    except ValueError:
        raise ApiError(_l("%(name)s must be a date like 2026-12-31.", name=name),
                       code="bad_date") from None
    # events exist only in this window (services.EARLIEST, LATEST); 0001-01-01 or
    # 9999-12-31 would not even make a time in Tokyo
    first, last = services.EARLIEST.date(), services.LATEST.date() - timedelta(days=1)
    if not first <= day <= last:
        raise ApiError(_l("%(name)s must be a date between %(first)s and %(last)s.", name=name,
                          first=first.isoformat(), last=last.isoformat()),
                       code="bad_date")
    return day


@bp.get("/branches")
def branches():
    page, per_page = page_args()
    rows = list_branches(db.session)  # a few dozen at most: one query, sliced here
    items = [branch_json(b) for b in rows[(page - 1) * per_page: page * per_page]]
    return paginated(items, page, per_page, len(rows))


@bp.get("/events")
def events():
    page, per_page = page_args()
    start_day, end_day = _date_arg("from"), _date_arg("to")
    start = datetime.combine(start_day, time(), TOKYO) if start_day else None
    # "to" is inclusive: events starting on that day are in.
    end = datetime.combine(end_day, time(), TOKYO) + timedelta(days=1) if end_day else None
    if start and end and end <= start:
        raise ApiError(_l("'to' must not be before 'from'."), code="bad_date")
    branch = None
    if request.args.get("branch"):
        branch = db.session.scalar(sa.select(Branch).where(Branch.slug == request.args["branch"]))
        if branch is None:
            raise ApiError(_l("Unknown branch."), code="unknown_branch", status=404)
    kind = request.args.get("kind") or None
    if kind and kind not in {k.value for k in EventKind}:
        raise ApiError(_l("Unknown kind of event."), code="unknown_kind", status=404)
    if start is None and end is None:
        start = utcnow()
    result = services.list_public_events(db.session, branch=branch, kind=kind, start=start,
                                         end=end, page=page, per_page=per_page)
    now = utcnow()
    return paginated([event_json(e, now) for e in result.items], page, per_page, result.total)


@bp.get("/events/<int:event_id>")
def event_detail(event_id: int):
    # public; a draft only for whoever manages its branch (who just created it, say)
    return jsonify(event_json(services.get_event_for_reader(db.session, event_id,
                                                            g.get("api_user"))))


def _api_write_limit() -> str:
    return current_app.config["RATELIMIT_API_WRITE"]


@bp.post("/events")
@limiter.limit(_api_write_limit)
def create_event():
    user = api_user()
    data = json_body()
    slug = data.get("branch")
    if not isinstance(slug, str) or not slug:
        raise ValidationFailed(fields={"branch": [_l("This field is required.")]})
    branch = db.session.scalar(sa.select(Branch).where(Branch.slug == slug))
    if branch is None:
        raise ValidationFailed(fields={"branch": [_l("Unknown branch.")]})
    # who may post here before what is posted: a volunteer's token is told 403 at once,
    # not a list of fields to fill in that would then be refused all the same
    services.check_can_manage(user, branch.id)
    cleaned = services.clean_event_data(data)
    event = services.create_event(db.session, user, branch, cleaned)
    db.session.commit()
    return jsonify(event_json(event)), 201


@bp.patch("/events/<int:event_id>")
@limiter.limit(_api_write_limit)
def update_event(event_id: int):
    user = api_user()
    data = json_body()
    if "branch" in data:
        raise ValidationFailed(fields={"branch": [_l("An event cannot move to another branch.")]})
    event = services.get_event_for_user(db.session, event_id, user)
    was_cancelled = event.is_cancelled
    old_times = (event.starts_at, event.ends_at)
    cleaned = services.clean_event_data(data, partial=True)
    promoted = services.update_event(db.session, user, event, cleaned)
    db.session.commit()
    moved = (event.starts_at, event.ends_at) != old_times
    told = notify_promoted(promoted, {event.id: old_times} if moved else None)
    if event.is_cancelled and not was_cancelled:  # called off: the families are told
        notify_event_cancelled(event)
    elif moved:  # moved: so are they (a party just promoted read it in that mail)
        notify_event_moved(event, *old_times, told=told)
    return jsonify(event_json(event))


# ---------------------------------------------------------------------------------------

_VENUE = {
    "type": ["object", "null"],
    "properties": {k: {"type": "string"} for k in (
        "name", "postal_code", "address", "access_notes", "accessibility_notes", "map_url")},
}
_FEE = {"type": "object", "required": ["code", "label", "amount"],
        "properties": {"code": {"type": "string"}, "label": {"type": "string"},
                       "amount": {"type": "integer", "minimum": 0}}}
_URLS = {"type": "object", "properties": {k: {"type": "string", "format": "uri"}
                                          for k in ("page", "ics", "signup")}}

OPENAPI_SCHEMAS = {
    "Branch": {
        "type": "object",
        "required": ["slug", "name", "region", "urls"],
        "properties": {"slug": {"type": "string"}, "name": {"type": "string"},
                       "region": {"type": "string"},
                       "urls": {"type": "object", "properties": {
                           "page": {"type": "string"}, "ics": {"type": "string"}}}},
    },
    "Event": {
        "type": "object",
        "required": ["id", "title", "kind", "status", "starts_at", "ends_at", "branch", "venue",
                     "capacity", "seats_left", "signup_open", "fees", "series_id", "urls"],
        "properties": {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "kind": {"type": "string", "enum": [k.value for k in EventKind]},
            "status": {"type": "string", "enum": ["published", "cancelled", "draft"]},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "description": {"type": "string", "description": "Markdown"},
            "branch": {"type": "object", "properties": {"slug": {"type": "string"},
                                                        "name": {"type": "string"}}},
            "venue": _VENUE,
            "capacity": {"type": ["integer", "null"]},
            "seats_left": {"type": ["integer", "null"]},
            "signup_open": {"type": "boolean"},
            "signup_opens_at": {"type": ["string", "null"], "format": "date-time"},
            "signup_closes_at": {"type": ["string", "null"], "format": "date-time"},
            "fees": {"type": "array", "items": _FEE},
            "fee_basis": {"type": "string", "enum": ["registered", "attended"]},
            "series_id": {"type": ["integer", "null"]},
            "urls": _URLS,
        },
    },
    "EventInput": {
        "type": "object",
        "properties": {
            "branch": {"type": "string", "description": "branch slug (create only)"},
            "kind": {"type": "string", "enum": [k.value for k in EventKind]},
            "title": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": 20000},
            "starts_at": {"type": "string", "format": "date-time"},
            "ends_at": {"type": "string", "format": "date-time"},
            "venue": _VENUE,
            "venue_id": {"type": "integer"},
            "capacity": {"type": ["integer", "null"], "minimum": 1,
                         "description": "seats; null for no limit"},
            "fees": {"type": "array", "items": _FEE},
            "fee_basis": {"type": "string", "enum": ["registered", "attended"]},
            "signup_opens_at": {"type": ["string", "null"], "format": "date-time"},
            "signup_closes_at": {"type": ["string", "null"], "format": "date-time"},
            "status": {"type": "string", "enum": ["draft", "published", "cancelled"],
                       "description": "cancelled: PATCH of a published event only "
                                      "(409 event_not_published for a draft)"},
        },
    },
}

_EVENT_REF = {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}
_EVENT_INPUT = {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/EventInput"}}}}
_ID = [{"name": "event_id", "in": "path", "required": True, "schema": {"type": "integer"}}]

OPENAPI_PATHS = {
    "/api/v1/branches": {"get": {
        "summary": "Branches (団体・地方委員会)", "operationId": "listBranches",
        "parameters": PAGE_PARAMS,
        "responses": {"200": {"description": "A page of branches", "content": {
            "application/json": {"schema": paginated_schema("Branch")}}},
            **error_responses(400)}}},
    "/api/v1/events": {
        "get": {
            "summary": "Published events (cancelled ones included with their status)",
            "operationId": "listEvents",
            "parameters": PAGE_PARAMS + [
                {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "to", "in": "query", "schema": {"type": "string", "format": "date"}},
                {"name": "branch", "in": "query", "schema": {"type": "string"}},
                {"name": "kind", "in": "query",
                 "schema": {"type": "string", "enum": [k.value for k in EventKind]}},
            ],
            "responses": {"200": {"description": "A page of events", "content": {
                "application/json": {"schema": paginated_schema("Event")}}},
                **error_responses(400, 404)}},
        "post": {
            "summary": "Create an event (organizer of the branch, or admin)",
            "operationId": "createEvent", "security": [{"bearer": []}],
            "requestBody": _EVENT_INPUT,
            "responses": {"201": {"description": "Created", "content": _EVENT_REF},
                          **error_responses(400, 401, 403, 415, 422, 429)}},
    },
    "/api/v1/events/{event_id}": {
        "get": {"summary": "One event",
                "description": "Published and cancelled events for anyone; a draft only "
                               "with the bearer token of an organizer of its branch or an "
                               "admin (404 to everyone else).",
                "operationId": "getEvent", "security": [{}, {"bearer": []}],
                "parameters": _ID,
                "responses": {"200": {"description": "The event", "content": _EVENT_REF},
                              **error_responses(404)}},
        "patch": {
            "summary": "Change an event; status \"cancelled\" cancels it",
            "description": "Organizers of the event's branch, or admins. Only a published "
                           "event can be cancelled: a draft is not public, so there is "
                           "nothing to call off (it stays a draft). Refusals: 409 "
                           "event_cancelled (a cancelled event is final: no edit, no "
                           "second cancellation), event_not_published (status "
                           "\"cancelled\" sent for a draft; nothing changes), "
                           "has_registrations (back to draft with sign-ups), "
                           "capacity_below_confirmed, fee_in_use; 422 invalid; 403 forbidden; "
                           "404 not_found.",
            "operationId": "updateEvent", "security": [{"bearer": []}], "parameters": _ID,
            "requestBody": _EVENT_INPUT,
            "responses": {"200": {"description": "Changed", "content": _EVENT_REF},
                          **error_responses(400, 401, 403, 404, 409, 415, 422, 429)}},
    },
}
