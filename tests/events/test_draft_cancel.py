"""A draft cannot be cancelled: it was never public, and a cancelled event is public (its
page, the API, the feeds), so cancelling one would publish it. Service and API."""

from __future__ import annotations

from datetime import datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from gathering.errors import Conflict
from gathering.events import services
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO


@pytest.fixture
def soon() -> datetime:
    """A week ahead at 11:00: public lists and feeds are read with the server's clock."""
    return (datetime.now(TOKYO) + timedelta(days=7)).replace(hour=11, minute=0, second=0,
                                                             microsecond=0)


@pytest.fixture
def organizer(make_user, make_branch, api_token):
    branch = make_branch(slug="asahikawa")
    user = make_user("organizer", branches=[branch])
    return {"branch": branch, "user": user, "headers": api_token(user)}


def new_event(soon: datetime, **overrides) -> dict:
    data = {"branch": "asahikawa", "kind": "kids_cafeteria", "title": "ひみつの下書き食堂",
            "description": "まだ内緒の企画", "starts_at": soon.isoformat(),
            "ends_at": (soon + timedelta(hours=3)).isoformat(), "capacity": 40,
            "status": "draft",
            "venue": {"name": "ないしょ公民館", "postal_code": "070-0031", "address": "旭川市"},
            "fees": [{"code": "adult", "label": "おとな", "amount": 300}]}
    data.update(overrides)
    return data


def assert_public_cannot_see(client, event_id: int, soon: datetime) -> None:
    """Anonymous: no page, no API object, not in the list, not in the feed."""
    assert client.get(f"/events/{event_id}").status_code == 404
    assert client.get(f"/api/v1/events/{event_id}").status_code == 404
    day = soon.date().isoformat()
    listed = client.get(f"/api/v1/events?from={day}&to={day}").get_json()
    assert event_id not in [e["id"] for e in listed["items"]]
    assert client.get(f"/events/{event_id}.ics").status_code == 404
    feed = client.get("/calendar/all.ics")
    assert feed.status_code == 200
    calendar = icalendar.Calendar.from_ical(feed.data)
    uid = db.session.get(Event, event_id).uid
    vevents = list(calendar.walk("VEVENT"))
    assert uid not in [str(v.get("UID")) for v in vevents]
    assert "ひみつの下書き食堂" not in [str(v.get("SUMMARY")) for v in vevents]


# ---------------------------------------------------------------------------------------
# The service


def test_a_draft_is_refused_and_nothing_changes(make_event, make_user, now):
    draft = make_event(status="draft")
    admin = make_user("admin")
    with pytest.raises(Conflict) as exc:
        services.cancel_event(db.session, admin, draft, now=now)
    assert exc.value.code == "event_not_published" and exc.value.status == 409
    db.session.rollback()
    db.session.expire_all()
    assert (draft.status, draft.cancelled_at, draft.sequence) == ("draft", None, 0)


def test_check_can_cancel_says_what_cancel_event_would(make_event, make_user, now):
    draft, published = make_event(status="draft"), make_event()
    with pytest.raises(services.EventNotPublished):
        services.check_can_cancel(draft)
    services.check_can_cancel(published)  # no refusal
    services.cancel_event(db.session, make_user("admin"), published, now=now)
    with pytest.raises(Conflict) as exc:
        services.check_can_cancel(published)
    assert exc.value.code == "already_cancelled"


def test_the_permission_is_checked_first(make_event, make_user, now):
    """A stranger learns nothing about the event's state: Forbidden, as before."""
    from gathering.errors import Forbidden

    draft = make_event(status="draft")
    with pytest.raises(Forbidden):
        services.cancel_event(db.session, make_user("organizer"), draft, now=now)


def test_an_edit_cancelling_a_draft_is_refused_whole(make_event, make_user, now):
    draft = make_event(status="draft", title="下書き", capacity=10)
    admin = make_user("admin")
    with pytest.raises(services.EventNotPublished):
        services.update_event(db.session, admin, draft,
                              {"title": "書き換え", "capacity": 3, "status": "cancelled"}, now=now)
    assert (draft.title, draft.capacity, draft.status) == ("下書き", 10, "draft")


def test_a_published_event_is_still_cancelled(make_event, make_user, now):
    event = make_event()
    services.cancel_event(db.session, make_user("admin"), event, now=now)
    assert event.status == "cancelled" and event.cancelled_at == now and event.sequence == 1


