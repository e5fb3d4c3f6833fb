"""SQL statements per request stay bounded and do not grow with the data.

Each hot request is counted twice: on a small network, then after ten times more events
and registrations were added (bench.seed_scale, the same bulk seeding the benchmark uses).
An N+1 query (a lazy load per event or per registration) shows up as a count that grows.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bench.seed_scale import seed_scale
from gathering.accounts.models import Branch
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import utcnow

#: no page or feed below may need more statements than this (BEGIN included)
MAX_STATEMENTS = 12
#: a check-in (BEGIN and COMMIT not counted), on both databases: the token with its user
#: and branches, the party with its event, people, fees, ledger's sums and the nonce's
#: first answer, the admissions (one guarded UPDATE, which also locks the rows), the log
#: rows, the nonce's answer
MAX_CHECKIN_STATEMENTS = 5
#: a sign-up of two (COMMIT not counted), on both databases: the event with its fees and
#: venue, the event again under its lock (SQLite's writes lock late, as PostgreSQL's rows
#: do), the idempotency key and the same party signed up already (one statement), the
#: seats, the registration, its people in one statement
MAX_SIGNUP_STATEMENTS = 6


@contextlib.contextmanager
def counting():
    """Count the statements sent to the database while the block runs."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    db.session.remove()  # a fresh session: nothing comes from an earlier identity map
    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
        db.session.remove()


def grow(events: int, registrations: int, feed_events: int, seed: int) -> None:
    seed_scale(db.session, events=events, registrations=registrations,
               feed_events=feed_events, seed=seed)
    db.session.commit()


def upcoming_event_id(branch_slug: str = "hokkaido") -> int:
    """An upcoming published event of the branch with people signed up."""
    return db.session.scalar(
        sa.select(Event.id).join(Branch)
        .where(Branch.slug == branch_slug, Event.status == "published",
               Event.starts_at > utcnow() + timedelta(days=2), Event.seats_taken > 0)
        .order_by(Event.starts_at).limit(1))


def requires_route(app, endpoint: str) -> None:
    if endpoint not in app.view_functions:
        pytest.skip(f"{endpoint} is not built yet")


def count(client, method: str, path: str, **kw) -> tuple[int, list[str]]:
    client.open(path, method=method, **kw)  # warm-up: caches, first-use work
    with counting() as statements:
        response = client.open(path, method=method, **kw)
    return response.status_code, statements


@pytest.mark.parametrize("path", ["/", "/?kind=kids_cafeteria", "/branches/hokkaido",
                                  "/api/v1/events"])
def test_listings_do_not_grow_with_the_number_of_events(client, path):
    grow(events=40, registrations=80, feed_events=5, seed=1)
    status, small = count(client, "GET", path)
    assert status == 200
    grow(events=400, registrations=800, feed_events=50, seed=2)
    status, large = count(client, "GET", path)
    assert status == 200
    assert len(large) == len(small) <= MAX_STATEMENTS, large


def test_event_page_does_not_grow_with_registrations(client):
    grow(events=40, registrations=200, feed_events=5, seed=3)
    event_id = upcoming_event_id()
    status, small = count(client, "GET", f"/events/{event_id}")
    assert status == 200
    grow(events=400, registrations=2000, feed_events=50, seed=4)
    status, large = count(client, "GET", f"/events/{event_id}")
    assert status == 200
    assert len(large) == len(small) <= MAX_STATEMENTS, large


@pytest.mark.parametrize("path", ["/calendar/branches/hokkaido.ics", "/calendar/all.ics",
                                  "/calendar/kinds/kids_cafeteria.ics"])
def test_feeds_do_not_grow_with_the_number_of_events(app, client, path):
    requires_route(app, "calendar.feed_branch")
    grow(events=40, registrations=80, feed_events=5, seed=5)
    status, small = count(client, "GET", path)
    if status == 404:
        pytest.skip("the calendar feeds are not built yet")
    assert status == 200
    grow(events=400, registrations=800, feed_events=50, seed=6)
    status, large = count(client, "GET", path)
    assert status == 200
    assert len(large) == len(small) <= MAX_STATEMENTS, large


def test_not_modified_feed_is_cheap(app, client):
    requires_route(app, "calendar.feed_branch")
    grow(events=200, registrations=400, feed_events=50, seed=7)
    path = "/calendar/branches/hokkaido.ics"
    first = client.get(path)
    if first.status_code == 404 or not first.headers.get("ETag"):
        pytest.skip("the calendar feeds (with an ETag) are not built yet")
    status, statements = count(client, "GET", path,
                               headers={"If-None-Match": first.headers["ETag"]})
    assert status == 304
    assert len(statements) <= MAX_STATEMENTS


