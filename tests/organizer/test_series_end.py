"""Ending a series through its form (最終日), the month-day hint, and a series edit that
would take dates people signed up for back to draft."""

from datetime import date, timedelta

import sqlalchemy as sa

from gathering.events.models import Event, Series
from gathering.extensions import db
from gathering.timeutil import TOKYO, utcnow
from tests.organizer.test_organizer import series_form
from tests.rsvp.test_mail_cli import (  # noqa: F401 - smtp is a fixture
    _wednesday_and_saturday_series,
    smtp,
)


def _form(series, **overrides) -> dict:
    """The 水・土 series' own form, with some fields changed."""
    return series_form(series.branch_id, series.starts_at.astimezone(TOKYO).date(),
                       **{"pattern": "weekly", "weekdays": ["2", "5"], "nths": [],
                          "venue_name": "", **overrides})


def _days(series) -> list[date]:
    return [e.starts_at.astimezone(TOKYO).date() for e in db.session.scalars(
        sa.select(Event).where(Event.series_id == series.id, Event.status != "cancelled"))]


def test_a_new_series_with_a_last_date_stops_there(client, auth, make_branch, make_user):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    today = utcnow().astimezone(TOKYO).date()
    last = today + timedelta(days=45)
    form = series_form(branch.id, today + timedelta(days=1), title="年度末まで",
                       pattern="weekly", weekdays=["5"], nths=[], ends_on=last.isoformat())
    response = client.post("/organizer/series/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    series = db.session.scalar(sa.select(Series).where(Series.title == "年度末まで"))
    assert series.ends_on == last
    days = _days(series)
    assert days and max(days) <= last and last - max(days) < timedelta(days=7)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "最終日: " in page and f"{last.month}月{last.day}日" in page
    edit_page = client.get(f"/organizer/series/{series.id}/edit").get_data(as_text=True)
    assert f'value="{last.isoformat()}"' in edit_page


def test_a_last_date_before_the_first_date_is_refused_on_the_form(client, auth, make_branch,
                                                                 make_user):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    first = utcnow().astimezone(TOKYO).date() + timedelta(days=10)
    response = client.post("/organizer/series/new", data=series_form(
        branch.id, first, ends_on=(first - timedelta(days=1)).isoformat()))
    assert response.status_code == 200
    assert "最終日は初回の日付より前にはできません。" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_the_form_says_short_months_are_skipped_for_the_29th_to_31st(client, auth,
                                                                     make_branch, make_user):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    page = client.get("/organizer/series/new").get_data(as_text=True)
    assert "その日がない月はお休みになります" in page
    assert 'aria-describedby="monthday-hint"' in page


def test_ending_a_series_removes_later_dates_and_tells_the_booked_ones(
        client, auth, make_branch, make_user, make_registration, smtp):  # noqa: F811
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    last = wednesdays[2].starts_at.astimezone(TOKYO).date()  # a Wednesday
    booked = saturdays[4]
    make_registration(booked, people=("adult",), email="ja@example.jp")
    make_registration(booked, people=("adult",), email="")  # signed up by phone
    db.session.commit()
    count_after = len([d for d in _days(series) if d > last])
    auth.login(organizer)
    form = _form(series, ends_on=last.isoformat())

    page = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert page.status_code == 200 and 'name="confirm"' in page.get_data(as_text=True)
    assert smtp.messages == []
    db.session.expire_all()
    assert series.ends_on is None

    page = client.post(f"/organizer/series/{series.id}/edit", data=dict(form, confirm="y"),
                       follow_redirects=True).get_data(as_text=True)
    assert f"削除{count_after - 1}回" in page and "中止1回" in page
    assert "中止した回に申込のあった1組にメールで知らせました。" in page
    assert "中止した回に申込のあった1組はメールで知らせられませんでした" in page
    [mail] = smtp.messages
    assert mail["To"] == "ja@example.jp" and mail["Subject"].startswith("中止のお知らせ")
    db.session.expire_all()
    assert series.ends_on == last and max(_days(series)) == last
    assert booked.status == "cancelled"


def test_unticking_publish_with_booked_dates_is_refused_on_the_form(
        client, auth, make_branch, make_user, make_registration, smtp):  # noqa: F811
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    booked = wednesdays[1]
    make_registration(booked, people=("adult",), email="ja@example.jp")
    db.session.commit()
    auth.login(organizer)
    form = _form(series, confirm="y", title="準備中")
    del form["publish"]

    response = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "申込がある回があるため、下書きにはもどせません。" in page
    assert "申込がある回:" in page and f"/organizer/events/{booked.id}/cancel" in page
    assert 'name="confirm"' in page  # the box ticked stays shown
    db.session.expire_all()
    assert series.status == "published" and series.title == "あさひかわ子ども食堂"
    assert booked.status == "published" and booked.title == "あさひかわ子ども食堂"
    assert all(e.status == "published" for e in series.events)
    assert smtp.messages == []


def test_unticking_publish_without_sign_ups_makes_the_dates_drafts(client, auth, make_branch,
                                                                   make_user):
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    auth.login(organizer)
    form = _form(series)
    del form["publish"]
    response = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert response.status_code == 302
    db.session.expire_all()
    assert series.status == "draft"
    assert {e.status for e in series.events} == {"draft"}
