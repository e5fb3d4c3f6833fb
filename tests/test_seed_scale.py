"""`flask seed-scale`: the benchmark's data is consistent, as the services would leave it."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.accounts.models import Branch
from gathering.events.models import Event
from gathering.extensions import db
from gathering.rsvp.models import Attendee, Registration
from gathering.timeutil import utcnow


def test_seed_scale_command_fills_a_consistent_network(runner):
    result = runner.invoke(args=["seed-scale", "--events", "120", "--registrations", "400",
                                 "--feed-events", "30"])
    assert result.exit_code == 0, result.output
    assert "13 branches, 120 events, 400 registrations" in result.output

    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 13
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 120
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 400
    confirmed = dict(db.session.execute(
        sa.select(Registration.event_id, sa.func.count(Attendee.id))
        .join(Attendee).where(Registration.status == "confirmed")
        .group_by(Registration.event_id)).all())
    for event in db.session.scalars(sa.select(Event)):
        assert event.seats_taken == confirmed.get(event.id, 0)
        assert event.capacity is None or event.seats_taken <= event.capacity
        assert len(event.fees) == 2
        if event.status != "published":
            assert event.seats_taken == 0
    upcoming = db.session.scalar(
        sa.select(sa.func.count(Event.id)).join(Branch)
        .where(Branch.slug == "hokkaido", Event.starts_at > utcnow()))
    assert upcoming == 30
    tokens = db.session.scalars(sa.select(Registration.ticket_token)).all()
    assert len(set(tokens)) == len(tokens) == 400
    allergies = [a for a in db.session.scalars(sa.select(Attendee.allergens)) if a]
    assert allergies and all(isinstance(a, list) for a in allergies)


def test_seed_scale_twice_adds_to_the_same_branches(runner):
    for _ in range(2):
        assert runner.invoke(args=["seed-scale", "--events", "20", "--registrations", "30",
                                   "--feed-events", "5"]).exit_code == 0
    assert db.session.scalar(sa.select(sa.func.count(Branch.id))) == 13
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 40


def test_seed_scale_refuses_nonsense(runner):
    result = runner.invoke(args=["seed-scale", "--events", "0"])
    assert result.exit_code != 0
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