def test_a_draft_published_then_cancelled_is_cancelled(make_event, make_user, now):
    event = make_event(status="draft")
    admin = make_user("admin")
    services.publish_event(db.session, admin, event)
    services.cancel_event(db.session, admin, event, now=now)
    assert event.status == "cancelled"


# ---------------------------------------------------------------------------------------
# Recurring series: a draft series' dates are drafts


def test_a_draft_series_date_cannot_be_cancelled(make_series, now):
    series, user = make_series(status="draft")
    date = series.events[0]
    assert date.status == "draft"
    with pytest.raises(services.EventNotPublished):
        services.cancel_event(db.session, user, date, now=now)
    db.session.rollback()
    db.session.expire_all()
    assert {e.status for e in series.events} == {"draft"}


def test_a_draft_series_edit_removes_the_dates_it_drops_never_cancels_them(make_series, now):
    from tests.events.conftest import series_data

    series, user = make_series(status="draft")
    dates = len(series.events)
    cleaned = services.clean_series_data(series_data(
        status="draft", ends_on=series.events[1].starts_at.astimezone(TOKYO).date()))
    result = services.update_series(db.session, user, series, cleaned, now=now, months=6)
    db.session.commit()
    assert result["cancelled"] == 0 and result["cancelled_events"] == []
    assert result["removed"] == dates - 2
    statuses = db.session.scalars(sa.select(Event.status).where(Event.series_id == series.id))
    assert set(statuses) == {"draft"}


# ---------------------------------------------------------------------------------------
# The API


def test_api_refuses_to_cancel_a_draft_and_it_stays_hidden(client, organizer, soon):
    headers = organizer["headers"]
    created = client.post("/api/v1/events", json=new_event(soon), headers=headers)
    assert created.status_code == 201, created.get_data(as_text=True)
    event_id = created.get_json()["id"]
    assert_public_cannot_see(client, event_id, soon)

    response = client.patch(f"/api/v1/events/{event_id}", json={"status": "cancelled"},
                            headers=headers)
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == "event_not_published"
    assert body["error"]["message"]
    english = client.patch(f"/api/v1/events/{event_id}", json={"status": "cancelled"},
                           headers={**headers, "Accept-Language": "en"})
    assert "draft" in english.get_json()["error"]["message"]

    db.session.expire_all()
    event = db.session.get(Event, event_id)
    assert (event.status, event.cancelled_at) == ("draft", None)
    assert_public_cannot_see(client, event_id, soon)
    # its organizer still sees the draft, as a draft
    own = client.get(f"/api/v1/events/{event_id}", headers=headers)
    assert own.status_code == 200 and own.get_json()["status"] == "draft"


def test_api_refuses_a_draft_cancelled_with_other_changes_and_keeps_them_out(client, organizer,
                                                                            soon):
    headers = organizer["headers"]
    event_id = client.post("/api/v1/events", json=new_event(soon),
                           headers=headers).get_json()["id"]
    response = client.patch(f"/api/v1/events/{event_id}",
                            json={"title": "変えたい", "status": "cancelled"}, headers=headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "event_not_published"
    db.session.expire_all()
    assert db.session.get(Event, event_id).title == "ひみつの下書き食堂"


def test_api_still_cancels_a_published_event(client, organizer, soon):
    headers = organizer["headers"]
    event_id = client.post("/api/v1/events", json=new_event(soon, status="published"),
                           headers=headers).get_json()["id"]
    response = client.patch(f"/api/v1/events/{event_id}", json={"status": "cancelled"},
                            headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    public = client.get(f"/api/v1/events/{event_id}")
    assert public.status_code == 200 and public.get_json()["status"] == "cancelled"
    assert client.get(f"/events/{event_id}").status_code == 200
    cancelled = [v for v in icalendar.Calendar.from_ical(
        client.get("/calendar/all.ics").data).walk("VEVENT")
        if str(v.get("SUMMARY")).endswith("ひみつの下書き食堂")]
    assert [str(v.get("STATUS")) for v in cancelled] == ["CANCELLED"]


def test_the_refusal_is_documented(client):
    doc = client.get("/api/openapi.json").get_json()
    assert "event_not_published" in doc["paths"]["/api/v1/events/{event_id}"]["patch"][
        "description"]
