"""Recurring patterns in plain Japanese, held as RFC 5545 RRULEs."""

from datetime import datetime

import pytest

from gathering.events import recurrence as r
from gathering.timeutil import TOKYO, UTC

P = r.Pattern


@pytest.mark.parametrize("pattern, rule, ja, en", [
    (P("weekly", [2]), "FREQ=WEEKLY;BYDAY=WE", "毎週水曜", "Every Wednesday"),
    (P("weekly", [0, 3], interval=2), "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH", "2週ごと月・木曜",
     "Monday and Thursday, every 2 weeks"),
    (P("monthly_nth", [5], [2, 4]), "FREQ=MONTHLY;BYDAY=2SA,4SA", "毎月第2・第4土曜",
     "2nd and 4th Saturday of every month"),
    (P("monthly_nth", [4], [3]), "FREQ=MONTHLY;BYDAY=3FR", "毎月第3金曜",
     "3rd Friday of every month"),
    (P("monthly_nth", [4], [-1]), "FREQ=MONTHLY;BYDAY=-1FR", "毎月最終金曜",
     "Last Friday of every month"),
    (P("monthly_day", monthday=15), "FREQ=MONTHLY;BYMONTHDAY=15", "毎月15日",
     "Day 15 of every month"),
])
def test_patterns_rules_and_descriptions(pattern, rule, ja, en):
    assert r.to_rrule(pattern) == rule
    assert r.from_rrule(rule) == pattern
    assert r.describe(rule) == ja
    assert r.describe(rule, "en") == en


@pytest.mark.parametrize("pattern, field", [
    (P("yearly", [1]), "pattern"),
    (P("weekly", []), "weekdays"),
    (P("weekly", [7]), "weekdays"),
    (P("monthly_nth", [5], []), "nths"),
    (P("monthly_nth", [5], [6]), "nths"),
    (P("monthly_day", monthday=None), "monthday"),
    (P("monthly_day", monthday=32), "monthday"),
    (P("monthly_day", monthday=0), "monthday"),
    (P("weekly", [1], interval=0), "interval"),
])
def test_impossible_patterns_are_refused_with_the_field(pattern, field):
    with pytest.raises(r.PatternError) as exc:
        r.to_rrule(pattern)
    assert exc.value.field == field


def local(dates):
    return [d.astimezone(TOKYO) for d in dates]


def test_second_and_fourth_saturday_at_the_same_tokyo_time_all_year():
    first = datetime(2026, 12, 12, 11, tzinfo=TOKYO)
    dates = local(r.occurrences("FREQ=MONTHLY;BYDAY=2SA,4SA", first, first,
                                datetime(2027, 12, 31, tzinfo=TOKYO)))
    assert [d.strftime("%m-%d") for d in dates[:6]] == [
        "12-12", "12-26", "01-09", "01-23", "02-13", "02-27"]
    assert len(dates) == 26
    assert all(d.weekday() == 5 and d.hour == 11 and d.minute == 0 for d in dates)
    assert all(8 <= d.day <= 14 or 22 <= d.day <= 28 for d in dates)


def test_times_are_stored_utc_and_never_shift_with_seasons():
    first = datetime(2026, 1, 7, 18, 30, tzinfo=TOKYO)
    dates = r.occurrences("FREQ=WEEKLY;BYDAY=WE", first, first, datetime(2026, 12, 31, tzinfo=TOKYO))
    assert len(dates) == 52
    assert all(d.tzinfo is not None and d.utcoffset().total_seconds() == 0 for d in dates)
    assert {(d.astimezone(UTC).hour, d.astimezone(UTC).minute) for d in dates} == {(9, 30)}


def test_last_friday_and_day_of_month():
    first = datetime(2026, 1, 1, 10, tzinfo=TOKYO)
    until = datetime(2026, 4, 30, tzinfo=TOKYO)
    fridays = local(r.occurrences("FREQ=MONTHLY;BYDAY=-1FR", first, first, until))
    assert [d.day for d in fridays] == [30, 27, 27, 24]
    days = local(r.occurrences("FREQ=MONTHLY;BYMONTHDAY=15", first, first, until))
    assert [(d.month, d.day, d.hour) for d in days] == [(1, 15, 10), (2, 15, 10), (3, 15, 10),
                                                        (4, 15, 10)]


def test_a_window_gives_only_its_dates_inclusive():
    first = datetime(2026, 12, 2, 11, tzinfo=TOKYO)
    dates = local(r.occurrences("FREQ=WEEKLY;BYDAY=WE", first,
                                datetime(2026, 12, 9, 11, tzinfo=TOKYO),
                                datetime(2026, 12, 23, 11, tzinfo=TOKYO)))
    assert [d.day for d in dates] == [9, 16, 23]
