"""The benchmark's own events, made on top of the scale data, and the checks after a run.

Run by bench/run.py in a subprocess with the benchmark's environment (DATABASE_URL etc.):

    python -m bench.fixtures prepare --tickets 20000 --tokens-file /tmp/x/tokens.txt
    python -m bench.fixtures verify --signup-event 10001 --checkin-event 10002

Each prints one JSON object as its last line.
"""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

import sqlalchemy as sa

from gathering.accounts import services as accounts
from gathering.accounts.models import Branch, User
from gathering.events import services as events
from gathering.events.models import Event
from gathering.extensions import db
from gathering.rsvp.models import Attendee, Registration
from gathering.security import new_token, token_hash
from gathering.timeutil import utcnow

FEES = [{"code": "child", "label": "こども", "amount": 0},
        {"code": "adult", "label": "おとな", "amount": 300}]
ADMIN = "bench-admin@tsudoi.example"


def _admin(session) -> User:
    user = accounts.get_user_by_email(session, ADMIN)
    return user or accounts.create_user(session, ADMIN, role="admin", password=new_token())


def _event(session, admin, branch, *, title, starts, hours, capacity):
    data = events.clean_event_data({
        "title": title, "kind": "kids_cafeteria", "status": "published", "fees": FEES,
        "starts_at": starts, "ends_at": starts + timedelta(hours=hours), "capacity": capacity,
        "description": "ベンチマーク用のつどいです。",
        "venue": {"name": "ベンチマーク会館", "postal_code": "070-0031",
                  "address": "北海道旭川市1条通8丁目"}})
    return events.create_event(session, admin, branch, data)


def prepare(session, *, branch_slug: str, tickets: int, tokens_file: str) -> dict:
    """A 100-seat event for racing sign-ups, an event happening now with ``tickets``
    single-person registrations for the door, and a seeded event whose page is measured."""
    now = utcnow().replace(microsecond=0)
    branch = session.scalar(sa.select(Branch).where(Branch.slug == branch_slug))
    admin = _admin(session)
    signup = _event(session, admin, branch, title="ベンチマーク 先着100名",
                    starts=now + timedelta(days=7), hours=3, capacity=100)
    door = _event(session, admin, branch, title="ベンチマーク 受付",
                  starts=now - timedelta(hours=1), hours=6, capacity=None)
    child = next(f for f in door.fees if f.code == "child")
    tokens = [new_token(16) for _ in range(tickets)]
    reg_ids = []
    stmt = sa.insert(Registration.__table__).returning(Registration.__table__.c.id,
                                                       sort_by_parameter_order=True)
    rows = [{"event_id": door.id, "status": "confirmed", "family_name": "受付",
             "given_name": f"{i}", "family_name_kana": "ウケツケ", "given_name_kana": "",
             "phone": "09012345678", "email": "", "message": "",
             "manage_token_hash": token_hash(new_token(16)), "ticket_token": token,
             "is_walk_in": False, "receipt_name": "", "created_at": now, "updated_at": now}
            for i, token in enumerate(tokens)]
    for i in range(0, len(rows), 2000):
        reg_ids.extend(session.execute(stmt, rows[i:i + 2000]).scalars().all())
    attendees = [{"registration_id": reg_id, "fee_category_id": child.id, "position": 0,
                  "name": "", "allergens": ["egg"] if reg_id % 7 == 0 else [], "diets": [],
                  "note": "", "created_at": now} for reg_id in reg_ids]
    for i in range(0, len(attendees), 2000):
        session.execute(sa.insert(Attendee.__table__), attendees[i:i + 2000])
    session.execute(sa.update(Event).where(Event.id == door.id).values(seats_taken=tickets))
    with open(tokens_file, "w", encoding="ascii") as fh:
        fh.write("\n".join(tokens) + "\n")

    page = session.scalar(
        sa.select(Event).where(Event.branch_id == branch.id, Event.status == "published",
                               Event.starts_at > now + timedelta(days=3),
                               Event.capacity.is_not(None), Event.seats_taken > 0,
                               Event.seats_taken < Event.capacity)
        .order_by(Event.starts_at).limit(1))
    session.flush()
    return {"signup_event": signup.id, "checkin_event": door.id,
            "page_event": page.id if page else signup.id, "branch": branch.slug,
            "tickets": tickets}


def verify(session, *, signup_event: int, checkin_event: int) -> dict:
    """What the run left behind: seats against capacity, and check-ins recorded."""
    from gathering.checkin.models import CheckIn

    event = session.get(Event, signup_event)
    confirmed = session.scalar(
        sa.select(sa.func.count(Attendee.id)).join(Registration)
        .where(Registration.event_id == signup_event, Registration.status == "confirmed",
               Attendee.cancelled_at.is_(None)))
    waitlisted = session.scalar(
        sa.select(sa.func.count(Registration.id))
        .where(Registration.event_id == signup_event, Registration.status == "waitlisted"))
    checked_in = session.scalar(
        sa.select(sa.func.count(Attendee.id)).join(Registration)
        .where(Registration.event_id == checkin_event, Attendee.checked_in_at.is_not(None)))
    log_rows = session.scalar(
        sa.select(sa.func.count(CheckIn.id)).where(CheckIn.event_id == checkin_event))
    return {"capacity": event.capacity, "seats_taken": event.seats_taken,
            "confirmed_people": confirmed, "waitlisted": waitlisted,
            "checked_in": checked_in, "checkin_rows": log_rows}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fixtures")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--branch", default="hokkaido")
    p.add_argument("--tickets", type=int, default=20000)
    p.add_argument("--tokens-file", required=True)
    v = sub.add_parser("verify")
    v.add_argument("--signup-event", type=int, required=True)
    v.add_argument("--checkin-event", type=int, required=True)
    args = parser.parse_args(argv)

    from gathering import create_app

    app = create_app()
    with app.app_context():
        if args.command == "prepare":
            result = prepare(db.session, branch_slug=args.branch, tickets=args.tickets,
                             tokens_file=args.tokens_file)
        else:
            result = verify(db.session, signup_event=args.signup_event,
                            checkin_event=args.checkin_event)
        db.session.commit()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
