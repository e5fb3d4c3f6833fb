"""Accounts: users, passwords (scrypt via Werkzeug) and API bearer tokens."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import unicodedata
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from werkzeug.security import check_password_hash, generate_password_hash

from gathering.accounts.models import ApiToken, Branch, Role, User
from gathering.errors import GatheringError, NotFound
from gathering.japanese import is_valid_phone, normalize_name, normalize_phone, normalize_text
from gathering.timeutil import utcnow

# A hash to check against when the e-mail is unknown, so both paths take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")

#: How stale ApiToken.last_used_at may get. It tells an admin whether a token is still in
#: use, which minutes do not change; writing it on every request cost every scan an UPDATE.
TOKEN_USE_PRECISION = timedelta(minutes=5)


class AccountError(GatheringError):
    code = "account_error"
    status = 422


def hash_password(password: str) -> str:
    """scrypt (Werkzeug's default parameters); the test suite may set cheaper ones."""
    method = current_app.config.get("PASSWORD_HASH_METHOD", "scrypt") if has_app_context() \
        else "scrypt"
    return generate_password_hash(password, method=method)


def normalize_email(email: str) -> str:
    """An account's address as stored and looked up: full-width letters as ASCII (an IME
    left on), without spaces around, in lower case."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def get_user_by_email(session, email: str) -> User | None:
    return session.scalar(sa.select(User).where(User.email == normalize_email(email)))


def authenticate(session, email: str, password: str) -> User | None:
    """The user whose e-mail and password match, or None (same timing either way)."""
    user = get_user_by_email(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    return user


def create_user(session, email: str, *, role: str, password: str, name: str = "",
                branch_slugs: list[str] | tuple[str, ...] = ()) -> User:
    """Create an account. Raises AccountError for a taken e-mail, bad role, unknown branch
    or a name longer than MAX_USER_NAME (``too_long``)."""
    email = normalize_email(email)
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise AccountError(_l("Enter a valid e-mail address."), code="invalid_email") from None
    if role not in {r.value for r in Role}:
        raise AccountError(_l("Unknown role."), code="invalid_role")
    _check_password(password)
    if get_user_by_email(session, email):
        raise AccountError(_l("This e-mail address already has an account."), code="duplicate")
    name = _check_name_length(normalize_name(name), MAX_USER_NAME)  # as update_user
    branches = _branches_of(session, branch_slugs)
    if role != Role.admin and not branches:
        raise AccountError(_l("Organizers and volunteers need a branch."), code="branch_required")
    user = User(email=email, name=name or email.split("@")[0], role=role,
                password_hash=hash_password(password), branches=branches)
    session.add(user)
    session.flush()
    return user


#: the longest name of an account and of an API token (the columns' lengths)
MAX_USER_NAME = 120
MAX_TOKEN_NAME = 120


def _check_name_length(name: str, max_len: int) -> str:
    """``name`` when it fits its column; longer is refused, where PostgreSQL would fail on
    it and SQLite keep it whole."""
    if len(name) > max_len:
        raise AccountError(_l("%(field)s is too long (at most %(max)d characters).",
                              field="--name", max=max_len), code="too_long")
    return name


def _check_password(password: str) -> None:
    if len(password or "") < 8:
        raise AccountError(_l("The password must be at least 8 characters."), code="weak_password")


def branch_slug(text: str) -> str:
    """A slug as an operator may type it (ASA, ａｓａ): as create_branch stores it."""
    return normalize_text(text or "").lower()


def _branches_of(session, slugs) -> list[Branch]:
    branches = []
    for slug in slugs:
        branch = session.scalar(sa.select(Branch).where(Branch.slug == branch_slug(slug)))
        if branch is None:
            raise AccountError(_l("Unknown branch: %(slug)s", slug=slug), code="unknown_branch")
        branches.append(branch)
    return branches


def set_password(session, user: User, password: str) -> None:
    """Give ``user`` a new password (an operator resetting a forgotten one). Every login
    made before, "keep me logged in" ones included, ends: they carry the fingerprint of the
    old password hash (User.get_id), which the user loader then refuses. A view letting
    users change their own password must log them in again to keep their own session.
    API tokens are left alone (revoke_tokens stops them). Raises AccountError
    ``weak_password`` under 8 characters."""
    _check_password(password)
    user.password_hash = hash_password(password)
    session.flush()


def update_user(session, user: User, *, role: str | None = None,
                branch_slugs: list[str] | tuple[str, ...] | None = None,
                name: str | None = None, is_active: bool | None = None) -> User:
    """Change an account's role, branches (replaced by ``branch_slugs``), name or whether
    it may log in; None leaves a field as it is. Raises AccountError ``invalid_role``,
    ``unknown_branch`` and ``branch_required`` (organizers and volunteers need a branch)."""
    if role is not None and role not in {r.value for r in Role}:
        raise AccountError(_l("Unknown role."), code="invalid_role")
    branches = _branches_of(session, branch_slugs) if branch_slugs is not None else None
    new_role = role or user.role
    if new_role != Role.admin and not (branches if branches is not None else user.branches):
        raise AccountError(_l("Organizers and volunteers need a branch."), code="branch_required")
    user.role = new_role
    if branches is not None:
        user.branches = branches
    if name is not None:
        user.name = _check_name_length(normalize_name(name), MAX_USER_NAME) or user.name
    if is_active is not None:
        user.is_active_account = is_active
    session.flush()
    return user


#: a branch's slug names it in URLs (/branches/<slug>, feeds): lower-case ASCII letters,
#: digits and inner hyphens
_SLUG_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,58}[a-z0-9])?$")

#: the longest text each branch field holds (the columns' lengths)
_BRANCH_LIMITS = {"name": 120, "region": 60, "issuer_name": 200, "issuer_address": 300}


def _clean_branch_fields(fields: dict) -> dict:
    cleaned = {}
    for key, value in fields.items():
        if value is None:
            continue
        if key == "receipt_stamp_note":
            cleaned[key] = bool(value)
            continue
        if key == "contact_phone":
            cleaned[key] = _clean_contact_phone(value)
            continue
        if key == "contact_email":
            cleaned[key] = _clean_contact_email(value)
            continue
        value = normalize_text(value)
        if key != "description":  # one line
            value = re.sub(r"\s+", " ", value)
        if key in _BRANCH_LIMITS and len(value) > _BRANCH_LIMITS[key]:
            raise AccountError(_l("%(field)s is too long (at most %(max)d characters).",
                                  field="--" + key.replace("_", "-"), max=_BRANCH_LIMITS[key]),
                               code="too_long")
        cleaned[key] = value
    if "name" in cleaned and not cleaned["name"]:
        raise AccountError(_l("Enter the group's name."), code="name_required")
    return cleaned


def _clean_contact_phone(value: str) -> str:
    """The group's phone as the sign-up stores one: digits, 0 prefix (０１６６−１２… and
    +81 166… alike); "" clears it."""
    digits = normalize_phone(value)
    if digits and not is_valid_phone(digits):
        raise AccountError(_l("%(field)s is not a Japanese phone number: write it like "
                              "0166-12-3456 or 090-1234-5678.", field="--contact-phone"),
                           code="invalid_phone")
    return digits


def _clean_contact_email(value: str) -> str:
    """The group's address as the sign-up checks one (no DNS lookup), in lower case; ""
    clears it."""
    text = normalize_text(value)
    if not text:
        return ""
    try:
        return validate_email(text, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise AccountError(_l("%(field)s is not an e-mail address: write it like "
                              "info@example.jp.", field="--contact-email"),
                           code="invalid_email") from None


def create_branch(session, slug: str, name: str, *, region: str = "", description: str = "",
                  issuer_name: str = "", issuer_address: str = "",
                  receipt_stamp_note: bool = False, contact_phone: str = "",
                  contact_email: str = "") -> Branch:
    """Create a group (団体). ``issuer_name`` and ``issuer_address`` are printed on its
    receipts (the name of the group when empty); ``contact_phone`` and ``contact_email``
    are shown to residents told to contact the organizers. Raises AccountError
    ``invalid_slug``, ``duplicate_slug``, ``name_required``, ``too_long``,
    ``invalid_phone`` and ``invalid_email``."""
    slug = branch_slug(slug)
    if not _SLUG_RE.match(slug):
        raise AccountError(_l("A group's short name (slug) is 1 to 60 lower-case letters, "
                              "digits and hyphens, e.g. asahikawa or higashi-kanto."),
                           code="invalid_slug")
    if session.scalar(sa.select(Branch.id).where(Branch.slug == slug)) is not None:
        raise AccountError(_l("A group with the short name %(slug)s already exists.",
                              slug=slug), code="duplicate_slug")
    fields = _clean_branch_fields(dict(
        name=name, region=region, description=description, issuer_name=issuer_name,
        issuer_address=issuer_address, receipt_stamp_note=receipt_stamp_note,
        contact_phone=contact_phone, contact_email=contact_email))
    branch = Branch(slug=slug, **fields)
    session.add(branch)
    session.flush()
    return branch


def update_branch(session, branch: Branch, **fields) -> Branch:
    """Change a group's name, region, description, receipt issuer (``issuer_name``,
    ``issuer_address``, ``receipt_stamp_note``) or contact (``contact_phone``,
    ``contact_email``); a field given as None stays as it is, an empty issuer falls back
    to the group's name on receipts, an empty contact is no longer shown. Raises
    AccountError ``name_required``, ``too_long``, ``invalid_phone`` and ``invalid_email``."""
    unknown = set(fields) - {"name", "region", "description", "issuer_name",
                             "issuer_address", "receipt_stamp_note", "contact_phone",
                             "contact_email"}
    if unknown:
        raise TypeError(f"unknown branch fields: {sorted(unknown)}")
    for key, value in _clean_branch_fields(fields).items():
        setattr(branch, key, value)
    session.flush()
    return branch


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session, user: User, name: str = "") -> str:
    """A new bearer token for ``user``; only its hash is stored, the token is returned once.
    Raises AccountError ``too_long`` for a name beyond MAX_TOKEN_NAME characters."""
    # kept as typed: revoke-tokens --name finds it by the same text
    name = _check_name_length(name or "", MAX_TOKEN_NAME)
    token = "tsd_" + secrets.token_urlsafe(32)
    session.add(ApiToken(user=user, token_hash=_token_digest(token), name=name))
    session.flush()
    return token


def list_tokens(session, user: User) -> list[ApiToken]:
    """``user``'s API tokens, revoked ones included, oldest first."""
    return list(session.scalars(
        sa.select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.created_at, ApiToken.id)))


