"""The reads behind the calendar feeds: which events a feed holds, in a fixed number of
queries however many there are, and the filters a feed URL may carry.

A feed holds what the public event pages show: published events, and cancelled ones for
a while after their cancellation (CANCELLED_EVENTS_IN_FEED_DAYS) so that calendar apps
learn of it and remove them. Drafts never. Past events stay for FEED_PAST_DAYS so that a
subscriber's calendar keeps its recent history.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload, subqueryload

from gathering.accounts.models import Branch
from gathering.errors import GatheringError, NotFound
from gathering.events.models import Event, EventKind, EventStatus, Series
from gathering.rsvp.models import Registration
from gathering.security import new_token
from gathering.timeutil import TOKYO

#: how many values one filter may list (?branch=a,b&branch=c …)
MAX_FILTER_VALUES = 20
#: what a branch slug can be (letters of any script, digits, _ and -): anything else is
#: malformed (400), a well-formed slug that no branch has is unknown (404)
_SLUG_RE = re.compile(r"^[\w-]{1,60}$")
_KIND_RE = re.compile(r"^[a-z_]{1,30}$")
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class BadFilter(GatheringError):
    """A feed filter that cannot be read (a malformed slug or kind, too many values)."""

    code = "bad_filter"
    status = 400
    default_message = _l("The calendar filter is malformed.")


@dataclass
class FeedFilter:
    """Which events a feed holds: any of ``branches`` and any of ``kinds`` (empty: all)."""

    branches: list[Branch] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)

    @property
    def is_all(self) -> bool:
        return not self.branches and not self.kinds


def split_values(raw: list[str]) -> list[str]:
    """``["a,b", "c", ""]`` → ``["a", "b", "c"]`` (order kept, duplicates and blanks gone)."""
    out: list[str] = []
    for item in raw:
        for value in item.split(","):
            value = value.strip()
            if value and value not in out:
                out.append(value)
    return out


def resolve_filter(session, branch_slugs: list[str], kinds: list[str]) -> FeedFilter:
    """Check a feed's filters. Raises BadFilter (malformed) or NotFound (unknown branch or
    kind)."""
    if len(branch_slugs) > MAX_FILTER_VALUES or len(kinds) > MAX_FILTER_VALUES:
        raise BadFilter()
    if any(not _SLUG_RE.match(s) for s in branch_slugs) or any(
            not _KIND_RE.match(k) for k in kinds):
        raise BadFilter()
    known_kinds = {k.value for k in EventKind}
    if any(k not in known_kinds for k in kinds):
        raise NotFound(_l("Unknown kind of event."), code="unknown_kind")
    branches: list[Branch] = []
    if branch_slugs:
        found = {b.slug: b for b in session.scalars(
            sa.select(Branch).where(Branch.slug.in_(branch_slugs)))}
        if len(found) != len(branch_slugs):
            raise NotFound(_l("Unknown branch."), code="unknown_branch")
        branches = [found[s] for s in branch_slugs]
    return FeedFilter(branches, kinds)


def day_start(now: datetime) -> datetime:
    """Midnight in Tokyo of ``now``'s day: feeds change with the day, not the second, so a
    feed stays byte-identical (and answers 304) all day when nothing is edited."""
    local = now.astimezone(TOKYO)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def _feed_conditions(feed: FeedFilter, *, now: datetime, past_days: int,
                     cancelled_days: int) -> list:
    today = day_start(now)
    kept_since = today - timedelta(days=cancelled_days)
    cancelled_when = sa.func.coalesce(Event.cancelled_at, Event.updated_at)
    conditions = [
        sa.or_(Event.status == EventStatus.published.value,
               sa.and_(Event.status == EventStatus.cancelled.value,
                       cancelled_when >= kept_since)),
        Event.ends_at >= today - timedelta(days=past_days),
    ]
    if feed.branches:
        conditions.append(Event.branch_id.in_([b.id for b in feed.branches]))
    if feed.kinds:
        conditions.append(Event.kind.in_(feed.kinds))
    return conditions


def feed_events(session, feed: FeedFilter, *, now: datetime, past_days: int,
                cancelled_days: int) -> list[Event]:
    """The events of a feed, soonest first, with venue, branch, fees and series loaded:
    two queries, however many events there are."""
    q = (
        sa.select(Event)
        .where(*_feed_conditions(feed, now=now, past_days=past_days,
                                 cancelled_days=cancelled_days))
        .options(joinedload(Event.venue), joinedload(Event.branch),
                 joinedload(Event.series).joinedload(Series.venue),
                 # one query for all fees (selectinload would batch 500 ids at a time)
                 subqueryload(Event.fees))
        .order_by(Event.starts_at, Event.id)
    )
    return list(session.scalars(q).unique())


@dataclass(frozen=True)
class FeedVersion:
    """What a feed's bytes depend on in the database, read in one aggregate query: equal
    versions (on the same day, language and settings) mean byte-identical feeds, so the
    version is the ETag, and a 304 or a cached body needs no feed built.

    Every edit of an event or a series moves ``updated_at`` (seat counts do not: they are
    not in feeds), a deleted or added event changes the count and the id sum, and the
    feed's window moves with the day.
    """

    day: datetime
    count: int
    id_sum: int
    sequence_sum: int
    events_modified: datetime | None
    series_count: int
    series_modified: datetime | None
    #: the latest edit of any event or series of the feed's groups, those no longer in the
    #: feed included: taking a date back to draft, giving it another kind or removing it
    #: from its series takes it out of the feed without touching those that stay. Not part
    #: of the version (nor of the ETag): the bytes do not depend on it, Last-Modified does.
    left_modified: datetime | None = field(default=None, compare=False, repr=False)

    @property
    def last_modified(self) -> datetime:
        """The latest edit, or the start of today (when the window last moved): later than
        any change of the feed's bytes, so that a client asking If-Modified-Since (without
        an ETag) is never told "not modified" about a feed that lost an event."""
        return max(s for s in (self.day, self.events_modified, self.series_modified,
                               self.left_modified) if s)


def feed_version(session, feed: FeedFilter, *, now: datetime, past_days: int,
                 cancelled_days: int) -> FeedVersion:
    """The feed's version (see FeedVersion): one aggregate query."""
    touched_event = sa.select(sa.func.max(Event.updated_at))
    touched_series = sa.select(sa.func.max(Series.updated_at))
    if feed.branches:  # any kind, any status, any date: what may have left the feed
        ids = [b.id for b in feed.branches]
        touched_event = touched_event.where(Event.branch_id.in_(ids))
        touched_series = touched_series.where(Series.branch_id.in_(ids))
    row = session.execute(
        sa.select(sa.func.count(Event.id), sa.func.coalesce(sa.func.sum(Event.id), 0),
                  sa.func.coalesce(sa.func.sum(Event.sequence), 0),
                  sa.func.max(Event.updated_at), sa.func.count(Series.id),
                  sa.func.max(Series.updated_at),
                  touched_event.scalar_subquery(), touched_series.scalar_subquery())
        .select_from(Event).outerjoin(Series, Event.series_id == Series.id)
        .where(*_feed_conditions(feed, now=now, past_days=past_days,
                                 cancelled_days=cancelled_days))
    ).one()
    left = [value for value in (row[6], row[7]) if value is not None]
    return FeedVersion(day_start(now), int(row[0]), int(row[1]), int(row[2]), row[3],
                       int(row[4]), row[5], left_modified=max(left) if left else None)


