"""The door's JSON routes (API.md): admissions by ticket, undo, walk-ins and the check-in list
the scanner page caches for offline use."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, g, jsonify, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import IntegrityError

from gathering.api import (
    PAGE_PARAMS,
    ApiError,
    api_user,
    bp,
    error_responses,
    json_body,
    page_args,
)
from gathering.checkin import services
from gathering.errors import GatheringError, ValidationFailed
from gathering.extensions import db, limiter, locks_late
from gathering.i18n import current_lang
from gathering.rsvp.models import Registration
from gathering.rsvp.serialize import registration_json


def _checkin_limit() -> str:
    return current_app.config["RATELIMIT_CHECKIN"]


def _event_id(data: dict) -> int:
    value = data.get("event_id")
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**31:
        raise ValidationFailed(fields={"event_id": [_l("Send the event's id as a number.")]})
    return value


def _token(data: dict) -> str:
    token = data.get("token")
    if not isinstance(token, str) or not token.strip():
        raise ValidationFailed(fields={"token": [_l("Send the ticket's token.")]})
    return token.strip().rsplit("/c/", 1)[-1].strip("/")  # a whole ticket URL works too


def _scanned_at(data: dict) -> datetime | None:
    raw = data.get("scanned_at")
    if raw in (None, ""):
        return None
    try:
        value = datetime.fromisoformat(raw) if isinstance(raw, str) and len(raw) < 40 else None
    except ValueError:
        value = None
    if value is None or value.tzinfo is None:
        raise ValidationFailed(fields={"scanned_at": [
            _l("Send an ISO 8601 time with its offset.")]})
    return value


def _optional_int(data: dict, key: str):
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(fields={key: [_l("Enter a whole number of yen.")]},
                               code="invalid_amount")
    return value


def _device(data: dict) -> str:
    device = data.get("device") or request.headers.get("User-Agent", "")
    return device if isinstance(device, str) else ""


def _with_retry(work):
    """Run a keyed write and commit; a refusal writes nothing. If a racing request with the
    same nonce committed first (unique constraint), run again to return its stored answer."""
    try:
        result = work()
        db.session.commit()
        return result
    except IntegrityError:
        db.session.rollback()
        result = work()
        db.session.commit()
        return result
    except GatheringError:
        db.session.rollback()
        raise


def _answered(admission: services.Admission) -> tuple[dict, dict]:
    """The service's answer with the party as it stands in the same transaction, built
    before the commit so nothing has to be loaded again after it. The service hands over
    the party it admitted; a replayed nonce finds the party it answered for, as it stands
    (its ticket may have been replaced since)."""
    reg = admission.registration
    if reg is None:
        reg = db.session.get(Registration, admission.result["registration_id"])
    return admission.result, registration_json(db.session, reg, admission.money)


def _undone(result: dict) -> tuple[dict, dict]:
    """``_answered`` for an undo: the party is in the session already (the identity map
    gives it without a statement), unless the nonce was replayed."""
    reg = None
    if not result.get("replayed"):
        reg = db.session.get(Registration, result["registration_id"])
    return _answered(services.Admission(result, reg))


@bp.post("/checkins")
@limiter.limit(_checkin_limit)
@locks_late
def create_checkin():
    user = api_user()
    data = json_body()
    event_id = _event_id(data)
    try:
        token = _token(data)
        kwargs = dict(user=user, attendee_ids=data.get("attendee_ids"),
                      nonce=data.get("nonce"), device=_device(data),
                      scanned_at=_scanned_at(data), was_offline=data.get("was_offline") is True,
                      cash_received=_optional_int(data, "cash_received"))
    except ValidationFailed:
        # an unknown event, or one this token may not staff, is said before what was sent
        services.get_event_for_door(db.session, event_id, user)
        raise
    # the event is looked up with the party (admit_at): one statement fewer a scan
    result, party = _with_retry(lambda: _answered(
        services.admit_at(db.session, event_id, token, **kwargs)))
    body = {"registration": party,
            "admitted": result["admitted"], "already": result["already"],
            "conflicts": result["conflicts"], "amount_due": result["amount_due"],
            "balance": result["balance"], "change": result["change"],
            "alerts": result["alerts"], "replayed": bool(result.get("replayed"))}
    return jsonify(body)


@bp.post("/checkins/undo")
@limiter.limit(_checkin_limit)
def undo_checkin():
    user = api_user()
    data = json_body()
    event = services.get_event_for_door(db.session, _event_id(data), user)
    token = _token(data)
    result, party = _with_retry(lambda: _undone(services.undo_check_in(
        db.session, event, token, user=user, attendee_ids=data.get("attendee_ids"),
        nonce=data.get("nonce"), device=_device(data))))
    return jsonify({"registration": party, "undone": result["undone"]})


@bp.get("/events/<int:event_id>/checkin-list")
def checkin_list(event_id: int):
    """Every party of the event by ticket token, for the scanner's offline cache."""
    user = api_user()
    event = services.get_event_for_door(db.session, event_id, user)
    page, per_page = page_args()
    entries = services.checkin_list(db.session, event)
    chunk = entries[(page - 1) * per_page: page * per_page]
    counts = services.live_counts(db.session, event)
    body = {
        "items": [dict(summary, token=token) for token, summary in chunk],
        "page": page, "per_page": per_page, "total": len(entries),
        "counts": counts.__dict__,
        "labels": services.alert_labels(current_lang()),
    }
    if g.get("api_auth") == "session":
        body["csrf_token"] = generate_csrf()  # keeps a long-open scanner page able to post
    response = jsonify(body)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/events/<int:event_id>/walk-ins")
