"""Door check-in rules: admit people of a party by ticket, undo, walk-ins, search, the door
list and live counts.

The whole admission rule is ``check_in``: one transaction, stable refusal codes, and the same
``nonce`` twice returns the first answer and changes nothing. ``Attendee.checked_in_at`` is
the current state; ``CheckIn`` rows are the log (admissions and undos, never edited).
Functions flush; the view or API commits once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from gathering import idempotency
from gathering.accounts.models import User
from gathering.checkin.models import CheckIn
from gathering.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gathering.events import services as events
from gathering.events.models import Event, EventStatus
from gathering.extensions import lock_for_write
from gathering.fees import services as fees
from gathering.formatting import format_day, format_time, format_yen
from gathering.i18n import current_lang
from gathering.japanese import (
    is_katakana,
    is_valid_phone,
    normalize_name,
    normalize_phone,
    search_key,
    to_katakana,
)
from gathering.rsvp import allergens as allergen_data
from gathering.rsvp.models import Attendee, Registration, RegistrationStatus
from gathering.security import new_token, token_hash
from gathering.timeutil import TOKYO, to_local, utcnow

MAX_NONCE = 120
MAX_DEVICE = 120
MAX_TOKEN = 100
MAX_WALK_IN_PEOPLE = 30
MAX_ALLERGENS = 40  # codes of one person (28 exist; a page may send one twice)
MAX_CASH = 1_000_000


class CheckinRefused(Conflict):
    """A ticket that cannot be admitted now; ``code`` says why (API.md)."""


def _refuse(code: str, message, **details):
    raise CheckinRefused(message, code=code, **details)


# ---------------------------------------------------------------------------------------
# Lookups


# Built once (every scan runs it): the party with its people and their fee categories, and
# (for an admission) the sums of its ledger.
_BY_TICKET = (
    sa.select(Registration).where(Registration.ticket_token == sa.bindparam("token"))
    .options(joinedload(Registration.attendees).joinedload(Attendee.fee_category)))
_BY_TICKET_WITH_LEDGER = _BY_TICKET.add_columns(*fees.ledger_sums(Registration.id))
# ... and the answer given before to this scan's nonce, if any (``admit``): a retried scan
# is told so by the statement every scan runs anyway, not by one of its own
_FOR_ADMISSION = _BY_TICKET_WITH_LEDGER.add_columns(idempotency.first_response(
    sa.bindparam("scope", type_=sa.String), sa.bindparam("key", type_=sa.String)))
# ... and the party's event (``admit_at``): the door's event, when the ticket is for it
_FOR_ADMISSION_WITH_EVENT = _FOR_ADMISSION.options(joinedload(Registration.event))


def get_registration_by_ticket(session, token: str) -> Registration:
    """The registration whose ticket QR carries ``token``. Raises NotFound ``unknown_token``.

    Tokens are ≥128 random bits and looked up by equality on a unique column, so no timing
    reveals a prefix worth guessing.
    """
    return _by_ticket(session, _BY_TICKET, token)[0]


def _the_party(row) -> Registration:
    return row[0]


def _by_ticket(session, statement, token: str, **params):
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        raise NotFound(_l("This ticket is not known."), code="unknown_token")
    # one row a party (its people are joined): told apart by the party alone, as a stored
    # answer (JSON, a dict) cannot be hashed
    row = session.execute(statement, {"token": token, **params}).unique(
        _the_party).one_or_none()
    if row is None:
        if session.scalar(sa.select(Registration.id).where(
                Registration.replaced_ticket_token == token)) is not None:
            _refuse("revoked", _l("This ticket was replaced by a new one. Ask for the new "
                                  "ticket or search the name."))
        raise NotFound(_l("This ticket is not known."), code="unknown_token")
    return row


def get_registration_by_replaced_ticket(session, token: str) -> Registration | None:
    """The registration whose previous ticket QR carried ``token`` (replaced by a new one),
    or None. The door names the party of a revoked code to its staff."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN:
        return None
    return session.scalar(sa.select(Registration).where(
        Registration.replaced_ticket_token == token))


def replace_ticket(session, reg: Registration, *, user: User) -> str:
    """Give the party a new ticket QR (a lost phone, a screenshot shared too widely).

    The old code is refused at the door with ``revoked`` from then on. Organizers of the
    event's branch only. Returns the new ticket token.
    """
    if not user.can_manage_branch(reg.event.branch_id):
        raise Forbidden()
    if reg.status == RegistrationStatus.cancelled:
        raise Conflict(_l("This sign-up was cancelled."), code="cancelled")
    reg.replaced_ticket_token = reg.ticket_token
    reg.ticket_token = new_token()
    reg.ticket_revoked_at = None
    session.flush()
    return reg.ticket_token


def check_staff(user: User | None, event: Event) -> None:
    """Only volunteers, organizers of the event's branch and admins work its door."""
    if user is None or not user.can_staff_branch(event.branch_id):
        raise Forbidden(_l("Only volunteers and organizers of this group can check people in."))


def get_event_for_door(session, event_id: int, user: User) -> Event:
    """An event the user may staff at the door. Raises NotFound or Forbidden."""
    return events.get_event_for_user(session, event_id, user, staff=True)


