"""The fees' JSON routes: a party's ledger rows, recording a payment, waiver or refund, and the
money summary of an event. Thin over gathering.fees.services, like the pages."""

from __future__ import annotations

from datetime import date

from flask import current_app, jsonify
from flask_babel import lazy_gettext as _l

from gathering.api import (
    PAGE_PARAMS,
    api_user,
    bp,
    error_responses,
    json_body,
    page_args,
    paginated,
    paginated_schema,
)
from gathering.errors import ValidationFailed
from gathering.events import services as events
from gathering.extensions import db, limiter
from gathering.fees import services
from gathering.fees.models import Payment
from gathering.rsvp.serialize import registration_json
from gathering.timeutil import to_local

KINDS = ("cash", "bank_transfer", "online", "waived", "refund")


def _write_limit() -> str:
    return current_app.config["RATELIMIT_API_WRITE"]


def payment_json(p: Payment) -> dict:
    return {
        "id": p.id,
        "registration_id": p.registration_id,
        "amount": p.amount,
        "method": p.method,
        "is_refund": p.is_refund,
        "cash_tendered": p.cash_tendered,
        "change": services.change_due(p),
        "received_on": p.received_on.isoformat() if p.received_on else None,
        "reference": p.reference,
        "provider": p.provider,
        "reason": p.reason,
        "recorded_by": p.recorded_by_id,
        "recorded_at": to_local(p.recorded_at).isoformat(),
    }


def _int(data: dict, key: str, *, required: bool = True) -> int | None:
    value = data.get(key)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed(fields={key: [_l("Send a whole number of yen.")]},
                               code="invalid_amount")
    return value


def _str(data: dict, key: str) -> str:
    value = data.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(fields={key: [_l("Enter text.")]})
    return value


def _date(data: dict, key: str) -> date | None:
    raw = data.get(key)
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(raw) if isinstance(raw, str) and len(raw) == 10 else None
    except ValueError:
        return None


@bp.get("/registrations/<int:registration_id>/payments")
def list_payments(registration_id: int):
    reg = services.get_registration_for_user(db.session, registration_id, api_user())
    page, per_page = page_args()
    rows = services.list_payments(db.session, reg)
    items = [payment_json(p) for p in rows[(page - 1) * per_page: page * per_page]]
    return paginated(items, page, per_page, len(rows))


@bp.post("/registrations/<int:registration_id>/payments")
@limiter.limit(_write_limit)
def create_payment(registration_id: int):
    user = api_user()
    reg = services.get_registration_for_user(db.session, registration_id, user)
    data = json_body(max_keys=20)
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValidationFailed(fields={"kind": [_l("Use cash, bank_transfer, online, waived "
                                                   "or refund.")]}, code="invalid_method")
    amount = _int(data, "amount", required=kind != "waived")
    nonce = data.get("nonce")
    before = services.get_payment_by_nonce(db.session, nonce, reg)
    if kind == "refund":
        payment = services.record_refund(db.session, reg, amount, data.get("method", "cash"),
                                         reason=_str(data, "reason"), user=user, nonce=nonce,
                                         reference=_str(data, "reference"))
    elif kind == "waived":
        payment = services.waive(db.session, reg, amount, reason=_str(data, "reason"),
                                 user=user, nonce=nonce)
    elif kind == "cash":
        # as at the door and on the money page: never more than is owed (the rest is change)
        payment = services.record_cash(
            db.session, reg, amount, user=user, nonce=nonce,
            cash_tendered=_int(data, "cash_tendered", required=False),
            reference=_str(data, "reference"), reason=_str(data, "reason"))
    else:
        received_on = _date(data, "received_on")
        if kind == "bank_transfer" and received_on is None:
            raise ValidationFailed(fields={"received_on": [
                _l("Enter the day the transfer arrived.")]}, code="invalid_date")
        payment = services.record_payment(
            db.session, reg, amount, kind, user=user, nonce=nonce,
            cash_tendered=_int(data, "cash_tendered", required=False),
            reference=_str(data, "reference"), reason=_str(data, "reason"),
            provider=_str(data, "provider"), received_on=received_on)
    db.session.commit()
    body = {"payment": payment_json(payment), "registration": registration_json(db.session, reg)}
    return jsonify(body), 200 if before is not None else 201


def summary_json(summary: services.MoneySummary) -> dict:
    return {"due": summary.due, "income": dict(summary.income),
            "refunds": dict(summary.refunds), "waived": summary.waived, "net": summary.net,
            "outstanding": summary.outstanding, "overpaid": summary.overpaid,
            "expected_cash": summary.expected_cash, "parties": summary.parties}


@bp.get("/events/<int:event_id>/money")
def event_money(event_id: int):
    event = events.get_event_for_user(db.session, event_id, api_user())
    summary, _lines = services.event_money(db.session, event)
    cash = [{"volunteer_id": c.volunteer.id if c.volunteer else None,
             "expected": c.expected, "counted": c.counted, "difference": c.difference}
            for c in services.cash_position(db.session, event)]
    return jsonify({"event_id": event.id, "summary": summary_json(summary), "cash": cash})


_JSON = "application/json"
_REG_ID = [{"name": "registration_id", "in": "path", "required": True,
            "schema": {"type": "integer"}}]
