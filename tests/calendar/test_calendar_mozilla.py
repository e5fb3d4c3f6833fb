"""Feeds read by Mozilla's parser (ical.js, as in Thunderbird): times land on the right
instant only because the feed carries its VTIMEZONE; expanded, a feed equals the database.

Python's parsers forgive a missing VTIMEZONE; ical.js reads such times as floating and
puts them nine hours off. So this runs the real ical.js under Node."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gathering.events import services as events
from gathering.extensions import db
from gathering.timeutil import TOKYO

HERE = Path(__file__).parent
ROOT = HERE.parent.parent


def _require_icaljs() -> None:
    if shutil.which("node") and (ROOT / "node_modules" / "ical.js").is_dir():
        return
    if os.environ.get("CI") == "true":
        pytest.fail("node or node_modules/ical.js is missing under CI=true (npm ci)")
    pytest.skip("node and node_modules/ical.js are needed (npm ci)")


def icaljs(body: bytes, start: datetime, end: datetime) -> list[dict]:
    _require_icaljs()
    result = subprocess.run(
        ["node", str(HERE / "icaljs_expand.mjs"), start.isoformat(), end.isoformat()],
        input=body, capture_output=True, cwd=ROOT, timeout=60,
        env={**os.environ, "TZ": "UTC"}, check=True)
    return [json.loads(line) for line in result.stdout.decode().splitlines() if line]


def as_rows(items: list[dict]) -> list[tuple]:
    return sorted((datetime.fromisoformat(i["start"].replace("Z", "+00:00")),
                   datetime.fromisoformat(i["end"].replace("Z", "+00:00")), i["status"])
                  for i in items)


def test_thunderbird_sees_the_database_exactly(client, h, make_branch, make_series, make_event,
                                              admin):
    branch = make_branch(slug="asahikawa")
    soon = (datetime.now(TOKYO) + timedelta(days=3)).replace(hour=11, minute=0, second=0,
                                                             microsecond=0)
    series = make_series(branch, starts_at=soon, now=soon - timedelta(days=1), months=4)
    occ = sorted(series.events, key=lambda e: e.starts_at)
    events.cancel_event(db.session, admin, occ[1])
    events.update_event(db.session, admin, occ[2], {
        "starts_at": occ[2].starts_at + timedelta(days=1),
        "ends_at": occ[2].ends_at + timedelta(days=1)})
    db.session.delete(occ[3])
    db.session.commit()
    make_event(branch, starts_at=soon + timedelta(days=1, hours=7), title="夜の学習会")
    body = client.get("/calendar/all.ics").data
    found = icaljs(body, *h.WIDE)
    assert {i["tzid"] for i in found} == {"Asia/Tokyo"}
    assert as_rows(found) == h.db_occurrences()
    assert as_rows(found) == h.expand(h.parse(body), *h.WIDE)  # ical.js and Python agree


def test_without_vtimezone_thunderbird_would_be_nine_hours_off(client, h, make_event):
    """Why the VTIMEZONE matters: the same feed with it cut out reads wrong in ical.js."""
    soon = (datetime.now(TOKYO) + timedelta(days=3)).replace(hour=11, minute=0, second=0,
                                                             microsecond=0)
    make_event(starts_at=soon)
    body = client.get("/calendar/all.ics").data
    head, _, rest = body.partition(b"BEGIN:VTIMEZONE")
    stripped = head + rest.partition(b"END:VTIMEZONE\r\n")[2]
    good = as_rows(icaljs(body, *h.WIDE))
    bad = as_rows(icaljs(stripped, *h.WIDE))
    assert good == h.db_occurrences()
    assert bad[0][0] - good[0][0] == timedelta(hours=9)


def test_thunderbird_ends_a_series_at_its_last_date(client, h, make_branch, make_series,
                                                    make_registration, admin):
    """A last date set later: the booked date after it is called off, the rule stops at the
    last date, and ical.js expands the feed to exactly the database's dates."""
    branch = make_branch(slug="asahikawa")
    soon = (datetime.now(TOKYO) + timedelta(days=3)).replace(hour=11, minute=0, second=0,
                                                             microsecond=0)
    series = make_series(branch, starts_at=soon, now=soon - timedelta(days=1), months=4)
    occ = sorted(series.events, key=lambda e: e.starts_at)
    last = occ[3].starts_at.astimezone(TOKYO).date()
    make_registration(occ[5])
    db.session.commit()
    data = events.clean_series_data({
        "title": series.title, "kind": series.kind, "description": series.description,
        "rrule": series.rrule, "starts_at": series.starts_at,
        "duration_minutes": series.duration_minutes, "capacity": series.capacity,
        "status": "published", "fees": series.fee_template, "venue_id": series.venue_id,
        "ends_on": last})
    events.update_series(db.session, admin, series, data, now=soon - timedelta(days=1),
                         months=4, confirm=True)
    db.session.commit()
    body = client.get("/calendar/all.ics").data
    found = as_rows(icaljs(body, *h.WIDE))
    assert found == h.db_occurrences()
    assert found == h.expand(h.parse(body), *h.WIDE)
    assert max(s for s, _, status in found if status == "CONFIRMED") == occ[3].starts_at
    assert (occ[5].starts_at, occ[5].ends_at, "CANCELLED") in found