@limiter.limit(_checkin_limit)
def create_walk_in(event_id: int):
    user = api_user()
    data = json_body()
    event = services.get_event_for_door(db.session, event_id, user)
    counts = data.get("counts")
    if not isinstance(counts, dict) or len(counts) > 20:
        raise ValidationFailed(fields={"counts": [_l("Send people per fee category.")]})
    texts = {}
    for key in ("family_name", "family_name_kana", "phone", "note"):
        value = data.get(key, "")
        if not isinstance(value, str):
            raise ValidationFailed(fields={key: [_l("Enter text.")]})
        if len(value) > 500:
            raise ValidationFailed(fields={key: [_l("This is too long.")]})
        texts[key] = value
    allergens = data.get("allergens", [])
    if not isinstance(allergens, list) or len(allergens) > 40:
        raise ApiError(_l("allergens must be a list of codes."), code="malformed_json")
    allergy_for = data.get("allergy_for", "")
    if not isinstance(allergy_for, str) or len(allergy_for) > 30:
        raise ValidationFailed(fields={"allergy_for": [_l("Send a fee category's code.")]})
    walk_in = services.WalkIn(counts=counts, allergens=allergens, allergy_for=allergy_for,
                              people=data.get("people"), **texts)
    reg = _with_retry(lambda: services.admit_walk_in(
        db.session, event, walk_in, user=user, nonce=data.get("nonce"),
        overbook=data.get("overbook") is True, device=_device(data)))
    return jsonify({"registration": registration_json(db.session, reg),
                    "ticket_token": reg.ticket_token}), 201


# ---------------------------------------------------------------------------------------
# OpenAPI

_REGISTRATION = {"type": "object", "description": "The registration object (see "
                 "GET /api/v1/registrations/{id})"}

OPENAPI_SCHEMAS = {
    "CheckinInput": {
        "type": "object",
        "required": ["token", "event_id"],
        "properties": {
            "token": {"type": "string", "description": "from the ticket URL /c/<token> "
                      "(the whole URL is accepted too)"},
            "event_id": {"type": "integer"},
            "attendee_ids": {"type": "array", "items": {"type": "integer"},
                             "description": "default (left out): everyone of the party; "
                                            "an empty list is refused (422)"},
            "nonce": {"type": "string", "maxLength": 120,
                      "description": "the same nonce again returns the first answer"},
            "cash_received": {"type": "integer", "minimum": 0,
                              "description": "yen handed over; the balance is recorded as "
                                             "cash and the change returned"},
            "device": {"type": "string", "maxLength": 120},
            "was_offline": {"type": "boolean", "description": "queued while offline: people "
                            "already admitted elsewhere are logged as conflicts, not refused"},
            "scanned_at": {"type": "string", "format": "date-time"},
        },
    },
    "CheckinResult": {
        "type": "object",
        "required": ["registration", "admitted", "already", "amount_due", "alerts"],
        "properties": {
            "registration": _REGISTRATION,
            "admitted": {"type": "array", "items": {"type": "integer"}},
            "already": {"type": "array", "items": {"type": "integer"}},
            "conflicts": {"type": "array", "items": {"type": "integer"}},
            "amount_due": {"type": "integer"},
            "balance": {"type": "integer"},
            "change": {"type": ["integer", "null"], "description": "お釣り, with cash_received"},
            "alerts": {"type": "array", "items": {"type": "string"},
                       "description": "allergen and diet codes"},
            "replayed": {"type": "boolean"},
        },
    },
    "DoorParty": {
        "type": "object",
        "properties": {
            "token": {"type": "string"}, "registration_id": {"type": "integer"},
            "status": {"type": "string"}, "revoked": {"type": "boolean"},
            "name": {"type": "string"}, "kana": {"type": "string"},
            "amount_due": {"type": "integer"}, "expected_due": {"type": "integer"},
            "balance": {"type": "integer"},
            "people": {"type": "array", "items": {"type": "object", "properties": {
                "id": {"type": "integer"}, "category": {"type": ["string", "null"]},
                "category_label": {"type": "string"}, "name": {"type": "string"},
                "allergens": {"type": "array", "items": {"type": "string"}},
                "diets": {"type": "array", "items": {"type": "string"}},
                "note": {"type": "string"}, "checked_in": {"type": "boolean"}}}},
        },
    },
}