def check_event_of(reg: Registration, event: Event) -> None:
    """The ticket is for this door's event, or CheckinRefused ``wrong_event`` naming its
    date: nothing of another date is done at this door (its cash would be counted in
    another event's till)."""
    if reg.event_id != event.id:
        _refuse("wrong_event", _wrong_event_message(reg, event), other_event_id=reg.event_id)


def _validate_party(reg: Registration, event: Event) -> None:
    """The refusals shared by admission and the door screen, in a stable order."""
    check_event_of(reg, event)
    if event.is_cancelled:
        _refuse("event_cancelled", _l("This event is cancelled."))
    if reg.ticket_revoked_at is not None:
        _refuse("revoked", _l("This ticket was replaced by a new one. Ask for the new ticket "
                              "or search the name."))
    if reg.status == RegistrationStatus.cancelled:
        _refuse("cancelled", _l("This sign-up was cancelled."))
    if reg.status == RegistrationStatus.waitlisted:
        _refuse("waitlisted", _l("This party is on the waiting list and has no seat yet."))


def _wrong_event_message(reg: Registration, event: Event):
    """Which date the ticket is for: every date of a series has the same title, so the
    title alone would name the very event at whose door it is scanned. The party's name is
    told only to the door of its own group (another group's sign-ups are not theirs to see).
    """
    other = reg.event
    lang = current_lang()
    start = to_local(other.starts_at)
    day = format_day(start, lang, short=start.year == to_local(event.starts_at).year)
    when = f"{day} {format_time(start)}"
    if other.branch_id == event.branch_id:
        return _l("This ticket is for another date: %(when)s, %(title)s (%(name)s).",
                  when=when, title=other.title, name=reg.full_name)
    return _l("This ticket is for another event: %(when)s, %(title)s.", when=when,
              title=other.title)


def _clean_nonce(nonce) -> str:
    if nonce is None or nonce == "":
        return ""
    if not isinstance(nonce, str) or len(nonce) > MAX_NONCE:
        raise ValidationFailed(fields={"nonce": [_l("The nonce must be a short text.")]})
    return nonce


def _clean_device(device) -> str:
    if not isinstance(device, str):
        return ""
    return normalize_name(device)[:MAX_DEVICE]


def _pick(reg: Registration, attendee_ids) -> list[Attendee]:
    people = reg.active_attendees
    if attendee_ids is None:
        return people
    if not isinstance(attendee_ids, list | tuple | set) or any(
            isinstance(i, bool) or not isinstance(i, int) for i in attendee_ids):
        raise ValidationFailed(fields={"attendee_ids": [_l("Choose people of this party.")]},
                               code="invalid_attendees")
    by_id = {a.id: a for a in people}
    if not attendee_ids or any(i not in by_id for i in attendee_ids):
        raise ValidationFailed(fields={"attendee_ids": [_l("Choose people of this party.")]},
                               code="invalid_attendees")
    wanted = set(attendee_ids)
    return [a for a in people if a.id in wanted]


def alerts_of(reg: Registration) -> list[str]:
    """Allergen and diet codes of the party's people (unique, in order)."""
    seen: list[str] = []
    for a in reg.active_attendees:
        for code in list(a.allergens or []) + list(a.diets or []):
            if code not in seen:
                seen.append(code)
    return seen


def alert_labels(lang: str) -> dict[str, str]:
    """Every allergen and diet code with its label in ``lang`` (for the scanner's cache)."""
    return {item.code: item.label(lang)
            for item in allergen_data.ALLERGENS + allergen_data.DIETS}


def _scope(event: Event) -> str:
    return _scope_of(event.id)


def _scope_of(event_id: int) -> str:
    return f"checkin:{event_id}"


def delete_answers(session, events_query: sa.Select) -> int:
    """Delete the stored answers of check-ins and undos (by nonce) at the events whose ids
    ``events_query`` selects. An admission's answer holds the party's allergen and diet
    codes (``alerts``), so it goes when the events' sensitive data is purged. Returns how
    many were deleted."""
    ids = events_query.subquery()
    scopes = sa.select(sa.literal("checkin:", sa.String) + sa.cast(ids.c[0], sa.String))
    return idempotency.delete_scopes(session, scopes)


def _payment_nonce(event: Event, nonce: str) -> str:
    """The nonce of the cash taken with a check-in. Check-in nonces are unique per event
    (``_scope``) but payment nonces across all payments, so the event is part of it; the
    check-in nonce is hashed to stay within ``Payment.nonce``'s 120 characters."""
    return f"{_scope(event)}:{hashlib.sha256(nonce.encode()).hexdigest()}"


# ---------------------------------------------------------------------------------------
# Admission and undo


@dataclass
class Admission:
    """What ``admit`` did: the JSON-ready answer (``check_in``'s, stored for the nonce), and
    the party and its money as they stand in this transaction, so an answer can be built
    without loading them again. A replayed nonce loads nothing: ``registration`` is None."""

    result: dict
    registration: Registration | None = None
    money: fees.Totals | None = None


