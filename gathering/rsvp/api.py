"""Sign-up routes of the JSON API (API.md): the public sign-up and the organizers' reads."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, jsonify, request
from flask_babel import lazy_gettext as _l

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
from gathering.errors import Conflict
from gathering.events import services as events
from gathering.extensions import db, locks_late
from gathering.fees import services as fees
from gathering.i18n import current_lang
from gathering.rsvp import allergens as data
from gathering.rsvp import limits, services
from gathering.rsvp.mails import send_registration_mail
from gathering.rsvp.models import RegistrationStatus
from gathering.rsvp.serialize import registration_json
from gathering.timeutil import utcnow
from gathering.urls import external_url


def signup_answer(reg, token: str) -> dict:
    """The 201 answer of a sign-up: what a partner site needs to show the ticket."""
    return {
        "id": reg.id,
        "event_id": reg.event_id,
        "status": reg.status,
        "amount_due": fees.amount_due(reg),
        #: what the party will owe when everyone comes (fees taken at the door)
        "amount_expected": services.amount_expected(reg),
        "manage_url": external_url("rsvp.manage", token=token),
        "ticket_url": external_url("checkin.ticket", token=reg.ticket_token),
        "qr_png_url": external_url("rsvp.qr_png", token=token),
        "qr_svg_url": external_url("rsvp.qr_svg", token=token),
    }


@bp.post("/events/<int:event_id>/registrations")
@limits.signup_per_ip
@limits.signup_per_event
@locks_late
def create_registration(event_id: int):
    event = events.get_event(db.session, event_id, with_fees=True)
    body = json_body()
    try:
        result = services.register(
            db.session, event, body, now=utcnow(), idempotency_key=body.get("idempotency_key"),
            max_party_size=current_app.config["MAX_PARTY_SIZE"], lang=current_lang())
    except Conflict as exc:
        links = _conflict_links(exc)
        if links is None:
            raise
        db.session.rollback()
        # the API's error shape (errors_http.json_error) with the links beside it
        return jsonify({"error": {"code": exc.code, "message": str(exc.message),
                                  **links}}), exc.status
    with _kept_after_commit(db.session()):
        db.session.commit()  # first: what follows holds no lock other sign-ups wait for
        answer = signup_answer(result.registration, result.manage_token)
        if not result.replayed:
            send_registration_mail(result.registration, result.manage_token,
                                   seats_left=result.seats_left)
    response = jsonify(answer)
    response.status_code = 201
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Cache-Control"] = "no-store"
    return response


def _conflict_links(exc: Conflict) -> dict | None:
    """The links a duplicate sign-up's 409 carries besides the error shape: where to ask
    for a lost manage link (``already_registered``: the existing one is never revealed), or
    the first sign-up's manage page (``already_sent``: the same key sent it)."""
    if exc.code == "already_registered":
        return {"lost_link_url": external_url("rsvp.lost_link")}
    if exc.code == "already_sent":
        token = exc.details.get("manage_token")
        return {"manage_url": external_url("rsvp.manage", token=token)} \
            if token else {}
    return None


@contextmanager
def _kept_after_commit(session):
    """Commit without expiring what the session holds, for the block's reads only.

    The answer and the confirmation mail are made after the commit (SQLite's write lock is
    free again by then) and read the registration, its people and the event as this
    transaction wrote them, which the commit made true. Without this they would all be
    loaded again. Afterwards everything is expired as a commit would have, so nothing stale
    outlives the block.
    """
    keep = session.expire_on_commit
    session.expire_on_commit = False
    try:
        yield
    finally:
        session.expire_on_commit = keep
        session.expire_all()


@bp.get("/events/<int:event_id>/registrations")
def list_event_registrations(event_id: int):
    user = api_user()
    event = events.get_event_for_user(db.session, event_id, user)
    page, per_page = page_args()
    status = request.args.get("status") or None
    if status is not None and status not in {s.value for s in RegistrationStatus}:
        raise ApiError(_l("status must be confirmed, waitlisted or cancelled."),
                       code="bad_status")
    regs = services.list_registrations(db.session, event, q=request.args.get("q", "")[:100],
                                       status=status)
    window = regs[(page - 1) * per_page: page * per_page]
    return paginated([registration_json(db.session, r) for r in window], page, per_page,
                     len(regs))


@bp.get("/registrations/<int:registration_id>")
def get_registration(registration_id: int):
    user = api_user()
    reg = services.get_registration_for_user(db.session, registration_id, user)
    return jsonify(registration_json(db.session, reg))


# ---------------------------------------------------------------------------------------
# OpenAPI

_CONTACT = {
    "type": "object",
    "properties": {
        "family_name": {"type": "string", "maxLength": 60},
        "given_name": {"type": "string", "maxLength": 60},
        "family_name_kana": {"type": "string", "maxLength": 60,
                             "description": "Hiragana or katakana; stored as full-width "
                                            "katakana. Optional for names in Latin letters."},
        "given_name_kana": {"type": "string", "maxLength": 60},
        "phone": {"type": "string", "description": "Japanese number, any width or hyphens; "
                                                   "stored as digits."},
        "email": {"type": "string", "format": "email"},
    },
}
_ALLERGENS = {"type": "array", "items": {"type": "string",
                                         "enum": [a.code for a in data.ALLERGENS]}}
_DIETS = {"type": "array", "items": {"type": "string", "enum": [d.code for d in data.DIETS]}}

