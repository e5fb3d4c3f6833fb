"""Fixtures of the events tests: a recurring series built through the services."""

from datetime import datetime

import pytest

from gathering.events import recurrence, services
from gathering.extensions import db
from gathering.timeutil import TOKYO

CHILD_ADULT = [{"code": "child", "label": "こども", "amount": 0},
               {"code": "adult", "label": "おとな", "amount": 300}]


def series_data(**overrides) -> dict:
    data = {
        "title": "あさひかわ子ども食堂", "kind": "kids_cafeteria", "description": "",
        "starts_at": datetime(2026, 12, 12, 11, tzinfo=TOKYO), "duration_minutes": 180,
        "capacity": 40, "status": "published", "fees": CHILD_ADULT,
        "pattern": recurrence.Pattern("monthly_nth", weekdays=[5], nths=[2, 4]),
        "venue": {"name": "みんなの家", "postal_code": "070-0031", "address": "北海道旭川市"},
    }
    data.update(overrides)
    return data


@pytest.fixture
def make_series(app, make_branch, make_user, now):
    """make_series(branch=None, user=None, months=6, at=now, **data) → (series, user)."""

    def _make(branch=None, user=None, *, months=6, at=None, **data):
        branch = branch or make_branch()
        user = user or make_user("organizer", branches=[branch])
        cleaned = services.clean_series_data(series_data(**data))
        series = services.create_series(db.session, user, branch, cleaned, now=at or now,
                                        months=months)
        db.session.commit()
        return series, user

    return _make