def check_in(session, event: Event, token: str, *, user: User, attendee_ids=None,
             nonce: str | None = None, device: str = "", now: datetime | None = None,
             scanned_at: datetime | None = None, was_offline: bool = False,
             cash_received: int | None = None) -> dict:
    """Admit people of the party holding ``token`` (all by default) at ``event``'s door.

    Refuses with codes ``unknown_token`` (404), ``wrong_event``, ``event_cancelled``,
    ``revoked``, ``cancelled``, ``waitlisted`` and, when none of the chosen people is left to
    admit, ``already_checked_in`` (409). Admissions received from a phone that was offline (``was_offline``) are never
    refused for being late: a person another device already admitted is logged as a
    ``conflict`` row and not counted twice. With ``cash_received`` the cash handed over is
    recorded against the balance (see ``take_cash``). The same ``nonce`` again returns the
    first answer and writes nothing. Returns a JSON-ready dict.
    """
    return admit(session, event, token, user=user, attendee_ids=attendee_ids, nonce=nonce,
                 device=device, now=now, scanned_at=scanned_at, was_offline=was_offline,
                 cash_received=cash_received).result


def admit_at(session, event_id: int, token: str, *, user: User, nonce: str | None = None,
             **kwargs) -> Admission:
    """``admit`` at the door of the event ``event_id`` (the scan API, which has no event
    loaded yet): the party comes with its event, its ledger's sums and the nonce's first
    answer in one statement, and the door's event is then the party's, from the session
    (no statement of its own) when the ticket is for it. Same rules, and the same refusals
    in the same order: the event's (``get_event_for_door``) before the ticket's."""
    try:
        key = _clean_nonce(nonce)
    except ValidationFailed:
        key = None  # refused by admit, after the event's own refusals
    found = _party(session, _FOR_ADMISSION_WITH_EVENT, event_id, token, key)
    event = get_event_for_door(session, event_id, user)
    return admit(session, event, token, user=user, nonce=nonce, found=found, **kwargs)


def _party(session, statement, event_id: int, token: str, nonce: str | None):
    """(the party's row, None), or (None, the refusal of a ticket that finds no party),
    the refusal kept for the caller to raise in its turn."""
    try:
        return _by_ticket(session, statement, token, scope=_scope_of(event_id),
                          key=nonce), None
    except (NotFound, CheckinRefused) as refusal:
        return None, refusal


def admit(session, event: Event, token: str, *, user: User, attendee_ids=None,
          nonce: str | None = None, device: str = "", now: datetime | None = None,
          scanned_at: datetime | None = None, was_offline: bool = False,
          cash_received: int | None = None, found=None) -> Admission:
    """``check_in``, returning the party and its money along with the answer (the API
    serialises them in the same transaction). Same rules, same refusals. ``found``: the
    party's lookup made already (``admit_at``)."""
    now = now or utcnow()
    nonce = _clean_nonce(nonce)
    check_staff(user, event)
    row, refusal = found or _party(session, _FOR_ADMISSION, event.id, token, nonce)
    if refusal is not None:  # no such ticket (any more): the nonce's answer wins
        if nonce and (first := _first_answer(session, event, nonce, token)) is not None:
            return Admission(first)
        raise refusal
    reg, paid, received, first = row
    if first is not None:  # the same scan again (a retry after a lost answer)
        if first.get("registration_id") != reg.id:
            _refuse_reused_nonce()
        return Admission(dict(first, replayed=True))
    money = fees.Totals(int(paid), int(received))  # an admission records no payment
    _validate_party(reg, event)
    chosen = _pick(reg, attendee_ids)
    device = _clean_device(device)
    if scanned_at is not None and (scanned_at > now or not was_offline):
        scanned_at = None  # a phone's clock ahead of ours, or an online scan: our time
    at = scanned_at or now
    newly = _mark_admitted(session, [p for p in chosen if p.checked_in_at is None], at)
    admitted, already, conflicts, log = [], [], [], []
    for person in chosen:
        if person.id in newly:
            set_committed_value(person, "checked_in_at", at)
            admitted.append(person.id)
            log.append(_row_values(reg, person, "in", user, nonce, device, now, scanned_at,
                                   was_offline))
            continue
        already.append(person.id)
        if was_offline:
            conflicts.append(person.id)
            log.append(_row_values(reg, person, "in", user, nonce, device, now, scanned_at,
                                   was_offline, conflict=True))
    if not admitted and not was_offline:
        # a twin request with this nonce may have admitted them since we looked
        if nonce and (first := _first_answer(session, event, nonce, token, reg.id)):
            return Admission(first)
        _refuse("already_checked_in", _l("Everyone chosen is already checked in."),
                attendee_ids=already)
    if log:  # in one statement: nothing reads the rows back as objects in this request
        session.execute(sa.insert(CheckIn.__table__), log)
    result = {"registration_id": reg.id, "admitted": admitted, "already": already,
              "conflicts": conflicts, "alerts": alerts_of(reg), "payment_id": None,
              "change": None}
    if cash_received is not None:
        payment, change = take_cash(session, reg, cash_received, user=user,
                                    nonce=_payment_nonce(event, nonce) if nonce else None,
                                    now=now)
        result["payment_id"] = payment.id if payment else None
        result["change"] = change
        money = fees.totals(session, reg)
    result["amount_due"] = fees.amount_due(reg)
    result["balance"] = fees.balance_of(result["amount_due"], money)
    if nonce:
        idempotency.save_record(session, _scope(event), nonce, result)
    return Admission(result, reg, money)


