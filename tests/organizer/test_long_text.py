"""The organizer's forms take the descriptions they advertise: 20,000 Japanese characters
are 180 KB once a form encodes them, over the 64 KB every other request may send."""

from datetime import timedelta

import sqlalchemy as sa

from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import event_form

LONG = "子ども食堂のお知らせです。" * 1538  # 19,994 characters


def test_an_event_with_the_longest_japanese_description_is_saved(client, auth, make_branch,
                                                                  make_user):
    branch = make_branch()
    auth.login(make_user("organizer", branches=[branch]))
    response = client.post("/organizer/events/new", data=event_form(
        branch.id, title="長いお知らせ", description=LONG))
    assert response.status_code == 302
    event = db.session.scalar(sa.select(Event).where(Event.title == "長いお知らせ"))
    assert event.description == LONG


def test_the_events_api_takes_it_too_and_the_public_forms_keep_their_limit(
        client, api_token, make_user, make_event, app):
    event = make_event(capacity=10)
    headers = api_token(make_user("organizer", branches=[event.branch]))
    escaped = "".join(f"\\u{ord(c):04x}" for c in LONG)  # 120 KB as JSON escapes
    escaped = f'{{"description": "{escaped}"}}'
    response = client.patch(f"/api/v1/events/{event.id}", data=escaped,
                            headers={**headers, "Content-Type": "application/json"})
    assert response.status_code == 200
    db.session.expire_all()
    assert event.description == LONG
    signup = client.post(f"/events/{event.id}/signup", data={"family_name": LONG})
    assert signup.status_code == 413
    start = (event.starts_at + timedelta(days=1)).astimezone(TOKYO)
    assert start  # the event itself is untouched by the refused sign-up
    assert db.session.get(Event, event.id).description == LONG
