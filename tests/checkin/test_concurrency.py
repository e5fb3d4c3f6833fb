"""Two phones scanning the same ticket at the same moment: admitted once, on SQLite and
PostgreSQL alike (real threads, each with its own session and transaction)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from gathering.accounts.models import User
from gathering.checkin import services
from gathering.checkin.models import CheckIn
from gathering.errors import GatheringError
from gathering.events.models import Event
from gathering.extensions import SqliteBegin, db, sqlite_begin
from gathering.rsvp.models import Attendee

pytestmark = pytest.mark.slow


def at_once(app, phones: int, user_id: int, event_id: int, work,
            mode: SqliteBegin = SqliteBegin.IMMEDIATE) -> list:
    """Run ``work(user, event, n)`` on ``phones`` threads released together, each in its own
    app context, session and transaction (begun as ``mode`` says: the scan API locks late).
    Returns each one's result, or its refusal code."""
    barrier = threading.Barrier(phones)
    outcomes: list = []

    def phone(n: int) -> None:
        sqlite_begin.set(mode)
        with app.app_context():
            user = db.session.get(User, user_id)
            event = db.session.get(Event, event_id)
            db.session.commit()
            barrier.wait()
            try:
                outcome = work(user, event, n)
                db.session.commit()
                outcomes.append(outcome)
            except GatheringError as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=phone, args=(n,)) for n in range(phones)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


@pytest.mark.parametrize("mode", [SqliteBegin.IMMEDIATE, SqliteBegin.LATE])
def test_two_phones_one_ticket_admit_once(app, door, make_registration, now, mode):
    reg, _ = make_registration(door.event, people=("child", "adult", "adult"))
    token, event_id, user_id, reg_id = reg.ticket_token, door.event.id, door.volunteer.id, reg.id
    db.session.commit()
    db.session.remove()

    def scan(user, event, n):
        result = services.check_in(db.session, event, token, user=user, nonce=f"phone-{n}",
                                   now=now)
        return f"ok:{len(result['admitted'])}"

    outcomes = at_once(app, 4, user_id, event_id, scan, mode)

    assert sorted(outcomes) == ["already_checked_in"] * 3 + ["ok:3"]
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 3
    assert db.session.scalar(sa.select(sa.func.count(Attendee.id)).where(
        Attendee.registration_id == reg_id, Attendee.checked_in_at.is_not(None))) == 3


def test_walk_ins_at_once_never_exceed_capacity(app, door, make_registration, now):
    make_registration(door.event, people=("adult",) * 7)  # 3 seats left of 10
    event_id, user_id = door.event.id, door.volunteer.id
    db.session.commit()
    db.session.remove()

    def walk_in(user, event, n):
        services.admit_walk_in(db.session, event,
                               services.WalkIn(counts={"adult": 1}, family_name=f"来場{n}"),
                               user=user, nonce=f"w{n}", now=now)
        return "ok"

    outcomes = at_once(app, 5, user_id, event_id, walk_in)

    assert sorted(outcomes) == ["full", "full", "ok", "ok", "ok"]
    event = db.session.get(Event, event_id)
    assert event.seats_taken == 10


def test_one_scan_sent_twice_at_once_admits_once_and_answers_alike(app, door,
                                                                   make_registration, now):
    """A retried request racing its first try (the scanner's offline queue): both carry one
    nonce, and with the lock taken late both may find no stored answer before writing."""
    reg, _ = make_registration(door.event, people=("child", "adult"))
    token, event_id, user_id = reg.ticket_token, door.event.id, door.volunteer.id
    db.session.commit()
    db.session.remove()

    def scan(user, event, n):
        result = services.check_in(db.session, event, token, user=user, nonce="same", now=now)
        return (sorted(result["admitted"]), bool(result.get("replayed")))

    outcomes = at_once(app, 3, user_id, event_id, scan, SqliteBegin.LATE)

    assert len(outcomes) == 3 and len({tuple(o[0]) for o in outcomes}) == 1, outcomes
    assert sorted(replayed for _, replayed in outcomes) == [False, True, True]
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 2


def test_a_person_admitted_by_another_phone_after_the_party_was_read(app, door,
                                                                     make_registration, now):
    """The admission is one guarded UPDATE: whoever another phone admitted between this
    request's read and its write is reported as already in, and logged once."""
    reg, _ = make_registration(door.event, people=("child", "adult"))
    first, second = (a.id for a in reg.attendees)
    ticket, event_id, user_id = reg.ticket_token, door.event.id, door.volunteer.id
    db.session.commit()
    other_phone_done = []

    def other_phone(conn, clauseelement, multiparams, params, execution_options):
        if not other_phone_done and getattr(clauseelement, "table", None) is Attendee.__table__:
            other_phone_done.append(True)
            with db.engine.connect() as other:  # its own connection and transaction
                other.execute(sa.update(Attendee).where(Attendee.id == first)
                              .values(checked_in_at=now))
                other.commit()

    token = sqlite_begin.set(SqliteBegin.LATE)  # as the scan API runs it
    sa.event.listen(db.engine, "before_execute", other_phone)
    try:
        db.session.remove()
        result = services.check_in(db.session, db.session.get(Event, event_id), ticket,
                                   user=db.session.get(User, user_id), nonce="n1", now=now)
        db.session.commit()
    finally:
        sa.event.remove(db.engine, "before_execute", other_phone)
        sqlite_begin.reset(token)

    assert other_phone_done
    assert (result["admitted"], result["already"]) == ([second], [first])
    assert db.session.scalars(sa.select(CheckIn.attendee_id)).all() == [second]
