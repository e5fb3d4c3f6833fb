"""The registration object of the API (API.md), shared by the sign-up, door and fee routes."""

from __future__ import annotations

from gathering.fees import services as fees
from gathering.timeutil import to_local


def _iso(value):
    return to_local(value).isoformat() if value else None


def registration_json(session, reg, money: fees.Totals | None = None) -> dict:
    """The registration object. ``money``: the party's ``fees.totals`` when the caller
    summed the ledger already in this transaction (else one statement sums it here)."""
    due = fees.amount_due(reg)
    if money is None:
        money = fees.totals(session, reg)
    paid = money.paid
    expected = 0
    attendees = []
    for a in reg.active_attendees:
        category = a.fee_category
        if category is not None:
            expected += category.amount
        attendees.append({
            "id": a.id,
            "category": category.code if category else None,
            "name": a.name,
            "allergens": list(a.allergens or []),
            "diets": list(a.diets or []),
            "note": a.note,
            "checked_in_at": _iso(a.checked_in_at),
        })
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
        "attendees": attendees,
        "is_walk_in": reg.is_walk_in,
        "amount_due": due,
        #: what the party owes if everyone comes (the door's expectation)
        "amount_expected": expected,
        "paid": paid,
        "balance": fees.balance_of(due, money),
        "created_at": _iso(reg.created_at),
        "promoted_at": _iso(reg.promoted_at),
        "cancelled_at": _iso(reg.cancelled_at),
        "receipt_url": fees.receipt_url(reg, received_yen=money.received),
    }