def _first_answer(session, event: Event, key: str, token: str,
                  reg_id: int | None = None) -> dict | None:
    """The answer given to this scan's nonce before, if any (a retry after a lost answer).

    A nonce names one scan of one ticket: sent again with another ticket (a phone's counter
    started over) it is refused with ``nonce_reused``, never answered with the other
    party's admission, which would show the door a green card for someone not admitted.
    The ticket a party had before a replacement still counts as its own.
    """
    record = idempotency.get_record(session, _scope(event), key)
    if record is None:
        return None
    if reg_id is None:
        # two lookups, not one OR: with statistics SQLite reads the mostly-empty
        # replaced_ticket_token index as useless and scans the whole table instead
        reg_id = session.scalar(sa.select(Registration.id).where(
            Registration.ticket_token == token)) or session.scalar(sa.select(
                Registration.id).where(Registration.replaced_ticket_token == token))
    if reg_id != record.response.get("registration_id"):
        _refuse_reused_nonce()
    return dict(record.response, replayed=True)


def _refuse_reused_nonce():
    _refuse("nonce_reused", _l("This scan's number was already used for another ticket. "
                               "Scan the ticket again."))


_ATTENDEES = Attendee.__table__
# Built once (every scan runs it): admit whoever of these is not admitted or cancelled yet.
_ADMIT = (
    sa.update(_ATTENDEES)
    .where(_ATTENDEES.c.id.in_(sa.bindparam("ids", expanding=True)),
           _ATTENDEES.c.checked_in_at.is_(None), _ATTENDEES.c.cancelled_at.is_(None))
    .values(checked_in_at=sa.bindparam("at", type_=_ATTENDEES.c.checked_in_at.type))
    .returning(_ATTENDEES.c.id))


def _mark_admitted(session, people: list[Attendee], at: datetime) -> set[int]:
    """Two phones scanning one person must never both admit them.

    One guarded UPDATE sets ``checked_in_at`` of those of ``people`` still not admitted and
    not cancelled, and returns their ids: the people this request admits. Whoever another
    phone admitted (or the party cancelled) since the party was read is left out and read
    again. The UPDATE locks the rows on PostgreSQL and takes SQLite's write lock (a late-
    locking request takes it here), held until commit. Returns the admitted ids.
    """
    if not people:
        return set()
    newly = set(session.execute(_ADMIT, {"ids": [a.id for a in people], "at": at}).scalars())
    for person in people:
        if person.id not in newly:
            session.refresh(person, ["checked_in_at", "cancelled_at"])
    return newly


def _lock_attendees(session, people: list[Attendee]) -> None:
    """Lock the chosen people's rows before changing them (an undo), and read their state
    again where it may be stale (see ``lock_for_write``): another phone may have committed
    since the party was loaded."""
    if not people or not lock_for_write(session):
        return
    by_id = {a.id: a for a in people}
    rows = session.execute(
        sa.select(Attendee.id, Attendee.checked_in_at, Attendee.cancelled_at)
        .where(Attendee.id.in_(by_id)).with_for_update())
    for attendee_id, checked_in_at, cancelled_at in rows:
        set_committed_value(by_id[attendee_id], "checked_in_at", checked_in_at)
        set_committed_value(by_id[attendee_id], "cancelled_at", cancelled_at)


def _row_values(reg, person, action, user, nonce, device, now, scanned_at=None,
                was_offline=False, conflict=False) -> dict:
    return dict(event_id=reg.event_id, registration_id=reg.id, attendee_id=person.id,
                action=action, nonce=nonce, device=device, scanned_at=scanned_at or now,
                was_offline=bool(was_offline), conflict=conflict,
                user_id=user.id if user else None, created_at=now)


def _row(*args, **kwargs) -> CheckIn:
    return CheckIn(**_row_values(*args, **kwargs))


def undo_check_in(session, event: Event, token: str, *, user: User, attendee_ids=None,
                  nonce: str | None = None, device: str = "", now: datetime | None = None
                  ) -> dict:
    """Take back admissions (a mistaken tap): a new ``undo`` row per person, state cleared.

    Refuses like ``check_in`` for another event's or an unknown ticket, with
    ``invalid_attendees`` (422) for an empty choice (only None means the whole party), and
    with ``not_checked_in`` when none of the chosen people is admitted. Same nonce, same
    answer.
    """
    now = now or utcnow()
    nonce = _clean_nonce(nonce)
    check_staff(user, event)
    if nonce and (first := _first_answer(session, event, "undo:" + nonce, token)):
        return first
    reg = get_registration_by_ticket(session, token)
    if reg.event_id != event.id:
        _refuse("wrong_event", _l("This ticket is for another event: %(title)s.",
                                  title=reg.event.title))
    chosen = _pick(reg, attendee_ids)
    _lock_attendees(session, chosen)
    undone = []
    for person in chosen:
        if person.checked_in_at is None:
            continue
        person.checked_in_at = None
        undone.append(person.id)
        session.add(_row(reg, person, "undo", user, nonce, _clean_device(device), now))
    if not undone:
        _refuse("not_checked_in", _l("Nobody chosen is checked in."))
    session.flush()
    result = {"registration_id": reg.id, "undone": undone}
    if nonce:
        idempotency.save_record(session, _scope(event), "undo:" + nonce, result)
    return result


