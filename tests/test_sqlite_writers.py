"""SQLite writers queue for the write lock by polling, never by SQLite's sleeping busy
handler (gathering/extensions.py ``begin_immediate``)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from gathering import extensions


def connect(path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA busy_timeout = {extensions.SQLITE_BUSY_TIMEOUT_MS}")
    return conn


def test_a_waiting_writer_starts_as_soon_as_the_lock_is_free(tmp_path):
    holder, waiter = connect(tmp_path / "db"), connect(tmp_path / "db")
    holder.execute("CREATE TABLE t (x)")
    holder.execute("BEGIN IMMEDIATE")
    began = []
    thread = threading.Thread(target=lambda: (extensions.begin_immediate(waiter),
                                              began.append(time.monotonic())))
    thread.start()
    time.sleep(0.25)
    assert not began  # still waiting for the holder
    holder.execute("INSERT INTO t VALUES (1)")
    holder.execute("COMMIT")
    released = time.monotonic()
    thread.join(5)
    assert began, "the waiting writer never began"
    # SQLite's own handler would sleep on for up to 100 ms between tries by now
    assert began[0] - released < 0.05
    waiter.execute("INSERT INTO t VALUES (2)")
    waiter.execute("COMMIT")
    assert holder.execute("SELECT count(*) FROM t").fetchone()[0] == 2
    # the connection's own busy timeout is back for everything else
    assert waiter.execute("PRAGMA busy_timeout").fetchone()[0] == (
        extensions.SQLITE_BUSY_TIMEOUT_MS)


def test_a_writer_gives_up_with_database_is_locked_after_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(extensions, "SQLITE_BUSY_TIMEOUT_MS", 200)
    holder, waiter = connect(tmp_path / "db"), connect(tmp_path / "db")
    holder.execute("BEGIN IMMEDIATE")
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        extensions.begin_immediate(waiter)
    assert 0.2 <= time.monotonic() - started < 2
    holder.execute("ROLLBACK")
    extensions.begin_immediate(waiter)  # free again: begins at once
    waiter.execute("ROLLBACK")


# ---------------------------------------------------------------------------------------
# Transactions that lock late (SqliteBegin.LATE): reads never wait, the first write does


def _sqlite_path(app) -> str:
    from gathering.extensions import db

    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's write lock")
    return db.engine.url.database


def _in_thread(app, mode, work):
    """Run ``work()`` in its own thread, app context and session, under ``mode``."""
    from gathering.extensions import db

    errors: list[BaseException] = []

    def run():
        extensions.sqlite_begin.set(mode)
        with app.app_context():
            try:
                work()
            except BaseException as exc:  # noqa: BLE001 - handed to the test
                errors.append(exc)
            finally:
                db.session.rollback()
                db.session.remove()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, errors


def test_a_late_locking_transaction_reads_while_another_writer_holds_the_lock(app):
    import sqlalchemy as sa

    from gathering.accounts.models import Branch
    from gathering.extensions import db

    holder = connect(_sqlite_path(app))
    holder.execute("BEGIN IMMEDIATE")
    read, wrote = threading.Event(), []

    def work():
        db.session.scalar(sa.select(sa.func.count(Branch.id)))
        read.set()  # under BEGIN IMMEDIATE this read would wait for the holder
        db.session.add(Branch(slug="late", name="後から"))
        db.session.flush()  # the first write: waits for the lock
        wrote.append(time.monotonic())
        db.session.commit()

    thread, errors = _in_thread(app, extensions.SqliteBegin.LATE, work)
    try:
        assert read.wait(5), "the read waited for another writer's lock"
        time.sleep(0.2)
        assert not wrote  # the write waits
    finally:
        holder.execute("COMMIT")
        released = time.monotonic()
        thread.join(10)
    assert not errors, errors
    assert wrote and wrote[0] - released < 0.5
    assert db.session.scalar(sa.select(Branch.name).where(Branch.slug == "late")) == "後から"


def test_an_immediate_transaction_waits_before_its_first_read(app):
    import sqlalchemy as sa

    from gathering.accounts.models import Branch
    from gathering.extensions import db

    holder = connect(_sqlite_path(app))
    holder.execute("BEGIN IMMEDIATE")
    read = threading.Event()
    thread, errors = _in_thread(app, extensions.SqliteBegin.IMMEDIATE, lambda: (
        db.session.scalar(sa.select(sa.func.count(Branch.id))), read.set()))
    try:
        assert not read.wait(0.3)  # everything it reads is current: it waited for the lock
    finally:
        holder.execute("COMMIT")
        thread.join(10)
    assert read.is_set() and not errors


def test_lock_for_write_takes_the_lock_only_in_a_late_transaction(app, monkeypatch):
    from gathering.extensions import db

    path = _sqlite_path(app)
    monkeypatch.setattr(extensions, "SQLITE_BUSY_TIMEOUT_MS", 100)
    other = connect(path)
    token = extensions.sqlite_begin.set(extensions.SqliteBegin.LATE)
    try:
        db.session.remove()
        assert extensions.lock_for_write(db.session) is True  # reads before may be stale
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            extensions.begin_immediate(other)  # the lock is held now
        assert extensions.lock_for_write(db.session) is True  # taken once, still held
        db.session.rollback()
        extensions.begin_immediate(other)  # released with the transaction
        other.execute("ROLLBACK")
    finally:
        extensions.sqlite_begin.reset(token)
    db.session.remove()
    assert extensions.lock_for_write(db.session) is False  # BEGIN IMMEDIATE locked first
    db.session.rollback()


def test_each_request_begins_as_its_view_asks(make_app):
    from flask import jsonify

    app = make_app()

    @app.route("/_mode/plain", methods=["GET", "POST"])
    def plain():
        return jsonify(extensions.sqlite_begin.get().value)

    @app.post("/_mode/late")
    @extensions.locks_late
    def late():
        return jsonify(extensions.sqlite_begin.get().value)

    client = app.test_client()
    assert client.get("/_mode/plain").get_json() == "deferred"
    assert client.post("/_mode/plain").get_json() == "immediate"
    assert client.post("/_mode/late").get_json() == "late"
    assert extensions.sqlite_begin.get() is extensions.SqliteBegin.IMMEDIATE  # reset after


def test_the_hot_writes_lock_late_and_the_rest_do_not(app):
    late = {name for name, view in app.view_functions.items()
            if getattr(view, "sqlite_locks_late", False)}
    assert late == {"api.create_checkin", "api.create_registration", "checkin.admit",
                    "rsvp.signup"}
