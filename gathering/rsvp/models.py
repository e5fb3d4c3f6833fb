"""Registrations (申込: one household or group) and the people in them."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gathering.events.models import Event, FeeCategory
from gathering.extensions import db
from gathering.japanese import is_latin_name
from gathering.timeutil import UTCDateTime, utcnow


class RegistrationStatus(enum.StrEnum):
    confirmed = "confirmed"
    waitlisted = "waitlisted"
    cancelled = "cancelled"

    @property
    def label(self):
        return {
            RegistrationStatus.confirmed: _l("Confirmed"),
            RegistrationStatus.waitlisted: _l("Waiting list"),
            # 申込取消: a sign-up is withdrawn; 中止 ("Cancelled") is the event's
            RegistrationStatus.cancelled: _l("Sign-up cancelled"),
        }[self]


class Registration(db.Model):
    """One household or group signed up for one event."""

    __tablename__ = "registrations"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "idempotency_key"),
        sa.Index("ix_registrations_event_status_created", "event_id", "status", "created_at"),
        #: a sign-up looks for the same party already signed up (rsvp.services.register)
        sa.Index("ix_registrations_event_phone", "event_id", "phone"),
        sa.Index("ix_registrations_event_email", "event_id", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default=RegistrationStatus.confirmed.value)
    family_name: Mapped[str] = mapped_column(sa.String(60))
    given_name: Mapped[str] = mapped_column(sa.String(60), default="")
    family_name_kana: Mapped[str] = mapped_column(sa.String(60), default="")  # full-width katakana
    given_name_kana: Mapped[str] = mapped_column(sa.String(60), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")  # digits only
    email: Mapped[str] = mapped_column(sa.String(254), default="", index=True)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    #: SHA-256 of the secret manage link token (the token itself is only in the link)
    manage_token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the check-in token in the ticket QR (/c/<token>); separate from the manage token
    ticket_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    ticket_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the ticket token this one replaced (a lost or shared QR): scanning it is refused
    replaced_ticket_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: secret of the personal calendar feed reached from the manage page
    feed_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    is_walk_in: Mapped[bool] = mapped_column(default=False)
    #: when consent to store allergy and diet data was given (要配慮個人情報)
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when this party left the waiting list for a seat
    promoted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: sensitive data was deleted after the retention period
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: 宛名 printed on receipts when the payer asks for another name
    receipt_name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: the language the party signed up in ("ja", "en"): mails sent later speak it too
    lang: Mapped[str] = mapped_column(sa.String(5), default="ja", server_default="ja")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[Event] = relationship()
    attendees: Mapped[list[Attendee]] = relationship(
        back_populates="registration", order_by="Attendee.position", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        sep = "" if _is_cjk(self.family_name) else " "
        return f"{self.family_name}{sep}{self.given_name}".strip()

    def name_in(self, lang: str) -> str:
        """The name as a letter in ``lang`` addresses it: a name in Latin letters given
        name first in English (Amy Brown); otherwise as written (山田花子, Yamada Hanako)."""
        if lang == "en" and self.given_name and not _is_cjk(self.family_name) and (
                is_latin_name(self.family_name)):
            return f"{self.given_name} {self.family_name}"
        return self.full_name

    @property
    def full_name_kana(self) -> str:
        return f"{self.family_name_kana} {self.given_name_kana}".strip()

    @property
    def active_attendees(self) -> list[Attendee]:
        return [a for a in self.attendees if a.cancelled_at is None]

    @property
    def party_size(self) -> int:
        return len(self.active_attendees)

    def __repr__(self) -> str:
        return f"<Registration {self.id} {self.status} x{self.party_size}>"


def _is_cjk(text: str) -> bool:
    return any("\u3040" <= ch <= "\u9fff" for ch in text or "")


class Attendee(db.Model):
    """One person of a registration. Capacity counts these, not registrations."""

    __tablename__ = "attendees"

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(
        sa.ForeignKey("registrations.id", ondelete="CASCADE"), index=True
    )
    fee_category_id: Mapped[int | None] = mapped_column(sa.ForeignKey("fee_categories.id"))
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: allergen codes from gathering.rsvp.allergens (sensitive: 要配慮個人情報)
    allergens: Mapped[list] = mapped_column(sa.JSON, default=list)
    #: diet codes from gathering.rsvp.allergens
    diets: Mapped[list] = mapped_column(sa.JSON, default=list)
    note: Mapped[str] = mapped_column(sa.Text, default="")  # free-text dietary note
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when this person was admitted at the door (None: not, or undone). The CheckIn rows are
    #: the log; this is their current state, written in the same transaction.
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship(back_populates="attendees")
    fee_category: Mapped[FeeCategory | None] = relationship()

    @property
    def has_alerts(self) -> bool:
        return bool(self.allergens or self.diets or self.note)
