"""Edits that would hurt the families without a word: a date moved into the past by a
mistyped month, a published event taken back to draft by unticking すぐに公開する, and
0 seats (an event shown open that nobody can join)."""

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import ValidationFailed
from gathering.events import services
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import utcnow
from tests.organizer.test_edit_mails import _form_of
from tests.organizer.test_organizer import event_form, series_form
from tests.rsvp.test_mail_cli import smtp  # noqa: F401 - a fixture

#: a start typed in a past month: 30 days ago, for an event a week ahead
INTO_THE_PAST = -timedelta(days=37)
ASKS = "この日時はもう過ぎています。"
ZERO_SEATS = "定員は1人以上にしてください。制限なしにするときは、定員を空欄にしてください。"


def _edit(client, event, **form):
    return client.post(f"/organizer/events/{event.id}/edit", data=form)


@pytest.fixture
def booked(make_event, make_registration, make_user, auth):
    """A published event a week ahead, one family signed up with an e-mail address, and
    its organizer logged in."""
    event = make_event(capacity=10)
    make_registration(event, people=("adult",), email="ja@example.jp")
    auth.login(make_user("organizer", branches=[event.branch]))
    return event


# ---------------------------------------------------------------------------------------
# A date moved into the past


def test_moving_an_event_into_the_past_asks_first_and_changes_nothing(
        client, booked, smtp):  # noqa: F811
    old = (booked.starts_at, booked.ends_at, booked.sequence)
    response = _edit(client, booked, **_form_of(booked, INTO_THE_PAST))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert ("この日時はもう過ぎています。住民向けの一覧には出なくなり、申し込んでいる1組には、"
            "この日時がメールで知らされます。") in page
    assert 'name="confirm"' in page and "過ぎた日時のまま保存します" in page
    assert smtp.messages == []  # nobody mailed a wrong date
    db.session.expire_all()
    assert (booked.starts_at, booked.ends_at, booked.sequence) == old


def test_the_ticked_box_saves_the_past_date_and_tells_the_families(
        client, booked, smtp):  # noqa: F811
    old_start = booked.starts_at
    response = _edit(client, booked, **_form_of(booked, INTO_THE_PAST, confirm="y"))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "このイベントはすでに終わっています。" in page
    assert [m["To"] for m in smtp.messages] == ["ja@example.jp"]
    db.session.expire_all()
    assert booked.starts_at == old_start + INTO_THE_PAST and booked.ends_at <= utcnow()


def test_an_empty_event_moved_into_the_past_asks_without_speaking_of_families(
        client, make_event, make_user, auth):
    event = make_event(capacity=10)
    auth.login(make_user("organizer", branches=[event.branch]))
    page = _edit(client, event, **_form_of(event, INTO_THE_PAST)).get_data(as_text=True)
    assert "この日時はもう過ぎています。住民向けの一覧には出なくなります。" in page
    assert "組には" not in page


def test_a_field_to_fix_keeps_the_ticked_box_shown(client, booked):
    form = _form_of(booked, INTO_THE_PAST, confirm="y", title="")
    response = _edit(client, booked, **form)
    assert response.status_code == 200
    assert 'name="confirm"' in response.get_data(as_text=True)


def test_an_event_already_over_is_edited_without_asking(client, make_event, make_user, auth):
    event = make_event(starts_at=utcnow() - timedelta(days=3), capacity=10)
    auth.login(make_user("organizer", branches=[event.branch]))
    response = _edit(client, event, **_form_of(event, title="報告用に直した名前"))
    assert response.status_code == 302
    db.session.expire_all()
    assert event.title == "報告用に直した名前"


def test_an_edit_within_the_future_is_not_asked(client, booked):
    assert _edit(client, booked, **_form_of(booked, timedelta(days=7))).status_code == 302


def test_update_event_refuses_the_past_unless_confirmed(make_event, make_registration,
                                                       make_user, now):
    event = make_event(starts_at=now + timedelta(days=7), capacity=10)
    make_registration(event, people=("adult",))
    organizer = make_user("organizer", branches=[event.branch])
    past = {"starts_at": now - timedelta(days=30),
            "ends_at": now - timedelta(days=30) + timedelta(hours=3)}
    with pytest.raises(services.MoveIntoPastNeedsConfirmation) as exc:
        services.update_event(db.session, organizer, event, past, now=now, confirm_past=False)
    assert exc.value.code == "moved_into_past" and exc.value.details["parties"] == 1
    db.session.rollback()
    services.update_event(db.session, organizer, event, past, now=now)  # the API's call
    assert event.ends_at <= now


