"""Fixtures of the door tests: an event with its branch's volunteer and organizer."""

from __future__ import annotations

import pytest


@pytest.fixture
def door(make_branch, make_user, make_event):
    """A published event with 10 seats and a volunteer, an organizer and an outsider."""

    class Door:
        branch = make_branch()
        event = make_event(branch, capacity=10)
        volunteer = make_user("volunteer", branches=[branch])
        organizer = make_user("organizer", branches=[branch])
        outsider = make_user("volunteer")

    return Door


@pytest.fixture
def closed_event(door, make_event):
    """closed_event(kind) → an event of the door's branch that takes no walk-ins:
    "cancelled", "draft", or "over" (ended two days ago)."""
    from datetime import datetime, timedelta

    from gathering.events import services as events
    from gathering.extensions import db
    from gathering.timeutil import TOKYO

    def _make(kind: str):
        if kind == "over":
            return make_event(door.branch, starts_at=datetime.now(TOKYO) - timedelta(days=2))
        event = make_event(door.branch, status="draft" if kind == "draft" else "published")
        if kind == "cancelled":
            events.cancel_event(db.session, door.organizer, event)
            db.session.commit()
        return event

    return _make


@pytest.fixture
def two_dates(door, make_event):
    """Two dates of one 子ども食堂 under the same title, 12/19 (the door's today) and 12/26."""
    from datetime import datetime

    from gathering.timeutil import TOKYO

    return tuple(make_event(door.branch, title="あさひかわ子ども食堂",
                            starts_at=datetime(2026, 12, day, 11, 0, tzinfo=TOKYO))
                 for day in (19, 26))