def get_event_for_ics(session, event_id: int) -> Event:
    """A published or cancelled event with what its .ics shows. Raises NotFound (drafts
    too)."""
    event = session.scalar(
        sa.select(Event).where(Event.id == event_id)
        .options(joinedload(Event.venue), joinedload(Event.branch), selectinload(Event.fees)))
    if event is None or event.status == EventStatus.draft:
        raise NotFound(_l("This event does not exist."))
    return event


def get_registration_by_feed_token(session, token: str) -> Registration:
    """The registration whose personal feed this is. Raises NotFound, the same for a
    malformed, unknown or draft-event token, so a wrong URL reveals nothing."""
    if not isinstance(token, str) or not _TOKEN_RE.match(token):
        raise NotFound()
    registration = session.scalar(
        sa.select(Registration).where(Registration.feed_token == token)
        .options(joinedload(Registration.event).joinedload(Event.venue),
                 joinedload(Registration.event).joinedload(Event.branch),
                 joinedload(Registration.event).selectinload(Event.fees)))
    if registration is None or registration.event.status == EventStatus.draft:
        raise NotFound()
    return registration


def ensure_feed_token(session, registration: Registration) -> str:
    """The registration's personal feed token, made on first use. Flushes."""
    if not registration.feed_token:
        registration.feed_token = new_token()
        session.flush()
    return registration.feed_token


def list_feed_kinds() -> list[EventKind]:
    return list(EventKind)
