"""Organizer edits that change a date tell the parties, through the forms and a real SMTP
server: the moved date's mail in each party's language, the flash saying whom to phone, and
a series' larger capacity mailing the parties it moved up."""

from datetime import timedelta

import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import event_form, series_form
from tests.rsvp.test_mail_cli import (  # noqa: F401 - smtp is a fixture
    _wednesday_and_saturday_series,
    smtp,
    text_of,
)

FORMAT = "%Y-%m-%dT%H:%M"


def _form_of(event, shift=timedelta(0), **overrides):
    start = (event.starts_at + shift).astimezone(TOKYO)
    end = (event.ends_at + shift).astimezone(TOKYO)
    data = event_form(event.branch_id, title=event.title, kind=event.kind,
                      venue_id=str(event.venue_id), capacity=str(event.capacity),
                      starts_at=start.strftime(FORMAT), ends_at=end.strftime(FORMAT),
                      **{"fees-0-amount": "0"})
    if event.signup_closes_at:
        data["signup_closes_at"] = event.signup_closes_at.astimezone(TOKYO).strftime(FORMAT)
    data.update(overrides)
    return data


def _same_days_form(series, **overrides) -> dict:
    """The 水・土 series' own form, confirmed, with some fields changed."""
    return series_form(series.branch_id, series.starts_at.astimezone(TOKYO).date(),
                       **{"pattern": "weekly", "weekdays": ["2", "5"], "nths": [],
                          "venue_name": "", "confirm": "y", **overrides})


def _parties(event, make_registration):
    make_registration(event, people=("adult",), email="ja@example.jp")
    english, _ = make_registration(event, people=("adult",), email="en@example.jp")
    english.lang = "en"
    make_registration(event, people=("adult",), email="")  # signed up by phone
    walk_in, _ = make_registration(event, people=("adult",), email="")
    walk_in.is_walk_in = True
    make_registration(event, people=("adult", "adult"), status="waitlisted",
                      email="wait@example.jp")
    make_registration(event, people=("adult",), status="cancelled", email="gone@example.jp")
    db.session.commit()


def test_moving_an_event_tells_each_party_and_says_whom_to_phone(
        client, auth, make_user, make_event, make_registration, smtp):  # noqa: F811
    event = make_event(capacity=4, title="子ども食堂")
    event.signup_closes_at = event.starts_at - timedelta(hours=16)
    db.session.commit()
    _parties(event, make_registration)
    old_start = event.starts_at
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.post(f"/organizer/events/{event.id}/edit",
                       data=_form_of(event, timedelta(days=7)),
                       follow_redirects=True).get_data(as_text=True)
    by_address = {m["To"]: m for m in smtp.messages}
    assert sorted(by_address) == ["en@example.jp", "ja@example.jp", "wait@example.jp"]
    assert by_address["ja@example.jp"]["Subject"] == "日時変更のお知らせ: 子ども食堂"
    assert by_address["en@example.jp"]["Subject"] == "New date: 子ども食堂"
    english = text_of(by_address["en@example.jp"])
    assert "Your seats are kept for the new date" in english
    assert "キャンセル待ちの順番はそのまま" in text_of(by_address["wait@example.jp"])
    lines = text_of(by_address["ja@example.jp"]).splitlines()
    assert any(line.startswith("変更前: ") for line in lines)
    assert any(line.startswith("新しい日時: ") for line in lines)
    assert any(line.endswith(f"/events/{event.id}?lang=ja") for line in lines)  # own line
    assert "申込のあった3組に、新しい日時をメールで知らせました。" in page
    assert "申込のあった1組には、新しい日時をメールで知らせられませんでした" in page  # not the walk-in
    db.session.expire_all()
    assert event.starts_at == old_start + timedelta(days=7)
    assert event.signup_closes_at == event.starts_at - timedelta(hours=16)  # moved along


def test_an_edit_that_does_not_move_the_date_mails_nobody(client, auth, make_user, make_event,
                                                          make_registration, smtp):  # noqa: F811
    event = make_event(capacity=4)
    _parties(event, make_registration)
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.post(f"/organizer/events/{event.id}/edit", data=_form_of(event, title="新"),
                       follow_redirects=True).get_data(as_text=True)
    assert smtp.messages == [] and "メールで知らせ" not in page


def test_an_overbooked_event_saves_a_new_title(client, auth, make_user, make_event,
                                               make_registration):
    event = make_event(capacity=5)
    make_registration(event, people=("adult",) * 7)
    auth.login(make_user("organizer", branches=[event.branch]))
    response = client.post(f"/organizer/events/{event.id}/edit", data=_form_of(event, title="新"))
    assert response.status_code == 302
    db.session.expire_all()
    assert (event.title, event.capacity, event.seats_taken) == ("新", 5, 7)


