"""Fixtures of the fee tests: an event with a fee table, its organizer and door volunteer."""

from __future__ import annotations

from datetime import datetime

import pytest

from gathering.extensions import db
from gathering.timeutil import TOKYO


@pytest.fixture
def cafeteria(make_branch, make_event):
    """A 子ども食堂 on Saturday 2026-12-12 11:00 (こども 0円, おとな 300円), fee on attendance."""
    branch = make_branch(slug="asahi", name="あさひ子ども食堂", issuer_name="あさひ子ども食堂運営委員会",
                         issuer_address="北海道旭川市1条通8丁目")
    return make_event(branch, capacity=60, starts_at=datetime(2026, 12, 12, 11, 0, tzinfo=TOKYO))


@pytest.fixture
def organizer(make_user, cafeteria):
    return make_user("organizer", branches=[cafeteria.branch])


@pytest.fixture
def volunteer(make_user, cafeteria):
    return make_user("volunteer", branches=[cafeteria.branch])


@pytest.fixture
def stranger(make_user):
    """An organizer of another branch."""
    return make_user("organizer")


@pytest.fixture
def admit():
    """admit(reg, now) marks everyone of the party as checked in (the door's state)."""

    def _admit(reg, now, positions=None):
        for i, a in enumerate(reg.active_attendees):
            if positions is None or i in positions:
                a.checked_in_at = now
        db.session.commit()

    return _admit


@pytest.fixture
def till_paid_back(cafeteria, make_registration, organizer, admit, now):
    """A till that paid 400円 back (a transfer refunded in cash) and took 100円: the ledger
    expects −300円 of it, less than any change float."""
    from gathering.fees import services as fees

    back, _ = make_registration(cafeteria, people=("adult",))
    fees.record_payment(db.session, back, 400, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    fees.record_refund(db.session, back, 400, "cash", user=organizer)
    came, _ = make_registration(cafeteria, people=("adult",))
    admit(came, now)
    fees.record_payment(db.session, came, 100, "cash", user=organizer)
    db.session.commit()
    return cafeteria
