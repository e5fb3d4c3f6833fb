"""Check-ins at the door: who of a registration came, when, recorded by whom."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gathering.accounts.models import User
from gathering.extensions import db
from gathering.rsvp.models import Attendee, Registration
from gathering.timeutil import UTCDateTime, utcnow


class CheckIn(db.Model):
    """One admission or undo of one person. Undo is a new row; rows are never edited."""

    __tablename__ = "checkins"
    __table_args__ = (sa.Index("ix_checkins_event_attendee", "event_id", "attendee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"), index=True)
    attendee_id: Mapped[int] = mapped_column(sa.ForeignKey("attendees.id"))
    action: Mapped[str] = mapped_column(sa.String(10), default="in")  # "in" or "undo"
    nonce: Mapped[str] = mapped_column(sa.String(120), default="")
    device: Mapped[str] = mapped_column(sa.String(120), default="")
    #: when the admission happened on the device (offline scans arrive later)
    scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    was_offline: Mapped[bool] = mapped_column(default=False)
    #: another device had already admitted this person: recorded and shown, not counted twice
    conflict: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship()
    attendee: Mapped[Attendee] = relationship()
    user: Mapped[User | None] = relationship()