def take_cash(session, reg: Registration, tendered, *, user: User, nonce: str | None = None,
              now: datetime | None = None):
    """Record cash handed over at the door against the balance; returns (payment, change).

    ``tendered`` is what the person hands over (1,000円 for 300円 due → change 700円).
    Nothing is recorded when nothing is owed (payment None, all of it is change). Refuses
    ``invalid_amount`` (422) for a non-integer, negative or absurd amount and
    ``not_enough_cash`` (422) when it does not cover the balance. The same nonce records one
    payment; a nonce of another party's payment is refused with ``nonce_reused`` (409), so
    that party's payment is never taken for this one's.
    """
    if isinstance(tendered, bool) or not isinstance(tendered, int) or not (
            0 <= tendered <= MAX_CASH):
        raise ValidationFailed(fields={"cash_received": [
            _l("Enter the yen handed over as a whole number.")]}, code="invalid_amount")
    existing = fees.get_payment_by_nonce(session, nonce, reg)
    if existing is not None:
        return existing, (existing.cash_tendered or existing.amount) - existing.amount
    fees.lock_party(session, reg)  # two phones taking cash for one party: one at a time
    owed = fees.balance(session, reg)
    if owed <= 0:
        return None, tendered
    if tendered < owed:
        lang = current_lang()
        raise ValidationFailed(_l("%(given)s does not cover the %(due)s due.",
                                  given=format_yen(tendered, lang), due=format_yen(owed, lang)),
                               fields={"cash_received": [_l("Less than the amount due.")]},
                               code="not_enough_cash")
    payment = fees.record_payment(session, reg, owed, "cash", user=user, nonce=nonce,
                                  cash_tendered=tendered, now=now)
    return payment, tendered - owed


# ---------------------------------------------------------------------------------------
# Walk-ins


@dataclass
class WalkIn:
    """What the door asks of a walk-in party: counts per fee code, a name, allergies."""

    counts: dict[str, int]
    family_name: str = ""
    family_name_kana: str = ""
    phone: str = ""
    allergens: list[str] = field(default_factory=list)
    note: str = ""
    #: the fee code of the person the allergies and note are about (こども, おとな): they go
    #: to the first person of it; empty, to the first person of the party
    allergy_for: str = ""
    #: allergies person by person instead (the door form's rows, the API's ``people``): each
    #: ``{"category", "allergens", "note"}``; the n-th entry of a category is about the n-th
    #: person of it, people not listed have none. Not to be sent with ``allergens``/``note``.
    people: list | None = None


def walk_ins_until(event: Event) -> datetime:
    """The end of the day (Tokyo) the event ends: until then the door may still type in the
    latecomers of its paper list, as tickets may still be checked in."""
    last_day = to_local(event.ends_at).date()
    return datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=TOKYO)


def walk_ins_closed(event: Event, now: datetime) -> Conflict | None:
    """Why the door takes no walk-ins for ``event`` now, or None. Walk-ins are admitted from
    the moment an event is published until the end of the day it ends (``walk_ins_until``),
    whatever its online sign-up window says. The refusals (409): ``event_cancelled`` (the
    code a ticket scanned at a cancelled event gets), ``event_not_published`` for a draft,
    ``event_over`` once that day is over (as for a sign-up cancelled too late)."""
    if event.is_cancelled:
        return Conflict(_l("This event is cancelled. Walk-ins cannot be admitted."),
                        code="event_cancelled")
    if event.status != EventStatus.published:
        return Conflict(_l("This event is not published yet. Walk-ins can be admitted once "
                           "it is."), code="event_not_published")
    if walk_ins_until(event) <= now:
        return Conflict(_l("This event is over. Walk-ins can no longer be admitted."),
                        code="event_over")
    return None