def test_check_in_does_not_grow_with_the_event_size(app, client, make_user, make_event,
                                                    make_registration, api_token):
    if not any(r.rule == "/api/v1/checkins" for r in app.url_map.iter_rules()):
        pytest.skip("POST /api/v1/checkins is not built yet")
    grow(events=40, registrations=80, feed_events=5, seed=8)
    branch = db.session.scalar(sa.select(Branch).where(Branch.slug == "hokkaido"))
    volunteer = make_user("volunteer", branches=[branch])
    headers = api_token(volunteer)
    door = make_event(branch, capacity=None,
                      starts_at=utcnow().replace(microsecond=0) - timedelta(hours=1))
    door_id = door.id

    def check_in(n: int) -> tuple[int, list[str]]:
        reg, _token = make_registration(db.session.get(Event, door_id),
                                        people=("child", "adult"))
        body = {"token": reg.ticket_token, "event_id": door_id, "nonce": f"n{n}"}
        with counting() as statements:
            response = client.post("/api/v1/checkins", json=body, headers=headers)
        return response.status_code, statements

    check_in(0)  # warm-up
    status, small = check_in(1)
    assert status == 200
    for _ in range(30):
        make_registration(db.session.get(Event, door_id), people=("adult",),
                          allergens={0: ["egg"]})
    grow(events=400, registrations=800, feed_events=50, seed=9)
    status, large = check_in(2)
    assert status == 200
    ceiling = MAX_CHECKIN_STATEMENTS
    assert len(large) == len(small) <= ceiling, "\n".join(large)


def test_sign_up_does_not_grow_and_loads_nothing_after_the_commit(app, client, make_event):
    if not any(r.rule == "/api/v1/events/<int:event_id>/registrations"
               for r in app.url_map.iter_rules()):
        pytest.skip("POST /api/v1/events/<id>/registrations is not built yet")
    grow(events=40, registrations=80, feed_events=5, seed=12)
    event_id = make_event(capacity=4).id
    committed: list[int] = []

    def sign_up(n: int) -> tuple[int, list[str], list[int]]:
        body = {"contact": {"family_name": "山田", "given_name": "花子",
                            "family_name_kana": "やまだ", "given_name_kana": "はなこ",
                            "phone": f"080-0000-{n:04d}", "email": f"hanako{n}@example.jp"},
                "attendees": [{"category": "child", "allergens": ["egg"]},
                              {"category": "adult"}],
                "consent": True, "idempotency_key": f"k{n}"}
        committed.clear()

        def on_commit(conn):
            committed.append(len(statements))

        with counting() as statements:
            sa.event.listen(db.engine, "commit", on_commit)
            try:
                response = client.post(f"/api/v1/events/{event_id}/registrations", json=body)
            finally:
                sa.event.remove(db.engine, "commit", on_commit)
        return response.status_code, statements, response.get_json()["status"]

    sign_up(0)  # warm-up
    status, small, state = sign_up(1)
    assert (status, state) == (201, "confirmed")
    after_commit = small[committed[0]:]
    assert after_commit == [], after_commit  # the answer and the mail were ready before it
    grow(events=400, registrations=800, feed_events=50, seed=13)
    status, large, state = sign_up(2)
    assert (status, state) == (201, "waitlisted")  # the guarded UPDATE took no seat
    ceiling = MAX_SIGNUP_STATEMENTS
    assert len(large) == len(small) <= ceiling, "\n".join(large)
    assert large[committed[0]:] == []


# ---------------------------------------------------------------------------------------
# Query plans: the hot requests find their rows through indexes (SQLite's planner)

BIG_TABLES = ("events", "registrations", "attendees", "checkins", "payments", "fee_categories")
#: the planner is told the tables are this many times larger than the test's data
SCALE = 1000


@pytest.fixture
def statistics_at_scale(app):
    """``ANALYZE`` (as seed-scale or an operator leaves it), with every table told SCALE
    times larger and its values as spread as they are (a column holding one value, such as
    a mostly empty replaced-ticket column, holds it in every row still).

    On a test's few hundred rows SQLite rightly prefers reading a whole small table to an
    index; at a national network's size it must not. Without statistics it assumes large
    tables but knows nothing of how values spread. The statistics are removed afterwards.
    """

    def analyze() -> None:
        db.session.commit()  # the test's own session holds no lock meanwhile
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            rows = conn.exec_driver_sql("SELECT tbl, idx, stat FROM sqlite_stat1").all()
            for tbl, idx, stat in rows:
                total, *per_key = stat.split()
                scaled = [str(int(total) * SCALE)] + [
                    str(int(n) * SCALE) if n == total else n for n in per_key]
                conn.execute(sa.text("UPDATE sqlite_stat1 SET stat = :stat WHERE tbl = :tbl "
                                     "AND idx IS :idx"),
                             {"stat": " ".join(scaled), "tbl": tbl, "idx": idx})
        db.engine.dispose()  # new connections read the statistics as written

    yield analyze
    if db.engine.dialect.name != "sqlite":
        return
    db.session.remove()
    with db.engine.begin() as conn:
        if conn.exec_driver_sql("SELECT 1 FROM sqlite_schema WHERE name = 'sqlite_stat1'"
                                ).first():
            conn.exec_driver_sql("DELETE FROM sqlite_stat1")
    db.engine.dispose()