def revoke_tokens(session, user: User, *, name: str | None = None,
                  token_id: int | None = None, now=None) -> int:
    """Revoke ``user``'s tokens not yet revoked: all of them, or those named ``name``
    and/or the one with ``token_id``; returns how many. A revoked token is refused from
    then on, after at most API_TOKEN_CACHE_SECONDS in an app process that saw it just
    before (TokenUsers); revoking one again changes nothing."""
    query = sa.select(ApiToken).where(ApiToken.user_id == user.id,
                                      ApiToken.revoked_at.is_(None))
    if name is not None:
        query = query.where(ApiToken.name == name)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    now = now or utcnow()
    rows = list(session.scalars(query))
    for row in rows:
        row.revoked_at = now
    session.flush()
    return len(rows)


# Built once: every bearer-authenticated request runs it.
_TOKEN_WITH_USER = (
    sa.select(ApiToken).where(ApiToken.token_hash == sa.bindparam("digest"))
    .options(joinedload(ApiToken.user).joinedload(User.branches)))


def user_for_token(session, token: str, *, now=None) -> User | None:
    """The active user a bearer token belongs to, or None.

    The user and their branches come in the same statement (every API request checks
    them). ``last_used_at`` is written only when older than ``TOKEN_USE_PRECISION``.
    """
    if not token or len(token) > 200:
        return None
    digest = _token_digest(token)
    row = session.scalars(_TOKEN_WITH_USER, {"digest": digest}).unique().one_or_none()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, digest):
        return None
    if not row.user.is_active:
        return None
    now = now or utcnow()
    if row.last_used_at is None or now - row.last_used_at >= TOKEN_USE_PRECISION:
        row.last_used_at = now
    return row.user


