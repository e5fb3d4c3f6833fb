"""`flask --app wsgi seed-scale`: a national network's worth of data, inserted in bulk.

13 branches, 10,000 events over five years (two behind, three ahead) and 100,000
registrations with their people, allergies and diets, so that pages, feeds and the door
can be measured at the size they will have to carry. Rows go in with executemany-style
Core inserts (one statement per batch, not one ORM object at a time): about a minute on
SQLite for the full size. ``seats_taken`` of every event equals its confirmed attendees,
and no event is over capacity.

The first branch (``hokkaido``) carries ``--feed-events`` upcoming events of its own, so
that its feed is the "1,000-event feed" the benchmark measures.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
import sqlalchemy as sa
from flask.cli import with_appcontext

from gathering.accounts.models import Branch
from gathering.demo import BRANCHES as DEMO_BRANCHES
from gathering.events.models import Event, FeeCategory, Venue
from gathering.extensions import db
from gathering.rsvp.models import Attendee, Registration
from gathering.security import new_token, token_hash
from gathering.timeutil import TOKYO, utcnow

# the demo's twelve regional committees and a thirteenth, as the scale target asks
BRANCHES = [*DEMO_BRANCHES, ("okinawa", "沖縄", "九州・沖縄")]

KINDS = [  # (kind, title, weight)
    ("kids_cafeteria", "子ども食堂", 50),
    ("shared_meal", "みんな食堂", 20),
    ("film_screening", "上映会", 8),
    ("study_session", "学習会", 12),
    ("workshop", "ワークショップ", 6),
    ("summit", "地域交流サミット", 4),
]
FEES = [("child", "こども", 0), ("adult", "おとな", 300)]
ALLERGENS = ["egg", "milk", "wheat", "peanut", "buckwheat", "shrimp", "crab", "walnut",
             "soybean", "sesame", "kiwi", "banana"]
DIETS = ["vegetarian", "no_pork", "halal", "soft_food"]
FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤",
          "Nguyen", "Santos"]
FAMILY_KANA = ["ヤマダ", "サトウ", "スズキ", "タカハシ", "タナカ", "イトウ", "ワタナベ",
               "ナカムラ", "コバヤシ", "カトウ", "グエン", "サントス"]
GIVEN = [("花子", "ハナコ"), ("太郎", "タロウ"), ("さくら", "サクラ"), ("健", "ケン"),
         ("Maria", "マリア"), ("陽菜", "ヒナ")]

BATCH = 2000


@dataclass
class _PlannedEvent:
    branch_id: int
    venue_id: int
    starts_at: datetime
    kind: str
    title: str
    capacity: int | None
    status: str
    parties: list[list[int]] = field(default_factory=list)  # people a party: 1..4
    seats_taken: int = 0


def _chunks(rows: list, size: int = BATCH):
    for i in range(0, len(rows), size):
        yield rows[i:i + size]


def _insert_returning_ids(session, table, rows: list[dict]) -> list[int]:
    """Insert many rows and return their ids in the order given (insertmanyvalues)."""
    ids: list[int] = []
    stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
    for chunk in _chunks(rows):
        ids.extend(session.execute(stmt, chunk).scalars().all())
    return ids


def _insert(session, table, rows: list[dict]) -> None:
    for chunk in _chunks(rows):
        session.execute(sa.insert(table), chunk)


def _branches(session) -> list[Branch]:
    existing = {b.slug: b for b in session.scalars(sa.select(Branch))}
    for slug, name, region in BRANCHES:
        if slug not in existing:
            branch = Branch(slug=slug, name=name, region=region,
                            description=f"{name}の地域委員会が運営する、地域のつどいです。",
                            issuer_name=f"つどいネットワーク {name}委員会",
                            issuer_address=f"{name}事務局")
            session.add(branch)
            existing[slug] = branch
    session.flush()
    return [existing[slug] for slug, _name, _region in BRANCHES]


def _venues(session, branches: list[Branch]) -> dict[int, list[int]]:
    rows = []
    for branch in branches:
        for i in range(3):
            rows.append({"branch_id": branch.id, "name": f"{branch.name} 地域センター {i + 1}",
                         "postal_code": f"{100 + branch.id:03d}{i:04d}",
                         "address": f"{branch.name} 中央{i + 1}丁目1-1", "access_notes": "",
                         "accessibility_notes": "", "map_url": ""})
    ids = _insert_returning_ids(session, Venue.__table__, rows)
    by_branch: dict[int, list[int]] = {}
    for row, venue_id in zip(rows, ids, strict=True):
        by_branch.setdefault(row["branch_id"], []).append(venue_id)
    return by_branch


def _local_noon_ish(day: datetime, rng: random.Random) -> datetime:
    local = day.astimezone(TOKYO)
    hour = rng.choice([10, 11, 13, 17, 18])
    return datetime(local.year, local.month, local.day, hour, 0, tzinfo=TOKYO)


def plan_events(branches: list[Branch], venues: dict[int, list[int]], *, events: int,
                feed_events: int, now: datetime, rng: random.Random) -> list[_PlannedEvent]:
    """Where and when every event is: the first branch gets ``feed_events`` upcoming ones."""
    kinds = [k for k, _t, _w in KINDS]
    titles = {k: t for k, t, _w in KINDS}
    weights = [w for _k, _t, w in KINDS]
    past, ahead = timedelta(days=2 * 365), timedelta(days=3 * 365)
    plans = []
    feed_events = min(feed_events, events)
    for i in range(events):
        if i < feed_events:
            branch = branches[0]
            starts = now + timedelta(days=1) + (ahead - timedelta(days=1)) * (i / max(feed_events, 1))
        else:
            branch = branches[1 + i % (len(branches) - 1)] if len(branches) > 1 else branches[0]
            starts = now - past + (past + ahead) * rng.random()
        kind = rng.choices(kinds, weights)[0]
        roll = rng.random()
        status = "cancelled" if roll < 0.03 else "draft" if roll < 0.05 else "published"
        plans.append(_PlannedEvent(
            branch_id=branch.id, venue_id=rng.choice(venues[branch.id]),
            starts_at=_local_noon_ish(starts, rng), kind=kind,
            title=f"{branch.name} {titles[kind]}",
            capacity=None if rng.random() < 0.1 else rng.choice([30, 40, 50, 60, 80, 100]),
            status=status))
    return plans


def plan_registrations(plans: list[_PlannedEvent], registrations: int,
                       rng: random.Random) -> None:
    """Spread parties of 1–4 people over the published events, never over capacity."""
    open_events = [p for p in plans if p.status == "published"]
    if not open_events:
        return
    placed = attempts = 0
    while placed < registrations and attempts < registrations * 3:
        attempts += 1
        plan = open_events[rng.randrange(len(open_events))]
        people = rng.choices([1, 2, 3, 4], [30, 40, 20, 10])[0]
        if plan.capacity is not None and plan.seats_taken + people > plan.capacity:
            continue
        plan.parties.append([people])
        plan.seats_taken += people
        placed += 1


def seed_scale(session, *, events: int = 10_000, registrations: int = 100_000,
               feed_events: int = 1000, now: datetime | None = None, seed: int = 7,
               progress=lambda message: None) -> dict:
    """Insert the scale data; returns counts. Flushes; the caller commits."""
    rng = random.Random(seed)
    now = now or utcnow()
    branches = _branches(session)
    venues = _venues(session, branches)
    plans = plan_events(branches, venues, events=events, feed_events=feed_events, now=now,
                        rng=rng)
    plan_registrations(plans, registrations, rng)
    progress(f"planned {len(plans)} events, {sum(len(p.parties) for p in plans)} registrations")

    event_rows = []
    for p in plans:
        duration = timedelta(hours=3 if p.kind != "summit" else 6)
        event_rows.append({
            "branch_id": p.branch_id, "venue_id": p.venue_id, "kind": p.kind, "title": p.title,
            "description": "地域のみなさんで一緒にごはんを食べましょう。**予約優先**です。",
            "starts_at": p.starts_at, "ends_at": p.starts_at + duration,
            "capacity": p.capacity, "seats_taken": p.seats_taken, "status": p.status,
            "signup_opens_at": None, "signup_closes_at": p.starts_at - timedelta(days=1),
            "fee_basis": "attended", "uid": f"{new_token(16)}@tsudoi", "sequence": 0,
            "cancelled_at": now if p.status == "cancelled" else None, "is_detached": False,
            "created_at": now, "updated_at": now})
    event_ids = _insert_returning_ids(session, Event.__table__, event_rows)
    progress(f"inserted {len(event_ids)} events")

    fee_rows = [{"event_id": event_id, "code": code, "label": label, "amount": amount,
                 "position": pos}
                for event_id in event_ids for pos, (code, label, amount) in enumerate(FEES)]
    fee_ids = _insert_returning_ids(session, FeeCategory.__table__, fee_rows)
    fees_of = {}
    for row, fee_id in zip(fee_rows, fee_ids, strict=True):
        fees_of.setdefault(row["event_id"], []).append(fee_id)
    progress(f"inserted {len(fee_ids)} fee categories")

    reg_rows, people_of = [], []
    for plan, event_id in zip(plans, event_ids, strict=True):
        for (people,) in plan.parties:
            f = rng.randrange(len(FAMILY))
            given, given_kana = rng.choice(GIVEN)
            created = min(plan.starts_at - timedelta(days=rng.randint(1, 30)), now)
            reg_rows.append({
                "event_id": event_id, "status": "confirmed", "family_name": FAMILY[f],
                "given_name": given, "family_name_kana": FAMILY_KANA[f],
                "given_name_kana": given_kana, "phone": f"090{rng.randrange(10**8):08d}",
                "email": "", "message": "", "manage_token_hash": token_hash(new_token(16)),
                "ticket_token": new_token(16), "is_walk_in": False, "consent_at": created,
                "receipt_name": "", "created_at": created, "updated_at": created})
            people_of.append((people, fees_of[event_id], plan.starts_at < now))
    reg_ids = _insert_returning_ids(session, Registration.__table__, reg_rows)
    progress(f"inserted {len(reg_ids)} registrations")

    attendee_rows = []
    for reg_id, (people, fee_ids_of_event, past), reg in zip(reg_ids, people_of, reg_rows,
                                                             strict=True):
        for pos in range(people):
            allergic = rng.random() < 0.12
            attendee_rows.append({
                "registration_id": reg_id, "fee_category_id": fee_ids_of_event[pos == 0],
                "position": pos, "name": "",
                "allergens": rng.sample(ALLERGENS, rng.randint(1, 2)) if allergic else [],
                "diets": [rng.choice(DIETS)] if rng.random() < 0.04 else [],
                "note": "刻み食でお願いします" if rng.random() < 0.01 else "",
                "checked_in_at": reg["created_at"] if past and rng.random() < 0.85 else None,
                "created_at": reg["created_at"]})
    _insert(session, Attendee.__table__, attendee_rows)
    progress(f"inserted {len(attendee_rows)} attendees")
    session.flush()
    return {"branches": len(branches), "events": len(event_ids),
            "registrations": len(reg_ids), "attendees": len(attendee_rows)}


@click.command("seed-scale")
@click.option("--events", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@click.option("--registrations", type=click.IntRange(0, 10_000_000), default=100_000,
              show_default=True)
@click.option("--feed-events", type=click.IntRange(0, 1_000_000), default=1000,
              show_default=True, help="Upcoming events of the first branch (its feed's size).")
@click.option("--seed", type=int, default=7, show_default=True, help="Random seed.")
@with_appcontext
def seed_scale_command(events, registrations, feed_events, seed):
    """Fill the database with a national network's worth of events and sign-ups (bulk)."""
    import time

    started = time.perf_counter()
    counts = seed_scale(db.session, events=events, registrations=registrations,
                        feed_events=feed_events, seed=seed, progress=click.echo)
    db.session.commit()
    # Fresh statistics, so the planner uses the indexes on this much data (SQLite only
    # consults sqlite_stat1 after ANALYZE). PostgreSQL also gets its VACUUM now: left to
    # autovacuum, it would run a minute later, in the middle of a benchmark's rows.
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    click.echo(f"{counts['branches']} branches, {counts['events']} events, "
               f"{counts['registrations']} registrations, {counts['attendees']} people "
               f"in {time.perf_counter() - started:.1f} s")


COMMANDS = [seed_scale_command]