def admit_walk_in(session, event: Event, data: WalkIn, *, user: User, nonce: str | None = None,
                  overbook: bool = False, device: str = "", now: datetime | None = None
                  ) -> Registration:
    """Admit a party that did not sign up: a confirmed walk-in registration, everyone checked
    in, seats taken against capacity.

    Refuses first, before looking at what was typed, an event that takes no walk-ins (see
    ``walk_ins_closed``: ``event_cancelled``, ``event_not_published``, ``event_over``,
    409); then ``invalid`` (422, fields) for no people, unknown categories or too many
    (counts are checked before any list of people is built), allergens not on sign-up's
    list, person-by-person allergies (``people``) that do not fit the party (see
    ``_needs_of``) or come with the party's ``allergens``/``note``, and a phone number that
    is not Japanese; ``full`` when the seats are gone, unless
    an organizer of the branch overrides (``overbook``; volunteers may not: ``forbidden``).
    The same nonce returns the first party, whatever the event's state since.
    """
    now = now or utcnow()
    nonce = _clean_nonce(nonce)
    check_staff(user, event)
    if nonce:
        existing = session.scalar(sa.select(Registration).where(
            Registration.event_id == event.id, Registration.idempotency_key == "walkin:" + nonce))
        if existing is not None:
            return existing
    closed = walk_ins_closed(event, now)
    if closed is not None:
        raise closed
    errors: dict[str, list] = {}
    by_code = {f.code: f for f in event.fees}
    people: list = []
    counts = data.counts if isinstance(data.counts, dict) else {}
    too_many = False
    for code, n in counts.items():
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            errors.setdefault("counts", []).append(_l("Enter how many people, as a number."))
            continue
        if n and by_code and code not in by_code:
            errors.setdefault("counts", []).append(_l("Unknown fee category."))
            continue
        # checked before the list is built: a count of 10**9 (or 2**63) must not build it
        if len(people) + n > MAX_WALK_IN_PEOPLE:
            too_many = True
            continue
        people += [by_code.get(code)] * n
    if not people and not errors and not too_many:
        errors["counts"] = [_l("Enter at least one person.")]
    if too_many:
        errors["counts"] = [_l("At most %(n)d people at once.", n=MAX_WALK_IN_PEOPLE)]
    family_name = normalize_name(data.family_name)[:60]
    kana = to_katakana(data.family_name_kana)[:60]
    if not family_name and not kana:
        errors["family_name"] = [_l("Enter a name to call the party by.")]
    elif kana and not is_katakana(kana):  # as the sign-up: フリガナ is stored in katakana
        errors["family_name_kana"] = [_l("Write the reading in hiragana or katakana.")]
    phone = normalize_phone(data.phone)
    if phone and not is_valid_phone(phone):
        errors["phone"] = [_l("Enter a Japanese phone number like 090-1234-5678.")]
    note = normalize_name(data.note)[:500]
    allergens = _allergens(data.allergens, errors)
    needs = _needs_of(data.people, [c.code if c else "" for c in people], by_code, errors,
                      counted="counts" not in errors and not too_many)
    if data.people and (allergens or note):
        errors["people"] = [_l("Send allergies either person by person (people) or for the "
                               "party (allergens, note), not both.")]
    # whose the allergies are: the kitchen plates for a child, not for the parent
    concerned = 0
    if data.allergy_for and (allergens or note) and not data.people:
        codes = [c.code if c else None for c in people]
        if data.allergy_for not in by_code:
            errors["allergy_for"] = [_l("Choose from the list.")]
        elif data.allergy_for not in codes:
            errors["allergy_for"] = [_l("Nobody of this category is in the party.")]
        else:
            concerned = codes.index(data.allergy_for)
    if errors:
        raise ValidationFailed(fields=errors)
    if overbook and not user.can_manage_branch(event.branch_id):
        raise Forbidden(_l("Only an organizer can admit beyond the capacity."))
    locked = events.lock_event(session, event.id)
    closed = walk_ins_closed(locked, now)  # called off by an organizer a moment ago
    if closed is not None:
        raise closed
    if not events.take_seats(session, locked, len(people), allow_overbook=overbook):
        left = locked.seats_left or 0
        if not left:
            raise Conflict(_l("The event is full. An organizer can admit beyond the "
                              "capacity."), code="full")
        # seats are left, only fewer than the party: the event is not full
        raise Conflict(lazy_ngettext(
            "Not enough seats for %(people)d people: %(num)d seat left. An organizer can "
            "admit beyond the capacity.",
            "Not enough seats for %(people)d people: %(num)d seats left. An organizer can "
            "admit beyond the capacity.", left, people=len(people)), code="full")
    reg = Registration(
        event_id=event.id, status=RegistrationStatus.confirmed.value,
        family_name=family_name or kana, family_name_kana=kana, phone=phone,
        manage_token_hash=token_hash(new_token()), ticket_token=new_token(),
        is_walk_in=True, idempotency_key="walkin:" + nonce if nonce else None,
        consent_at=now if (allergens or note or needs) else None, created_at=now)
    if not needs and (allergens or note):
        needs = {concerned: (allergens, note)}
    for i, category in enumerate(people):
        person_allergens, person_note = needs.get(i, ([], ""))
        reg.attendees.append(Attendee(
            position=i, fee_category=category, checked_in_at=now, created_at=now,
            allergens=person_allergens, note=person_note))
    session.add(reg)
    session.flush()
    for person in reg.attendees:
        session.add(_row(reg, person, "in", user, nonce, _clean_device(device), now))
    session.flush()
    return reg


def _allergens(value, errors: dict) -> list[str]:
    """Allergen codes as sign-up takes them: only codes of its list (the kitchen sheet, the
    CSV and the scanner show them), in the legal order, each once."""
    if value is None or value == []:
        return []
    if not isinstance(value, list) or len(value) > MAX_ALLERGENS or not all(
            isinstance(v, str) for v in value):
        errors["allergens"] = [_l("Choose from the list.")]
        return []
    unknown = [v for v in value if v not in allergen_data.ALLERGEN_CODES]
    if unknown:
        errors["allergens"] = [_l("Unknown choice: %(codes)s",
                                  codes=", ".join(unknown[:5])[:100])]
        return []
    return allergen_data.ordered(value)


_PERSON_KEYS = ("category", "allergens", "note")