_YEN_BY_METHOD = {"type": "object", "properties": {
    "cash": {"type": "integer"}, "bank_transfer": {"type": "integer"},
    "online": {"type": "integer"}}}

OPENAPI_SCHEMAS = {
    "Payment": {
        "type": "object",
        "description": "A ledger row. Rows are never edited: a refund is a negative row.",
        "required": ["id", "registration_id", "amount", "method", "is_refund", "recorded_at"],
        "properties": {
            "id": {"type": "integer"}, "registration_id": {"type": "integer"},
            "amount": {"type": "integer", "description": "yen; negative for a refund"},
            "method": {"type": "string", "enum": ["cash", "bank_transfer", "online", "waived"]},
            "is_refund": {"type": "boolean"},
            "cash_tendered": {"type": ["integer", "null"]},
            "change": {"type": ["integer", "null"], "description": "お釣り"},
            "received_on": {"type": ["string", "null"], "format": "date"},
            "reference": {"type": "string"}, "provider": {"type": "string"},
            "reason": {"type": "string"},
            "recorded_by": {"type": ["integer", "null"]},
            "recorded_at": {"type": "string", "format": "date-time"},
        },
    },
    "PaymentInput": {
        "type": "object", "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": list(KINDS)},
            "amount": {"type": "integer", "minimum": 1,
                       "description": "yen; cash: at most the balance; for a waiver, omit "
                                      "to waive the whole balance"},
            "method": {"type": "string", "enum": ["cash", "bank_transfer", "online"],
                       "description": "refunds only: how the money went back"},
            "cash_tendered": {"type": "integer", "description": "cash only: money handed over"},
            "received_on": {"type": "string", "format": "date",
                            "description": "bank_transfer: the day it arrived (required)"},
            "reference": {"type": "string", "maxLength": 120},
            "provider": {"type": "string", "maxLength": 30},
            "reason": {"type": "string", "maxLength": 300,
                       "description": "required for a waiver"},
            "nonce": {"type": "string", "maxLength": 120,
                      "description": "the same nonce again returns the first row (200)"},
        },
    },
    "EventMoney": {
        "type": "object",
        "properties": {
            "event_id": {"type": "integer"},
            "summary": {"type": "object", "properties": {
                "due": {"type": "integer"}, "income": _YEN_BY_METHOD,
                "refunds": _YEN_BY_METHOD, "waived": {"type": "integer"},
                "net": {"type": "integer"}, "outstanding": {"type": "integer"},
                "overpaid": {"type": "integer"}, "expected_cash": {"type": "integer"},
                "parties": {"type": "integer"}}},
            "cash": {"type": "array", "items": {"type": "object", "properties": {
                "volunteer_id": {"type": ["integer", "null"]},
                "expected": {"type": "integer"},
                "counted": {"type": ["integer", "null"]},
                "difference": {"type": ["integer", "null"]}}}},
        },
    },
}

OPENAPI_PATHS = {
    "/api/v1/registrations/{registration_id}/payments": {
        "get": {
            "summary": "A party's ledger rows (payments, waivers, refunds)",
            "description": "Volunteers, organizers of the event's branch, or admins.",
            "operationId": "listPayments", "security": [{"bearer": []}],
            "parameters": _REG_ID + PAGE_PARAMS,
            "responses": {"200": {"description": "A page of ledger rows", "content": {_JSON: {
                "schema": paginated_schema("Payment")}}},
                **error_responses(400, 401, 403, 404)},
        },
        "post": {
            "summary": "Record cash, a bank transfer, an online payment, a waiver or a refund",
            "description": "Cash: door volunteers too; everything else: organizers. Cash "
                           "is never recorded above what the party owes, as at the door: "
                           "send the balance as amount and the money handed over as "
                           "cash_tendered (the answer gives the change); a bank transfer or "
                           "online payment is recorded as it arrived. Refusals: "
                           "422 invalid_amount, insufficient_cash, invalid_method, invalid_date, "
                           "reason_required, reference_required, too_long; 409 cancelled, "
                           "event_cancelled, exceeds_balance (cash above the balance), "
                           "nothing_owed (cash, or a waiver, when nothing is owed), "
                           "refund_exceeds_paid, waiver_exceeds_balance, nonce_reused; "
                           "403 forbidden.",
            "operationId": "createPayment", "security": [{"bearer": []}],
            "parameters": _REG_ID,
            "requestBody": {"required": True, "content": {_JSON: {"schema": {
                "$ref": "#/components/schemas/PaymentInput"}}}},
            "responses": {
                "201": {"description": "Recorded", "content": {_JSON: {"schema": {
                    "type": "object", "properties": {
                        "payment": {"$ref": "#/components/schemas/Payment"},
                        "registration": {"type": "object"}}}}}},
                "200": {"description": "The same nonce again: the first row, nothing added"},
                **error_responses(400, 401, 403, 404, 409, 415, 422, 429)},
        },
    },
    "/api/v1/events/{event_id}/money": {"get": {
        "summary": "Income by method, refunds, waivers, what is owed and the cash position",
        "description": "Organizers of the event's branch, or admins.",
        "operationId": "getEventMoney", "security": [{"bearer": []}],
        "parameters": [{"name": "event_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "The event's money", "content": {_JSON: {
            "schema": {"$ref": "#/components/schemas/EventMoney"}}}},
            **error_responses(401, 403, 404)},
    }},
}
