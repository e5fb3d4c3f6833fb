"""A sign-up that would open only once it is already closed is refused, everywhere."""

from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import ValidationFailed
from gathering.events import services
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import event_form

START = datetime(2026, 12, 12, 11, tzinfo=TOKYO)


def _data(**overrides) -> dict:
    data = {"title": "子ども食堂", "kind": "kids_cafeteria", "starts_at": START,
            "ends_at": START + timedelta(hours=3), "status": "published"}
    data.update(overrides)
    return services.clean_event_data(data)


@pytest.mark.parametrize("opens", [START, START + timedelta(hours=1),
                                   START + timedelta(days=2)])
def test_sign_up_opening_at_or_after_the_start_without_a_deadline_is_refused(
        make_branch, make_user, opens):
    """Without a deadline sign-up closes at the start: opening then or later, the page said
    「申込受付開始: …」 for a time at which it already said 締切."""
    branch = make_branch()
    with pytest.raises(ValidationFailed) as exc:
        services.create_event(db.session, make_user("admin"), branch,
                              _data(signup_opens_at=opens))
    assert list(exc.value.fields) == ["signup_opens_at"]
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_an_opening_before_the_start_or_before_a_later_deadline_is_kept(make_branch,
                                                                       make_user):
    branch, admin = make_branch(), make_user("admin")
    early = services.create_event(db.session, admin, branch,
                                  _data(signup_opens_at=START - timedelta(days=7)))
    # opening during the event is a choice when a deadline after it is set
    during = services.create_event(db.session, admin, branch, _data(
        signup_opens_at=START + timedelta(minutes=30),
        signup_closes_at=START + timedelta(hours=2)))
    assert early.id and during.id


def test_an_edit_cannot_move_the_opening_past_the_start(make_event, make_user):
    event = make_event()
    with pytest.raises(ValidationFailed) as exc:
        services.update_event(db.session, make_user("admin"), event, services.clean_event_data(
            {"signup_opens_at": event.starts_at + timedelta(hours=1)}, partial=True))
    assert list(exc.value.fields) == ["signup_opens_at"]
    db.session.rollback()
    db.session.expire_all()
    assert event.signup_opens_at is None


def test_the_api_refuses_it_with_the_field(client, make_branch, make_user, api_token):
    branch = make_branch()
    headers = api_token(make_user("organizer", branches=[branch]))
    response = client.post("/api/v1/events", headers=headers, json={
        "branch": branch.slug, "kind": "kids_cafeteria", "title": "子ども食堂",
        "starts_at": "2026-12-12T11:00:00+09:00", "ends_at": "2026-12-12T14:00:00+09:00",
        "signup_opens_at": "2026-12-12T12:00:00+09:00", "status": "published"})
    assert response.status_code == 422
    assert list(response.get_json()["error"]["fields"]) == ["signup_opens_at"]


def test_the_form_says_so_by_the_field_and_stores_nothing(client, auth, make_branch,
                                                          make_user):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    day = date.today() + timedelta(days=10)
    response = client.post("/organizer/events/new", data=event_form(
        branch.id, signup_opens_at=f"{day}T18:00"))  # the event is 17:00〜19:00
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "受付開始はイベントの開始より前にしてください。" in page
    assert f'value="{day}T18:00"' in page  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
