"""Organizer edits of dates and seats: the waiting list moves up when a series grows, an
overbooked date stays editable, and a moved date takes its sign-up window with it."""

from datetime import datetime, timedelta

import pytest

from gathering.errors import Conflict
from gathering.events import services
from gathering.extensions import db
from gathering.timeutil import TOKYO

from .test_series import edit, occurrences


def test_a_larger_series_capacity_moves_each_full_dates_waiting_list_up(make_series,
                                                                        make_registration, now):
    series, user = make_series(capacity=4)
    full, other = occurrences(series)[:2]
    make_registration(full, people=("adult",) * 4)
    waiting, _ = make_registration(full, people=("adult", "child"), status="waitlisted",
                                   email="wait@example.jp")
    too_big, _ = make_registration(full, people=("adult",) * 3, status="waitlisted")
    result = edit(series, user, now, confirm=True, capacity=6)
    db.session.commit()
    assert result["promoted"] == [waiting]
    db.session.expire_all()
    assert waiting.status == "confirmed" and waiting.promoted_at == now
    assert too_big.status == "waitlisted"  # 3 do not fit in the 2 new seats, never split
    assert (full.capacity, full.seats_taken) == (6, 6)
    assert other.capacity == 6


def test_a_series_edit_that_does_not_grow_seats_promotes_nobody(make_series, make_registration,
                                                                now):
    series, user = make_series(capacity=4)
    full = occurrences(series)[0]
    make_registration(full, people=("adult",) * 4)
    waiting, _ = make_registration(full, people=("adult",), status="waitlisted")
    assert edit(series, user, now, confirm=True, capacity=4, title="新")["promoted"] == []
    db.session.commit()
    db.session.expire_all()
    assert waiting.status == "waitlisted"


def _overbooked(make_event, make_registration, **data):
    """Five seats, seven taken: the door admitted walk-ins beyond capacity."""
    event = make_event(capacity=5, **data)
    make_registration(event, people=("adult",) * 7)
    return event


@pytest.mark.parametrize("changes", [
    {"title": "子ども食堂（12月）", "capacity": 5},
    {"capacity": 5, "starts_at": "later", "ends_at": "later"},
    {"capacity": 6},  # a raise that still leaves it overbooked
    {"title": "名前だけ"},  # the API sends no capacity
])
def test_an_overbooked_event_can_still_be_edited(make_event, make_registration, make_user,
                                                  now, changes):
    event = _overbooked(make_event, make_registration)
    if changes.get("starts_at") == "later":
        changes = dict(changes, starts_at=event.starts_at + timedelta(days=1),
                       ends_at=event.ends_at + timedelta(days=1))
    services.update_event(db.session, make_user("admin"), event, changes, now=now)
    db.session.commit()
    assert event.seats_taken == 7 and event.capacity == changes.get("capacity", 5)


def test_an_overbooked_event_cannot_be_lowered_further(make_event, make_registration,
                                                       make_user, now):
    event = _overbooked(make_event, make_registration)
    with pytest.raises(Conflict) as exc:
        services.update_event(db.session, make_user("admin"), event, {"capacity": 4}, now=now)
    assert exc.value.code == "capacity_below_confirmed"


def test_a_series_edit_keeps_an_overbooked_dates_capacity(make_series, make_registration, now):
    series, user = make_series(capacity=5)
    overbooked, booked, empty = occurrences(series)[:3]
    make_registration(overbooked, people=("adult",) * 7)
    make_registration(booked, people=("adult",) * 3)
    edit(series, user, now, confirm=True, capacity=5, title="名前だけ")
    db.session.commit()
    assert overbooked.capacity == 5  # not raised to 7 by an edit of the title
    edit(series, user, now, confirm=True, capacity=2)
    db.session.commit()
    # never below the people confirmed, never above what the date had
    assert (overbooked.capacity, booked.capacity, empty.capacity) == (5, 3, 2)


# ---------------------------------------------------------------------------------------
# A moved date takes its sign-up window with it


@pytest.mark.parametrize("days", [7, -7])
def test_moving_an_event_moves_its_sign_up_window(make_event, make_user, now, days):
    start = datetime(2027, 2, 3, 11, tzinfo=TOKYO)
    event = make_event(starts_at=start, signup_opens_at=datetime(2027, 1, 3, 9, tzinfo=TOKYO),
                       signup_closes_at=datetime(2027, 2, 2, 19, tzinfo=TOKYO))
    shift = timedelta(days=days)
    form_like = {"starts_at": start + shift, "ends_at": event.ends_at + shift,
                 "signup_opens_at": event.signup_opens_at,  # sent back as it was
                 "signup_closes_at": event.signup_closes_at}
    services.update_event(db.session, make_user("admin"), event, form_like, now=now)
    db.session.commit()
    assert event.signup_closes_at == datetime(2027, 2, 2, 19, tzinfo=TOKYO) + shift
    assert event.signup_opens_at == datetime(2027, 1, 3, 9, tzinfo=TOKYO) + shift


def test_a_moved_event_keeps_a_window_typed_in_the_same_edit(make_event, make_user, now):
    start = datetime(2027, 2, 3, 11, tzinfo=TOKYO)
    event = make_event(starts_at=start, signup_closes_at=datetime(2027, 2, 2, 19, tzinfo=TOKYO))
    typed = datetime(2027, 2, 8, 12, tzinfo=TOKYO)
    services.update_event(db.session, make_user("admin"), event,
                          {"starts_at": start + timedelta(days=7),
                           "ends_at": event.ends_at + timedelta(days=7),
                           "signup_closes_at": typed}, now=now)
    assert event.signup_closes_at == typed and event.signup_opens_at is None


def test_moving_an_event_without_a_deadline_sets_none(make_event, make_user, now):
    event = make_event()
    services.update_event(db.session, make_user("admin"), event,
                          {"starts_at": event.starts_at + timedelta(days=2),
                           "ends_at": event.ends_at + timedelta(days=2),
                           "signup_closes_at": None}, now=now)
    assert event.signup_closes_at is None and event.signup_opens_at is None


@pytest.mark.parametrize("days", [7, -5])
def test_moving_a_series_date_keeps_the_series_deadline(make_series, now, days):
    series, user = make_series(signup_closes_hours_before=40, signup_opens_days_before=30)
    event = occurrences(series)[2]
    assert event.signup_closes_at == event.starts_at - timedelta(hours=40)
    new_start = event.starts_at + timedelta(days=days)
    services.update_event(db.session, user, event,
                          {"starts_at": new_start, "ends_at": event.ends_at + timedelta(days=days),
                           "signup_closes_at": event.signup_closes_at,
                           "signup_opens_at": event.signup_opens_at}, now=now)
    db.session.commit()
    assert event.signup_closes_at == new_start - timedelta(hours=40)
    assert event.signup_opens_at == new_start - timedelta(days=30)


def test_a_series_edit_names_the_booked_dates_a_new_time_moved(make_series, make_registration,
                                                                now):
    series, user = make_series()
    booked, empty = occurrences(series)[:2]
    make_registration(booked)
    old = (booked.starts_at, booked.ends_at)
    result = edit(series, user, now, confirm=True,
                  starts_at=datetime(2026, 12, 12, 10, tzinfo=TOKYO))
    assert result["moved_events"] == [(booked, *old)]
    again = edit(series, user, now, confirm=True,
                 starts_at=datetime(2026, 12, 12, 10, tzinfo=TOKYO), title="新")
    assert again["moved_events"] == []  # nothing moved this time
