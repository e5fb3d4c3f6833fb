"""Extensions, created unbound here and bound to the app in create_app."""

from __future__ import annotations

import contextvars
import sqlite3
import time

from flask import has_request_context
from flask_babel import Babel
from flask_caching import Cache
from flask_limiter import Limiter
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
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

#: Whether a new SQLite transaction takes the write lock at once (BEGIN IMMEDIATE).
#: Requests that only read (GET, HEAD) set it to False so readers never wait under WAL;
#: everything else writes, and must lock before it reads seats, or two writers could both
#: see a seat free and one would later fail with "database is locked".
#: how long SQLite waits for a lock before "database is locked"
SQLITE_BUSY_TIMEOUT_MS = 15_000

sqlite_write_intent: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "sqlite_write_intent", default=True
)


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
    if sqlite_write_intent.get():
        begin_immediate(conn.connection.driver_connection)
    else:
        conn.exec_driver_sql("BEGIN")


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
        sqlite_write_intent.set(False)
