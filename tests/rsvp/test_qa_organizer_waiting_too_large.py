"""An organizer lowers the seats below a party already waiting: the edit is saved, the
organizer is told how many waiting parties can now never move up, and such a party's page
no longer promises that it will move up automatically."""

import pytest

from gathering.events import services
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import event_form

FORMAT = "%Y-%m-%dT%H:%M"
PROMISE = "皆さんの分の席が空いたら、自動で参加確定になります。"


def _edit_form(event, **overrides) -> dict:
    data = {"title": event.title, "kind": event.kind, "venue_id": str(event.venue_id),
            "capacity": str(event.capacity), "fees-0-amount": "0",
            "starts_at": event.starts_at.astimezone(TOKYO).strftime(FORMAT),
            "ends_at": event.ends_at.astimezone(TOKYO).strftime(FORMAT)}
    return event_form(event.branch_id, **{**data, **overrides})


@pytest.fixture
def waiting_event(make_event, make_registration):
    """10 seats, 2 confirmed; waiting: a party of 5 and a party of 1 (oldest first)."""
    event = make_event(capacity=10)
    make_registration(event, people=("adult", "adult"))
    big, big_token = make_registration(event, people=("adult",) * 5, status="waitlisted",
                                       family_name="大家")
    small, _ = make_registration(event, people=("adult",), status="waitlisted",
                                 family_name="小山")
    return event, big, big_token, small


def test_count_waiting_too_large(app, waiting_event, make_event):
    event, *_ = waiting_event
    assert services.count_waiting_too_large(db.session, [event]) == 0
    event.capacity = 4
    assert services.count_waiting_too_large(db.session, [event]) == 1
    event.capacity = 1  # a party of 1 fits in 1 seat in all
    assert services.count_waiting_too_large(db.session, [event]) == 1
    event.capacity = None
    assert services.count_waiting_too_large(db.session, [event, make_event()]) == 0


def test_lowering_the_seats_below_a_waiting_party_tells_the_organizer(
        client, auth, make_user, waiting_event):
    event, big, _, small = waiting_event
    auth.login(make_user("organizer", branches=[event.branch]))
    response = client.post(f"/organizer/events/{event.id}/edit",
                           data=_edit_form(event, capacity="4"), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "イベントを保存しました" in text
    assert ("キャンセル待ちのうち1組は、人数がこのイベントの定員（4人）より多いため、"
            "繰り上がることができません。") in text
    db.session.expire_all()
    assert event.capacity == 4  # the edit is not refused
    assert big.status == "waitlisted"


def test_an_edit_that_leaves_the_seats_alone_says_nothing_of_it(client, auth, make_user,
                                                                waiting_event):
    event, *_ = waiting_event
    auth.login(make_user("organizer", branches=[event.branch]))
    text = client.post(f"/organizer/events/{event.id}/edit",
                       data=_edit_form(event, title="秋のみんな食堂"),
                       follow_redirects=True).get_data(as_text=True)
    assert "繰り上がることができません" not in text


def test_the_page_of_a_party_larger_than_the_seats_does_not_promise_to_move_it_up(
        client, auth, make_user, waiting_event):
    event, big, big_token, _ = waiting_event
    assert PROMISE in client.get(f"/r/{big_token}").get_data(as_text=True)
    event.capacity = 4
    event.branch.contact_phone = "0166123456"
    db.session.commit()
    page = client.get(f"/r/{big_token}").get_data(as_text=True)
    assert PROMISE not in page
    assert ("このイベントの定員は今は4人で、皆さんの5人より少ないため、キャンセル待ちから"
            "繰り上がることはできません。") in page
    assert 'href="tel:0166123456"' in page


def test_a_smaller_series_capacity_tells_the_organizer_too(client, auth, make_branch,
                                                           make_user, make_registration):
    from tests.organizer.test_edit_mails import _same_days_form
    from tests.rsvp.test_mail_cli import _wednesday_and_saturday_series

    series, organizer, wednesdays, _ = _wednesday_and_saturday_series(make_branch, make_user)
    date = wednesdays[0]
    make_registration(date, people=("adult",), email="")
    make_registration(date, people=("adult",) * 4, status="waitlisted", email="")
    auth.login(organizer)
    response = client.post(f"/organizer/series/{series.id}/edit",
                           data=_same_days_form(series, capacity="3"), follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "くり返しイベントを保存しました" in text
    assert "繰り上がることができません" in text
    db.session.expire_all()
    assert date.capacity == 3
