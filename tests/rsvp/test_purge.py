"""The purge of sensitive data leaves no allergy codes behind: not in the answers kept for
repeated door scans either, and no kept answer outlives IDEMPOTENCY_RECORD_DAYS."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gathering.checkin import services as checkin
from gathering.extensions import db
from gathering.idempotency import IdempotencyRecord, get_record, save_record
from gathering.rsvp import services
from gathering.timeutil import utcnow


def stored_answers() -> str:
    return json.dumps([r.response for r in db.session.scalars(sa.select(IdempotencyRecord))],
                      ensure_ascii=False)


@pytest.fixture
def checked_in(make_branch, make_user, make_event, make_registration):
    """check_in(event) → a party with egg and milk allergies, admitted at ``event``'s door
    with a nonce (scanner) and undone once with another."""

    def _make(event):
        volunteer = make_user("volunteer", branches=[event.branch])
        reg, _ = make_registration(event, allergens={0: ["egg"], 1: ["milk"]},
                                   diets={1: ["halal"]})
        answer = checkin.check_in(db.session, event, reg.ticket_token, user=volunteer,
                                  nonce=f"scan-{reg.id}")
        db.session.commit()
        assert answer["alerts"] == ["egg", "milk", "halal"]
        return reg, volunteer

    return _make


def test_the_purge_deletes_the_kept_answers_of_the_events_check_ins(make_event, checked_in,
                                                                    make_branch):
    branch = make_branch()
    past = make_event(branch, capacity=10, starts_at=utcnow() - timedelta(days=40))
    recent = make_event(branch, capacity=10, starts_at=utcnow() - timedelta(days=3))
    old_reg, volunteer = checked_in(past)
    checkin.undo_check_in(db.session, past, old_reg.ticket_token, user=volunteer,
                          nonce="undo-1")
    db.session.commit()
    recent_reg, _ = checked_in(recent)
    assert "egg" in stored_answers()

    assert services.purge_sensitive(db.session, now=utcnow(), days=30) == 1
    db.session.commit()
    db.session.expire_all()
    assert old_reg.purged_at is not None
    assert all(a.allergens == [] and a.diets == [] for a in old_reg.attendees)
    assert get_record(db.session, f"checkin:{past.id}", f"scan-{old_reg.id}") is None
    assert get_record(db.session, f"checkin:{past.id}", "undo:undo-1") is None
    # the event still within its retention period keeps its data and its answers
    assert recent_reg.purged_at is None
    assert get_record(db.session, f"checkin:{recent.id}", f"scan-{recent_reg.id}") is not None
    # and a second run finds nothing more to do
    assert services.purge_sensitive(db.session, now=utcnow(), days=30) == 0


def test_the_purge_command_leaves_no_allergen_in_any_kept_answer(runner, make_event,
                                                                  checked_in):
    event = make_event(capacity=10, starts_at=utcnow() - timedelta(days=40))
    reg, _ = checked_in(event)
    result = runner.invoke(args=["purge-sensitive"])
    assert result.exit_code == 0, result.output
    assert "1 registration" in result.output
    text = stored_answers()
    assert "egg" not in text and "milk" not in text and "halal" not in text
    db.session.expire_all()
    assert reg.purged_at is not None and reg.attendees[0].allergens == []


def test_kept_answers_expire_after_idempotency_record_days(app, runner):
    save_record(db.session, "event-new:1", "old-key", {"id": 1})
    save_record(db.session, "event-new:1", "new-key", {"id": 2})
    db.session.execute(sa.update(IdempotencyRecord).where(IdempotencyRecord.key == "old-key")
                       .values(created_at=utcnow() - timedelta(days=8)))
    db.session.commit()
    assert app.config["IDEMPOTENCY_RECORD_DAYS"] == 7
    result = runner.invoke(args=["purge-sensitive"])
    assert result.exit_code == 0, result.output
    assert "Deleted 1 answer" in result.output
    assert get_record(db.session, "event-new:1", "old-key") is None
    assert get_record(db.session, "event-new:1", "new-key") is not None
