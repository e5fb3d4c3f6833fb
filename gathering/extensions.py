"""Extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

import contextvars
import enum
import sqlite3
import time

from flask import Flask, current_app, has_request_context
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter as _Limiter
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

# Constraint names that Alembic can drop again on every database.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate(render_as_batch=True)
csrf = CSRFProtect()
babel = Babel()
login_manager = LoginManager()
cache = Cache()


class Limiter(_Limiter):
    """Flask-Limiter whose X-RateLimit-* headers tell the caller the truth when a route has
    several limits (sign-up: per address per minute and per hour, and per event).

    Flask-Limiter reports the limit of the smallest window (the first one declared among
    equal windows), so a sign-up could say 3 left of the event's budget while the caller's
    address had none left and the next request was refused. Here the headers report the
    limit nearest to refusing: the fewest requests remaining, and among equals the one that
    frees up last. A refused request reports, of the limits it breached or used up, the
    one that resets last, so its Retry-After is not too early (5 a minute and 5 an hour
    both spent: the hour, not the minute after which the next try is refused again). ``Retry-After`` is sent only with a refusal (429, 503):
    on an answer that succeeded there is nothing to retry.
    """

    @property
    def current_limit(self) -> RequestLimit | None:
        limits = self.current_limits
        if len(limits) < 2:
            return super().current_limit
        try:  # each window read from storage; Flask-Limiter handles a storage failure
            if any(lim.breached for lim in limits):
                spent = [lim for lim in limits if lim.breached or lim.remaining == 0]
                return max(spent, key=lambda lim: (lim.reset_at, lim.breached))
            return min(limits, key=lambda lim: (lim.remaining, -lim.reset_at))
        except Exception:  # its own header code then reports or swallows the failure
            return super().current_limit

    def init_app(self, app: Flask) -> None:
        if self not in app.extensions.get("limiter", set()):
            # registered before Flask-Limiter's own hook, so it runs after it
            app.after_request(self._retry_after_only_on_refusal)
        super().init_app(app)

    def _retry_after_only_on_refusal(self, response):
        if self.enabled and self.current_limits and response.status_code not in (429, 503):
            response.headers.pop(current_app.config.get("RATELIMIT_HEADER_RETRY_AFTER",
                                                        "Retry-After"), None)
        return response


limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

#: how long SQLite waits for a lock before "database is locked"
SQLITE_BUSY_TIMEOUT_MS = 15_000


class SqliteBegin(enum.Enum):
    """How a new SQLite transaction begins (SQLite admits one writer at a time).

    ``IMMEDIATE``: BEGIN IMMEDIATE, the write lock before the first read, so everything the
    transaction reads is current (requests that write, the CLI, tests). ``DEFERRED``: plain
    BEGIN, for requests that only read (GET, HEAD): under WAL they never wait. ``LATE``: the
    transaction's reads each see the latest commit, and the write lock is taken at the
    first lock point (``lock_for_write``) or the first statement that writes, then held to
    the commit: the semantics of PostgreSQL's READ COMMITTED with row locks, so a service
    that is right on PostgreSQL is right here. Views that opt in (``locks_late``) hold the
    lock for their writes only, not for their reads, checks and rendering.
    """

    IMMEDIATE = "immediate"
    DEFERRED = "deferred"
    LATE = "late"


sqlite_begin: contextvars.ContextVar[SqliteBegin] = contextvars.ContextVar(
    "sqlite_begin", default=SqliteBegin.IMMEDIATE
)


def locks_late(view):
    """Mark a view whose writes take SQLite's lock late (``SqliteBegin.LATE``).

    Only for views whose services lock what they read before writing on it (``lock_event``,
    guarded UPDATEs), as they must on PostgreSQL. Put it closest to the function: the mark
    travels out through functools.wraps, and the app's first hook reads it.
    """
    view.sqlite_locks_late = True
    return view


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):  # pragma: no cover - trivial
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    # Let SQLAlchemy emit BEGIN itself (the driver's own BEGIN is always DEFERRED).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):  # pragma: no cover - trivial
    if conn.dialect.name != "sqlite":
        return
    mode = sqlite_begin.get()
    if mode is SqliteBegin.IMMEDIATE:
        begin_immediate(conn.connection.driver_connection)
    elif mode is SqliteBegin.DEFERRED:
        conn.exec_driver_sql("BEGIN")
    # LATE: nothing yet; each read runs on its own until the first write begins for real


@event.listens_for(Engine, "before_cursor_execute")
def _sqlite_lock_before_write(conn, cursor, statement, parameters, context, executemany):
    if (conn.dialect.name == "sqlite" and sqlite_begin.get() is SqliteBegin.LATE
            and statement.lstrip()[:6].upper() != "SELECT"):
        dbapi_connection = conn.connection.driver_connection
        if not dbapi_connection.in_transaction:
            begin_immediate(dbapi_connection)


def lock_for_write(session) -> bool:
    """Take SQLite's write lock now if this transaction locks late and has not yet; on
    PostgreSQL nothing (its callers lock rows with SELECT … FOR UPDATE).

    Returns whether what the transaction read before may be stale, so the caller must read
    again what it decides on: always on PostgreSQL and in a late-locking SQLite transaction;
    never under BEGIN IMMEDIATE, which held the lock before the first read.
    """
    conn = session.connection()
    if conn.dialect.name != "sqlite":
        return True
    if sqlite_begin.get() is not SqliteBegin.LATE:
        return False
    dbapi_connection = conn.connection.driver_connection
    if not dbapi_connection.in_transaction:
        begin_immediate(dbapi_connection)
    return True


def begin_immediate(dbapi_connection: sqlite3.Connection) -> None:
    """BEGIN IMMEDIATE, waiting for another writer's lock by polling every millisecond or
    less, for at most SQLITE_BUSY_TIMEOUT_MS.

    SQLite's own busy handler sleeps 1, 2, 5, 10 … 100 ms between tries: with two workers
    taking turns, a waiting writer slept on while the lock was free again and again, and
    sign-ups and check-ins queued for hundreds of milliseconds (the benchmark's p99) for
    transactions that last a few. Raises "database is locked" like SQLite when the time
    is over.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    delay = 0.0001
    dbapi_connection.execute("PRAGMA busy_timeout = 0")
    try:
        while True:
            try:
                dbapi_connection.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.001)
    finally:
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")


@event.listens_for(Session, "after_commit")
def _reads_after_commit(session):  # pragma: no cover - trivial
    # A request commits once; what it loads afterwards (the answer, the confirmation mail)
    # only reads, and must not queue behind other writers for SQLite's lock again.
    if has_request_context():
        sqlite_begin.set(SqliteBegin.DEFERRED)