def _needs_of(entries, codes: list[str], by_code: dict, errors: dict, *,
              counted: bool) -> dict[int, tuple[list[str], str]]:
    """The allergies and note of each person of a walk-in party, from ``WalkIn.people``.

    ``codes`` are the fee codes of the party's people in order ("" for an event without
    fees). An entry without a category is about the party's only category; the n-th entry
    of a category is about its n-th person. Refused (fields ``people`` and
    ``people.<i>.<key>``): not a list, more entries than ``MAX_WALK_IN_PEOPLE``, an entry
    that is no object or has other keys, codes not on sign-up's list, a note longer than
    500 characters, a category not of the event or not in the party, more entries of a
    category than the party has people of it. With ``counted`` False (the counts were
    refused) the categories are not checked against the party. Returns {position: (allergen
    codes, note)} of the people with any.
    """
    if entries is None or entries == []:
        return {}
    if not isinstance(entries, list):
        errors["people"] = [_l("Send a list of people.")]
        return {}
    if len(entries) > MAX_WALK_IN_PEOPLE:
        errors["people"] = [_l("At most %(n)d people at once.", n=MAX_WALK_IN_PEOPLE)]
        return {}
    present = list(dict.fromkeys(codes))
    taken: dict[str, int] = {}
    needs: dict[int, tuple[list[str], str]] = {}
    for i, entry in enumerate(entries):
        prefix = f"people.{i}"
        if not isinstance(entry, dict):
            errors[prefix] = [_l("Send each person as an object with category, allergens "
                                 "and note.")]
            continue
        unknown = [str(k) for k in entry if k not in _PERSON_KEYS]
        if unknown:
            errors[prefix] = [_l("Unknown field: %(names)s",
                                 names=", ".join(unknown[:5])[:100])]
            continue
        found: dict[str, list] = {}
        allergens = _allergens(entry.get("allergens"), found)
        note = entry.get("note")
        if note is None:
            note = ""
        if not isinstance(note, str):
            found["note"] = [_l("Enter text.")]
        elif len(note) > 500:
            found["note"] = [_l("This is too long.")]
        category = entry.get("category")
        position = None
        if category is None:
            category = ""
        if not isinstance(category, str) or len(category) > 30:
            found["category"] = [_l("Send a fee category's code.")]
        elif not counted:
            pass  # the counts were refused: whose it is cannot be told yet
        elif not category and len(present) > 1:
            found["category"] = [_l("Choose whose allergy it is.")]
        elif category and (category not in by_code if by_code else True):
            found["category"] = [_l("Choose from the list.")]
        elif (category or present[0]) not in codes:
            found["category"] = [_l("Nobody of this category is in the party.")]
        else:
            category = category or present[0]
            have = codes.count(category)
            nth = taken.get(category, 0)
            taken[category] = nth + 1
            if nth >= have:
                found["category"] = [lazy_ngettext(
                    "The party has only %(num)d person of this category.",
                    "The party has only %(num)d people of this category.", have)
                    if by_code else lazy_ngettext(  # an event without fee categories
                    "The party has only %(num)d person.",
                    "The party has only %(num)d people.", have)]
            else:
                position = [p for p, c in enumerate(codes) if c == category][nth]
        for key, messages in found.items():
            errors[f"{prefix}.{key}"] = messages
        note = normalize_name(note) if isinstance(note, str) else ""
        if not found and position is not None and (allergens or note):
            needs[position] = (allergens, note)
    return needs


# ---------------------------------------------------------------------------------------
# Reads for the door


def _parties(session, event: Event) -> list[Registration]:
    return list(session.scalars(
        sa.select(Registration).where(Registration.event_id == event.id)
        .options(selectinload(Registration.attendees).selectinload(Attendee.fee_category))
        .order_by(Registration.id)))


def kana_order(reg: Registration) -> tuple:
    """あいうえお order of フリガナ (hiragana folded), names without kana last by name."""
    kana = search_key(reg.full_name_kana)
    return (0 if kana else 1, kana or search_key(reg.full_name), reg.id)


def search(session, event: Event, query: str, *, limit: int = 30) -> list[Registration]:
    """Parties of the event matching a name, フリガナ (hiragana/katakana alike) or the last
    four digits of the phone. Cancelled parties are included (the screen says so)."""
    text = normalize_name(query or "")[:60]
    key = search_key(text)
    digits = normalize_phone(text) if any(c.isdigit() for c in text) else ""
    if not key:
        return []
    found = []
    for reg in _parties(session, event):
        names = search_key(reg.full_name) + " " + search_key(reg.full_name_kana) + " " + \
            search_key(reg.family_name + reg.given_name) + " " + \
            search_key(reg.family_name_kana + reg.given_name_kana) + " " + " ".join(
                search_key(a.name) for a in reg.active_attendees if a.name)
        if key in names or (len(digits) >= 4 and reg.phone.endswith(digits)):
            found.append(reg)
    found.sort(key=lambda r: (r.status == RegistrationStatus.cancelled, kana_order(r)))
    return found[:limit]


def expected_due(reg: Registration) -> int:
    """What the party will owe once everyone of it came (the door list, the scanner's offline
    cache). Nothing for a cancelled event, as ``fees.amount_due``: no fee is taken there."""
    if reg.event.is_cancelled:
        return 0
    return sum(a.fee_category.amount for a in reg.active_attendees if a.fee_category)


