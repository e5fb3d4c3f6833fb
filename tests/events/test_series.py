"""Recurring series: materialised occurrences, one-date edits, series edits and their guard."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import Conflict, Forbidden, ValidationFailed
from gathering.events import recurrence, services
from gathering.events.models import Event, Series
from gathering.extensions import db
from gathering.timeutil import TOKYO

from .conftest import series_data


def occurrences(series):
    return list(db.session.scalars(
        sa.select(Event).where(Event.series_id == series.id).order_by(Event.starts_at)))


def test_create_materialises_every_date_up_to_the_horizon(make_series):
    series, _ = make_series(months=6)
    events = occurrences(series)
    days = [e.starts_at.astimezone(TOKYO) for e in events]
    # now is 2026-11-27; six months ahead is 2027-05-27: 12/12 … 5/22, two a month
    assert len(events) == 12
    assert days[0] == datetime(2026, 12, 12, 11, tzinfo=TOKYO)
    assert days[-1] == datetime(2027, 5, 22, 11, tzinfo=TOKYO)
    assert all(d.weekday() == 5 and d.hour == 11 for d in days)
    first = events[0]
    assert first.ends_at - first.starts_at == timedelta(hours=3)
    assert first.capacity == 40 and first.status == "published" and first.kind == "kids_cafeteria"
    assert [(f.code, f.label, f.amount) for f in first.fees] == [
        ("child", "こども", 0), ("adult", "おとな", 300)]
    assert first.venue.postal_code == "0700031"
    assert first.original_starts_at == first.starts_at and not first.is_detached
    assert series.rrule == "FREQ=MONTHLY;BYDAY=2SA,4SA"
    assert recurrence.describe(series.rrule) == "毎月第2・第4土曜"


def test_materialising_again_extends_and_never_duplicates(make_series, now):
    series, _ = make_series(months=1)
    assert len(occurrences(series)) == 2  # 12/12 and 12/26
    assert services.materialise_series(db.session, series, now=now, months=1) == []
    created = services.materialise_series(db.session, series, now=now, months=3)
    db.session.commit()
    assert len(created) == 3  # up to 2027-02-27 10:00: 1/9, 1/23, 2/13
    assert len(occurrences(series)) == 5
    assert services.materialise_all(db.session, now=now, months=3) == 0


def test_materialise_series_cli_extends_every_series(make_series, runner):
    series, _ = make_series(months=1)
    before = len(occurrences(series))
    result = runner.invoke(args=["materialise-series", "--months", "12"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    after = len(occurrences(series))
    assert after > before
    assert f"{after - before} new occurrences." in result.output
    again = runner.invoke(args=["materialise-series", "--months", "12"])
    assert "0 new occurrences." in again.output


def test_moving_one_date_detaches_it_from_the_series(make_series, now):
    series, user = make_series()
    event = occurrences(series)[1]
    new_start = event.starts_at + timedelta(days=1)
    services.update_event(db.session, user, event,
                          {"starts_at": new_start, "ends_at": new_start + timedelta(hours=2)},
                          now=now)
    db.session.commit()
    assert event.is_detached and event.sequence == 1
    assert event.starts_at == new_start
    assert event.original_starts_at == new_start - timedelta(days=1)


def test_resizing_or_cancelling_one_date_touches_only_that_date(make_series, now):
    series, user = make_series()
    a, b, c = occurrences(series)[:3]
    services.update_event(db.session, user, a, {"capacity": 10}, now=now)
    services.cancel_event(db.session, user, b, now=now)
    db.session.commit()
    assert (a.capacity, a.is_detached) == (10, True)
    assert (b.status, b.is_detached, b.cancelled_at) == ("cancelled", True, now)
    assert (c.capacity, c.status, c.is_detached) == (40, "published", False)
    with pytest.raises(Conflict) as exc:
        services.cancel_event(db.session, user, b, now=now)
    assert exc.value.code == "already_cancelled"


def edit(series, user, now, confirm=False, **changes):
    cleaned = services.clean_series_data(series_data(**changes))
    return services.update_series(db.session, user, series, cleaned, now=now, months=6,
                                  confirm=confirm)


def test_editing_the_series_changes_future_dates_not_hand_edited_ones(make_series, now):
    series, user = make_series()
    events = occurrences(series)
    moved, cancelled = events[0], events[1]
    services.update_event(db.session, user, moved, {"title": "特別回"}, now=now)
    services.cancel_event(db.session, user, cancelled, now=now)
    db.session.commit()

    result = edit(series, user, now, title="子ども食堂・新", capacity=50,
                  fees=[{"code": "child", "label": "こども", "amount": 100},
                        {"code": "adult", "label": "おとな", "amount": 300}])
    db.session.commit()
    assert result == {"updated": 10, "removed": 0, "cancelled": 0, "created": 0,
                      "cancelled_events": [], "promoted": [],
                      "moved_events": []}
    db.session.expire_all()
    assert moved.title == "特別回" and moved.capacity == 40
    assert cancelled.status == "cancelled"
    for event in occurrences(series)[2:]:
        assert event.title == "子ども食堂・新" and event.capacity == 50
        assert event.fees[0].amount == 100


def test_editing_the_series_leaves_past_dates_alone(make_series, now):
    series, user = make_series(at=now)
    later = datetime(2027, 1, 15, 10, tzinfo=TOKYO)  # 12/12, 12/26 and 1/9 are past by then
    edit(series, user, later, title="新しい名前")
    db.session.commit()
    db.session.expire_all()
    titles = [(e.starts_at.astimezone(TOKYO).date().isoformat(), e.title)
              for e in occurrences(series)]
    assert titles[0] == ("2026-12-12", "あさひかわ子ども食堂")
    assert titles[2] == ("2027-01-09", "あさひかわ子ども食堂")
    assert titles[3] == ("2027-01-23", "新しい名前")


def test_editing_dates_with_sign_ups_needs_confirmation(make_series, make_registration, now):
    series, user = make_series()
    event = occurrences(series)[2]
    reg, _ = make_registration(event, people=("child", "adult"))
    with pytest.raises(services.SeriesChangeNeedsConfirmation) as exc:
        edit(series, user, now, title="変更")
    assert exc.value.code == "occurrences_have_registrations"
    assert exc.value.status == 409
    assert exc.value.details["events"] == [event.id]
    db.session.rollback()
    db.session.expire_all()
    assert series.title == "あさひかわ子ども食堂"
    assert all(e.title == "あさひかわ子ども食堂" for e in occurrences(series))

    edit(series, user, now, confirm=True, title="変更", capacity=1)
    db.session.commit()
    db.session.expire_all()
    assert event.title == "変更" and event.status == "published"
    assert event.capacity == 2  # never below the people already confirmed
    assert reg.event_id == event.id


def test_a_new_time_moves_dates_with_their_sign_ups(make_series, make_registration, now):
    series, user = make_series()
    event = occurrences(series)[0]
    reg, _ = make_registration(event)
    count = len(occurrences(series))
    edit(series, user, now, confirm=True, starts_at=datetime(2026, 12, 12, 10, tzinfo=TOKYO))
    db.session.commit()
    db.session.expire_all()
    events = occurrences(series)
    assert len(events) == count  # moved, not cancelled and re-created
    assert event.status == "published"
    assert event.starts_at.astimezone(TOKYO) == datetime(2026, 12, 12, 10, tzinfo=TOKYO)
    assert event.sequence == 1
    assert all(e.starts_at.astimezone(TOKYO).hour == 10 for e in events)
    assert reg.event_id == event.id


def test_dropping_a_week_removes_empty_dates_and_cancels_booked_ones(make_series,
                                                                      make_registration, now):
    series, user = make_series()
    fourth = [e for e in occurrences(series) if e.starts_at.astimezone(TOKYO).day >= 22]
    make_registration(fourth[0])
    result = edit(series, user, now, confirm=True,
                  pattern=recurrence.Pattern("monthly_nth", weekdays=[5], nths=[2]))
    db.session.commit()
    assert result["cancelled"] == 1 and result["removed"] == len(fourth) - 1
    db.session.expire_all()
    left = occurrences(series)
    assert fourth[0] in left and fourth[0].status == "cancelled"
    assert all(8 <= e.starts_at.astimezone(TOKYO).day <= 14 for e in left if e is not fourth[0])


def test_an_edit_names_the_dates_it_cancelled_once(make_series, make_registration, now):
    """What the caller mails after its commit: the booked dates this edit cancelled, not
    the empty ones it removed, not a date cancelled before, and nothing when sent again."""
    series, user = make_series()
    fourth = [e for e in occurrences(series) if e.starts_at.astimezone(TOKYO).day >= 22]
    booked, waiting_only, cancelled_before = fourth[0], fourth[1], fourth[2]
    make_registration(booked)
    make_registration(waiting_only, status="waitlisted")
    make_registration(cancelled_before)
    services.cancel_event(db.session, user, cancelled_before, now=now)
    db.session.commit()
    second_only = recurrence.Pattern("monthly_nth", weekdays=[5], nths=[2])

    result = edit(series, user, now, confirm=True, pattern=second_only)
    db.session.commit()
    assert result["cancelled_events"] == [booked, waiting_only]
    assert result["cancelled"] == 2 and result["removed"] == len(fourth) - 3
    again = edit(series, user, now, confirm=True, pattern=second_only)
    db.session.commit()
    assert again["cancelled_events"] == [] and again["cancelled"] == 0


def test_another_branchs_organizer_cannot_touch_the_series(make_series, make_user, now):
    series, _ = make_series()
    stranger = make_user("organizer")
    with pytest.raises(Forbidden):
        edit(series, stranger, now, title="乗っ取り")
    with pytest.raises(Forbidden):
        services.get_series_for_user(db.session, series.id, stranger)
    volunteer = make_user("volunteer", branches=[series.branch])
    with pytest.raises(Forbidden):
        services.get_series_for_user(db.session, series.id, volunteer)
    admin = make_user("admin")
    assert services.get_series_for_user(db.session, series.id, admin) is series


@pytest.mark.parametrize("changes, field", [
    ({"title": ""}, "title"),
    ({"title": "あ" * 10_000}, "title"),
    ({"kind": "party"}, "kind"),
    ({"kind": ["kids_cafeteria"]}, "kind"),
    ({"starts_at": "2026-02-30T11:00"}, "starts_at"),
    ({"starts_at": None}, "starts_at"),
    ({"duration_minutes": 0}, "duration_minutes"),
    ({"duration_minutes": "long"}, "duration_minutes"),
    ({"capacity": -1}, "capacity"),
    ({"fees": [{"code": "a", "label": "", "amount": 1}]}, "fees.0.label"),
    ({"fees": [{"code": "a", "label": "x", "amount": -5}]}, "fees.0.amount"),
    ({"pattern": recurrence.Pattern("weekly", [])}, "weekdays"),
    ({"pattern": recurrence.Pattern("monthly_day", monthday=40)}, "monthday"),
    ({"status": "cancelled"}, "status"),
    ({"venue": {"name": "公民館", "postal_code": "12"}}, "venue.postal_code"),
    ({"venue": {"name": "公民館", "map_url": "javascript:alert(1)"}}, "venue.map_url"),
])
def test_bad_series_input_is_refused_and_nothing_stored(app, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        services.clean_series_data(series_data(**changes))
    assert field in exc.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_a_new_time_gives_no_second_date_beside_a_cancelled_or_moved_one(make_series, now):
    series, user = make_series()
    events = occurrences(series)
    cancelled, moved = events[1], events[2]
    services.cancel_event(db.session, user, cancelled, now=now)
    week_later = {"starts_at": moved.starts_at + timedelta(days=7),
                  "ends_at": moved.ends_at + timedelta(days=7)}
    services.update_event(db.session, user, moved, week_later, now=now)
    db.session.commit()
    cancelled_day = cancelled.starts_at.astimezone(TOKYO).date()
    moved_from = moved.original_starts_at.astimezone(TOKYO).date()

    result = edit(series, user, now, starts_at=datetime(2026, 12, 12, 10, tzinfo=TOKYO))
    db.session.commit()
    assert result["created"] == 0 and result["updated"] == len(events) - 2
    db.session.expire_all()
    on_day = {}
    for event in occurrences(series):
        on_day.setdefault(event.original_starts_at.astimezone(TOKYO).date(), []).append(event)
    assert len(occurrences(series)) == len(events)
    assert on_day[cancelled_day] == [cancelled] and cancelled.status == "cancelled"
    assert on_day[moved_from] == [moved]
    assert moved.starts_at.astimezone(TOKYO).hour == 11  # edited by hand: left alone
    assert events[0].starts_at.astimezone(TOKYO).hour == 10
    # the next nightly run does not add them either
    assert services.materialise_series(db.session, series, now=now, months=6) == []


# ---------------------------------------------------------------------------------------
# A last date (最終日): the series ends there


def _days(series):
    return [e.starts_at.astimezone(TOKYO).date() for e in occurrences(series)]


def test_a_last_date_makes_no_date_after_it(make_series, now):
    # a cafeteria that closes with the 年度: 3/27 is the last 4th Saturday before 3/31
    series, _ = make_series(months=12, ends_on=date(2027, 3, 31))
    assert series.ends_on == date(2027, 3, 31)
    days = _days(series)
    assert days[0] == date(2026, 12, 12) and days[-1] == date(2027, 3, 27)
    assert len(days) == 8
    # the nightly run, however far it reaches, adds nothing
    assert services.materialise_series(db.session, series, now=now, months=24) == []
    assert services.materialise_all(db.session, now=now, months=24) == 0
    later = datetime(2027, 3, 1, 10, tzinfo=TOKYO)
    assert services.materialise_all(db.session, now=later, months=24) == 0
    assert _days(series)[-1] == date(2027, 3, 27)


def test_a_date_on_the_last_date_is_still_held(make_series):
    series, _ = make_series(months=12, ends_on=date(2027, 3, 27))
    assert _days(series)[-1] == date(2027, 3, 27)


def test_a_draft_series_is_extended_up_to_its_last_date(make_series, now):
    """A draft series is still extended nightly (its dates can be published one by one);
    its last date ends it like any other."""
    series, _ = make_series(months=1, status="draft", ends_on=date(2027, 2, 28))
    assert _days(series) == [date(2026, 12, 12), date(2026, 12, 26)]
    assert services.materialise_all(db.session, now=now, months=12) == 4  # 1/9 … 2/27
    db.session.commit()
    assert _days(series)[-1] == date(2027, 2, 27)
    assert all(e.status == "draft" for e in occurrences(series))


@pytest.mark.parametrize("ends_on", [date(2026, 12, 11), "2027-02-30", "来年", 20270331,
                                     datetime(2027, 3, 31, tzinfo=TOKYO), date(2150, 1, 1)])
def test_a_bad_last_date_is_refused(app, ends_on):
    with pytest.raises(ValidationFailed) as exc:
        services.clean_series_data(series_data(ends_on=ends_on))
    assert list(exc.value.fields) == ["ends_on"]


def test_a_last_date_before_every_date_of_the_pattern_is_refused(app):
    # first date 12/12 (a Saturday), the 4th Saturday only, ending before 12/26
    with pytest.raises(ValidationFailed) as exc:
        services.clean_series_data(series_data(
            pattern=recurrence.Pattern("monthly_nth", weekdays=[5], nths=[4]),
            ends_on=date(2026, 12, 20)))
    assert "pattern" in exc.value.fields


def test_a_last_date_set_earlier_removes_later_dates_and_cancels_booked_ones(
        make_series, make_registration, now):
    series, user = make_series(months=6)  # 12/12 … 5/22
    later = [e for e in occurrences(series) if e.starts_at.astimezone(TOKYO).date()
             > date(2027, 3, 31)]
    assert len(later) == 4  # 4/10 4/24 5/8 5/22
    booked, waiting_only = later[0], later[2]
    make_registration(booked)
    make_registration(waiting_only, status="waitlisted")
    db.session.commit()
    with pytest.raises(services.SeriesChangeNeedsConfirmation):
        edit(series, user, now, ends_on=date(2027, 3, 31))
    db.session.rollback()
    db.session.expire_all()
    assert series.ends_on is None and len(occurrences(series)) == 12

    result = edit(series, user, now, confirm=True, ends_on=date(2027, 3, 31))
    db.session.commit()
    assert result["cancelled_events"] == [booked, waiting_only]
    assert (result["cancelled"], result["removed"], result["created"]) == (2, 2, 0)
    db.session.expire_all()
    assert series.ends_on == date(2027, 3, 31)
    left = {e.starts_at.astimezone(TOKYO).date(): e.status for e in occurrences(series)}
    assert max(d for d, status in left.items() if status != "cancelled") == date(2027, 3, 27)
    assert left[date(2027, 4, 10)] == left[date(2027, 5, 8)] == "cancelled"
    assert services.materialise_series(db.session, series, now=now, months=24) == []
    # sent again: nobody is cancelled (or told) twice
    again = edit(series, user, now, confirm=True, ends_on=date(2027, 3, 31))
    assert again["cancelled_events"] == [] and again["removed"] == 0


def test_a_last_date_taken_away_makes_the_dates_again_but_not_the_cancelled_ones(
        make_series, make_registration, now):
    series, user = make_series(months=6, ends_on=date(2027, 5, 31))
    booked = [e for e in occurrences(series) if e.starts_at.astimezone(TOKYO).month == 4][0]
    make_registration(booked)
    edit(series, user, now, confirm=True, ends_on=date(2027, 3, 31))
    db.session.commit()
    result = edit(series, user, now, confirm=True, ends_on=None)
    db.session.commit()
    assert result["created"] == 3  # 4/24 5/8 5/22; 4/10 was called off and stays so
    db.session.expire_all()
    assert booked.status == "cancelled" and len(occurrences(series)) == 12


# ---------------------------------------------------------------------------------------
# Back to draft: never for dates people signed up for


def test_a_series_with_booked_dates_cannot_go_back_to_draft(make_series, make_registration,
                                                           now):
    series, user = make_series()
    booked = occurrences(series)[2]
    make_registration(booked)
    db.session.commit()
    with pytest.raises(services.SeriesDraftHasRegistrations) as exc:
        edit(series, user, now, confirm=True, status="draft", title="準備中")
    assert exc.value.code == "has_registrations" and exc.value.status == 409
    assert exc.value.details["events"] == [booked.id]
    db.session.rollback()
    db.session.expire_all()
    assert series.status == "published" and series.title == "あさひかわ子ども食堂"
    assert all(e.status == "published" for e in occurrences(series))


def test_a_series_goes_back_to_draft_when_its_booked_dates_are_cancelled(
        make_series, make_registration, now):
    series, user = make_series()
    events = occurrences(series)
    booked = events[2]
    make_registration(booked)
    services.cancel_event(db.session, user, booked, now=now)  # called off by hand first
    db.session.commit()
    edit(series, user, now, status="draft")
    db.session.commit()
    db.session.expire_all()
    assert series.status == "draft" and booked.status == "cancelled"
    assert all(e.status == "draft" for e in events if e is not booked)


def test_back_to_draft_with_a_last_date_before_the_booked_dates(make_series,
                                                               make_registration, now):
    """The booked dates after the new last date are cancelled (and their families told),
    not made drafts: the draft is allowed."""
    series, user = make_series()
    booked = [e for e in occurrences(series) if e.starts_at.astimezone(TOKYO).month == 4][0]
    make_registration(booked)
    db.session.commit()
    result = edit(series, user, now, confirm=True, status="draft", ends_on=date(2027, 3, 31))
    db.session.commit()
    assert result["cancelled_events"] == [booked]
    db.session.expire_all()
    assert booked.status == "cancelled"
    assert {e.status for e in occurrences(series) if e is not booked} == {"draft"}