_JSON = "application/json"
_DOOR_ERRORS = error_responses(400, 401, 403, 404, 409, 415, 422, 429)

OPENAPI_PATHS = {
    "/api/v1/checkins": {"post": {
        "summary": "Admit people of a party by ticket token at the door",
        "description": "Volunteer, organizer of the event's branch, or admin. Refusals: 409 "
                       "wrong_event, cancelled, waitlisted, already_checked_in, revoked, "
                       "event_cancelled; "
                       "404 unknown_token. The same nonce returns the first answer.",
        "operationId": "createCheckin", "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {_JSON: {"schema": {
            "$ref": "#/components/schemas/CheckinInput"}}}},
        "responses": {"200": {"description": "Admitted", "content": {_JSON: {"schema": {
            "$ref": "#/components/schemas/CheckinResult"}}}}, **_DOOR_ERRORS}}},
    "/api/v1/checkins/undo": {"post": {
        "summary": "Take back admissions (a new log row per person)",
        "operationId": "undoCheckin", "security": [{"bearer": []}],
        "requestBody": {"required": True, "content": {_JSON: {"schema": {
            "$ref": "#/components/schemas/CheckinInput"}}}},
        "responses": {"200": {"description": "Undone", "content": {_JSON: {"schema": {
            "type": "object", "properties": {"registration": _REGISTRATION, "undone": {
                "type": "array", "items": {"type": "integer"}}}}}}},
            **_DOOR_ERRORS}}},
    "/api/v1/events/{event_id}/checkin-list": {"get": {
        "summary": "Every party of the event by ticket token (the scanner's offline cache)",
        "operationId": "listCheckinParties", "security": [{"bearer": []}],
        "parameters": [{"name": "event_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}] + PAGE_PARAMS,
        "responses": {"200": {"description": "A page of parties and the live counts",
                              "content": {_JSON: {"schema": {"type": "object", "properties": {
                                  "items": {"type": "array", "items": {
                                      "$ref": "#/components/schemas/DoorParty"}},
                                  "page": {"type": "integer"},
                                  "per_page": {"type": "integer"},
                                  "total": {"type": "integer"},
                                  "counts": {"type": "object"}}}}}},
                      **error_responses(400, 401, 403, 404)}}},
    "/api/v1/events/{event_id}/walk-ins": {"post": {
        "summary": "Admit a walk-in party (counts against capacity; organizers may overbook)",
        "description": "Volunteer, organizer of the event's branch, or admin; from the "
                       "event's publication until the end of the day it ends (Tokyo). "
                       "Refusals: 409 event_cancelled, event_not_published (a draft), "
                       "event_over (that day is over), "
                       "full (no seats; an organizer may send overbook), 403 forbidden "
                       "(overbook by a volunteer), 422 invalid with fields. The event's "
                       "state is checked before the fields. The same nonce returns the "
                       "first party.",
        "operationId": "createWalkIn", "security": [{"bearer": []}],
        "parameters": [{"name": "event_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "requestBody": {"required": True, "content": {_JSON: {"schema": {
            "type": "object", "required": ["counts"], "properties": {
                "counts": {"type": "object", "additionalProperties": {"type": "integer"},
                           "description": "people per fee code, e.g. {\"child\": 2}"},
                "family_name": {"type": "string"}, "family_name_kana": {"type": "string"},
                "phone": {"type": "string", "description": "a Japanese number, checked "
                          "as at sign-up"},
                "allergens": {"type": "array", "items": {"type": "string"},
                              "description": "allergen codes of the sign-up list"},
                "allergy_for": {"type": "string", "description": "the fee code of the "
                                "person the allergens and note are about (the first of "
                                "that category); empty: the party's first person"},
                "note": {"type": "string"}, "nonce": {"type": "string"},
                "overbook": {"type": "boolean"},
                "people": {"type": "array", "maxItems": 30, "description": "allergies "
                           "person by person, instead of allergens/note/allergy_for: the "
                           "n-th entry of a category is about the n-th person of it in "
                           "counts (at most as many entries as people of it), people not "
                           "listed have none; category may be left out when the party has "
                           "one category. Refused with 422 and fields people.<i>.<key>.",
                           "items": {"type": "object", "additionalProperties": False,
                                     "properties": {
                                         "category": {"type": "string",
                                                      "description": "a fee code"},
                                         "allergens": {"type": "array", "maxItems": 40,
                                                       "items": {"type": "string"}},
                                         "note": {"type": "string", "maxLength": 500}}}}}}}}},
        "responses": {"201": {"description": "Admitted walk-in party", "content": {_JSON: {
            "schema": {"type": "object", "properties": {
                "registration": _REGISTRATION, "ticket_token": {"type": "string"}}}}}},
            **_DOOR_ERRORS}}},
}