class TokenUsers:
    """The users of bearer tokens seen lately, kept ``seconds`` in this process.

    A door phone sends its token with every scan; looking the token, its user and their
    branches up each time cost a scan about a tenth of its time. What is kept are detached
    copies, never attached to a session; each request gets its own persistent user from
    them (``Session.merge(load=False)``: no statement). The price: a token revoked, a user
    deactivated or moved to another branch keeps its old rights for up to ``seconds`` in a
    process that saw it just before. ``seconds`` 0 keeps nothing.
    """

    def __init__(self, seconds: float, *, max_tokens: int = 1000, clock=time.monotonic):
        self.seconds = seconds
        self.max_tokens = max_tokens
        self._clock = clock
        self._kept: dict[str, tuple[float, User]] = {}

    def user(self, session, token: str) -> User | None:
        """``user_for_token``, from what is kept when it is fresh enough."""
        if self.seconds <= 0 or not token or len(token) > 200:
            return user_for_token(session, token)
        digest = _token_digest(token)
        now = self._clock()
        kept = self._kept.get(digest)
        if kept is not None and kept[0] > now:
            return session.merge(kept[1], load=False)
        user = user_for_token(session, token)
        if user is None:
            self._kept.pop(digest, None)
            return None
        if len(self._kept) >= self.max_tokens:
            self._kept = {d: k for d, k in self._kept.items() if k[0] > now}
            if len(self._kept) >= self.max_tokens:
                self._kept.clear()
        self._kept[digest] = (now + self.seconds, _detached_copy(user))
        return user


def _detached_copy(user: User) -> User:
    """A copy of ``user`` and their branches that belongs to no session: every column and
    the branches loaded, so merging it loads nothing (and no backref fills Branch.users)."""
    copy = _copy_row(user)
    set_committed_value(copy, "branches", [_copy_row(branch) for branch in user.branches])
    return copy


def _copy_row(obj):
    copy = type(obj)(**{c.key: getattr(obj, c.key) for c in obj.__table__.c})
    make_transient_to_detached(copy)
    return copy


def get_branch(session, slug: str) -> Branch:
    branch = session.scalar(sa.select(Branch).where(Branch.slug == slug))
    if branch is None:
        raise NotFound(_l("Unknown branch."))
    return branch


def list_branches(session) -> list[Branch]:
    return list(session.scalars(sa.select(Branch).order_by(Branch.id)))
