"""Branches (団体・地方委員会), organizer accounts and API tokens."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from gathering.extensions import db
from gathering.timeutil import UTCDateTime, utcnow


class Role(enum.StrEnum):
    admin = "admin"
    organizer = "organizer"
    volunteer = "volunteer"

    @property
    def label(self):
        return {
            Role.admin: _l("Administrator"),
            Role.organizer: _l("Organizer"),
            Role.volunteer: _l("Door volunteer"),
        }[self]


user_branches = sa.Table(
    "user_branches",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("branch_id", sa.ForeignKey("branches.id", ondelete="CASCADE"), primary_key=True),
)


class Branch(db.Model):
    """A group that organizes gatherings, e.g. a regional committee."""

    __tablename__ = "branches"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    region: Mapped[str] = mapped_column(sa.String(60), default="")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: 領収書: the issuer printed on receipts, and whether a revenue-stamp note is printed.
    issuer_name: Mapped[str] = mapped_column(sa.String(200), default="")
    issuer_address: Mapped[str] = mapped_column(sa.String(300), default="")
    receipt_stamp_note: Mapped[bool] = mapped_column(default=False)
    #: お問い合わせ先: where residents told to contact the organizers reach them; the phone
    #: as digits (0166123456, shown 0166-12-3456), the address in lower case, "" if not set.
    contact_phone: Mapped[str] = mapped_column(sa.String(20), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(secondary=user_branches, back_populates="branches")

    @property
    def has_contact(self) -> bool:
        """Whether residents can be shown a phone or an address to reach the organizers."""
        return bool(self.contact_phone or self.contact_email)

    def __repr__(self) -> str:
        return f"<Branch {self.slug}>"


class User(UserMixin, db.Model):
    """An organizer, volunteer or admin account. Residents have none."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(20), default=Role.organizer.value)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    branches: Mapped[list[Branch]] = relationship(
        secondary=user_branches, back_populates="users", lazy="selectin"
    )
    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.is_active_account

    @property
    def login_fingerprint(self) -> str:
        """16 hex digits that change whenever the password is set (a new salt, a new
        hash, even for the same password). Readable in the session cookie, it tells nothing
        of the password: it is a hash of the salted scrypt hash, whose salt never leaves
        the database."""
        digest = hashlib.sha256(b"tsudoi-login\0" + self.password_hash.encode())
        return digest.hexdigest()[:16]

    def get_id(self) -> str:  # Flask-Login: kept in the session and the remember cookie
        """``<id>:<login_fingerprint>``: a login made before the password was last set
        no longer matches, and the user loader refuses it (Flask-Login's "alternative
        tokens"; see accounts.session.load_user)."""
        return f"{self.id}:{self.login_fingerprint}"

    @property
    def is_admin(self) -> bool:
        return self.role == Role.admin

    @property
    def role_label(self):
        """The role in the reader's language (世話人, 受付ボランティア, 管理者)."""
        return Role(self.role).label

    @property
    def branch_ids(self) -> set[int]:
        return {b.id for b in self.branches}

    def can_manage_branch(self, branch_id: int) -> bool:
        """Organizers and admins edit events; an organizer only of their own branches."""
        if self.is_admin:
            return True
        return self.role == Role.organizer and branch_id in self.branch_ids

    def can_staff_branch(self, branch_id: int) -> bool:
        """Volunteers, organizers and admins work the door; non-admins only for own branches."""
        if self.is_admin:
            return True
        return branch_id in self.branch_ids

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token of a user for the JSON API; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(back_populates="tokens")
