"""Fees: what a party owes, the append-only payment ledger, cash counts and receipts.

Yen are integers. A refund is a negative row; nothing is ever edited in place. The functions
flush and never commit (the view or API commits once); refusals raise GatheringError
subclasses with stable codes:

``invalid_amount``, ``insufficient_cash``, ``invalid_method``, ``invalid_date``,
``reference_required``, ``reason_required``, ``too_long``, ``cancelled``,
``event_cancelled``, ``refund_exceeds_paid``, ``waiver_exceeds_balance``, ``nothing_owed``,
``exceeds_balance``, ``nothing_paid``, ``nothing_due``, ``nonce_reused``,
``unknown_volunteer``, ``addressee_required``, ``forbidden``.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from flask import current_app, has_app_context, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import object_session, selectinload

from gathering.accounts.models import Branch, User
from gathering.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gathering.events.models import Event, EventStatus, FeeBasis
from gathering.extensions import lock_for_write
from gathering.fees.models import CashCount, Payment, PaymentMethod, Receipt
from gathering.formatting import format_day, format_yen
from gathering.i18n import current_lang
from gathering.japanese import normalize_name, normalize_text
from gathering.rsvp.models import Attendee, Registration, RegistrationStatus
from gathering.security import new_token
from gathering.timeutil import TOKYO, to_local, utcnow
from gathering.urls import external_url

#: the largest single amount accepted when no app is around (config: MAX_PAYMENT_YEN)
MAX_AMOUNT = 1_000_000
MAX_REASON = 300
MAX_REFERENCE = 120
MAX_ADDRESSEE = 120
MAX_PROVISO = 200
MAX_NOTE = 300
MAX_NONCE = 120

#: methods that move real money (a waiver moves none)
MONEY_METHODS = (PaymentMethod.cash, PaymentMethod.bank_transfer, PaymentMethod.online)


def _max_amount() -> int:
    if has_app_context():
        return int(current_app.config.get("MAX_PAYMENT_YEN", MAX_AMOUNT))
    return MAX_AMOUNT


# ---------------------------------------------------------------------------------------
# Amounts


def amount_due(registration: Registration) -> int:
    """What the party owes: everyone registered, or only those who came (the event decides).

    Nothing is due for a cancelled event or a cancelled sign-up (neither can take a payment
    or a waiver, so anything due there could never be settled): money already paid for it
    is to be paid back. A waiting party owes nothing unless someone of it was admitted.
    """
    if registration.event.is_cancelled or registration.status == "cancelled":
        return 0
    people = registration.active_attendees
    if registration.event.fee_basis == FeeBasis.attended or registration.status != "confirmed":
        people = [a for a in people if a.checked_in_at is not None]
    return sum(a.fee_category.amount for a in people if a.fee_category is not None)


def paid(session, registration: Registration) -> int:
    """Net money received (refunds subtracted; waivers count as settled)."""
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0))
        .where(Payment.registration_id == registration.id)) or 0


def received(session, registration: Registration) -> int:
    """Money actually received, refunds subtracted (waivers excluded): what a receipt shows
    and the most that can be refunded."""
    return session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0))
        .where(Payment.registration_id == registration.id,
               Payment.method != PaymentMethod.waived.value)) or 0


class Totals(NamedTuple):
    """A party's ledger summed: ``paid`` as ``paid()``, ``received`` as ``received()``."""

    paid: int
    received: int


def ledger_sums(registration_id) -> tuple:
    """``paid`` and ``received`` of the registration ``registration_id`` (a column or a bound
    parameter) as two scalar subqueries: a lookup of a party can bring its ledger's sums in
    the same statement (a scan at the door)."""
    of_party = Payment.registration_id == registration_id
    return (
        sa.select(sa.func.coalesce(sa.func.sum(Payment.amount), 0)).where(of_party)
        .scalar_subquery(),
        sa.select(sa.func.coalesce(sa.func.sum(sa.case(
            (Payment.method != PaymentMethod.waived.value, Payment.amount), else_=0)), 0))
        .where(of_party).scalar_subquery(),
    )


# Built once: every check-in answer sums its party's ledger.
_TOTALS = sa.select(*ledger_sums(sa.bindparam("registration_id")))


def totals(session, registration: Registration) -> Totals:
    """``paid`` and ``received`` of the party in one statement (an answer needing both)."""
    row = session.execute(_TOTALS, {"registration_id": registration.id}).one()
    return Totals(int(row[0] or 0), int(row[1] or 0))


def balance_of(due: int, money: Totals) -> int:
    """Due − paid: positive means still owed, negative means money to pay back.

    What is paid back is money, so never more than was received: a waiver beyond what is
    now due (the event was cancelled after it, or a check-in undone) simply lapses.
    """
    owed = due - money.paid
    if owed >= 0:
        return owed
    return -min(-owed, max(money.received, 0))


def balance(session, registration: Registration) -> int:
    """``balance_of()`` the party: positive is still owed, negative is to pay back."""
    return balance_of(amount_due(registration), totals(session, registration))


def parse_yen(text, *, field_name: str = "amount", allow_zero: bool = False) -> int:
    """Read an amount typed by a person: ``300``, ``１，０００``, ``1,000円``, ``¥1000``.

    Raises ValidationFailed (invalid_amount) for anything else: fractions, negatives,
    letters, absurd sizes.
    """
    if isinstance(text, bool):
        text = None
    if isinstance(text, int):
        value = text
    else:
        cleaned = normalize_text(str(text or "")).replace(",", "").replace(" ", "")
        cleaned = re.sub(r"^[¥\\]|円$", "", cleaned)
        if not re.fullmatch(r"[0-9]{1,9}", cleaned):
            raise _invalid_amount(field_name)
        value = int(cleaned)
    _check_amount(value, field_name, allow_zero=allow_zero)
    return value


def _invalid_amount(field_name: str = "amount") -> ValidationFailed:
    return ValidationFailed(
        _l("Enter a whole number of yen, up to %(max)s.", max=f"{_max_amount():,}"),
        fields={field_name: [_l("Enter a whole number of yen, up to %(max)s.",
                                max=f"{_max_amount():,}")]},
        code="invalid_amount")


def _check_amount(value, field_name: str = "amount", *, allow_zero: bool = False) -> int:
    low = 0 if allow_zero else 1
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= _max_amount():
        raise _invalid_amount(field_name)
    return value


