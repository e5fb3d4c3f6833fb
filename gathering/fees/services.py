"""Fees: what a party owes, the append-only payment ledger, cash counts and receipts.

Yen are integers. A refund is a negative row; nothing is ever edited in place.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from gathering.errors import Conflict, ValidationFailed
from gathering.events.models import FeeBasis
from gathering.fees.models import Payment, PaymentMethod
from gathering.rsvp.models import Registration
from gathering.timeutil import utcnow

MAX_AMOUNT = 1_000_000


def amount_due(registration: Registration) -> int:
    """What the party owes: everyone registered, or only those who came (the event decides).

    A waiting or cancelled party owes nothing unless someone of it was admitted.
    """
    people = registration.active_attendees
    if registration.event.fee_basis == FeeBasis.attended or registration.status != "confirmed":
        people = [a for a in people if a.checked_in_at is not None]
    return sum(a.fee_category.amount for a in people if a.fee_category is not None)


def paid(session, registration: Registration) -> int:
    """Net money received (refunds subtracted; waivers count as settled)."""
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0))
        .where(Payment.registration_id == registration.id)) or 0


def balance(session, registration: Registration) -> int:
    """Due − paid: positive means still owed, negative means overpaid."""
    return amount_due(registration) - paid(session, registration)


def record_payment(session, registration: Registration, amount: int, method: str, *, user=None,
                   nonce: str | None = None, cash_tendered: int | None = None,
                   reference: str = "", reason: str = "", received_on=None, now=None) -> Payment:
    """Append a payment row. The same nonce twice returns the first row and adds nothing.

    Raises ValidationFailed for a bad amount or method, Conflict for a cancelled party.
    """
    if nonce:
        existing = session.scalar(sa.select(Payment).where(Payment.nonce == nonce))
        if existing is not None:
            return existing
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ValidationFailed(fields={"amount": [_l("Enter a whole number of yen above 0.")]},
                               code="invalid_amount")
    if method not in {m.value for m in PaymentMethod}:
        raise ValidationFailed(fields={"method": [_l("Unknown payment method.")]})
    if registration.status == "cancelled":
        raise Conflict(_l("This sign-up is cancelled."), code="cancelled")
    payment = Payment(registration_id=registration.id, event_id=registration.event_id,
                      amount=amount, method=method, nonce=nonce, cash_tendered=cash_tendered,
                      reference=reference, reason=reason, received_on=received_on,
                      recorded_by_id=user.id if user else None, recorded_at=now or utcnow())
    session.add(payment)
    session.flush()
    return payment


def receipt_url(registration: Registration) -> str | None:
    """Where the organizer issues or views this party's receipt (None until one can be)."""
    return None
