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