def _text(value, max_len: int, field_name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed(fields={field_name: [_l("Enter text.")]}, code="invalid")
    text = normalize_text(value).replace("\n", " ").replace("\t", " ")
    if len(text) > max_len:
        raise ValidationFailed(
            _l("Please keep it under %(n)d characters.", n=max_len),
            fields={field_name: [_l("Please keep it under %(n)d characters.", n=max_len)]},
            code="too_long")
    return text


def _authorize(registration: Registration, user: User | None, *, manage: bool) -> None:
    """Organizers of the branch (manage) or its door volunteers too; None: the system."""
    if user is None:
        return
    branch_id = registration.event.branch_id
    allowed = user.can_manage_branch(branch_id) if manage else user.can_staff_branch(branch_id)
    if not allowed:
        raise Forbidden(code="forbidden")


def _check_method(method) -> None:
    # a list or an object from a JSON body is no method either (and cannot be hashed)
    if not isinstance(method, str) or method not in {m.value for m in MONEY_METHODS}:
        raise ValidationFailed(_l("Unknown payment method."),
                               fields={"method": [_l("Unknown payment method.")]},
                               code="invalid_method")


def _check_nonce(nonce) -> str | None:
    if nonce is None or nonce == "":
        return None
    if not isinstance(nonce, str) or len(nonce) > MAX_NONCE:
        raise ValidationFailed(fields={"nonce": [_l("The request key is not valid.")]},
                               code="invalid_nonce")
    return nonce


def _replay(session, nonce: str | None, registration: Registration) -> Payment | None:
    """The row an earlier request with this nonce wrote, if any."""
    if not nonce:
        return None
    existing = session.scalar(sa.select(Payment).where(Payment.nonce == nonce))
    if existing is not None and existing.registration_id != registration.id:
        raise Conflict(_l("This request key was already used for another sign-up."),
                       code="nonce_reused")
    return existing


def get_payment_by_nonce(session, nonce, registration: Registration) -> Payment | None:
    """The ledger row an earlier request with this nonce wrote (None: a new request)."""
    return _replay(session, _check_nonce(nonce), registration)


def _append(session, payment: Payment, registration: Registration) -> Payment:
    """Add a ledger row; a concurrent request with the same nonce yields the first row."""
    if not payment.nonce:
        session.add(payment)
        session.flush()
        return payment
    try:
        with session.begin_nested():
            session.add(payment)
            session.flush()
    except IntegrityError:
        existing = _replay(session, payment.nonce, registration)
        if existing is None:
            raise
        return existing
    return payment


def _today(now: datetime | None) -> date:
    return to_local(now or utcnow()).date()


def _refuse_cancelled(registration: Registration) -> None:
    if registration.status == "cancelled":
        raise Conflict(_l("This sign-up is cancelled."), code="cancelled")
    if registration.event.is_cancelled:
        raise Conflict(_l("This event is cancelled: only refunds can be recorded."),
                       code="event_cancelled")


# ---------------------------------------------------------------------------------------
# The ledger


def record_payment(session, registration: Registration, amount: int, method: str, *, user=None,
                   nonce: str | None = None, cash_tendered: int | None = None,
                   reference: str = "", reason: str = "", received_on=None, now=None,
                   provider: str = "") -> Payment:
    """Append a payment row. The same nonce twice returns the first row and adds nothing.

    Cash may be recorded by the branch's door volunteers; a bank transfer (with the day it
    arrived and an optional reference), an online payment (with the provider's reference)
    or a waiver only by its organizers. ``cash_tendered`` is the money handed over, to show
    the change; it must cover the amount. The amount is recorded as given, whatever is
    owed: cash that people hand over goes through ``record_cash`` (the API),
    ``receive_cash`` (the money page) or ``checkin.services.take_cash`` (the door), which
    keep it within the balance. Raises ValidationFailed (invalid_amount,
    insufficient_cash, invalid_method, invalid_date, reference_required), Conflict
    (cancelled, event_cancelled, nonce_reused) or Forbidden (forbidden).
    """
    nonce = _check_nonce(nonce)
    existing = _replay(session, nonce, registration)
    if existing is not None:
        return existing
    if method == PaymentMethod.waived:
        return waive(session, registration, amount, reason=reason, user=user, nonce=nonce,
                     now=now)
    _check_method(method)
    _authorize(registration, user, manage=method != PaymentMethod.cash)
    _check_amount(amount)
    _refuse_cancelled(registration)
    reference = _text(reference, MAX_REFERENCE, "reference")
    reason = _text(reason, MAX_REASON, "reason")
    provider = _text(provider, 30, "provider")
    if method == PaymentMethod.cash:
        if cash_tendered is not None:
            if isinstance(cash_tendered, bool) or not isinstance(cash_tendered, int) or not (
                    0 < cash_tendered <= _max_amount()):
                raise _invalid_amount("cash_tendered")
            if cash_tendered < amount:
                raise ValidationFailed(
                    _l("The money handed over is less than the amount."),
                    fields={"cash_tendered": [_l("The money handed over is less than the "
                                                 "amount.")]},
                    code="insufficient_cash")
        received_on = None
    else:
        cash_tendered = None
    if method == PaymentMethod.bank_transfer:
        if not isinstance(received_on, date) or isinstance(received_on, datetime):
            raise ValidationFailed(
                _l("Enter the day the transfer arrived."),
                fields={"received_on": [_l("Enter the day the transfer arrived.")]},
                code="invalid_date")
        if received_on > _today(now) or received_on < _today(now) - timedelta(days=3660):
            raise ValidationFailed(
                _l("The day the transfer arrived cannot be in the future."),
                fields={"received_on": [_l("The day the transfer arrived cannot be in the "
                                           "future.")]},
                code="invalid_date")
    if method == PaymentMethod.online and not reference:
        raise ValidationFailed(
            _l("Enter the payment's reference."),
            fields={"reference": [_l("Enter the payment's reference.")]},
            code="reference_required")
    payment = Payment(registration_id=registration.id, event_id=registration.event_id,
                      amount=amount, method=str(method), nonce=nonce,
                      cash_tendered=cash_tendered, reference=reference, reason=reason,
                      received_on=received_on if method == PaymentMethod.bank_transfer else None,
                      provider=provider, recorded_by_id=user.id if user else None,
                      recorded_at=now or utcnow())
    return _append(session, payment, registration)


def receive_cash(session, registration: Registration, handed_over: int, *,
                 keep: int | None = None, user=None, nonce: str | None = None,
                 now=None) -> Payment:
    """Record cash an organizer says was received (the money page): never more than is owed.

    The till and the ledger must agree, and the money a party hands over beyond its fee is
    not the group's: it is change, or money to pay back. So, as at the door
    (``checkin.services.take_cash``):

    - ``handed_over`` up to the balance is recorded as it is (all or part of what is owed);
    - more than the balance is refused with ``exceeds_balance`` (409, ``balance``,
      ``handed_over`` and ``change`` in its details) and nothing is written; the page then
      offers to record the balance with the rest given back as change;
    - that offer comes back as ``keep``: the balance the organizer was shown. If it still is
      the balance, the balance is recorded with ``handed_over`` as the money handed over (the
      ledger shows the change); if the balance moved meanwhile (cash taken at the door), the
      refusal is repeated with the new balance;
    - when nothing is owed (nobody checked in yet where only people who came pay, or
      already paid), it is refused with ``nothing_owed`` (409).

    A deliberate overpayment is not recorded as cash here; money that really arrived above
    what is owed (a bank transfer) is recorded with ``record_payment`` and shows as money to
    pay back. The same nonce returns the first row. Raises ValidationFailed
    (invalid_amount), Conflict (exceeds_balance, nothing_owed, cancelled, event_cancelled,
    nonce_reused) or Forbidden.
    """
    nonce = _check_nonce(nonce)
    existing, owed = _cash_owed(session, registration, handed_over, user=user, nonce=nonce)
    if existing is not None:
        return existing
    if handed_over <= owed:
        return record_payment(session, registration, handed_over, PaymentMethod.cash.value,
                              user=user, nonce=nonce, now=now)
    if owed <= 0 or keep != owed:
        raise cash_beyond_balance(owed, handed_over)
    return record_payment(session, registration, owed, PaymentMethod.cash.value, user=user,
                          nonce=nonce, cash_tendered=handed_over, now=now)


def lock_party(session, registration: Registration) -> None:
    """Lock the party's row before a ledger row is decided on what it holds: the door, the
    money page and the API may record cash, a waiver or a refund for this party at the
    same time, and the second must see the first's row (a waiver and cash together never
    beyond the fee, two refunds never beyond what was paid)."""
    if lock_for_write(session):
        session.execute(sa.select(Registration.id).where(Registration.id == registration.id)
                        .with_for_update())


def _cash_owed(session, registration: Registration, amount, *, user, nonce: str | None
               ) -> tuple[Payment | None, int]:
    """What cash handed over is checked against: the first row of a nonce sent before
    (then nothing else is checked), else the balance, once the staff member, the amount
    and the sign-up have been checked and the party's row locked."""
    existing = _replay(session, nonce, registration)
    if existing is not None:
        return existing, 0
    _authorize(registration, user, manage=False)
    _check_amount(amount)
    _refuse_cancelled(registration)
    return None, _locked_balance(session, registration)


def _locked_balance(session, registration: Registration) -> int:
    """The party's balance, read once its row is locked (``lock_party``)."""
    lock_party(session, registration)
    return balance(session, registration)


def cash_beyond_balance(owed: int, amount: int, *, field_name: str | None = "amount"
                        ) -> Conflict:
    """The refusal of cash above what the party owes (``owed``, its balance): 409
    ``nothing_owed`` when nothing is owed, else ``exceeds_balance`` with the balance and
    the change in its details. ``field_name``: the field the message belongs next to on a
    page (None for the API, whose 409s carry no ``fields``)."""
    def at_field(message) -> dict | None:
        return {field_name: [message]} if field_name else None

    if owed <= 0:
        return Conflict(_l("This party owes nothing now, so no cash is recorded. Give the "
                           "money back."),
                        fields=at_field(_l("This party owes nothing now.")),
                        code="nothing_owed", balance=owed, handed_over=amount)
    message = _l("%(given)s yen is more than the %(due)s yen this party owes. Record "
                 "%(due)s yen and give %(change)s yen back as change, or correct the "
                 "amount.", given=f"{amount:,}", due=f"{owed:,}", change=f"{amount - owed:,}")
    return Conflict(message, fields=at_field(message), code="exceeds_balance",
                    balance=owed, handed_over=amount, change=amount - owed)


def record_cash(session, registration: Registration, amount: int, *, user=None,
                nonce: str | None = None, cash_tendered: int | None = None,
                reference: str = "", reason: str = "", now=None) -> Payment:
    """Record cash a client states it took (the API): never more than the party owes.

    The rule of the door (``checkin.services.take_cash``) and of the money page
    (``receive_cash``): the till and the ledger must agree, and money beyond the fee is
    change, not the group's. ``amount`` up to the balance is recorded as sent, with
    ``cash_tendered`` (the money handed over, at least ``amount``) for the change; more
    than the balance is refused with ``exceeds_balance`` (409), and with ``nothing_owed``
    (409) when nothing is owed (nobody checked in yet where only people who came pay, or
    already paid), and nothing is written: send the balance as ``amount`` and what was
    handed over as ``cash_tendered``. The same nonce returns the first row, even once it
    settled the balance. Door volunteers, organizers and admins alike. Raises
    ValidationFailed (invalid_amount, insufficient_cash, too_long), Conflict
    (exceeds_balance, nothing_owed, cancelled, event_cancelled, nonce_reused) or Forbidden.
    """
    nonce = _check_nonce(nonce)
    existing, owed = _cash_owed(session, registration, amount, user=user, nonce=nonce)
    if existing is not None:
        return existing
    if amount > owed:
        raise cash_beyond_balance(owed, amount, field_name=None)
    return record_payment(session, registration, amount, PaymentMethod.cash.value, user=user,
                          nonce=nonce, cash_tendered=cash_tendered, reference=reference,
                          reason=reason, now=now)


def change_due(payment: Payment) -> int | None:
    """The change (お釣り) for a cash payment with the money handed over, else None."""
    if payment.cash_tendered is None:
        return None
    return payment.cash_tendered - payment.amount


def waive(session, registration: Registration, amount: int | None = None, *, reason: str,
          user=None, nonce: str | None = None, now=None) -> Payment:
    """Waive (免除) what is owed, or part of it, with a reason. Organizers only.

    Without ``amount`` the whole balance is waived. Raises ValidationFailed
    (reason_required, invalid_amount), Conflict (nothing_owed, waiver_exceeds_balance,
    cancelled, event_cancelled) or Forbidden.
    """
    nonce = _check_nonce(nonce)
    existing = _replay(session, nonce, registration)
    if existing is not None:
        return existing
    _authorize(registration, user, manage=True)
    reason = _text(reason, MAX_REASON, "reason")
    if not reason:
        raise ValidationFailed(_l("Please give the reason for the waiver."),
                               fields={"reason": [_l("Please give the reason for the waiver.")]},
                               code="reason_required")
    _refuse_cancelled(registration)
    owed = _locked_balance(session, registration)
    if amount is None:
        if owed <= 0:
            raise Conflict(_l("Nothing is owed."), code="nothing_owed")
        amount = owed
    _check_amount(amount)
    if amount > owed:
        raise Conflict(_l("You can waive at most %(amount)s, what is still owed.",
                          amount=format_yen(max(owed, 0), current_lang())),
                       code="waiver_exceeds_balance")
    payment = Payment(registration_id=registration.id, event_id=registration.event_id,
                      amount=amount, method=PaymentMethod.waived.value, reason=reason,
                      nonce=nonce, recorded_by_id=user.id if user else None,
                      recorded_at=now or utcnow())
    return _append(session, payment, registration)


def record_refund(session, registration: Registration, amount: int, method: str = "cash", *,
                  reason: str = "", user=None, nonce: str | None = None, now=None,
                  reference: str = "") -> Payment:
    """Pay money back (a negative row). Never more than was received; organizers only.

    Allowed on a cancelled sign-up or event (that is when refunds happen). Raises
    ValidationFailed (invalid_amount, invalid_method), Conflict (refund_exceeds_paid,
    nonce_reused) or Forbidden.
    """
    nonce = _check_nonce(nonce)
    existing = _replay(session, nonce, registration)
    if existing is not None:
        return existing
    _check_method(method)
    _authorize(registration, user, manage=True)
    _check_amount(amount)
    reason = _text(reason, MAX_REASON, "reason")
    reference = _text(reference, MAX_REFERENCE, "reference")
    lock_party(session, registration)
    refundable = received(session, registration)
    if amount > refundable:
        raise Conflict(_l("A refund cannot be more than what was paid (%(amount)s).",
                          amount=format_yen(max(refundable, 0), current_lang())),
                       code="refund_exceeds_paid")
    payment = Payment(registration_id=registration.id, event_id=registration.event_id,
                      amount=-amount, method=str(method), is_refund=True, reason=reason,
                      reference=reference, nonce=nonce,
                      recorded_by_id=user.id if user else None, recorded_at=now or utcnow())
    return _append(session, payment, registration)


def list_payments(session, registration: Registration) -> list[Payment]:
    return list(session.scalars(
        sa.select(Payment).where(Payment.registration_id == registration.id)
        .order_by(Payment.recorded_at, Payment.id)))


def list_event_payments(session, event: Event) -> list[Payment]:
    return list(session.scalars(
        sa.select(Payment).where(Payment.event_id == event.id)
        .options(selectinload(Payment.registration), selectinload(Payment.recorded_by))
        .order_by(Payment.recorded_at, Payment.id)))


# ---------------------------------------------------------------------------------------
# The money view


@dataclass
class PartyMoney:
    """One registration's position."""

    registration: Registration
    due: int = 0
    received: int = 0
    waived: int = 0
    refunded: int = 0

    @property
    def paid(self) -> int:
        return self.received + self.waived

    @property
    def balance(self) -> int:
        return balance_of(self.due, Totals(self.paid, self.received))


#: codes of the fee categories whose people a report (実績報告書) counts as children;
#: everyone else, parents included, is an adult. Data, not code: a group whose fee table
#: has age bands of children (小学生, 中学生) adds their codes here.
CHILD_FEE_CODES = frozenset({"child"})


@dataclass
class People:
    """Children and adults of one event or more, as a 実績報告書 counts them: signed up
    (confirmed sign-ups made beforehand; walk-ins signed up at the door only) and who came
    (admitted at the door, walk-ins included), as the door's counts do."""

    children_signed_up: int = 0
    adults_signed_up: int = 0
    children_came: int = 0
    adults_came: int = 0

    @property
    def signed_up(self) -> int:
        return self.children_signed_up + self.adults_signed_up

    @property
    def came(self) -> int:
        return self.children_came + self.adults_came

    def count(self, registration: Registration) -> None:
        """Add the people of one sign-up (its cancelled people left out)."""
        expected = (registration.status == RegistrationStatus.confirmed
                    and not registration.is_walk_in)
        for person in registration.active_attendees:
            child = (person.fee_category is not None
                     and person.fee_category.code in CHILD_FEE_CODES)
            if expected:
                if child:
                    self.children_signed_up += 1
                else:
                    self.adults_signed_up += 1
            if person.checked_in_at is not None:
                if child:
                    self.children_came += 1
                else:
                    self.adults_came += 1

    def add(self, other: People) -> None:
        self.children_signed_up += other.children_signed_up
        self.adults_signed_up += other.adults_signed_up
        self.children_came += other.children_came
        self.adults_came += other.adults_came


@dataclass
class MoneySummary:
    """Income by method, refunds, waivers and what is still owed, for one event or more;
    with its people, for the reports."""

    due: int = 0
    income: dict = field(default_factory=lambda: {m.value: 0 for m in MONEY_METHODS})
    refunds: dict = field(default_factory=lambda: {m.value: 0 for m in MONEY_METHODS})
    waived: int = 0
    outstanding: int = 0  # sum of what parties still owe
    overpaid: int = 0  # sum of what parties paid too much (refunds to make)
    parties: int = 0
    people: People = field(default_factory=People)

    @property
    def income_total(self) -> int:
        return sum(self.income.values())

    @property
    def refunds_total(self) -> int:
        return sum(self.refunds.values())

    @property
    def net(self) -> int:
        return self.income_total - self.refunds_total

    @property
    def expected_cash(self) -> int:
        return self.income[PaymentMethod.cash.value] - self.refunds[PaymentMethod.cash.value]

    def add(self, other: MoneySummary) -> None:
        self.due += other.due
        self.waived += other.waived
        self.outstanding += other.outstanding
        self.overpaid += other.overpaid
        self.parties += other.parties
        self.people.add(other.people)
        for m in self.income:
            self.income[m] += other.income[m]
            self.refunds[m] += other.refunds[m]


def _registrations(session, event_ids) -> list[Registration]:
    """The sign-ups of these events (ids or a subquery of them), with their people and fee
    categories, in sign-up order."""
    return list(session.scalars(
        sa.select(Registration).where(Registration.event_id.in_(event_ids))
        .options(selectinload(Registration.attendees).selectinload(Attendee.fee_category))
        .order_by(Registration.created_at, Registration.id)))


def _ledger_sums(session, event_ids) -> list:
    """(event, registration, method, refund?, sum) of the ledger of these events."""
    return session.execute(
        sa.select(Payment.event_id, Payment.registration_id, Payment.method, Payment.is_refund,
                  sa.func.sum(Payment.amount))
        .where(Payment.event_id.in_(event_ids))
        .group_by(Payment.event_id, Payment.registration_id, Payment.method,
                  Payment.is_refund)).all()


def event_money(session, event: Event) -> tuple[MoneySummary, list[PartyMoney]]:
    """The event's summary and every party with something due or paid, in sign-up order."""
    return _summarise(_registrations(session, [event.id]), _ledger_sums(session, [event.id]))


def _summarise(regs: list[Registration], ledger: list) -> tuple[MoneySummary,
                                                                  list[PartyMoney]]:
    """One event's summary and parties from its sign-ups and its ledger's sums."""
    rows = [row[1:] for row in ledger]
    summary = MoneySummary()
    by_reg: dict[int, PartyMoney] = {}
    for reg in regs:
        by_reg[reg.id] = PartyMoney(reg, due=amount_due(reg))
        summary.people.count(reg)
    for reg_id, method, is_refund, total in rows:
        party = by_reg.get(reg_id)
        total = int(total or 0)
        if method == PaymentMethod.waived:
            summary.waived += total
            if party:
                party.waived += total
            continue
        bucket = summary.refunds if is_refund else summary.income
        bucket[method] = bucket.get(method, 0) + abs(total)
        if party:
            party.received += total
            if is_refund:
                party.refunded += -total
    lines = [p for p in by_reg.values()
             if p.due or p.paid or p.refunded or p.registration.status != "cancelled"]
    for p in lines:
        summary.due += p.due
        if p.balance > 0:
            summary.outstanding += p.balance
        elif p.balance < 0:
            summary.overpaid += -p.balance
        if p.registration.status != "cancelled" or p.due:
            summary.parties += 1
    return summary, lines


@dataclass
class CashLine:
    """Expected cash against the latest count, for the event or one volunteer's till."""

    volunteer: User | None
    expected: int
    count: CashCount | None = None

    @property
    def counted(self) -> int | None:
        if self.count is None:
            return None
        return self.count.counted_amount - self.count.float_amount

    @property
    def difference(self) -> int | None:
        """Counted − expected: positive is more cash than the ledger, negative is short."""
        return None if self.counted is None else self.counted - self.expected


def cash_position(session, event: Event) -> list[CashLine]:
    """The whole event first, then each person who took cash or was counted."""
    totals = dict(session.execute(
        sa.select(Payment.recorded_by_id, sa.func.sum(Payment.amount))
        .where(Payment.event_id == event.id, Payment.method == PaymentMethod.cash.value)
        .group_by(Payment.recorded_by_id)).all())
    counts = list(session.scalars(
        sa.select(CashCount).where(CashCount.event_id == event.id)
        .order_by(CashCount.recorded_at, CashCount.id)))
    latest: dict[int | None, CashCount] = {}
    for c in counts:
        latest[c.volunteer_id] = c
    lines = [CashLine(None, int(sum(v or 0 for v in totals.values())), latest.get(None))]
    ids = sorted({k for k in totals if k is not None} | {k for k in latest if k is not None})
    users = {u.id: u for u in session.scalars(sa.select(User).where(User.id.in_(ids)))}
    for uid in ids:
        lines.append(CashLine(users.get(uid), int(totals.get(uid) or 0), latest.get(uid)))
    return lines


def list_cash_counts(session, event: Event) -> list[CashCount]:
    return list(session.scalars(
        sa.select(CashCount).where(CashCount.event_id == event.id)
        .order_by(CashCount.recorded_at.desc(), CashCount.id.desc())))


def event_staff(session, event: Event) -> list[User]:
    """People who may hold a till at this event: the branch's users, and admins who took cash."""
    branch = session.get(Branch, event.branch_id)
    staff = {u.id: u for u in branch.users if u.is_active}
    cash_ids = session.scalars(sa.select(Payment.recorded_by_id).where(
        Payment.event_id == event.id, Payment.method == PaymentMethod.cash.value,
        Payment.recorded_by_id.is_not(None)).distinct())
    for uid in cash_ids:
        if uid not in staff:
            staff[uid] = session.get(User, uid)
    return sorted(staff.values(), key=lambda u: (u.name or u.email))


def record_cash_count(session, event: Event, counted: int, *, float_amount: int = 0,
                      volunteer: User | None = None, note: str = "", user: User | None = None,
                      now=None) -> CashCount:
    """Record the cash counted at the end (the till, change float included). A recount is a
    new row; the latest one counts. Organizers only.

    The till may hold less than its change float: cash refunds paid out of it (400円 back,
    100円 taken: the ledger expects −300円) or a real shortfall. Both are counts to record;
    the difference against the ledger is what the page shows. Only amounts that cannot be
    counted (negative, fractional, above ``MAX_PAYMENT_YEN``) are refused.

    Raises ValidationFailed (invalid_amount, unknown_volunteer, too_long) or Forbidden.
    """
    if user is not None and not user.can_manage_branch(event.branch_id):
        raise Forbidden(code="forbidden")
    _check_amount(counted, "counted", allow_zero=True)
    _check_amount(float_amount, "float_amount", allow_zero=True)
    note = _text(note, MAX_NOTE, "note")
    if volunteer is not None and volunteer not in event_staff(session, event):
        raise ValidationFailed(fields={"volunteer_id": [_l("Choose someone of this group.")]},
                               code="unknown_volunteer")
    count = CashCount(event_id=event.id, volunteer_id=volunteer.id if volunteer else None,
                      counted_amount=counted, float_amount=float_amount, note=note,
                      recorded_by_id=user.id if user else None, recorded_at=now or utcnow())
    session.add(count)
    session.flush()
    return count


def month_bounds(month: str | None, now: datetime | None = None) -> tuple[date, datetime,
                                                                           datetime]:
    """``2026-12`` → (first day, start, end) in Tokyo; the current month when empty.

    Also as people write it by hand: ``2026/12``, ``2026年12月``, ``２０２６－１２``, ``202612``.
    Raises ValidationFailed (invalid_month) for anything else.
    """
    if month:
        text = normalize_text(str(month)).replace(" ", "")
        m = re.fullmatch(r"(\d{4})(?:[-/.‐－ー−]|年)?(\d{1,2})月?", text)
        if not m or not 2000 <= int(m.group(1)) <= 2099 or not 1 <= int(m.group(2)) <= 12:
            raise ValidationFailed(_l("Choose a month like 2026-12."),
                                   fields={"month": [_l("Choose a month like 2026-12.")]},
                                   code="invalid_month")
        first = date(int(m.group(1)), int(m.group(2)), 1)
    else:
        first = _today(now).replace(day=1)
    nxt = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    start = datetime(first.year, first.month, 1, tzinfo=TOKYO)
    end = datetime(nxt.year, nxt.month, 1, tzinfo=TOKYO)
    return first, start, end


def fiscal_year_bounds(year, now: datetime | None = None) -> tuple[int, datetime, datetime]:
    """``2026`` (2026年度) → (2026, 2026-04-01, 2027-04-01) in Tokyo; the current fiscal year
    when empty. Also ``２０２６``, ``2026年度``. Raises ValidationFailed (invalid_year)."""
    if year:
        text = normalize_text(str(year)).replace(" ", "")
        m = re.fullmatch(r"(\d{4})(?:年度?)?", text)
        if not m or not 2000 <= int(m.group(1)) <= 2099:
            raise ValidationFailed(_l("Choose a fiscal year like 2026."),
                                   fields={"year": [_l("Choose a fiscal year like 2026.")]},
                                   code="invalid_year")
        fy = int(m.group(1))
    else:
        fy = fiscal_year(_today(now))
    return fy, datetime(fy, 4, 1, tzinfo=TOKYO), datetime(fy + 1, 4, 1, tzinfo=TOKYO)


def period_money(session, branch_ids, start: datetime, end: datetime
                 ) -> tuple[list[tuple[Event, MoneySummary]], MoneySummary]:
    """Every event of these branches starting in [start, end), with its summary, and the
    total. A fixed number of statements, however many events (a fiscal year has dozens)."""
    events = list(session.scalars(
        sa.select(Event).where(Event.branch_id.in_(list(branch_ids)), Event.starts_at >= start,
                               Event.starts_at < end)
        .options(selectinload(Event.branch))
        .order_by(Event.starts_at, Event.id)))
    if not events:
        return [], MoneySummary()
    ids = [e.id for e in events]
    regs: dict[int, list[Registration]] = {}
    for reg in _registrations(session, ids):
        regs.setdefault(reg.event_id, []).append(reg)
    ledger: dict[int, list] = {}
    for row in _ledger_sums(session, ids):
        ledger.setdefault(row[0], []).append(row)
    total = MoneySummary()
    rows = []
    for event in events:
        summary, _lines = _summarise(regs.get(event.id, []), ledger.get(event.id, []))
        rows.append((event, summary))
        total.add(summary)
    return rows, total


def month_money(session, branch_ids, month: str | None, now=None
                ) -> tuple[date, list[tuple[Event, MoneySummary]], MoneySummary]:
    """Every event of these branches starting in the month, with its summary and the total."""
    first, start, end = month_bounds(month, now)
    rows, total = period_money(session, branch_ids, start, end)
    return first, rows, total


def year_money(session, branch_ids, year, now=None
               ) -> tuple[int, list[tuple[Event, MoneySummary]], MoneySummary]:
    """Every event of these branches in the fiscal year (年度: April to March), with its
    summary, and the year's total, for the 実績報告書."""
    fy, start, end = fiscal_year_bounds(year, now)
    rows, total = period_money(session, branch_ids, start, end)
    return fy, rows, total


def event_status_label(event: Event) -> str:
    """How a report names an event's state: held (published), cancelled (中止) or draft
    (下書き). A subsidy report counts only the sessions that took place."""
    if event.status == EventStatus.published:
        return _("Held")
    try:
        return str(EventStatus(event.status).label)
    except ValueError:
        return event.status


def registration_status_label(registration: Registration) -> str:
    """A sign-up's state in words (a cancelled sign-up is 申込取消, not the event's 中止)."""
    try:
        return str(RegistrationStatus(registration.status).label)
    except ValueError:
        return registration.status


class EventCounts(NamedTuple):
    """How many of a month's events took place (published), were cancelled, are drafts."""

    held: int
    cancelled: int
    draft: int

    def text(self) -> str:
        if self.draft:
            return _("Events held: %(held)d · cancelled: %(cancelled)d · drafts: %(draft)d",
                     held=self.held, cancelled=self.cancelled, draft=self.draft)
        return _("Events held: %(held)d · cancelled: %(cancelled)d", held=self.held,
                 cancelled=self.cancelled)


def count_events(rows: list[tuple[Event, MoneySummary]]) -> EventCounts:
    statuses = [event.status for event, _summary in rows]
    return EventCounts(statuses.count(EventStatus.published),
                       statuses.count(EventStatus.cancelled),
                       statuses.count(EventStatus.draft))


# ---------------------------------------------------------------------------------------
# CSV (UTF-8 with BOM, so spreadsheet programs read the Japanese)


def _cell(value):
    """Plain values; text that a spreadsheet would run as a formula is quoted."""
    if value is None:
        return ""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(header: list, rows: list[list]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow([str(h) for h in header])
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return buf.getvalue().encode("utf-8-sig")


def _method_label(payment: Payment) -> str:
    try:
        label = str(PaymentMethod(payment.method).label)
    except ValueError:
        label = payment.method
    return _("Refund (%(method)s)", method=label) if payment.is_refund else label


def ledger_csv(session, event: Event) -> bytes:
    header = [_("Recorded at"), _("Sign-up"), _("Name"), _("Method"), _("Amount (yen)"),
              _("Cash handed over"), _("Transfer received on"), _("Reference"), _("Reason"),
              _("Recorded by")]
    rows = []
    for p in list_event_payments(session, event):
        rows.append([to_local(p.recorded_at).strftime("%Y-%m-%d %H:%M"), p.registration_id,
                     p.registration.full_name, _method_label(p), p.amount, p.cash_tendered,
                     p.received_on.isoformat() if p.received_on else "", p.reference, p.reason,
                     (p.recorded_by.name or p.recorded_by.email) if p.recorded_by else ""])
    return to_csv(header, rows)


def balances_csv(session, event: Event) -> bytes:
    header = [_("Sign-up"), _("Status"), _("Name"), _("Furigana"), _("People"),
              _("Due (yen)"), _("Received (yen)"), _("Waived (yen)"), _("Refunded (yen)"),
              _("Balance (yen)")]
    _summary, lines = event_money(session, event)
    rows = [[p.registration.id, registration_status_label(p.registration),
             p.registration.full_name,
             p.registration.full_name_kana, p.registration.party_size, p.due, p.received,
             p.waived, p.refunded, p.balance] for p in lines]
    return to_csv(header, rows)


def japanese_era(day: date) -> str:
    """令和8年 for 2026 (和暦), as municipal paperwork writes it."""
    if day >= date(2019, 5, 1):
        n = day.year - 2018
        return "令和元年" if n == 1 else f"令和{n}年"
    n = day.year - 1988
    return "平成元年" if n == 1 else f"平成{n}年"


def fiscal_year(day: date) -> int:
    """The Japanese fiscal year (年度, April–March) a day belongs to."""
    return day.year if day.month >= 4 else day.year - 1


def fiscal_year_era(fy: int) -> str:
    """令和8年度 for 2026年度; 令和元年度 for 2019 (its April was still 平成31年)."""
    return japanese_era(date(fy, 5, 1)) + "度"


def _money_header() -> list:
    # new columns go last: sheets read by place
    return [_("Date"), _("Japanese era"), _("Fiscal year"), _("Event"), _("Group"),
            _("Parties"), _("Due (yen)"), _("Cash (yen)"), _("Bank transfer (yen)"),
            _("Online (yen)"), _("Refunds (yen)"), _("Waived (yen)"), _("Net income (yen)"),
            _("Outstanding (yen)"), _("Status"), _("Children signed up"),
            _("Adults signed up"), _("Children who came"), _("Adults who came")]


def _money_cells(s: MoneySummary) -> tuple[list, list]:
    """The money columns of a row, and its people columns (after 状態)."""
    return ([s.parties, s.due, s.income["cash"], s.income["bank_transfer"],
             s.income["online"], s.refunds_total, s.waived, s.net, s.outstanding],
            [s.people.children_signed_up, s.people.adults_signed_up, s.people.children_came,
             s.people.adults_came])


def _money_rows(rows: list[tuple[Event, MoneySummary]]) -> list[list]:
    out = []
    for event, s in rows:
        day = to_local(event.starts_at).date()
        money, people = _money_cells(s)
        out.append([day.isoformat(), f"{japanese_era(day)}{day.month}月{day.day}日",
                    f"{fiscal_year(day)}", event.title, event.branch.name, *money,
                    event_status_label(event), *people])
    return out


def month_csv(rows: list[tuple[Event, MoneySummary]]) -> bytes:
    """One row per event: its money, its state, its children and adults (実績報告書)."""
    return to_csv(_money_header(), _money_rows(rows))


def year_csv(fy: int, rows: list[tuple[Event, MoneySummary]], total: MoneySummary) -> bytes:
    """The fiscal year (年度) as the month CSV has it, one row per event, then a last row
    with the year's total (合計; its event column says how many were held and cancelled)."""
    money, people = _money_cells(total)
    last = [_("Total"), fiscal_year_era(fy), f"{fy}", count_events(rows).text(), "", *money,
            "", *people]
    return to_csv(_money_header(), [*_money_rows(rows), last])


# ---------------------------------------------------------------------------------------
# Receipts (領収書)


def get_registration_for_user(session, registration_id: int, user: User, *,
                              staff: bool = True) -> Registration:
    """A registration whose event the user may staff (or manage). NotFound or Forbidden."""
    reg = session.get(Registration, registration_id)
    if reg is None:
        raise NotFound()
    allowed = (user.can_staff_branch(reg.event.branch_id) if staff
               else user.can_manage_branch(reg.event.branch_id))
    if not allowed:
        raise Forbidden(code="forbidden")
    return reg


def get_receipt_for_user(session, receipt_id: int, user: User) -> Receipt:
    receipt = session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound()
    if not user.can_staff_branch(receipt.branch_id):
        raise Forbidden(code="forbidden")
    return receipt


def list_receipts(session, registration: Registration) -> list[Receipt]:
    return list(session.scalars(
        sa.select(Receipt).where(Receipt.registration_id == registration.id)
        .order_by(Receipt.id)))


def latest_receipt(session, registration: Registration) -> Receipt | None:
    return session.scalar(
        sa.select(Receipt).where(Receipt.registration_id == registration.id)
        .order_by(Receipt.id.desc()).limit(1))


def default_addressee(registration: Registration) -> str:
    """宛名: the name the payer asked for, else their own name (never 上様)."""
    return registration.receipt_name or registration.full_name


def default_proviso(event: Event) -> str:
    """但し書き, e.g. 「12月12日 子ども食堂参加費として」."""
    day = format_day(event.starts_at, current_lang(), short=True)
    return _("%(date)s %(title)s participation fee", date=day, title=event.title)


class ReceiptFigures(NamedTuple):
    """The money behind a party's receipt."""

    received: int  # money received, refunds subtracted (``received()``)
    amount: int  # what the receipt states (``receipt_amount()``)
    to_pay_back: int  # paid beyond what is due: owed back to the party, not a fee


def receipt_figures(session, registration: Registration) -> ReceiptFigures:
    """``received``, the receipt's amount and what is to be paid back, in one statement."""
    money = totals(session, registration)
    to_pay_back = max(0, -balance_of(amount_due(registration), money))
    return ReceiptFigures(money.received, max(0, money.received - to_pay_back), to_pay_back)


def receipt_is_current(receipt: Receipt | None, figures: ReceiptFigures) -> bool:
    """Whether ``receipt`` still states what the party paid for the fee and kept
    (``figures.amount``). After a refund, a later payment or an undone check-in it does not:
    it is not to be handed over again, and a new receipt (再発行) states the money as it
    stands, or there is none when everything was paid back."""
    return receipt is not None and figures.amount > 0 and receipt.amount == figures.amount


def receipt_amount(session, registration: Registration) -> int:
    """What a 領収書 may state: the money received for the fee and kept.

    That is the money received (cash, transfers, online), refunds subtracted, less whatever
    the party paid beyond what is due (after waivers), which is owed back to it and is no
    fee. So it is never more than what is due less what was waived, nor than what was
    received net of refunds: 1,000円 handed over for a 300円 fee and recorded as paid gives a
    ¥300- receipt; paid 1,000円 and 700円 refunded gives ¥300-; 300円 paid and the check-in
    undone (nothing due) gives none until the fee is owed again.
    """
    return receipt_figures(session, registration).amount


def issue_receipt(session, registration: Registration, *, addressee: str | None = None,
                  proviso: str | None = None, user: User | None = None, reissue: bool = False,
                  now=None) -> Receipt:
    """Issue the party's 領収書 for the fee it paid.

    The amount is ``receipt_amount()``: the money received for the fee and kept, never more
    than what was due (less waivers) and never more than what was received net of refunds;
    money paid beyond the fee is to be paid back and is on no receipt. Asking again returns
    the receipt already issued, unless the name, the text or the amount changed or
    ``reissue`` is set: then a new receipt with its own serial is issued, marked 再発行 and
    pointing at the first. Serial numbers run per branch per calendar year. Raises Conflict
    (nothing_paid: no money received; nothing_due: money received but no fee is owed for
    it, e.g. after a check-in was undone), ValidationFailed (addressee_required, too_long)
    or Forbidden.
    """
    _authorize(registration, user, manage=False)
    figures = receipt_figures(session, registration)
    if figures.received <= 0:
        raise Conflict(_l("Nothing has been paid yet, so there is no receipt."),
                       code="nothing_paid")
    amount = figures.amount
    if amount <= 0:
        raise Conflict(_l("No fee is owed for the money paid, so there is no receipt. "
                          "%(amount)s yen is to be paid back to this party.",
                          amount=f"{figures.to_pay_back:,}"), code="nothing_due")
    event = registration.event
    name = normalize_name(addressee) if addressee is not None else ""
    if addressee is not None and not name:
        raise ValidationFailed(_l("Enter the name for the receipt."),
                               fields={"addressee": [_l("Enter the name for the receipt.")]},
                               code="addressee_required")
    if name.rstrip("。. ") in ("上様", "上さま", "うえさま"):
        # a receipt's 宛名 names who paid (DOMAIN.md): 上様 names nobody
        raise ValidationFailed(_l("Write the name of who paid, not 上様."),
                               fields={"addressee": [_l("Write the name of who paid, not "
                                                        "上様.")]},
                               code="addressee_required")
    if len(name) > MAX_ADDRESSEE:
        raise ValidationFailed(
            _l("Please keep it under %(n)d characters.", n=MAX_ADDRESSEE),
            fields={"addressee": [_l("Please keep it under %(n)d characters.",
                                     n=MAX_ADDRESSEE)]}, code="too_long")
    text = _text(proviso, MAX_PROVISO, "proviso") if proviso is not None else ""
    latest = latest_receipt(session, registration)
    name = name or (latest.addressee if latest else default_addressee(registration))
    if not name:
        raise ValidationFailed(_l("Enter the name for the receipt."),
                               fields={"addressee": [_l("Enter the name for the receipt.")]},
                               code="addressee_required")
    text = text or (latest.proviso if latest else default_proviso(event))
    if latest is not None and not reissue and (latest.addressee, latest.proviso,
                                               latest.amount) == (name, text, amount):
        return latest
    # One serial at a time per branch: lock the branch row (SQLite holds BEGIN IMMEDIATE).
    session.execute(sa.select(Branch.id).where(Branch.id == event.branch_id).with_for_update())
    today = _today(now)
    serial = (session.scalar(sa.select(sa.func.max(Receipt.serial)).where(
        Receipt.branch_id == event.branch_id, Receipt.year == today.year)) or 0) + 1
    receipt = Receipt(branch_id=event.branch_id, registration_id=registration.id,
                      year=today.year, serial=serial, addressee=name, amount=amount,
                      proviso=text, issued_on=today,
                      reissue_of_id=(latest.reissue_of_id or latest.id) if latest else None,
                      token=new_token(), issued_by_id=user.id if user else None,
                      created_at=now or utcnow())
    if name != registration.full_name and registration.receipt_name != name:
        registration.receipt_name = name
    session.add(receipt)
    session.flush()
    return receipt


def receipt_amount_text(amount: int) -> str:
    """The amount the way receipts write it: ¥3,000-."""
    return f"¥{amount:,}-"


def needs_stamp_note(receipt: Receipt, *, on_paper: bool = True) -> bool:
    """The revenue-stamp box (収入印紙): only where the branch asks for it, from the threshold
    on, and only on paper. A receipt handed over as a PDF (sent or kept as a file) is an
    electronic document and needs no stamp (DOMAIN.md §5): an empty box on it would tell the
    payer a stamp is missing."""
    if not on_paper:
        return False
    threshold = current_app.config.get("RECEIPT_STAMP_THRESHOLD", 50_000) if has_app_context() \
        else 50_000
    return bool(receipt.branch.receipt_stamp_note) and receipt.amount >= threshold


def render_receipt_pdf(html: str, base_url: str, stylesheet=None) -> bytes:
    """The receipt page as PDF. WeasyPrint lays out the same HTML and print CSS as the
    browser and embeds the Japanese font subset (Noto CJK from the system). Nothing is
    fetched over the network: the stylesheet is read from disk."""
    import weasyprint

    sheets = [weasyprint.CSS(filename=str(stylesheet))] if stylesheet else None
    return weasyprint.HTML(string=html, base_url=base_url,
                           url_fetcher=_no_fetch).write_pdf(stylesheets=sheets)


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"receipts load nothing from {url}")


def receipt_url(registration: Registration, *, received_yen: int | None = None
                ) -> str | None:
    """Where staff issue or view this party's receipt (None while nothing was paid).
    ``received_yen``: ``received()`` when the caller has it already."""
    session = object_session(registration)
    if session is None or registration.id is None:
        return None
    if received_yen is None:
        received_yen = received(session, registration)
    if received_yen <= 0:
        return None
    if has_request_context():
        return external_url("fees.registration_receipt", registration_id=registration.id)
    base = current_app.config.get("PUBLIC_BASE_URL", "") if has_app_context() else ""
    return f"{base.rstrip('/')}/organizer/registrations/{registration.id}/receipt"
