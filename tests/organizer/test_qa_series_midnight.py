"""A series whose dates end after midnight (18:00〜0:00, 22:00〜2:00), typed in the series
form as one-off events may be: the end is on the next day. And a date too short is said
next to the end time, in minutes."""

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gathering.events.models import Series
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import series_form


def _weekly_form(branch, first: date, start: str, end: str, **overrides) -> dict:
    return series_form(branch.id, first, pattern="weekly", weekdays=[str(first.weekday())],
                       nths=[], start_time=start, end_time=end, title="夜の上映会",
                       **overrides)


@pytest.fixture
def organizer(make_branch, make_user):
    branch = make_branch()
    return make_user("organizer", branches=[branch]), branch


@pytest.mark.parametrize("start, end, minutes", [
    ("22:00", "02:00", 240),
    ("18:00", "00:00", 360),
])
def test_a_series_may_end_after_midnight(client, auth, organizer, start, end, minutes):
    user, branch = organizer
    auth.login(user)
    first = date.today() + timedelta(days=3)
    response = client.post("/organizer/series/new",
                           data=_weekly_form(branch, first, start, end))
    assert response.status_code == 302, response.get_data(as_text=True)
    series = db.session.scalar(sa.select(Series).where(Series.title == "夜の上映会"))
    assert series.duration_minutes == minutes
    assert len(series.events) >= 4
    for event in series.events:
        begins, ends = event.starts_at.astimezone(TOKYO), event.ends_at.astimezone(TOKYO)
        assert begins.strftime("%H:%M") == start and ends.strftime("%H:%M") == end
        assert ends.date() == begins.date() + timedelta(days=1)
        assert event.ends_at - event.starts_at == timedelta(minutes=minutes)

    # the edit form shows the times as typed, and saving it unchanged keeps them
    page = client.get(f"/organizer/series/{series.id}/edit").get_data(as_text=True)
    assert re.search(rf'name="end_time"[^>]*value="{end}"', page)
    response = client.post(f"/organizer/series/{series.id}/edit", data=_weekly_form(
        branch, first, start, end, venue_name="", confirm="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert series.duration_minutes == minutes


def test_moving_a_night_series_later_keeps_its_dates_and_their_next_day_end(
        client, auth, organizer, make_registration):
    user, branch = organizer
    auth.login(user)
    first = date.today() + timedelta(days=3)
    client.post("/organizer/series/new", data=_weekly_form(branch, first, "21:00", "23:30"))
    series = db.session.scalar(sa.select(Series).where(Series.title == "夜の上映会"))
    booked = series.events[0]
    make_registration(booked)
    response = client.post(f"/organizer/series/{series.id}/edit", data=_weekly_form(
        branch, first, "22:00", "01:00", venue_name="", confirm="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert series.duration_minutes == 180
    begins, ends = booked.starts_at.astimezone(TOKYO), booked.ends_at.astimezone(TOKYO)
    assert (begins.date(), begins.hour) == (first, 22)
    assert (ends.date(), ends.hour) == (first + timedelta(days=1), 1)


def test_a_date_too_short_is_said_next_to_the_end_time_in_minutes(client, auth, organizer):
    user, branch = organizer
    auth.login(user)
    first = date.today() + timedelta(days=3)
    response = client.post("/organizer/series/new",
                           data=_weekly_form(branch, first, "11:00", "11:10"))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    error = re.search(r'<p class="error" id="end_time-error">(.*?)</p>', page, re.S)
    assert error is not None
    assert error.group(1) == "1回の長さは15分以上にしてください（この時刻では10分です）。"
    # at the top of the form only as a link to that field, not as a bare range of its own
    summary = re.findall(r'<a href="#([^"]+)">', page.split('class="error-links"')[1].split(
        "</ul>")[0])
    assert summary == ["end_time"] and page.count('class="error-summary"') == 1
    assert "15〜1440" not in page
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_the_form_says_an_end_before_the_start_is_the_next_day(client, auth, organizer):
    auth.login(organizer[0])
    page = client.get("/organizer/series/new").get_data(as_text=True)
    assert "翌日" in page


def test_the_same_start_and_end_time_is_refused_by_the_end_time(client, auth, organizer):
    """11:00〜11:00 is a slip far more often than a date lasting a whole day."""
    user, branch = organizer
    auth.login(user)
    first = date.today() + timedelta(days=3)
    response = client.post("/organizer/series/new",
                           data=_weekly_form(branch, first, "11:00", "11:00"))
    assert response.status_code == 200
    assert "終わりは始まりより後にしてください。" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0