def test_a_series_edit_with_a_new_time_tells_the_booked_dates(
        client, auth, make_branch, make_user, make_registration, smtp):  # noqa: F811
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    _parties(wednesdays[0], make_registration)
    auth.login(organizer)
    form = _same_days_form(series, start_time="10:00", end_time="13:00")
    page = client.post(f"/organizer/series/{series.id}/edit", data=form,
                       follow_redirects=True).get_data(as_text=True)
    by_address = {m["To"]: m for m in smtp.messages}
    assert sorted(by_address) == ["en@example.jp", "ja@example.jp", "wait@example.jp"]
    assert by_address["en@example.jp"]["Subject"] == "New date: あさひかわ子ども食堂"
    assert "申込のあった3組に、新しい日時をメールで知らせました。" in page
    assert "申込のあった1組には、新しい日時をメールで知らせられませんでした" in page
    db.session.expire_all()
    assert wednesdays[0].starts_at.astimezone(TOKYO).hour == 10


def test_a_larger_series_capacity_mails_the_parties_it_moved_up(
        client, auth, make_branch, make_user, make_registration, smtp):  # noqa: F811
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    full = wednesdays[0]
    full.capacity = 4
    db.session.commit()
    make_registration(full, people=("adult",) * 4, email="")
    waiting, _ = make_registration(full, people=("adult",), status="waitlisted",
                                   email="en@example.jp")
    waiting.lang = "en"
    db.session.commit()
    auth.login(organizer)
    form = _same_days_form(series, capacity="6")
    assert client.post(f"/organizer/series/{series.id}/edit", data=form).status_code == 302
    [mail] = smtp.messages
    assert mail["To"] == "en@example.jp" and mail["Subject"].startswith("A seat is free")
    db.session.expire_all()
    assert db.session.get(Registration, waiting.id).status == "confirmed"
    assert db.session.scalar(sa.select(Registration.status).where(
        Registration.id == waiting.id)) == "confirmed"


def test_moving_an_event_through_the_api_tells_the_parties(client, make_user, api_token,
                                                           make_event, make_registration,
                                                           smtp):  # noqa: F811
    event = make_event(capacity=3, title="子ども食堂")
    make_registration(event, people=("adult",), email="ja@example.jp")
    headers = api_token(make_user("organizer", branches=[event.branch]))
    assert client.patch(f"/api/v1/events/{event.id}", json={"title": "子ども食堂"},
                        headers=headers).status_code == 200
    assert smtp.messages == []
    later = (event.starts_at + timedelta(days=1)).astimezone(TOKYO)
    r = client.patch(f"/api/v1/events/{event.id}",
                     json={"starts_at": later.isoformat(),
                           "ends_at": (later + timedelta(hours=3)).isoformat()},
                     headers=headers)
    assert r.status_code == 200
    [mail] = smtp.messages
    assert mail["To"] == "ja@example.jp" and mail["Subject"] == "日時変更のお知らせ: 子ども食堂"


def test_a_party_moved_up_by_an_edit_that_also_moves_the_date_gets_one_mail(
        client, auth, make_user, make_event, make_registration, smtp):  # noqa: F811
    event = make_event(capacity=2, title="子ども食堂")
    make_registration(event, people=("adult", "adult"), email="kept@example.jp")
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted",
                                   email="up@example.jp")
    old_start = event.starts_at
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.post(f"/organizer/events/{event.id}/edit",
                       data=_form_of(event, timedelta(days=7), capacity="3"),
                       follow_redirects=True).get_data(as_text=True)
    by_address = {}
    for mail in smtp.messages:
        by_address.setdefault(mail["To"], []).append(mail)
    assert sorted(by_address) == ["kept@example.jp", "up@example.jp"]
    [kept], [up] = by_address["kept@example.jp"], by_address["up@example.jp"]
    assert kept["Subject"] == "日時変更のお知らせ: 子ども食堂"
    assert up["Subject"] == "席が空きました: 子ども食堂"
    assert "この会の日時も変わりました。下の日時が新しい日時です（変更前: " in text_of(up)
    assert "申込のあった2組に、新しい日時をメールで知らせました。" in page
    db.session.expire_all()
    assert db.session.get(Registration, waiting.id).status == "confirmed"
    assert event.starts_at == old_start + timedelta(days=7)


def test_a_series_edit_that_moves_a_party_up_and_its_date_mails_it_once(
        client, auth, make_branch, make_user, make_registration, smtp):  # noqa: F811
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    full = wednesdays[0]
    full.capacity = 1
    db.session.commit()
    make_registration(full, people=("adult",), email="kept@example.jp")
    make_registration(full, people=("adult",), status="waitlisted", email="up@example.jp")
    auth.login(organizer)
    form = _same_days_form(series, capacity="2", start_time="10:00", end_time="13:00")
    page = client.post(f"/organizer/series/{series.id}/edit", data=form,
                       follow_redirects=True).get_data(as_text=True)
    subjects = sorted((m["To"], m["Subject"]) for m in smtp.messages)
    assert subjects == [("kept@example.jp", "日時変更のお知らせ: あさひかわ子ども食堂"),
                        ("up@example.jp", "席が空きました: あさひかわ子ども食堂")]
    assert "申込のあった2組に、新しい日時をメールで知らせました。" in page
