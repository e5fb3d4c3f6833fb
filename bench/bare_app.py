"""The yardsticks: a bare Flask route, served by the same gunicorn settings in the same run,
and a bare write.

Every row of the benchmark is reported as a ratio to ``GET /``'s requests per second, so
the numbers say what our code costs on top of what this machine can do at all. ``POST
/write`` (when BENCH_WRITE_DATABASE_URL is set) is what one write costs with no app around
it: a JSON body read, one transaction of an UPDATE and an INSERT through SQLAlchemy Core on
the benchmark's database (SQLite set up as the app sets it up: WAL, BEGIN IMMEDIATE), a
JSON answer. A check-in is such a write plus everything the app does; the row between the two
shows how much of the gap to the bare route the database itself explains.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from flask import Flask, jsonify, request

from config import database_url

app = Flask(__name__)

WRITE_URL = database_url(os.environ["BENCH_WRITE_DATABASE_URL"]) if os.environ.get(
    "BENCH_WRITE_DATABASE_URL") else ""
metadata = sa.MetaData()
counter = sa.Table("bench_yardstick_counter", metadata,
                   sa.Column("id", sa.Integer, primary_key=True),
                   sa.Column("n", sa.Integer, nullable=False))
writes = sa.Table("bench_yardstick", metadata,
                  sa.Column("id", sa.Integer, primary_key=True),
                  sa.Column("nonce", sa.String(80), nullable=False, unique=True))


def write_engine(url: str) -> sa.Engine:
    """The engine of the yardstick write: on SQLite it gets the app's own set-up, from
    gathering.extensions (WAL, synchronous NORMAL, BEGIN IMMEDIATE polled every
    millisecond rather than SQLite's sleeping busy handler), with no app around it."""
    import gathering.extensions  # noqa: F401 - its engine listeners are the set-up

    return sa.create_engine(url)


def create_tables(url: str) -> None:
    """Called once by bench/run.py before gunicorn starts."""
    engine = write_engine(database_url(url))
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(counter.insert().values(id=1, n=0))
    engine.dispose()


_engine = write_engine(WRITE_URL) if WRITE_URL else None


@app.get("/")
def hello():
    return "hello"


@app.post("/write")
def write():
    nonce = str(request.get_json()["nonce"])
    with _engine.begin() as conn:
        conn.execute(counter.update().where(counter.c.id == 1).values(n=counter.c.n + 1))
        conn.execute(writes.insert().values(nonce=nonce))
    return jsonify(ok=True)