def door_list(session, event: Event) -> list[dict]:
    """The printed 受付名簿: confirmed parties in あいうえお order of フリガナ, each with
    people, allergies and the amount due (for everyone expected; nothing once the event is
    cancelled)."""
    rows = []
    for reg in sorted((r for r in _parties(session, event)
                       if r.status == RegistrationStatus.confirmed), key=kana_order):
        people = reg.active_attendees
        rows.append({"registration": reg, "people": people,
                     "due": max(expected_due(reg) - fees.paid(session, reg), 0),
                     "alerts": alerts_of(reg)})
    return rows


def history(session, reg: Registration) -> dict[int, CheckIn]:
    """The latest log row of each person (who admitted them, when, from which device)."""
    rows = session.scalars(sa.select(CheckIn).where(CheckIn.registration_id == reg.id)
                           .options(selectinload(CheckIn.user)).order_by(CheckIn.id))
    last: dict[int, CheckIn] = {}
    for row in rows:
        if not row.conflict:
            last[row.attendee_id] = row
    return last


def conflicts_of(session, reg: Registration) -> list[CheckIn]:
    """Offline admissions of people another device had already admitted."""
    return list(session.scalars(
        sa.select(CheckIn).where(CheckIn.registration_id == reg.id, CheckIn.conflict.is_(True))
        .options(selectinload(CheckIn.user)).order_by(CheckIn.id)))


@dataclass
class Counts:
    """Live door numbers of one event, in people."""

    admitted: int
    expected: int
    walk_ins: int
    waiting: int
    no_shows: int | None  # known only once the event has ended
    conflicts: int


def live_counts(session, event: Event, now: datetime | None = None) -> Counts:
    """admitted / expected / walk-ins / waiting / no-shows (after the event) / conflicts."""
    now = now or utcnow()
    active = sa.and_(Attendee.registration_id == Registration.id, Attendee.cancelled_at.is_(None),
                     Registration.event_id == event.id)

    def people(*where) -> int:
        return session.scalar(sa.select(sa.func.count(Attendee.id))
                              .where(active, *where)) or 0

    confirmed = Registration.status == RegistrationStatus.confirmed.value
    admitted = people(Attendee.checked_in_at.is_not(None))
    expected = people(confirmed, Registration.is_walk_in.is_(False))
    walk_ins = people(confirmed, Registration.is_walk_in.is_(True))
    waiting = people(Registration.status == RegistrationStatus.waitlisted.value)
    no_shows = None
    if event.ends_at <= now:
        no_shows = people(confirmed, Registration.is_walk_in.is_(False),
                          Attendee.checked_in_at.is_(None))
    conflicts = session.scalar(sa.select(sa.func.count(CheckIn.id)).where(
        CheckIn.event_id == event.id, CheckIn.conflict.is_(True))) or 0
    return Counts(admitted, expected, walk_ins, waiting, no_shows, conflicts)


@dataclass(frozen=True)
class Attendance:
    """Who of an event's people signed up and who came, counted as ``live_counts`` does."""

    expected: int = 0  # confirmed people signed up beforehand (walk-ins not included)
    admitted: int = 0  # people admitted at the door, walk-ins included
    no_shows: int = 0  # of the expected, those never admitted


def attendance_counts(session, event_ids) -> dict[int, Attendance]:
    """``Attendance`` of each of these events in one statement (a list of past events shows
    it per row); an event without people is left out (``Attendance()`` is its zero)."""
    ids = list(event_ids)
    if not ids:
        return {}
    expected = sa.and_(Registration.status == RegistrationStatus.confirmed.value,
                       Registration.is_walk_in.is_(False))
    came = Attendee.checked_in_at.is_not(None)

    def people(condition):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, 1), else_=0)), 0)

    rows = session.execute(
        sa.select(Registration.event_id, people(expected), people(came),
                  people(sa.and_(expected, sa.not_(came))))
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(Registration.event_id.in_(ids), Attendee.cancelled_at.is_(None))
        .group_by(Registration.event_id))
    return {event_id: Attendance(int(e), int(a), int(n)) for event_id, e, a, n in rows}


def party_summary(session, reg: Registration, labels=None) -> dict:
    """What the scanner caches per ticket for offline use: no contact details beyond the
    name the door calls out, the people, their alerts and what is owed."""
    return {
        "registration_id": reg.id,
        "status": reg.status,
        "revoked": reg.ticket_revoked_at is not None,
        "name": reg.full_name,
        "kana": reg.full_name_kana,
        "amount_due": fees.amount_due(reg),
        "expected_due": expected_due(reg),
        "balance": fees.balance(session, reg),
        "people": [{
            "id": a.id,
            "category": a.fee_category.code if a.fee_category else None,
            "category_label": a.fee_category.label if a.fee_category else "",
            "name": a.name,
            "allergens": list(a.allergens or []),
            "diets": list(a.diets or []),
            "note": a.note,
            "checked_in": a.checked_in_at is not None,
        } for a in reg.active_attendees],
    }


def checkin_list(session, event: Event) -> list[tuple[str, dict]]:
    """(ticket token, party summary) of every party of the event, for the offline cache."""
    return [(reg.ticket_token, party_summary(session, reg)) for reg in _parties(session, event)]
