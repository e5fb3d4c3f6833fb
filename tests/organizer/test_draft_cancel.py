"""The organizer pages offer no cancellation of a draft: the button is not there, the cancel
page explains instead of asking, and a POST is refused with the event left a draft."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO

EN = {"Accept-Language": "en"}


def test_a_draft_has_no_cancel_button(client, auth, make_event, make_user):
    draft = make_event(status="draft")
    auth.login(make_user("organizer", branches=[draft.branch]))
    page = client.get(f"/organizer/events/{draft.id}").get_data(as_text=True)
    assert f"/organizer/events/{draft.id}/cancel" not in page
    assert f"/organizer/events/{draft.id}/publish" in page  # publishing is offered


def test_the_cancel_page_of_a_draft_explains_and_offers_no_form(client, auth, make_event,
                                                                make_user):
    draft = make_event(status="draft")
    auth.login(make_user("organizer", branches=[draft.branch]))
    response = client.get(f"/organizer/events/{draft.id}/cancel", headers=EN)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "This event is a draft" in page and "nothing to cancel" in page
    assert f'action="/organizer/events/{draft.id}/cancel"' not in page
    assert "Yes, cancel this event" not in page


def test_posting_the_cancel_of_a_draft_is_refused(client, auth, make_event, make_user):
    draft = make_event(status="draft")
    auth.login(make_user("organizer", branches=[draft.branch]))
    response = client.post(f"/organizer/events/{draft.id}/cancel", headers=EN)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/organizer/events/{draft.id}")
    page = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "nothing to cancel" in page
    db.session.expire_all()
    event = db.session.get(Event, draft.id)
    assert (event.status, event.cancelled_at) == ("draft", None)
    auth.logout()
    assert client.get(f"/events/{draft.id}").status_code == 404
    assert client.get(f"/api/v1/events/{draft.id}").status_code == 404


def test_a_published_event_keeps_its_cancel_button_and_form(client, auth, make_event,
                                                            make_user):
    event = make_event()
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.get(f"/organizer/events/{event.id}").get_data(as_text=True)
    assert f'href="/organizer/events/{event.id}/cancel"' in page
    confirm = client.get(f"/organizer/events/{event.id}/cancel").get_data(as_text=True)
    assert f'action="/organizer/events/{event.id}/cancel"' in confirm
    assert client.post(f"/organizer/events/{event.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(Event, event.id).status == "cancelled"


def test_series_page_offers_cancel_only_for_published_dates(client, auth, make_branch,
                                                            make_user):
    from gathering.events import services
    from tests.events.conftest import series_data

    # years ahead: the page sorts dates into upcoming and past with the server's clock
    first = datetime(2030, 1, 12, 11, tzinfo=TOKYO)
    branch = make_branch()
    organizer = make_user("organizer", branches=[branch])
    drafts = services.create_series(
        db.session, organizer, branch,
        services.clean_series_data(series_data(status="draft", starts_at=first)),
        now=first - timedelta(days=1), months=2)
    published = services.create_series(
        db.session, organizer, branch,
        services.clean_series_data(series_data(title="公開の食堂", starts_at=first)),
        now=first - timedelta(days=1), months=2)
    db.session.commit()
    auth.login(organizer)

    page = client.get(f"/organizer/series/{drafts.id}").get_data(as_text=True)
    assert drafts.events
    for date in drafts.events:
        assert f"/organizer/events/{date.id}/cancel" not in page
        assert f"/organizer/events/{date.id}/edit" in page  # still moved or changed
    page = client.get(f"/organizer/series/{published.id}").get_data(as_text=True)
    assert published.events
    assert all(f"/organizer/events/{d.id}/cancel" in page for d in published.events)

    date = drafts.events[0]
    client.post(f"/organizer/events/{date.id}/cancel")
    db.session.expire_all()
    assert set(db.session.scalars(sa.select(Event.status).where(
        Event.series_id == drafts.id))) == {"draft"}


def test_the_cancel_question_says_how_long_calendars_keep_the_event(app, client, auth,
                                                                    make_event, make_user,
                                                                    monkeypatch):
    event = make_event()
    auth.login(make_user("organizer", branches=[event.branch]))
    monkeypatch.setitem(app.config, "CANCELLED_EVENTS_IN_FEED_DAYS", 1)
    page = client.get(f"/organizer/events/{event.id}/cancel", headers=EN).get_data(True)
    assert "show it as cancelled (some apps hide it) for 1 day, then" in page
    monkeypatch.setitem(app.config, "CANCELLED_EVENTS_IN_FEED_DAYS", 21)
    page = client.get(f"/organizer/events/{event.id}/cancel").get_data(as_text=True)
    assert "カレンダーには21日間「中止」として表示され" in page
