"""Venues, recurring series, events (one gathering at one time) and their fee tables."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gathering.accounts.models import Branch
from gathering.extensions import db
from gathering.timeutil import UTCDateTime, utcnow


class EventKind(enum.StrEnum):
    kids_cafeteria = "kids_cafeteria"
    shared_meal = "shared_meal"
    film_screening = "film_screening"
    study_session = "study_session"
    workshop = "workshop"
    summit = "summit"
    other = "other"

    @property
    def label(self):
        return KIND_LABELS[self]


KIND_LABELS = {
    EventKind.kids_cafeteria: _l("Children's cafeteria"),
    EventKind.shared_meal: _l("Shared meal"),
    EventKind.film_screening: _l("Film screening"),
    EventKind.study_session: _l("Study session"),
    EventKind.workshop: _l("Workshop"),
    EventKind.summit: _l("Summit / exchange meeting"),
    EventKind.other: _l("Other"),
}


class EventStatus(enum.StrEnum):
    draft = "draft"
    published = "published"
    cancelled = "cancelled"

    @property
    def label(self):
        return {
            EventStatus.draft: _l("Draft"),
            EventStatus.published: _l("Published"),
            EventStatus.cancelled: _l("Cancelled"),
        }[self]


class FeeBasis(enum.StrEnum):
    """Who owes the fee: everyone registered, or only those who came (子ども食堂 default)."""

    registered = "registered"
    attended = "attended"


def _uid() -> str:
    return f"{uuid.uuid4()}@tsudoi"


class Venue(db.Model):
    """A place where gatherings happen."""

    __tablename__ = "venues"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    postal_code: Mapped[str] = mapped_column(sa.String(8), default="")  # 7 digits, no hyphen
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    access_notes: Mapped[str] = mapped_column(sa.Text, default="")
    accessibility_notes: Mapped[str] = mapped_column(sa.Text, default="")
    map_url: Mapped[str] = mapped_column(sa.String(500), default="")
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)

    branch: Mapped[Branch] = relationship()

    @property
    def postal_code_display(self) -> str:
        pc = self.postal_code or ""
        return f"〒{pc[:3]}-{pc[3:]}" if len(pc) == 7 else pc


class Series(db.Model):
    """A recurring gathering held as an RFC 5545 RRULE; it materialises Event occurrences."""

    __tablename__ = "series"

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"), index=True)
    venue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("venues.id"))
    kind: Mapped[str] = mapped_column(sa.String(30), default=EventKind.other.value)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: RRULE without DTSTART, e.g. FREQ=MONTHLY;BYDAY=2SA,4SA
    rrule: Mapped[str] = mapped_column(sa.String(300))
    #: first occurrence's start; its local wall-clock time is the time of every occurrence
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=120)
    capacity: Mapped[int | None] = mapped_column()
    status: Mapped[str] = mapped_column(sa.String(20), default=EventStatus.draft.value)
    #: fee table copied to each new occurrence: [{"code", "label", "amount"}]
    fee_template: Mapped[list] = mapped_column(sa.JSON, default=list)
    fee_basis: Mapped[str] = mapped_column(sa.String(20), default=FeeBasis.attended.value)
    #: sign-up opens this many days before an occurrence (None: as soon as it is published)
    signup_opens_days_before: Mapped[int | None] = mapped_column()
    #: sign-up closes this many hours before an occurrence starts (0: at the start)
    signup_closes_hours_before: Mapped[int] = mapped_column(default=0)
    #: the last day (Tokyo) a date may fall on, e.g. the end of the 年度; None: no end
    ends_on: Mapped[date | None] = mapped_column(sa.Date)
    #: occurrences exist up to here; the cron command extends it
    materialised_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True, default=_uid)
    sequence: Mapped[int] = mapped_column(default=0)  # iCal SEQUENCE of the series VEVENT
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[Branch] = relationship()
    venue: Mapped[Venue | None] = relationship()
    events: Mapped[list[Event]] = relationship(
        back_populates="series", order_by="Event.starts_at"
    )

    @property
    def kind_enum(self) -> EventKind:
        return EventKind(self.kind)


class Event(db.Model):
    """One gathering at one time and place."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("series_id", "original_starts_at", name="uq_events_series_occurrence"),
        sa.Index("ix_events_status_starts_at", "status", "starts_at"),
        # the upcoming list walks starts_at; its count reads (status, ends_at)
        sa.Index("ix_events_starts_at", "starts_at"),
        sa.Index("ix_events_status_ends_at", "status", "ends_at"),
        sa.Index("ix_events_branch_starts_at", "branch_id", "starts_at"),
        sa.CheckConstraint("capacity IS NULL OR capacity >= 0", name="capacity_nonnegative"),
        sa.CheckConstraint("seats_taken >= 0", name="seats_taken_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    venue_id: Mapped[int | None] = mapped_column(sa.ForeignKey("venues.id"))
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("series.id"), index=True)
    #: the start the series rule gave this occurrence (its iCal RECURRENCE-ID); never changes
    original_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: edited by hand: series edits no longer touch it
    is_detached: Mapped[bool] = mapped_column(default=False)
    kind: Mapped[str] = mapped_column(sa.String(30), default=EventKind.other.value)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int | None] = mapped_column()  # seats (people); None = unlimited
    #: confirmed people, kept in the same transaction as the attendee rows (guarded update)
    seats_taken: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(20), default=EventStatus.draft.value)
    signup_opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signup_closes_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fee_basis: Mapped[str] = mapped_column(sa.String(20), default=FeeBasis.attended.value)
    uid: Mapped[str] = mapped_column(sa.String(80), unique=True, default=_uid)
    sequence: Mapped[int] = mapped_column(default=0)  # iCal SEQUENCE, raised on time/place/status
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    branch: Mapped[Branch] = relationship()
    venue: Mapped[Venue | None] = relationship()
    series: Mapped[Series | None] = relationship(back_populates="events")
    fees: Mapped[list[FeeCategory]] = relationship(
        back_populates="event", order_by="FeeCategory.position", cascade="all, delete-orphan"
    )

    @property
    def kind_enum(self) -> EventKind:
        return EventKind(self.kind)

    @property
    def is_cancelled(self) -> bool:
        return self.status == EventStatus.cancelled

    @property
    def is_published(self) -> bool:
        return self.status == EventStatus.published

    @property
    def seats_left(self) -> int | None:
        if self.capacity is None:
            return None
        return max(self.capacity - self.seats_taken, 0)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.title!r} {self.starts_at:%Y-%m-%d}>"


class FeeCategory(db.Model):
    """One line of an event's fee table, e.g. こども 0円, おとな 300円."""

    __tablename__ = "fee_categories"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "code"),
        sa.CheckConstraint("amount >= 0", name="amount_nonnegative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(sa.String(30))  # stable, e.g. "child", "adult"
    label: Mapped[str] = mapped_column(sa.String(60))
    amount: Mapped[int] = mapped_column(default=0)  # yen
    position: Mapped[int] = mapped_column(default=0)

    event: Mapped[Event] = relationship(back_populates="fees")
