"""The registration object of the API (API.md), shared by the sign-up, door and fee routes."""

from __future__ import annotations

from gathering.fees import services as fees
from gathering.timeutil import to_local


def _iso(value):
    return to_local(value).isoformat() if value else None


def registration_json(session, reg) -> dict:
    due = fees.amount_due(reg)
    paid = fees.paid(session, reg)
    return {
        "id": reg.id,
        "event_id": reg.event_id,
        "status": reg.status,
        "contact": {
            "family_name": reg.family_name,
            "given_name": reg.given_name,
            "family_name_kana": reg.family_name_kana,
            "given_name_kana": reg.given_name_kana,
            "phone": reg.phone,
            "email": reg.email,
        },
        "message": reg.message,
        "attendees": [
            {
                "id": a.id,
                "category": a.fee_category.code if a.fee_category else None,
                "name": a.name,
                "allergens": list(a.allergens or []),
                "diets": list(a.diets or []),
                "note": a.note,
                "checked_in_at": _iso(a.checked_in_at),
            }
            for a in reg.active_attendees
        ],
        "is_walk_in": reg.is_walk_in,
        "amount_due": due,
        #: what the party owes if everyone comes (the door's expectation)
        "amount_expected": sum(a.fee_category.amount for a in reg.active_attendees
                               if a.fee_category is not None),
        "paid": paid,
        "balance": due - paid,
        "created_at": _iso(reg.created_at),
        "promoted_at": _iso(reg.promoted_at),
        "cancelled_at": _iso(reg.cancelled_at),
        "receipt_url": fees.receipt_url(reg),
    }
