"""The payment ledger (append-only), cash counts and receipts (領収書)."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gathering.accounts.models import Branch, User
from gathering.events.models import Event
from gathering.extensions import db
from gathering.rsvp.models import Registration
from gathering.timeutil import UTCDateTime, utcnow


class PaymentMethod(enum.StrEnum):
    cash = "cash"
    bank_transfer = "bank_transfer"
    online = "online"
    waived = "waived"

    @property
    def label(self):
        return {
            PaymentMethod.cash: _l("Cash at the door"),
            PaymentMethod.bank_transfer: _l("Bank transfer"),
            PaymentMethod.online: _l("Online"),
            PaymentMethod.waived: _l("Waived"),
        }[self]


class Payment(db.Model):
    """A ledger row against a registration. Never updated: refunds are negative rows."""

    __tablename__ = "payments"
    __table_args__ = (
        sa.Index("ix_payments_event_recorded", "event_id", "recorded_at"),
        sa.UniqueConstraint("nonce"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"))
    amount: Mapped[int] = mapped_column()  # yen; negative for a refund
    method: Mapped[str] = mapped_column(sa.String(20))
    is_refund: Mapped[bool] = mapped_column(default=False)
    #: bank transfer: the day the money arrived
    received_on: Mapped[date | None] = mapped_column(sa.Date)
    #: bank reference, or the online provider's payment id
    reference: Mapped[str] = mapped_column(sa.String(120), default="")
    provider: Mapped[str] = mapped_column(sa.String(30), default="")  # e.g. "stripe", later
    reason: Mapped[str] = mapped_column(sa.String(300), default="")  # waiver or refund reason
    #: cash handed over, to show the change (お釣り); not part of the balance
    cash_tendered: Mapped[int | None] = mapped_column()
    nonce: Mapped[str | None] = mapped_column(sa.String(120))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registration: Mapped[Registration] = relationship()
    event: Mapped[Event] = relationship()
    recorded_by: Mapped[User | None] = relationship()


class CashCount(db.Model):
    """Cash counted at the end of the day, for the whole event or one volunteer's till."""

    __tablename__ = "cash_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id"), index=True)
    #: whose cash this is (None: the whole event)
    volunteer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: all cash in the till when counted, the change float included
    counted_amount: Mapped[int] = mapped_column()
    #: change float (釣り銭準備金) put in the till before the doors opened
    float_amount: Mapped[int] = mapped_column(default=0)
    note: Mapped[str] = mapped_column(sa.String(300), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    event: Mapped[Event] = relationship()
    volunteer: Mapped[User | None] = relationship(foreign_keys=[volunteer_id])
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])


class Receipt(db.Model):
    """A 領収書 issued to a registration; a reissue is a new row pointing at the first."""

    __tablename__ = "receipts"
    __table_args__ = (sa.UniqueConstraint("branch_id", "year", "serial"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    branch_id: Mapped[int] = mapped_column(sa.ForeignKey("branches.id"))
    registration_id: Mapped[int] = mapped_column(sa.ForeignKey("registrations.id"), index=True)
    year: Mapped[int] = mapped_column()
    serial: Mapped[int] = mapped_column()  # per branch per year
    addressee: Mapped[str] = mapped_column(sa.String(120))  # 宛名
    amount: Mapped[int] = mapped_column()
    proviso: Mapped[str] = mapped_column(sa.String(200))  # 但し書き
    issued_on: Mapped[date] = mapped_column(sa.Date)
    reissue_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("receipts.id"))
    #: a secret for the public receipt link (from the manage page)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    issued_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    branch: Mapped[Branch] = relationship()
    registration: Mapped[Registration] = relationship()
    reissue_of: Mapped[Receipt | None] = relationship(remote_side=[id])

    @property
    def number(self) -> str:
        return f"{self.year}-{self.serial:05d}"

    @property
    def is_reissue(self) -> bool:
        return self.reissue_of_id is not None
