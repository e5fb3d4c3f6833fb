"""Calendar test helpers: series factories, parsing feeds back, expanding them the way
calendar apps do, and the database's own view of which occurrences a feed must hold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest
import recurring_ical_events
import sqlalchemy as sa

from gathering.calendar import ics
from gathering.events import services as events
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO

LINKS = ics.Links(event=lambda e: f"https://tsudoi.example/events/{e.id}",
                  series=lambda s, e: f"https://tsudoi.example/branches/{e.branch.slug}")


@pytest.fixture
def admin(make_user):
    return make_user("admin")


@pytest.fixture
def make_series(app, admin, make_branch):
    """make_series(branch, rrule=..., starts_at=..., now=..., months=6, **fields)."""

    def _make(branch=None, *, rrule="FREQ=MONTHLY;BYDAY=2SA,4SA", starts_at, now,
              months=6, duration=180, status="published", title="あさひかわ子ども食堂",
              **extra):
        branch = branch or make_branch()
        data = {"title": title, "kind": "kids_cafeteria", "description": "みんなで食べよう",
                "rrule": rrule, "starts_at": starts_at, "duration_minutes": duration,
                "capacity": 40, "status": status,
                "fees": [{"code": "child", "label": "こども", "amount": 0},
                         {"code": "adult", "label": "おとな", "amount": 300}],
                "venue": {"name": "みんなの家", "postal_code": "0700031",
                          "address": "北海道旭川市1条通8丁目"}}
        data.update(extra)
        series = events.create_series(db.session, admin, branch,
                                      events.clean_series_data(data), now=now, months=months)
        db.session.commit()
        return series

    return _make


def parse(body: bytes) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(body)


def expand(cal: icalendar.Calendar, start: datetime, end: datetime) -> list[tuple]:
    """(start, end, status) in UTC of every occurrence between start and end, as a
    calendar app would compute them (RRULE, EXDATE, RECURRENCE-ID)."""
    out = []
    for component in recurring_ical_events.of(cal).between(start, end):
        out.append((component["DTSTART"].dt.astimezone(UTC),
                    component["DTEND"].dt.astimezone(UTC),
                    str(component.get("STATUS", "CONFIRMED"))))
    return sorted(out)


def db_occurrences(where=None) -> list[tuple]:
    """The database's published and cancelled events as (start, end, status)."""
    q = sa.select(Event).where(Event.status.in_(["published", "cancelled"]))
    if where is not None:
        q = q.where(where)
    return sorted(
        (e.starts_at.astimezone(UTC), e.ends_at.astimezone(UTC),
         "CANCELLED" if e.status == "cancelled" else "CONFIRMED")
        for e in db.session.scalars(q))


def vevents(cal: icalendar.Calendar) -> list:
    return [c for c in cal.walk("VEVENT")]


WIDE = (datetime(2020, 1, 1, tzinfo=TOKYO), datetime(2035, 1, 1, tzinfo=TOKYO))


def day(y, m, d, h=11, minute=0) -> datetime:
    return datetime(y, m, d, h, minute, tzinfo=TOKYO)


def hours(n: float) -> timedelta:
    return timedelta(hours=n)


class Helpers:
    """The helpers above as one fixture, so test modules need not import conftest."""

    LINKS = LINKS
    WIDE = WIDE
    parse = staticmethod(parse)
    expand = staticmethod(expand)
    db_occurrences = staticmethod(db_occurrences)
    vevents = staticmethod(vevents)
    day = staticmethod(day)
    hours = staticmethod(hours)


@pytest.fixture
def h():
    return Helpers
