"""How long a date of a series lasts: the next day's end read from the times, and the
refusals of a length out of range, which name the length in minutes."""

from datetime import date, time

import pytest
from flask_babel import force_locale

from gathering.errors import ValidationFailed
from gathering.events import recurrence, services
from tests.events.conftest import series_data


@pytest.mark.parametrize("start, end, minutes", [
    (time(11), time(14), 180),
    (time(22), time(2), 240),
    (time(18), time(0), 360),
    (time(11), time(11), 0),  # the same time twice: a slip, refused as no length
    (time(23, 50), time(0, 5), 15),
])
def test_span_minutes_reads_an_earlier_end_as_the_next_day(start, end, minutes):
    assert recurrence.span_minutes(date(2026, 12, 12), start, end) == minutes


@pytest.mark.parametrize("minutes, text", [
    (10, "1回の長さは15分以上にしてください（この時刻では10分です）。"),
    (0, "終わりは始まりより後にしてください。"),
    (1441, "1回の長さは24時間以内にしてください。"),
])
def test_a_length_out_of_range_says_what_is_wrong(app, minutes, text):
    with pytest.raises(ValidationFailed) as caught, force_locale("ja"):
        services.clean_series_data(series_data(duration_minutes=minutes))
    with force_locale("ja"):
        assert [str(m) for m in caught.value.fields["duration_minutes"]] == [text]


def test_a_night_series_ends_its_dates_on_the_next_day(make_series, now):
    series, _ = make_series(duration_minutes=240,
                            starts_at=series_data()["starts_at"].replace(hour=22))
    for event in series.events:
        assert (event.ends_at - event.starts_at).total_seconds() == 4 * 3600
        assert event.ends_at.astimezone(recurrence.TOKYO).hour == 2
