"""Capacity under real concurrency: many sign-ups at once through a real server (gunicorn,
several worker processes, each with its own database connections), on the test database
(SQLite file or PostgreSQL, whichever the suite runs on)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Attendee, Registration

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(database_uri, app, tmp_path):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": database_uri, "RATELIMIT_ENABLED": "false",
           "SECRET_KEY": "concurrency-test", "APP_ENV": "development"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    # the workers' log (each sign-up's mail, written out without MAIL_SERVER) goes to a
    # file: a pipe nobody reads fills at 64 KB and blocks every worker in its next write
    log = tmp_path / "gunicorn.log"
    with log.open("w") as errors:
        proc = subprocess.Popen(
            [str(gunicorn), "--workers", "4", "--threads", "1", "--bind", f"127.0.0.1:{port}",
             "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=errors)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):  # readiness, not timing: poll until it answers
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(log.read_text())
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _post(url: str, body: dict) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def test_sixty_concurrent_signups_never_overbook(make_event, server):
    event = make_event(capacity=10)
    event_id = event.id
    db.session.rollback()  # the event is committed; hold no lock while the server works
    url = f"{server}/api/v1/events/{event_id}/registrations"

    def body(i: int) -> dict:
        size = 1 + i % 3
        return {"contact": {"family_name": "Test", "given_name": "Hanako",
                            "email": f"p{i}@example.jp"},
                "attendees": [{"category": "adult"}] * size}

    with ThreadPoolExecutor(max_workers=30) as pool:
        results = list(pool.map(lambda i: _post(url, body(i)), range(60)))

    statuses = [s for s, _ in results]
    assert all(s == 201 for s in statuses), statuses
    assert {b["status"] for _, b in results} <= {"confirmed", "waitlisted"}

    db.session.expire_all()
    regs = list(db.session.scalars(sa.select(Registration).where(
        Registration.event_id == event_id)))
    assert len(regs) == 60
    confirmed_people = db.session.scalar(
        sa.select(sa.func.count(Attendee.id)).join(Registration)
        .where(Registration.event_id == event_id, Registration.status == "confirmed",
               Attendee.cancelled_at.is_(None)))
    assert 0 < confirmed_people <= 10
    db.session.refresh(event)
    assert event.seats_taken == confirmed_people
    waiting = [r for r in regs if r.status == "waitlisted"]
    assert len(waiting) == 60 - sum(1 for r in regs if r.status == "confirmed")
    # everyone waiting really did not fit when they came: no party of 1 waits while seats
    # are free at the end
    if event.capacity - event.seats_taken >= 1:
        assert all(r.party_size > event.capacity - event.seats_taken for r in waiting)


def test_simultaneous_double_taps_make_one_registration(make_event, server):
    event = make_event(capacity=10)
    event_id = event.id
    db.session.rollback()
    url = f"{server}/api/v1/events/{event_id}/registrations"
    body = {"contact": {"family_name": "Tanaka", "email": "tap@example.jp"},
            "attendees": [{"category": "adult"}, {"category": "child"}],
            "idempotency_key": "one-tap-twice"}
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: _post(url, body), range(8)))
    assert {s for s, _ in results} == {201}
    assert len({b["id"] for _, b in results}) == 1
    assert len({b["manage_url"] for _, b in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Registration.id)).where(
        Registration.event_id == event_id)) == 1
    db.session.refresh(event)
    assert event.seats_taken == 2