def full_scans(client, method: str, path: str, *, warm_up: bool = True, **kw) -> list[str]:
    """Statements of the request whose SQLite plan reads a large table from end to end."""
    captured: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and not executemany:
            captured.append((statement, parameters))

    if warm_up:
        client.open(path, method=method, **kw)
    db.session.remove()
    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.open(path, method=method, **kw)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
        db.session.remove()
    assert response.status_code < 400, (path, response.status_code)
    scans = []
    raw = db.engine.raw_connection()
    try:
        cursor = raw.cursor()
        for statement, parameters in captured:
            for row in cursor.execute(f"EXPLAIN QUERY PLAN {statement}", parameters or ()):
                detail = row[-1]
                for table in BIG_TABLES:
                    if detail.startswith(f"SCAN {table}") and "INDEX" not in detail:
                        scans.append(f"{detail}: {statement[:200]}")
    finally:
        raw.close()
    return scans


@pytest.mark.parametrize("path", ["/", "/?kind=kids_cafeteria", "/branches/hokkaido",
                                  "/calendar/branches/hokkaido.ics", "/calendar/all.ics"])
def test_hot_reads_use_indexes(app, client, path, statistics_at_scale):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN; PostgreSQL is checked by the benchmark")
    grow(events=300, registrations=600, feed_events=40, seed=10)
    statistics_at_scale()
    assert full_scans(client, "GET", path) == []


def test_event_page_and_check_in_use_indexes(app, client, make_user, make_event,
                                             make_registration, api_token,
                                             statistics_at_scale):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    grow(events=300, registrations=600, feed_events=40, seed=11)
    statistics_at_scale()
    assert full_scans(client, "GET", f"/events/{upcoming_event_id()}") == []
    if not any(r.rule == "/api/v1/checkins" for r in app.url_map.iter_rules()):
        pytest.skip("POST /api/v1/checkins is not built yet")
    branch = db.session.scalar(sa.select(Branch).where(Branch.slug == "hokkaido"))
    headers = api_token(make_user("volunteer", branches=[branch]))
    door = make_event(branch, capacity=None,
                      starts_at=utcnow().replace(microsecond=0) - timedelta(hours=1))
    first, _t = make_registration(door)
    second, _t = make_registration(door)
    third, _t = make_registration(door)
    retry = {"token": third.ticket_token, "event_id": door.id, "nonce": "c"}
    client.post("/api/v1/checkins", headers=headers,
                json={"token": first.ticket_token, "event_id": door.id, "nonce": "a"})
    body = {"token": second.ticket_token, "event_id": door.id, "nonce": "b"}
    assert full_scans(client, "POST", "/api/v1/checkins", warm_up=False, json=body,
                      headers=headers) == []
    # the same scan again (a phone retrying after a lost answer) is answered from its record
    assert full_scans(client, "POST", "/api/v1/checkins", json=retry, headers=headers) == []


def test_sign_up_ticket_manage_and_door_list_use_indexes(app, client, make_user, make_event,
                                                         make_registration, api_token,
                                                         statistics_at_scale):
    """With statistics (as seed-scale and ANALYZE leave them), a sign-up and the pages a
    family and the door open next find their rows through indexes."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("reads SQLite's EXPLAIN QUERY PLAN")
    grow(events=300, registrations=600, feed_events=40, seed=14)
    branch = db.session.scalar(sa.select(Branch).where(Branch.slug == "hokkaido"))
    headers = api_token(make_user("volunteer", branches=[branch]))
    event = make_event(branch, capacity=None,
                       starts_at=utcnow().replace(microsecond=0) - timedelta(hours=1))
    reg, manage_token = make_registration(event)
    event_id, ticket, open_id = event.id, reg.ticket_token, make_event(branch, capacity=20).id
    statistics_at_scale()
    body = {"contact": {"family_name": "山田", "given_name": "花子",
                        "family_name_kana": "やまだ", "given_name_kana": "はなこ",
                        "phone": "080-1111-2222", "email": "hanako@example.jp"},
            "attendees": [{"category": "child", "allergens": ["egg"]}], "consent": True}
    assert full_scans(client, "POST", f"/api/v1/events/{open_id}/registrations",
                      warm_up=False, json=body) == []
    assert full_scans(client, "GET", f"/r/{manage_token}") == []
    assert full_scans(client, "GET", f"/c/{ticket}") == []
    assert full_scans(client, "GET", f"/api/v1/events/{event_id}/checkin-list",
                      headers=headers) == []