def test_the_api_still_moves_an_event_into_the_past_at_once(client, make_event, make_user,
                                                           api_token):
    event = make_event(capacity=10)
    start = event.starts_at + INTO_THE_PAST
    response = client.patch(f"/api/v1/events/{event.id}", headers=api_token(
        make_user("organizer", branches=[event.branch])), json={
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat()})
    assert response.status_code == 200


# ---------------------------------------------------------------------------------------
# すぐに公開する unticked


def test_unticking_publish_takes_an_event_without_sign_ups_back_to_draft(
        app, client, make_event, make_user, auth):
    event = make_event(capacity=10)
    auth.login(make_user("organizer", branches=[event.branch]))
    response = _edit(client, event, **_form_of(event, publish=""))
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "イベントを下書きにもどしました。住民の方には見えなくなります。" in page
    db.session.expire_all()
    assert event.status == "draft"
    assert app.test_client().get(f"/events/{event.id}").status_code == 404


def test_unticking_publish_with_sign_ups_is_refused_and_says_to_cancel(client, booked):
    response = _edit(client, booked, **_form_of(booked, publish="", title="新しい名前"))
    assert response.status_code == 200
    assert "申込があるため、下書きにはもどせません。かわりに中止にしてください。" in \
        response.get_data(as_text=True)
    db.session.expire_all()
    assert (booked.status, booked.title) == ("published", "子ども食堂")


def test_a_draft_stays_a_draft_and_is_published_by_the_box(client, make_event, make_user,
                                                          auth):
    event = make_event(capacity=10, status="draft")
    auth.login(make_user("organizer", branches=[event.branch]))
    assert _edit(client, event, **_form_of(event, publish="")).status_code == 302
    db.session.expire_all()
    assert event.status == "draft"
    assert _edit(client, event, **_form_of(event)).status_code == 302
    db.session.expire_all()
    assert event.status == "published"


# ---------------------------------------------------------------------------------------
# 0 seats


def _count_events() -> int:
    return db.session.scalar(sa.select(sa.func.count(Event.id)))


def test_the_new_event_form_refuses_zero_seats_and_says_empty_is_no_limit(
        client, make_branch, make_user, auth):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    assert "制限なしは空欄" in client.get("/organizer/events/new").get_data(as_text=True)
    response = client.post("/organizer/events/new", data=event_form(branch.id, capacity="0"))
    assert response.status_code == 200 and ZERO_SEATS in response.get_data(as_text=True)
    assert _count_events() == 0
    assert client.post("/organizer/events/new",
                       data=event_form(branch.id, capacity="")).status_code == 302
    assert db.session.scalar(sa.select(Event.capacity)) is None


@pytest.mark.parametrize("seats", ["0", "０"])
def test_the_edit_form_refuses_zero_seats(client, booked, seats):
    response = _edit(client, booked, **_form_of(booked, capacity=seats))
    assert response.status_code == 200 and ZERO_SEATS in response.get_data(as_text=True)
    db.session.expire_all()
    assert booked.capacity == 10


def test_the_series_form_refuses_zero_seats(client, make_branch, make_user, auth):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    first = date.today() + timedelta(days=10)
    response = client.post("/organizer/series/new",
                           data=series_form(branch.id, first, capacity="0"))
    assert response.status_code == 200 and ZERO_SEATS in response.get_data(as_text=True)
    assert _count_events() == 0


def test_the_api_refuses_zero_seats_with_a_field_error(client, make_event, make_user,
                                                      api_token):
    event = make_event(capacity=10)
    response = client.patch(f"/api/v1/events/{event.id}", json={"capacity": 0},
                            headers=api_token(make_user("organizer", branches=[event.branch])))
    assert response.status_code == 422
    assert "capacity" in response.get_json()["error"]["fields"]
    db.session.expire_all()
    assert event.capacity == 10


@pytest.mark.parametrize("seats", [0, "0", "０"])
def test_clean_event_and_series_data_refuse_zero_seats(seats):
    with pytest.raises(ValidationFailed) as exc:
        services.clean_event_data({"capacity": seats}, partial=True)
    assert list(exc.value.fields) == ["capacity"]
    with pytest.raises(ValidationFailed) as exc:
        services.clean_series_data({"capacity": seats})
    assert "capacity" in exc.value.fields


@pytest.mark.parametrize("seats, kept", [(None, None), ("", None), (1, 1), ("12", 12)])
def test_one_seat_or_none_is_kept(seats, kept):
    assert services.clean_event_data({"capacity": seats}, partial=True) == {"capacity": kept}
