"""Stored answers of requests that carry an idempotency key or nonce.

A double tap, a retried POST or the same QR scanned twice must change nothing the second
time and get the first answer back. The unique constraint makes two racing requests with
the same key collide in the database, not in Python memory.

A record is needed only while the same request may come again: a double tap, a retry, a
door phone's queue sent when the network returns. ``delete_expired`` removes records older
than that (``IDEMPOTENCY_RECORD_DAYS``, run by ``flask purge-sensitive``), and the purge of
an event's sensitive data removes its check-in answers (``delete_scopes``), which hold the
party's allergen and diet codes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from gathering.extensions import db
from gathering.timeutil import UTCDateTime, utcnow


class IdempotencyRecord(db.Model):
    """The first answer to a keyed request, by scope (e.g. "checkin:12") and key."""

    __tablename__ = "idempotency_records"
    __table_args__ = (sa.UniqueConstraint("scope", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(sa.String(60))
    key: Mapped[str] = mapped_column(sa.String(120))
    response: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    status_code: Mapped[int] = mapped_column(default=200)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


_RECORDS = IdempotencyRecord.__table__
_GET_RECORD = sa.select(_RECORDS.c.response, _RECORDS.c.status_code).where(
    _RECORDS.c.scope == sa.bindparam("scope"), _RECORDS.c.key == sa.bindparam("key"))


def first_response(scope: sa.BindParameter, key: sa.BindParameter) -> sa.Label:
    """The stored answer of (``scope``, ``key``) as a column of another SELECT (NULL when
    there is none, or when ``key`` is NULL): a request that reads its main rows anyway asks
    for its first answer in the same statement, one round trip fewer than ``get_record``."""
    return (sa.select(_RECORDS.c.response)
            .where(_RECORDS.c.scope == scope, _RECORDS.c.key == key)
            .scalar_subquery().label("first_response"))


def get_record(session, scope: str, key: str):
    """The stored answer (``.response``, ``.status_code``) of a keyed request, or None. A
    table SELECT: every scan asks, and almost always finds nothing."""
    return session.execute(_GET_RECORD, {"scope": scope, "key": key}).first()


def save_record(session, scope: str, key: str, response: dict, status_code: int = 200) -> None:
    """Store the first answer. A table INSERT (nothing reads the record back in the same
    request, and the ORM's unit of work cost a scan as much again); a racing request with
    the same key raises IntegrityError here, inside the caller's transaction."""
    session.execute(sa.insert(_RECORDS), {
        "scope": scope, "key": key, "response": response, "status_code": status_code,
        "created_at": utcnow()})


def delete_scopes(session, scopes: Iterable[str] | sa.Select) -> int:
    """Delete every stored answer of these scopes (names, or a SELECT of names). Returns
    how many were deleted."""
    if not isinstance(scopes, sa.Select):
        scopes = list(scopes)
        if not scopes:
            return 0
    return session.execute(sa.delete(_RECORDS).where(_RECORDS.c.scope.in_(scopes))).rowcount


def delete_expired(session, *, now: datetime, days: int) -> int:
    """Delete stored answers older than ``days``: a key or nonce is honoured that long.
    Returns how many were deleted."""
    cutoff = now - timedelta(days=days)
    return session.execute(sa.delete(_RECORDS).where(_RECORDS.c.created_at < cutoff)).rowcount
