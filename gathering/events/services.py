"""The rules of events and recurring series, as plain functions over a session.

They flush and never commit: the view (or CLI command) commits once. Refusals raise a
GatheringError subclass with a stable code.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext
from sqlalchemy.orm.util import identity_key

from gathering.accounts.models import Branch, User
from gathering.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gathering.events import recurrence
from gathering.events.models import (
    Event,
    EventKind,
    EventStatus,
    FeeBasis,
    FeeCategory,
    Series,
    Venue,
)
from gathering.extensions import lock_for_write
from gathering.japanese import (
    is_valid_postal_code,
    normalize_postal_code,
    normalize_text,
    search_key,
)
from gathering.timeutil import TOKYO, utcnow

MAX_TITLE = 200
MAX_DESCRIPTION = 20_000
MAX_CAPACITY = 100_000
MAX_FEE = 1_000_000
MAX_FEES = 20
MAX_DURATION = timedelta(days=14)
#: how long one date of a series lasts, in minutes (a series' end may be after midnight)
MIN_SERIES_MINUTES = 15
MAX_SERIES_MINUTES = 24 * 60
EARLIEST = datetime(2000, 1, 1, tzinfo=TOKYO)
LATEST = datetime(2100, 1, 1, tzinfo=TOKYO)

#: fields whose change must reach calendar clients (iCal SEQUENCE goes up)
SCHEDULE_FIELDS = ("starts_at", "ends_at", "venue_id", "status")


class SeriesChangeNeedsConfirmation(Conflict):
    """Editing the series would change occurrences that already have registrations."""

    code = "occurrences_have_registrations"
    default_message = _l(
        "Some of the occurrences this change affects already have sign-ups. "
        "Confirm to change them anyway."
    )


class SeriesDraftHasRegistrations(Conflict):
    """A series edit would take dates people signed up for back to draft: their families
    would lose the event page and ticket without a word. ``details["events"]``: those
    dates. Cancel them instead (or end the series with a last date before them)."""

    code = "has_registrations"
    default_message = _l(
        "People have signed up for some of these dates; they cannot go back to draft. "
        "Cancel those dates instead, or end the series with a last date before them.")


class EventNotPublished(Conflict):
    """Cancelling a draft: residents do not see it and nobody can sign up for it, so there
    is nothing to call off, and a cancelled event is public (its page, the API, the feeds):
    cancelling would show the draft to everyone. The draft stays a draft."""

    code = "event_not_published"
    default_message = _l(
        "This event is a draft: residents do not see it and nobody can sign up, so there "
        "is nothing to cancel. Leave it as a draft; it stays hidden until you publish it.")


class MoveIntoPastNeedsConfirmation(Conflict):
    """An edit would move an event that is not over yet so that it ends in the past: it
    would vanish for residents, its parties would be mailed that date, and the nightly
    purge could delete its allergy notes. ``details["parties"]``: the active sign-ups."""

    code = "moved_into_past"
    default_message = _l("This date is already over. Confirm to save it anyway.")


# ---------------------------------------------------------------------------------------
# Reading


@dataclass
class Page:
    items: list
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def public_events_query(*, branch: Branch | None = None, kind: str | None = None,
                        start: datetime | None = None, end: datetime | None = None,
                        include_cancelled: bool = True):
    """Published (and cancelled) events in a window, soonest first. Drafts never."""
    statuses = [EventStatus.published.value]
    if include_cancelled:
        statuses.append(EventStatus.cancelled.value)
    q = sa.select(Event).where(Event.status.in_(statuses))
    if branch is not None:
        q = q.where(Event.branch_id == branch.id)
    if kind:
        q = q.where(Event.kind == kind)
    if start is not None:
        q = q.where(Event.ends_at >= start)
    if end is not None:
        q = q.where(Event.starts_at < end)
    return q.order_by(Event.starts_at, Event.id)


def list_public_events(session, *, branch: Branch | None = None, kind: str | None = None,
                       start: datetime | None = None, end: datetime | None = None,
                       page: int = 1, per_page: int = 20) -> Page:
    """A page of public events (see public_events_query) with their total.

    The page's rows also get a lower bound on ``starts_at`` (an event lasts at most
    MAX_DURATION), which lets the database walk the starts_at index instead of sorting every
    upcoming event; the count is left without it, where the (status, ends_at) index serves.
    """
    query = public_events_query(branch=branch, kind=kind, start=start, end=end)
    rows = query if start is None else query.where(Event.starts_at >= start - MAX_DURATION)
    return paginate(session, rows, page, per_page, count_query=query)


def paginate(session, query, page: int, per_page: int, *, count_query=None) -> Page:
    total = session.scalar(sa.select(sa.func.count()).select_from(
        (count_query if count_query is not None else query).order_by(None).subquery()))
    items = list(
        session.scalars(
            query.options(sa.orm.selectinload(Event.fees), sa.orm.joinedload(Event.venue),
                          sa.orm.joinedload(Event.branch))
            .limit(per_page).offset((page - 1) * per_page)
        ).unique()
    )
    return Page(items, page, per_page, total or 0)


#: a month as typed where the browser has no month picker: 2026-12, 2026/12, 2026.12,
#: 2026年12月 (full-width digits too, after NFKC)
_MONTH = re.compile(r"([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*月?")


def month_window(month: str) -> tuple[datetime, datetime]:
    """'2026-12' (or 2026/12, 2026年12月) → the month's start and the next month's start,
    in Tokyo. Raises ValueError for anything else or a month out of range."""
    found = _MONTH.fullmatch(normalize_text(month))
    if found is None:
        raise ValueError("not a month")
    start = datetime(int(found[1]), int(found[2]), 1, tzinfo=TOKYO)
    if not EARLIEST <= start < LATEST:
        raise ValueError("month out of range")
    return start, start + relativedelta(months=1)


# Built once: every sign-up and scan loads its event (a session.get built its query anew).
_EVENT = sa.select(Event).where(Event.id == sa.bindparam("event_id"))
_EVENT_WITH_FEES = _EVENT.options(sa.orm.joinedload(Event.fees), sa.orm.joinedload(Event.venue),
                                  sa.orm.joinedload(Event.branch))


def get_event(session, event_id: int, *, include_drafts: bool = False,
              with_fees: bool = False) -> Event:
    """An event by id; drafts only when asked (organizer pages). Raises NotFound.

    ``with_fees``: its fee categories, venue and group come in the same statement (a
    sign-up reads the fees, the confirmation mail the venue and whom to ask)."""
    event = session.identity_map.get(identity_key(Event, event_id))
    if event is None:
        event = session.execute(_EVENT_WITH_FEES if with_fees else _EVENT,
                                {"event_id": event_id}).unique().scalar_one_or_none()
    if event is None or (event.status == EventStatus.draft and not include_drafts):
        raise NotFound(_l("This event does not exist."))
    return event


def get_event_for_reader(session, event_id: int, user: User | None) -> Event:
    """An event as ``user`` (None: the public) may read it: a draft only for those who
    manage its branch, its organizers and admins. Raises NotFound, never Forbidden: to
    anyone else a draft does not exist."""
    event = get_event(session, event_id, include_drafts=user is not None)
    if event.status == EventStatus.draft and not user.can_manage_branch(event.branch_id):
        raise NotFound(_l("This event does not exist."))
    return event


def get_event_for_user(session, event_id: int, user: User, *, staff: bool = False) -> Event:
    """An event the user may manage (or staff at the door). Raises NotFound or Forbidden."""
    event = get_event(session, event_id, include_drafts=True)
    allowed = user.can_staff_branch(event.branch_id) if staff else user.can_manage_branch(
        event.branch_id)
    if not allowed:
        raise Forbidden()
    return event


def signup_state(event: Event, now: datetime) -> str:
    """Where sign-up stands: open, not_yet, closed, cancelled, past or draft."""
    if event.status == EventStatus.cancelled:
        return "cancelled"
    if event.status != EventStatus.published:
        return "draft"
    if event.ends_at <= now:
        return "past"
    if event.signup_opens_at and now < event.signup_opens_at:
        return "not_yet"
    if now >= signup_closes(event):
        return "closed"
    return "open"


def signup_closes(event: Event) -> datetime:
    """When online sign-up closes, and with it changes to a sign-up: ``signup_closes_at``,
    else the start. (Cancelling stays possible until the end.)"""
    return event.signup_closes_at or event.starts_at


def is_signup_open(event: Event, now: datetime) -> bool:
    return signup_state(event, now) == "open"


def seats_state(event: Event, few: int = 5) -> str:
    """unlimited, available, few (残りわずか) or full (満席: new sign-ups wait)."""
    if event.capacity is None:
        return "unlimited"
    left = event.seats_left
    if left == 0:
        return "full"
    return "few" if left <= few else "available"


def list_branch_events(session, user: User, *, include_past: bool = False, now=None,
                       limit: int = 200) -> list[Event]:
    """Events the user manages, for the organizer dashboard."""
    q = sa.select(Event).options(sa.orm.joinedload(Event.branch))
    if not user.is_admin:
        q = q.where(Event.branch_id.in_(user.branch_ids or {-1}))
    if not include_past:
        q = q.where(Event.ends_at >= (now or utcnow()) - timedelta(days=1))
    return list(session.scalars(q.order_by(Event.starts_at).limit(limit)))


def list_past_branch_events(session, user: User, *, now=None, page: int = 1,
                            per_page: int = 20) -> Page:
    """A page of the events of the user's branches (every branch for an admin) that have
    ended, the latest first: after the day the organizer still needs their sign-ups,
    no-shows and money for the report. Drafts and cancelled events are kept in."""
    q = sa.select(Event).where(Event.ends_at < (now or utcnow()))
    if not user.is_admin:
        q = q.where(Event.branch_id.in_(user.branch_ids or {-1}))
    return paginate(session, q.order_by(Event.starts_at.desc(), Event.id.desc()), page,
                    per_page)


def list_user_series(session, user: User) -> list[Series]:
    q = sa.select(Series)
    if not user.is_admin:
        q = q.where(Series.branch_id.in_(user.branch_ids or {-1}))
    return list(session.scalars(q.order_by(Series.id)))


def registrations_count(session, event: Event) -> int:
    """Active registrations (confirmed or waiting) of an event."""
    from gathering.rsvp.models import Registration

    return session.scalar(
        sa.select(sa.func.count(Registration.id)).where(
            Registration.event_id == event.id, Registration.status != "cancelled"
        )
    ) or 0


def fits_in_all(event: Event, people: int) -> bool:
    """Whether a party of ``people`` fits in the event's seats in all (no limit: always).
    A waiting party that does not can never move up, however many cancel."""
    return event.capacity is None or people <= event.capacity


def count_waiting_too_large(session, events: list[Event]) -> int:
    """How many waiting parties of ``events`` have more people than their event's seats
    in all: a capacity lowered below them leaves them waiting for ever (promote_waitlist
    skips a party that does not fit), so the organizer is to contact them. One query."""
    from gathering.rsvp.models import Attendee, Registration

    limited = {e.id: e.capacity for e in events if e.capacity is not None}
    if not limited:
        return 0
    sizes = session.execute(
        sa.select(Registration.event_id, sa.func.count(Attendee.id))
        .join(Attendee, Attendee.registration_id == Registration.id)
        .where(Registration.event_id.in_(limited), Registration.status == "waitlisted",
               Attendee.cancelled_at.is_(None))
        .group_by(Registration.id, Registration.event_id))
    return sum(1 for event_id, people in sizes if people > limited[event_id])


# ---------------------------------------------------------------------------------------
# Validation shared by forms and the API


#: what ends a line: normalize_text keeps newlines and tabs, and U+2028/U+2029 are no
#: control characters to it
_LINE_BREAKS = re.compile(r"[\n\t\u2028\u2029]+")


def _one_line(text: str) -> str:
    # split and join, not a regex with spaces around the break: that one takes seconds
    # on a title of 20,000 spaces
    return " ".join(p for p in (part.strip() for part in _LINE_BREAKS.split(text)) if p)


def _text(data: dict, key: str, max_len: int, errors: dict, required=False, label=None,
          multiline=False) -> str:
    """Normalised text. A single-line field (a title, a venue's name or address) folds its
    line breaks and tabs to one space: a title pasted from a flyer with a break in it is
    still the title the organizer meant, where refusing it would show an error about a
    character they cannot see (and iCal, mail subjects and page titles want one line)."""
    value = data.get(key)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(key, []).append(_l("Must be text."))
        return ""
    value = normalize_text(value)
    if not multiline:
        value = _one_line(value)
    if required and not value:
        errors.setdefault(key, []).append(_l("This field is required."))
    elif len(value) > max_len:
        errors.setdefault(key, []).append(
            _l("Too long (at most %(max)d characters).", max=max_len))
    return value


def _aware(value, key: str, errors: dict, required=False) -> datetime | None:
    if value is None or value == "":
        if required:
            errors.setdefault(key, []).append(_l("This field is required."))
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            errors.setdefault(key, []).append(_l("Not a valid date and time."))
            return None
    if not isinstance(value, datetime):
        errors.setdefault(key, []).append(_l("Not a valid date and time."))
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=TOKYO)  # a time typed in Japan is Japan time
    if not EARLIEST <= value < LATEST:
        errors.setdefault(key, []).append(_l("The date is out of range."))
        return None
    return value


def _day(value, key: str, errors: dict) -> date | None:
    """A calendar day (a ``date`` or ``YYYY-MM-DD``), or None when left empty."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            errors.setdefault(key, []).append(_l("Not a valid date."))
            return None
    if isinstance(value, datetime) or not isinstance(value, date):
        errors.setdefault(key, []).append(_l("Not a valid date."))
        return None
    if not EARLIEST.date() <= value < LATEST.date():
        errors.setdefault(key, []).append(_l("The date is out of range."))
        return None
    return value


def _int(value, key: str, errors: dict, lo: int, hi: int, allow_none=True) -> int | None:
    if value is None or value == "":
        if not allow_none:
            errors.setdefault(key, []).append(_l("This field is required."))
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors.setdefault(key, []).append(_l("Must be a whole number."))
        return None
    try:
        number = int(normalize_text(value) if isinstance(value, str) else value)
    except ValueError:
        errors.setdefault(key, []).append(_l("Must be a whole number."))
        return None
    if not lo <= number <= hi:
        errors.setdefault(key, []).append(
            _l("Must be between %(lo)d and %(hi)d.", lo=lo, hi=hi))
        return None
    return number


def _is_choice(value, choices: type) -> bool:
    """Whether ``value`` is one of an enum's values (a list or number never is)."""
    return isinstance(value, str) and value in {c.value for c in choices}


def clean_fees(raw, errors: dict) -> list[dict]:
    """A fee table: [{"code", "label", "amount"}], codes and labels unique (labels as a
    reader tells them apart: kana and width aside), yen whole and ≥ 0."""
    if raw is None:
        return []
    if not isinstance(raw, list) or len(raw) > MAX_FEES:
        errors.setdefault("fees", []).append(_l("Invalid fee table."))
        return []
    fees, codes, labels = [], set(), set()
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.setdefault("fees", []).append(_l("Invalid fee table."))
            continue
        sub: dict = {}
        label = _text(item, "label", 60, sub, required=True)
        code = _text(item, "code", 30, sub) or f"fee{i + 1}"
        amount = _int(item.get("amount"), "amount", sub, 0, MAX_FEE, allow_none=False)
        if not code.replace("_", "").replace("-", "").isalnum() or not code.isascii():
            sub.setdefault("code", []).append(_l("Use letters, digits, - and _ only."))
        if code in codes:
            sub.setdefault("code", []).append(_l("Each fee needs its own code."))
        codes.add(code)
        # two おとな at different prices: a parent could not tell which to choose
        folded = search_key(label) if label else ""
        if folded and folded in labels:
            sub.setdefault("label", []).append(_l("Each fee needs its own name."))
        labels.add(folded)
        for key, messages in sub.items():
            errors.setdefault(f"fees.{i}.{key}", []).extend(messages)
        fees.append({"code": code, "label": label, "amount": amount or 0})
    return fees


def clean_venue(raw, errors: dict) -> dict | None:
    if raw is None or raw == {}:
        return None
    if not isinstance(raw, dict):
        errors.setdefault("venue", []).append(_l("Invalid venue."))
        return None
    sub: dict = {}
    venue = {
        "name": _text(raw, "name", 200, sub, required=True),
        "postal_code": normalize_postal_code(_text(raw, "postal_code", 20, sub)),
        "address": _text(raw, "address", 300, sub),
        "access_notes": _text(raw, "access_notes", 2000, sub, multiline=True),
        "accessibility_notes": _text(raw, "accessibility_notes", 2000, sub, multiline=True),
        "map_url": _text(raw, "map_url", 500, sub),
    }
    if venue["postal_code"] and not is_valid_postal_code(venue["postal_code"]):
        sub.setdefault("postal_code", []).append(_l("A postal code has 7 digits, e.g. 123-4567."))
    if venue["map_url"] and not venue["map_url"].startswith(("https://", "http://")):
        sub.setdefault("map_url", []).append(_l("Enter a web address starting with https://."))
    for key in ("latitude", "longitude"):
        value = raw.get(key)
        if value in (None, ""):
            continue
        limit = 90 if key == "latitude" else 180
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if isinstance(value, bool) or not -limit <= number <= limit:  # NaN fails too
            sub.setdefault(key, []).append(_l("Must be a number."))
        else:
            venue[key] = number
    for key, messages in sub.items():
        errors.setdefault(f"venue.{key}", []).extend(messages)
    return venue


def _capacity(value, errors: dict) -> int | None:
    """Seats: a whole number from 1, or none for no limit. Zero seats would be an event
    shown open for sign-up that nobody can join."""
    number = _int(value, "capacity", errors, 0, MAX_CAPACITY)
    if number == 0:
        errors.setdefault("capacity", []).append(
            _l("Seats must be at least 1. For no limit, leave the seats empty."))
        return None
    return number


def clean_event_data(data: dict, *, partial: bool = False) -> dict:
    """Check and normalise event fields (API and forms alike). Raises ValidationFailed.

    With ``partial`` only the keys present are checked (PATCH).
    """
    if not isinstance(data, dict):
        raise ValidationFailed(fields={"_": [_l("Expected an object.")]})
    errors: dict = {}
    out: dict = {}

    def has(key):
        return not partial or key in data

    if has("title"):
        out["title"] = _text(data, "title", MAX_TITLE, errors, required=True)
    if has("description"):
        out["description"] = _text(data, "description", MAX_DESCRIPTION, errors, multiline=True)
    if has("kind"):
        kind = data.get("kind")
        if not _is_choice(kind, EventKind):
            errors.setdefault("kind", []).append(_l("Unknown kind of event."))
        out["kind"] = kind
    for key in ("starts_at", "ends_at"):
        if has(key):
            out[key] = _aware(data.get(key), key, errors, required=True)
    for key in ("signup_opens_at", "signup_closes_at"):
        if key in data:
            out[key] = _aware(data.get(key), key, errors)
    if has("capacity") and "capacity" in data:
        out["capacity"] = _capacity(data.get("capacity"), errors)
    if "fees" in data:
        out["fees"] = clean_fees(data.get("fees"), errors)
    if "fee_basis" in data:
        if not _is_choice(data["fee_basis"], FeeBasis):
            errors.setdefault("fee_basis", []).append(_l("Unknown value."))
        out["fee_basis"] = data["fee_basis"]
    if "venue" in data:
        out["venue"] = clean_venue(data.get("venue"), errors)
    if "venue_id" in data:
        out["venue_id"] = _int(data.get("venue_id"), "venue_id", errors, 1, 2**31 - 1)
    if "status" in data:
        status = data.get("status")
        if not _is_choice(status, EventStatus):
            errors.setdefault("status", []).append(_l("Unknown status."))
        out["status"] = status
    if errors:
        raise ValidationFailed(fields=errors)
    return out


def _check_times(starts_at, ends_at, opens, closes) -> None:
    errors: dict = {}
    if starts_at and ends_at:
        if ends_at <= starts_at:
            errors["ends_at"] = [_l("The end must be after the start.")]
        elif ends_at - starts_at > MAX_DURATION:
            errors["ends_at"] = [_l("An event lasts at most 14 days.")]
    if opens and closes and closes <= opens:
        errors["signup_closes_at"] = [_l("Sign-up must close after it opens.")]
    elif opens and not closes and starts_at and opens >= starts_at:
        # without a deadline sign-up closes at the start: opening at or after it, the
        # page would promise a sign-up that never opens
        errors["signup_opens_at"] = [_l("Sign-up must open before the event starts.")]
    if closes and ends_at and closes > ends_at:
        errors["signup_closes_at"] = [_l("Sign-up must close before the event ends.")]
    if errors:
        raise ValidationFailed(fields=errors)


# ---------------------------------------------------------------------------------------
# Writing


def _resolve_venue(session, branch_id: int, data: dict) -> Venue | None:
    if data.get("venue"):
        venue = Venue(branch_id=branch_id, **data["venue"])
        session.add(venue)
        return venue
    if data.get("venue_id"):
        venue = session.get(Venue, data["venue_id"])
        if venue is None:
            raise ValidationFailed(fields={"venue_id": [_l("Unknown venue.")]})
        if venue.branch_id != branch_id:  # an organizer of several groups sees all venues
            raise ValidationFailed(fields={"venue_id": [_l(
                "This venue belongs to another group (%(group)s). Choose a venue of the "
                "group this event is for, or enter a new one below.",
                group=venue.branch.name)]})
        return venue
    return None


def list_venues(session, branch_ids) -> list[Venue]:
    return list(session.scalars(
        sa.select(Venue).where(Venue.branch_id.in_(branch_ids)).order_by(Venue.name)))


def set_fees(session, event: Event, fees: list[dict]) -> None:
    """Replace the fee table, keeping rows by code. A fee that people chose cannot go."""
    from gathering.rsvp.models import Attendee

    by_code = {f.code: f for f in event.fees}
    wanted = {f["code"] for f in fees}
    changed = False
    for code, row in by_code.items():
        if code not in wanted:
            used = session.scalar(
                sa.select(sa.func.count(Attendee.id)).where(Attendee.fee_category_id == row.id))
            if used:
                raise Conflict(_l("The fee %(label)s is chosen by people who signed up; "
                                  "it cannot be removed.", label=row.label), code="fee_in_use")
            event.fees.remove(row)
            changed = True
    for position, fee in enumerate(fees):
        row = by_code.get(fee["code"])
        if row is None:
            event.fees.append(FeeCategory(code=fee["code"], label=fee["label"],
                                          amount=fee["amount"], position=position))
            changed = True
        elif (row.label, row.amount, row.position) != (fee["label"], fee["amount"], position):
            row.label, row.amount, row.position = fee["label"], fee["amount"], position
            changed = True
    if changed and event.id is not None:
        # fee rows are not the event's row: mark the event edited (feeds' LAST-MODIFIED)
        event.updated_at = utcnow()


def check_can_manage(user: User, branch_id: int) -> None:
    if not user.can_manage_branch(branch_id):
        raise Forbidden()


def create_event(session, user: User, branch: Branch, data: dict) -> Event:
    """A one-off event from cleaned data (see clean_event_data). Raises on bad times."""
    check_can_manage(user, branch.id)
    _check_times(data.get("starts_at"), data.get("ends_at"), data.get("signup_opens_at"),
                 data.get("signup_closes_at"))
    status = data.get("status") or EventStatus.draft.value
    if status == EventStatus.cancelled:
        raise ValidationFailed(fields={"status": [_l("A new event cannot be cancelled.")]})
    event = Event(
        branch_id=branch.id,
        kind=data.get("kind") or EventKind.other.value,
        title=data["title"],
        description=data.get("description", ""),
        starts_at=data["starts_at"],
        ends_at=data["ends_at"],
        capacity=data.get("capacity"),
        status=status,
        signup_opens_at=data.get("signup_opens_at"),
        signup_closes_at=data.get("signup_closes_at"),
        fee_basis=data.get("fee_basis") or FeeBasis.attended.value,
    )
    event.venue = _resolve_venue(session, branch.id, data)
    session.add(event)
    set_fees(session, event, data.get("fees") or [])
    session.flush()
    return event


def update_event(session, user: User, event: Event, data: dict, *, now=None,
                 confirm_past: bool = True) -> list:
    """Edit one event (an occurrence of a series is then detached from the series).

    Returns the waiting parties a larger capacity confirmed (the caller mails them after
    its commit: ``gathering.rsvp.mails.notify_promoted``).
    Raises Forbidden, ValidationFailed, or Conflict (capacity below the people confirmed,
    a cancelled event edited, a fee in use removed, back to draft with sign-ups, or a
    draft cancelled: EventNotPublished, see cancel_event).
    With ``confirm_past`` false, an edit that makes an event not over yet end in the past
    (a month mistyped) raises MoveIntoPastNeedsConfirmation and changes nothing; the API
    leaves it true (its clients send dates deliberately).
    """
    check_can_manage(user, event.branch_id)
    if event.status == EventStatus.cancelled:
        # Calendars have already removed it and families were told; a cancelled event is
        # final (publish_event refuses it too). Create a new event instead.
        raise Conflict(_l("This event is cancelled."), code="event_cancelled")
    if data.get("status") == EventStatus.cancelled:
        check_can_cancel(event)  # before anything changes: a draft is refused whole
    if (data.get("status") == EventStatus.draft and event.status == EventStatus.published
            and registrations_count(session, event)):
        # people who signed up would lose their event page and ticket
        raise Conflict(_l("People have signed up; the event cannot go back to draft. "
                          "Cancel it instead."), code="has_registrations")
    before = {k: getattr(event, k) for k in SCHEDULE_FIELDS}
    before_capacity = event.capacity if event.capacity is not None else 0
    data = _with_window_moved(event, data)
    starts = data.get("starts_at", event.starts_at)
    ends = data.get("ends_at", event.ends_at)
    opens = data.get("signup_opens_at", event.signup_opens_at)
    closes = data.get("signup_closes_at", event.signup_closes_at)
    _check_times(starts, ends, opens, closes)
    current = now or utcnow()
    if not confirm_past and event.ends_at > current and ends <= current:
        raise MoveIntoPastNeedsConfirmation(parties=registrations_count(session, event))
    if _lowers_below_taken(event, data.get("capacity", event.capacity)):
        raise Conflict(
            _l("%(n)d people are already confirmed; the capacity cannot be lower.",
               n=event.seats_taken), code="capacity_below_confirmed")
    for key in ("title", "description", "kind", "starts_at", "ends_at", "capacity",
                "signup_opens_at", "signup_closes_at", "fee_basis"):
        if key in data:
            setattr(event, key, data[key])
    if "venue" in data or "venue_id" in data:
        event.venue = _resolve_venue(session, event.branch_id, data)
    if "fees" in data:
        set_fees(session, event, data["fees"])
    status = data.get("status")
    if status == EventStatus.cancelled:
        cancel_event(session, user, event, now=now)
    elif status and status != event.status:
        event.status = status
    if event.series_id is not None:
        event.is_detached = True
    if any(getattr(event, k) != v for k, v in before.items()) and status != "cancelled":
        event.sequence += 1
    session.flush()
    if "capacity" in data and event.is_published and (
            event.capacity is None or event.capacity > before_capacity):
        from gathering.rsvp.services import promote_waitlist

        return promote_waitlist(session, event, now=now or utcnow())  # new seats: who waits
    return []


def _lowers_below_taken(event: Event, capacity: int | None) -> bool:
    """Whether ``capacity`` lowers the event's seats below the people already confirmed.

    Only a lowering is refused: an event the door overbooked (walk-ins beyond capacity)
    keeps its capacity, or gets a larger one, through any edit of its other fields."""
    if capacity is None or capacity >= event.seats_taken:
        return False
    return event.capacity is None or capacity < event.capacity


def _with_window_moved(event: Event, data: dict) -> dict:
    """The edit, with the sign-up window moved along when the start moves.

    A sign-up window the edit leaves as it was (absent, or sent back unchanged by the form)
    keeps its distance to the start: moving 2/3 to 2/10 moves a deadline of 2/2 19:00 to
    2/9 19:00. For a date of a series that is the series rule (``_occurrence_fields``:
    days and hours before the start) applied to the new start. A window the organizer
    changed in the same edit is theirs and stays as typed."""
    new_start = data.get("starts_at")
    if new_start is None or new_start == event.starts_at:
        return data
    shift = new_start - event.starts_at
    moved = dict(data)
    for key in ("signup_opens_at", "signup_closes_at"):
        current = getattr(event, key)
        if current is not None and data.get(key, current) == current:
            moved[key] = current + shift
    return moved


def publish_event(session, user: User, event: Event) -> Event:
    check_can_manage(user, event.branch_id)
    if event.status == EventStatus.cancelled:
        raise Conflict(_l("This event is cancelled."), code="event_cancelled")
    if event.status != EventStatus.published:
        event.status = EventStatus.published.value
        event.sequence += 1
    session.flush()
    return event


def check_can_cancel(event: Event) -> None:
    """Whether the event can be cancelled: only a published one. Raises Conflict
    ``already_cancelled``, or EventNotPublished (``event_not_published``) for a draft."""
    if event.status == EventStatus.cancelled:
        raise Conflict(_l("This event is already cancelled."), code="already_cancelled")
    if event.status != EventStatus.published:
        raise EventNotPublished()


def cancel_event(session, user: User, event: Event, *, now=None) -> Event:
    """Cancel (中止) a published event; it stays visible, marked, and in feeds as
    STATUS:CANCELLED. A draft is refused (check_can_cancel): public reads show every
    event that is not a draft, so a cancelled draft would become public, and a draft has
    nothing to call off (nobody can sign up for it). Raises Forbidden or Conflict."""
    check_can_manage(user, event.branch_id)
    check_can_cancel(event)
    event.status = EventStatus.cancelled.value
    event.cancelled_at = now or utcnow()
    event.sequence += 1
    if event.series_id is not None:
        event.is_detached = True
    session.flush()
    return event


# ---------------------------------------------------------------------------------------
# Series


def clean_series_data(data: dict) -> dict:
    """Check a series: pattern, first date, times, capacity and fees. Raises ValidationFailed."""
    errors: dict = {}
    out: dict = {}
    out["title"] = _text(data, "title", MAX_TITLE, errors, required=True)
    out["description"] = _text(data, "description", MAX_DESCRIPTION, errors, multiline=True)
    if not _is_choice(data.get("kind"), EventKind):
        errors.setdefault("kind", []).append(_l("Unknown kind of event."))
    out["kind"] = data.get("kind")
    out["starts_at"] = _aware(data.get("starts_at"), "starts_at", errors, required=True)
    out["duration_minutes"] = _series_minutes(data.get("duration_minutes"), errors)
    out["capacity"] = _capacity(data.get("capacity"), errors)
    out["fees"] = clean_fees(data.get("fees"), errors)
    out["status"] = data.get("status") or EventStatus.draft.value
    if not isinstance(out["status"], str) or out["status"] not in (EventStatus.draft,
                                                                    EventStatus.published):
        errors.setdefault("status", []).append(_l("Unknown status."))
    out["signup_opens_days_before"] = _int(data.get("signup_opens_days_before"),
                                           "signup_opens_days_before", errors, 0, 365)
    out["signup_closes_hours_before"] = _int(data.get("signup_closes_hours_before"),
                                             "signup_closes_hours_before", errors, 0,
                                             24 * 60) or 0
    opens_days = out["signup_opens_days_before"]
    if opens_days is not None and opens_days * 24 <= out["signup_closes_hours_before"]:
        # e.g. opening on the day and closing 48 hours before: the window never opens
        errors.setdefault("signup_closes_hours_before", []).append(
            _l("Sign-up must close after it opens."))
    out["ends_on"] = _day(data.get("ends_on"), "ends_on", errors)
    if out["ends_on"] and out["starts_at"] and \
            out["ends_on"] < out["starts_at"].astimezone(TOKYO).date():
        errors.setdefault("ends_on", []).append(
            _l("The last date cannot be before the first date."))
    out["venue_id"] = _int(data.get("venue_id"), "venue_id", errors, 1, 2**31 - 1)
    out["venue"] = clean_venue(data.get("venue"), errors)
    out["fee_basis"] = data.get("fee_basis") or FeeBasis.attended.value
    if not _is_choice(out["fee_basis"], FeeBasis):
        errors.setdefault("fee_basis", []).append(_l("Unknown value."))
    pattern = data.get("pattern")
    try:
        out["rrule"] = recurrence.to_rrule(pattern) if isinstance(pattern, recurrence.Pattern) \
            else recurrence.to_rrule(recurrence.from_rrule(str(data.get("rrule") or "")))
    except (recurrence.PatternError, ValueError) as exc:
        errors.setdefault(getattr(exc, "field", "pattern"), []).append(
            _l("Choose a valid repeat pattern."))
    if errors:
        raise ValidationFailed(fields=errors)
    if out["starts_at"] and out["rrule"]:
        first = recurrence.occurrences(
            out["rrule"], out["starts_at"], out["starts_at"],
            recurrence.bounded(out["starts_at"] + relativedelta(years=2), out["ends_on"]))
        if not first:
            raise ValidationFailed(fields={"pattern": [_l("This pattern has no dates.")]})
    return out


def _series_minutes(value, errors: dict) -> int | None:
    """How long each date of a series lasts: MIN_SERIES_MINUTES to MAX_SERIES_MINUTES. The
    refusal says it is the length of a date, in minutes, and how long these times make it
    (a bare "between 15 and 1440" names neither)."""
    minutes = _int(value, "duration_minutes", errors, -MAX_SERIES_MINUTES * 100,
                   MAX_SERIES_MINUTES * 100, allow_none=False)
    if minutes is None:
        return None
    if minutes <= 0:
        errors.setdefault("duration_minutes", []).append(_l("The end must be after the start."))
        return None
    if minutes < MIN_SERIES_MINUTES:
        errors.setdefault("duration_minutes", []).append(lazy_ngettext(
            "Each date must last at least %(min)d minutes; with these times it lasts "
            "%(num)d minute.",
            "Each date must last at least %(min)d minutes; with these times it lasts "
            "%(num)d minutes.", minutes, min=MIN_SERIES_MINUTES))
        return None
    if minutes > MAX_SERIES_MINUTES:
        errors.setdefault("duration_minutes", []).append(_l(
            "Each date lasts at most %(hours)d hours.", hours=MAX_SERIES_MINUTES // 60))
        return None
    return minutes


def _occurrence_fields(series: Series, start: datetime) -> dict:
    end = start + timedelta(minutes=series.duration_minutes)
    opens = (start - timedelta(days=series.signup_opens_days_before)
             if series.signup_opens_days_before is not None else None)
    closes = start - timedelta(hours=series.signup_closes_hours_before) \
        if series.signup_closes_hours_before else None
    return dict(kind=series.kind, title=series.title, description=series.description,
                starts_at=start, ends_at=end, capacity=series.capacity,
                venue_id=series.venue_id, signup_opens_at=opens, signup_closes_at=closes,
                fee_basis=series.fee_basis)


def horizon(now: datetime, months: int) -> datetime:
    return now + relativedelta(months=months)


def materialise_series(session, series: Series, *, now: datetime, months: int) -> list[Event]:
    """Create the occurrences that do not exist yet, from now up to ``months`` ahead, and
    none after the series' last date (``ends_on``)."""
    until = recurrence.bounded(horizon(now, months), series.ends_on)
    existing = set(session.scalars(
        sa.select(Event.original_starts_at).where(Event.series_id == series.id)))
    created = []
    start_from = max(now - timedelta(days=1), series.starts_at)
    for start in recurrence.occurrences(series.rrule, series.starts_at, start_from, until):
        if start in existing:
            continue
        event = Event(branch_id=series.branch_id, series_id=series.id, original_starts_at=start,
                      status=series.status, **_occurrence_fields(series, start))
        for position, fee in enumerate(series.fee_template or []):
            event.fees.append(FeeCategory(code=fee["code"], label=fee["label"],
                                          amount=fee["amount"], position=position))
        session.add(event)
        created.append(event)
    series.materialised_until = until
    session.flush()
    return created


def materialise_all(session, *, now: datetime, months: int) -> int:
    """Extend every series (the cron command). Returns how many occurrences were created."""
    total = 0
    for series in session.scalars(sa.select(Series).where(Series.status != "cancelled")):
        total += len(materialise_series(session, series, now=now, months=months))
    return total


def create_series(session, user: User, branch: Branch, data: dict, *, now: datetime,
                  months: int) -> Series:
    """A recurring series from cleaned data; its occurrences are materialised at once."""
    check_can_manage(user, branch.id)
    series = Series(branch_id=branch.id, kind=data["kind"], title=data["title"],
                    description=data["description"], rrule=data["rrule"],
                    starts_at=data["starts_at"], duration_minutes=data["duration_minutes"],
                    capacity=data["capacity"], status=data["status"],
                    fee_template=data["fees"], fee_basis=data["fee_basis"],
                    signup_opens_days_before=data["signup_opens_days_before"],
                    signup_closes_hours_before=data["signup_closes_hours_before"],
                    ends_on=data.get("ends_on"))
    venue = _resolve_venue(session, branch.id, data)
    session.add(series)
    session.flush()
    if venue is not None:
        session.flush()
        series.venue_id = venue.id
    materialise_series(session, series, now=now, months=months)
    return series


def affected_occurrences(session, series: Series, now: datetime) -> list[Event]:
    """Future occurrences not edited by hand: those a series edit changes."""
    return list(session.scalars(
        sa.select(Event).where(Event.series_id == series.id, Event.is_detached.is_(False),
                               Event.starts_at > now, Event.status != "cancelled")
        .order_by(Event.starts_at)))


def update_series(session, user: User, series: Series, data: dict, *, now: datetime,
                  months: int, confirm: bool = False) -> dict:
    """Apply a series edit to its future occurrences that were not edited by hand.

    Occurrences that the new rule no longer gives are removed (or cancelled, if people
    signed up: only a published date can have sign-ups, and cancel_event refuses a draft,
    so no draft date is ever made public by being cancelled); changed ones get the new
    time, place, capacity and fees. If any affected occurrence has registrations, nothing
    changes unless ``confirm`` is true: raises SeriesChangeNeedsConfirmation listing them.
    Returns counts of what happened (``updated``, ``removed``, ``cancelled``, ``created``)
    and ``cancelled_events``, the occurrences this edit cancelled, whose parties the
    caller tells after its commit (``gathering.rsvp.mails.notify_event_cancelled``).
    Dates cancelled before are not affected, so an edit sent again cancels (and tells)
    nobody twice.

    A larger capacity moves the waiting list up on each date whose seats grew
    (``promoted``: the parties confirmed, mailed by the caller with ``notify_promoted``). A
    capacity is never lowered below the people confirmed (such a date keeps what it needs)
    and an overbooked date is not raised by it. ``moved_events`` lists (event, old start,
    old end) of the dates with sign-ups that a new time moved, for
    ``notify_event_moved`` after the commit.

    A last date (``ends_on``) set earlier is one more way for the rule to no longer give a
    date: those after it are removed or cancelled as above. A draft status is refused with
    SeriesDraftHasRegistrations, before anything changes and whatever ``confirm`` says,
    when a published date the new rule keeps has sign-ups (as update_event refuses it).
    """
    check_can_manage(user, series.branch_id)
    if lock_for_write(session):
        # the same edit sent twice at once: the second waits here and then finds the dates
        # the first cancelled already cancelled (on SQLite BEGIN IMMEDIATE did this)
        session.refresh(series, with_for_update=True)
    affected = affected_occurrences(session, series, now)
    until = recurrence.bounded(horizon(now, months), data.get("ends_on"))
    keep = set(recurrence.occurrences(data["rrule"], data["starts_at"], now, until))
    with_people = [e for e in affected if registrations_count(session, e)]
    if data["status"] == EventStatus.draft:
        # a new time of day keeps a date (_reanchor_same_day): what counts is its day
        kept_days = {start.astimezone(TOKYO).date() for start in keep}
        booked = [e for e in with_people if e.is_published
                  and e.original_starts_at.astimezone(TOKYO).date() in kept_days]
        if booked:
            raise SeriesDraftHasRegistrations(events=[e.id for e in booked])
    if with_people and not confirm:
        raise SeriesChangeNeedsConfirmation(events=[e.id for e in with_people])
    for key in ("kind", "title", "description", "rrule", "starts_at", "duration_minutes",
                "capacity", "status", "fee_basis", "signup_opens_days_before",
                "signup_closes_hours_before"):
        setattr(series, key, data[key])
    series.ends_on = data.get("ends_on")
    series.fee_template = data["fees"]
    venue = _resolve_venue(session, series.branch_id, data)
    if venue is not None:
        session.flush()
        series.venue_id = venue.id
    series.sequence += 1
    _reanchor_same_day(session, series, keep, now)
    result = {"updated": 0, "removed": 0, "cancelled": 0, "created": 0}
    cancelled: list[Event] = []
    grown: list[Event] = []
    moved: list[tuple[Event, datetime, datetime]] = []
    for event in affected:
        if event.original_starts_at not in keep:
            if registrations_count(session, event):
                cancel_event(session, user, event, now=now)
                event.is_detached = False
                cancelled.append(event)
                result["cancelled"] += 1
            else:
                session.delete(event)
                result["removed"] += 1
            continue
        fields = _occurrence_fields(series, event.original_starts_at)
        if _lowers_below_taken(event, fields["capacity"]):
            # never below the people confirmed, and never raised by an edit that lowers it
            # (an overbooked date keeps the capacity it had)
            fields["capacity"] = (event.seats_taken if event.capacity is None
                                  else max(fields["capacity"],
                                           min(event.capacity, event.seats_taken)))
        old_times = (event.starts_at, event.ends_at)
        grew = event.capacity is not None and (fields["capacity"] is None
                                               or fields["capacity"] > event.capacity)
        changed = any(getattr(event, k) != v for k, v in fields.items()
                      if k in ("starts_at", "ends_at", "venue_id"))
        for key, value in fields.items():
            setattr(event, key, value)
        if event.status != series.status:
            event.status = series.status
            changed = True
        set_fees(session, event, series.fee_template or [])
        if changed:
            event.sequence += 1
        if grew:
            grown.append(event)
        if (event.starts_at, event.ends_at) != old_times and registrations_count(session,
                                                                                   event):
            moved.append((event, *old_times))
        result["updated"] += 1
    session.flush()
    from gathering.rsvp.services import promote_waitlist

    promoted = [reg for event in grown if event.is_published
                for reg in promote_waitlist(session, event, now=now)]
    result["created"] = len(materialise_series(session, series, now=now, months=months))
    result["cancelled_events"] = cancelled
    result["promoted"] = promoted
    result["moved_events"] = moved
    return result


def _reanchor_same_day(session, series: Series, keep: set, now: datetime) -> None:
    """A new time of day (or length) moves an occurrence; it does not replace it.

    Every occurrence from now on whose day the new rule still gives takes that day's new
    start as its origin: an affected one, so its sign-ups stay with it instead of being
    cancelled and re-created; a cancelled one or one edited by hand, so the series does not
    give that day a second, new date beside it (a date called off must stay called off),
    and calendars read it as that day's occurrence.
    """
    by_day: dict = {}
    for start in keep:
        by_day.setdefault(start.astimezone(TOKYO).date(), start)
    occurrences = list(session.scalars(sa.select(Event).where(
        Event.series_id == series.id, Event.original_starts_at >= now - timedelta(days=1))
        .order_by(Event.original_starts_at)))
    taken = {e.original_starts_at for e in occurrences}
    for event in occurrences:
        if event.original_starts_at in keep:
            continue
        start = by_day.get(event.original_starts_at.astimezone(TOKYO).date())
        if start is not None and start not in taken:
            taken.discard(event.original_starts_at)
            event.original_starts_at = start
            taken.add(start)


def get_series_for_user(session, series_id: int, user: User) -> Series:
    series = session.get(Series, series_id)
    if series is None:
        raise NotFound()
    check_can_manage(user, series.branch_id)
    return series


# ---------------------------------------------------------------------------------------
# Seats: the one place capacity is enforced (sign-ups, walk-ins, edits, cancellations)


_SEATS = Event.__table__.c
_COUNT = sa.bindparam("count", type_=sa.Integer)
# Built once (every sign-up runs one). updated_at stays: a seat taken is not an edit
# (calendar feeds key on updated_at). The new count comes back with the UPDATE: no reload.
_TAKE_SEATS = (
    sa.update(Event.__table__).where(_SEATS.id == sa.bindparam("event_id"))
    .values(seats_taken=_SEATS.seats_taken + _COUNT, updated_at=_SEATS.updated_at)
    .returning(_SEATS.seats_taken))
_TAKE_FREE_SEATS = _TAKE_SEATS.where(
    sa.or_(_SEATS.capacity.is_(None), _SEATS.seats_taken + _COUNT <= _SEATS.capacity))


def take_seats(session, event: Event, count: int, *, allow_overbook: bool = False) -> bool:
    """Take ``count`` seats if they are free, atomically in the database. Returns whether
    it did.

    A guarded UPDATE (``seats_taken + n <= capacity``) is atomic on SQLite and PostgreSQL
    alike; on PostgreSQL the row stays locked until commit, on SQLite the write transaction
    (BEGIN IMMEDIATE, or the first write of a late-locking one) serialises writers. Keep it
    in the same transaction as the attendee rows it counts, on an event from
    ``lock_event``: when no seat was taken the row did not change, so the locked
    ``seats_taken`` the session holds is still current.
    """
    if count <= 0:
        return True
    # A table UPDATE, not the ORM's (which costs as much again in Python); so flush first,
    # as the ORM's UPDATE would, and set the new count on the object below.
    session.flush()
    taken = session.execute(_TAKE_SEATS if allow_overbook else _TAKE_FREE_SEATS,
                            {"event_id": event.id, "count": count}).scalar_one_or_none()
    if taken is None:
        return False
    sa.orm.attributes.set_committed_value(event, "seats_taken", taken)
    return True


def release_seats(session, event: Event, count: int) -> None:
    """Give back ``count`` seats (a cancellation); never below zero."""
    if count <= 0:
        return
    session.execute(
        sa.update(Event).where(Event.id == event.id)
        .values(seats_taken=sa.case((Event.seats_taken >= count, Event.seats_taken - count),
                                    else_=0), updated_at=Event.updated_at)
        .execution_options(synchronize_session=False))
    session.refresh(event, ["seats_taken"])


# Built once: building it cost more than running it.
_LOCK_EVENT = (
    _EVENT.with_for_update(of=Event)
    .options(sa.orm.joinedload(Event.venue)).execution_options(populate_existing=True))
#: what a change of seats decides on (the window, the state, the seats), read again under
#: the lock when the session holds the event already
_SEAT_STATE = ("status", "capacity", "seats_taken", "signup_opens_at", "signup_closes_at",
               "starts_at", "ends_at")
_LOCK_SEAT_STATE = sa.select(*(getattr(Event, name) for name in _SEAT_STATE)).where(
    Event.id == sa.bindparam("event_id")).with_for_update()


def lock_event(session, event_id: int) -> Event:
    """Load an event for a change of its seats, current and locked until commit.

    PostgreSQL, and SQLite in a transaction that locks late: the lock is taken now (SELECT …
    FOR UPDATE; SQLite's write lock) and what seat rules decide on is read again (the
    window, the state, capacity and seats taken) when the session holds the event already,
    else the whole event with its venue (a confirmation mail names it). SQLite under BEGIN
    IMMEDIATE already held the database lock before anything was read, so the event as this
    transaction loaded it is current; it comes from the session when it is there, without
    a statement."""
    if not lock_for_write(session):
        event = session.get(Event, event_id)
    elif (event := session.identity_map.get(identity_key(Event, event_id))) is not None:
        row = session.execute(_LOCK_SEAT_STATE, {"event_id": event_id}).one_or_none()
        if row is None:
            event = None
        else:
            for name, value in zip(_SEAT_STATE, row, strict=True):
                sa.orm.attributes.set_committed_value(event, name, value)
    else:
        event = session.scalar(_LOCK_EVENT, {"event_id": event_id})
    if event is None:
        raise NotFound(_l("This event does not exist."))
    return event