OPENAPI_SCHEMAS = {
    "SignupRequest": {
        "type": "object",
        "required": ["contact", "attendees"],
        "properties": {
            "contact": {**_CONTACT, "required": ["family_name"],
                        "description": "A phone number or an e-mail address is required."},
            "attendees": {
                "type": "array", "minItems": 1,
                "description": "One item a person; at most MAX_PARTY_SIZE (default 10).",
                "items": {
                    "type": "object",
                    "properties": {
                        "category": {"type": "string",
                                     "description": "A fee code of the event"},
                        "name": {"type": "string", "maxLength": 120},
                        "allergens": _ALLERGENS,
                        "diets": _DIETS,
                        "note": {"type": "string", "maxLength": 500},
                    },
                },
            },
            "consent": {"type": "boolean",
                        "description": "Required true when allergens, diets or notes are "
                                       "given (sensitive personal data)."},
            "message": {"type": "string", "maxLength": 2000},
            "idempotency_key": {"type": "string", "maxLength": 100,
                                "description": "The same key again returns the first answer "
                                               "and creates nothing. Use a random string."},
        },
    },
    "SignupResponse": {
        "type": "object",
        "required": ["id", "status", "amount_due", "manage_url", "ticket_url", "qr_png_url",
                     "qr_svg_url"],
        "properties": {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["confirmed", "waitlisted", "cancelled"],
                       "description": "confirmed or waitlisted; the same idempotency_key "
                                      "sent again answers the sign-up as it stands now, "
                                      "so cancelled when it was cancelled since"},
            "amount_due": {"type": "integer", "description": "Yen owed now"},
            "amount_expected": {"type": "integer",
                                "description": "Yen owed if everyone comes"},
            "manage_url": {"type": "string", "format": "uri",
                           "description": "Secret link: view, change, cancel"},
            "ticket_url": {"type": "string", "format": "uri",
                           "description": "What the ticket QR code encodes"},
            "qr_png_url": {"type": "string", "format": "uri"},
            "qr_svg_url": {"type": "string", "format": "uri"},
        },
    },
    "Registration": {
        "type": "object",
        "required": ["id", "status", "contact", "attendees", "amount_due", "paid", "balance",
                     "created_at"],
        "properties": {
            "id": {"type": "integer"},
            "event_id": {"type": "integer"},
            "status": {"type": "string", "enum": ["confirmed", "waitlisted", "cancelled"]},
            "contact": _CONTACT,
            "message": {"type": "string"},
            "attendees": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "category": {"type": ["string", "null"]},
                    "name": {"type": "string"},
                    "allergens": _ALLERGENS,
                    "diets": _DIETS,
                    "note": {"type": "string"},
                    "checked_in_at": {"type": ["string", "null"], "format": "date-time"},
                }}},
            "is_walk_in": {"type": "boolean"},
            "amount_due": {"type": "integer"},
            "amount_expected": {"type": "integer",
                                "description": "Yen owed if everyone comes"},
            "paid": {"type": "integer"},
            "balance": {"type": "integer"},
            "created_at": {"type": "string", "format": "date-time"},
            "promoted_at": {"type": ["string", "null"], "format": "date-time"},
            "cancelled_at": {"type": ["string", "null"], "format": "date-time"},
            "receipt_url": {"type": ["string", "null"]},
        },
    },
}

_EVENT_ID = {"name": "event_id", "in": "path", "required": True, "schema": {"type": "integer"}}

OPENAPI_PATHS = {
    "/api/v1/events/{event_id}/registrations": {
        "post": {
            "summary": "Sign a party up (public, rate-limited per IP and per event)",
            "tags": ["sign-up"],
            "parameters": [_EVENT_ID],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/SignupRequest"}}}},
            "responses": {
                "201": {"description": "Confirmed, or on the waiting list when the party "
                                       "does not fit whole",
                        "content": {"application/json": {
                            "schema": {"$ref": "#/components/schemas/SignupResponse"}}}},
                **error_responses(400, 404, 409, 413, 415, 422, 429),
                "409": {
                    "description": (
                        "State conflict: signup_not_open, signup_closed, event_cancelled; "
                        "already_registered (this name with this phone or e-mail is already "
                        "signed up: the error carries lost_link_url, never the existing "
                        "link); already_sent (this idempotency_key's sign-up was sent before "
                        "with other data: nothing changed, the error carries manage_url); "
                        "idempotency_key_reused (the key came with another party's data)"),
                    "content": {"application/json": {"schema": {
                        "$ref": "#/components/schemas/Error"}}}},
            },
        },
        "get": {
            "summary": "The event's registrations (organizers of its branch, admins)",
            "tags": ["sign-up"],
            "security": [{"bearer": []}],
            "parameters": [_EVENT_ID, *PAGE_PARAMS,
                           {"name": "status", "in": "query", "schema": {
                               "type": "string",
                               "enum": ["confirmed", "waitlisted", "cancelled"]}},
                           {"name": "q", "in": "query", "schema": {"type": "string"},
                            "description": "Name or kana, hiragana/katakana-insensitive"}],
            "responses": {
                "200": {"description": "A page of registrations", "content": {
                    "application/json": {"schema": paginated_schema("Registration")}}},
                **error_responses(400, 401, 403, 404),
            },
        },
    },
    "/api/v1/registrations/{registration_id}": {
        "get": {
            "summary": "One registration (organizers of its branch, admins)",
            "tags": ["sign-up"],
            "security": [{"bearer": []}],
            "parameters": [{"name": "registration_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {
                "200": {"description": "The registration", "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/Registration"}}}},
                **error_responses(401, 403, 404),
            },
        },
    },
}
