"""Every model, imported in one place so Alembic and the shell see the whole schema."""

from gathering.accounts.models import ApiToken, Branch, Role, User, user_branches
from gathering.checkin.models import CheckIn
from gathering.events.models import (
    Event,
    EventKind,
    EventStatus,
    FeeBasis,
    FeeCategory,
    Series,
    Venue,
)
from gathering.fees.models import CashCount, Payment, PaymentMethod, Receipt
from gathering.idempotency import IdempotencyRecord
from gathering.rsvp.models import Attendee, Registration, RegistrationStatus

__all__ = [
    "ApiToken", "Attendee", "Branch", "CashCount", "CheckIn", "Event", "EventKind",
    "EventStatus", "FeeBasis", "FeeCategory", "IdempotencyRecord", "Payment", "PaymentMethod",
    "Receipt", "Registration", "RegistrationStatus", "Role", "Series", "User", "Venue",
    "user_branches",
]
