"""The JSON API of branches and events (API.md): shapes, filters, writes and every error."""

import json
from datetime import datetime, timedelta

import icalendar
import pytest
import sqlalchemy as sa

from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO

EVENT_KEYS = {"id", "title", "kind", "status", "starts_at", "ends_at", "branch", "venue",
              "capacity", "seats_left", "signup_open", "fees", "series_id", "urls"}


def at(*args):
    return datetime(*args, tzinfo=TOKYO)


def assert_error(response, status, code=None):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code:
        assert body["error"]["code"] == code
    return body["error"]


def test_branches(client, make_branch):
    branch = make_branch(slug="hokkaido", name="北海道")
    body = client.get("/api/v1/branches").get_json()
    assert body["total"] == 1 and body["page"] == 1
    item = body["items"][0]
    assert item["slug"] == "hokkaido" and item["name"] == "北海道" and item["region"] == "関東"
    assert item["urls"]["page"].endswith(f"/branches/{branch.slug}")
    assert item["urls"]["ics"].startswith("http")


def test_branches_are_a_paginated_list(client, make_branch):
    slugs = [make_branch(slug=f"b{i}").slug for i in range(5)]

    def page(query):
        response = client.get(f"/api/v1/branches?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return response.get_json()

    body = page("")
    assert (body["page"], body["per_page"], body["total"]) == (1, 50, 5)
    assert [b["slug"] for b in body["items"]] == slugs
    body = page("page=2&per_page=2")
    assert (body["page"], body["per_page"], body["total"]) == (2, 2, 5)
    assert [b["slug"] for b in body["items"]] == slugs[2:4]
    assert page("page=4&per_page=2")["items"] == []
    assert len(page("per_page=200")["items"]) == 5


@pytest.mark.parametrize("query", ["page=0", "page=-1", "page=x", "per_page=abc",
                                   "per_page=0", "per_page=201", "per_page=1.5"])
def test_bad_branch_pages_are_400(client, make_branch, query):
    make_branch()
    assert_error(client.get(f"/api/v1/branches?{query}"), 400, "bad_pagination")


def test_event_object(client, make_event, make_registration):
    event = make_event(starts_at=at(2030, 12, 14, 11), capacity=40)
    make_registration(event, people=("child", "adult"))
    body = client.get(f"/api/v1/events/{event.id}").get_json()
    assert set(body) >= EVENT_KEYS
    assert body["starts_at"] == "2030-12-14T11:00:00+09:00"
    assert body["ends_at"] == "2030-12-14T14:00:00+09:00"
    assert body["status"] == "published" and body["kind"] == "kids_cafeteria"
    assert body["capacity"] == 40 and body["seats_left"] == 38 and body["signup_open"] is True
    assert body["fees"] == [{"code": "child", "label": "こども", "amount": 0},
                            {"code": "adult", "label": "おとな", "amount": 300}]
    assert body["venue"]["postal_code"] == "0700031"
    assert body["branch"]["slug"] == event.branch.slug
    assert body["series_id"] is None
    assert body["urls"]["page"].endswith(f"/events/{event.id}")
    assert body["urls"]["signup"].endswith("#signup")


def test_drafts_and_unknown_events_are_404(client, make_event):
    draft = make_event(status="draft")
    assert_error(client.get(f"/api/v1/events/{draft.id}"), 404, "not_found")
    assert_error(client.get("/api/v1/events/999999"), 404)
    assert_error(client.get("/api/v1/events/abc"), 404)


def test_event_list_filters_and_pages(client, make_event, make_branch):
    a, b = make_branch(slug="a"), make_branch(slug="b")
    e1 = make_event(a, starts_at=at(2030, 12, 5, 11))
    e2 = make_event(b, starts_at=at(2030, 12, 20, 11), kind="film_screening")
    e3 = make_event(a, starts_at=at(2031, 1, 10, 11), kind="summit")
    make_event(a, starts_at=at(2030, 12, 6, 11), status="draft")

    def ids(query):
        response = client.get(f"/api/v1/events?{query}")
        assert response.status_code == 200, response.get_data(as_text=True)
        return [item["id"] for item in response.get_json()["items"]]

    assert ids("") == [e1.id, e2.id, e3.id]
    assert ids("branch=a") == [e1.id, e3.id]
    assert ids("kind=film_screening") == [e2.id]
    assert ids("from=2030-12-06&to=2030-12-31") == [e2.id]
    assert ids("to=2030-12-05") == [e1.id]  # "to" is inclusive
    assert ids("from=2031-01-10") == [e3.id]
    page = client.get("/api/v1/events?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert [i["id"] for i in page["items"]] == [e3.id]


def test_cancelled_events_are_listed_with_their_status(client, make_event, make_user):
    from gathering.events import services

    event = make_event()
    services.cancel_event(db.session, make_user("admin"), event)
    db.session.commit()
    items = client.get("/api/v1/events").get_json()["items"]
    assert [(i["id"], i["status"], i["signup_open"]) for i in items] == [
        (event.id, "cancelled", False)]


@pytest.mark.parametrize("query, status, code", [
    ("from=2026-02-30", 400, "bad_date"),
    ("from=tomorrow", 400, "bad_date"),
    ("from=20261212", 400, "bad_date"), ("to=2026-W50-1", 400, "bad_date"),
    ("from=２０２６-１２-１２", 400, "bad_date"),
    ("to=" + "9" * 10_000, 400, "bad_date"),
    ("from=0001-01-01", 400, "bad_date"),
    ("to=9999-12-31", 400, "bad_date"),
    ("from=1999-12-31", 400, "bad_date"),
    ("to=2100-01-01", 400, "bad_date"),
    ("from=0001-01-01&to=9999-12-31", 400, "bad_date"),
    ("from=2026-12-10&to=2026-12-01", 400, "bad_date"),
    ("page=0", 400, "bad_pagination"),
    ("page=x", 400, "bad_pagination"),
    ("per_page=201", 400, "bad_pagination"),
    ("per_page=-1", 400, "bad_pagination"),
    ("branch=nowhere", 404, "unknown_branch"),
    ("kind=party", 404, "unknown_kind"),
])
def test_bad_list_queries(client, app, query, status, code):
    assert_error(client.get(f"/api/v1/events?{query}"), status, code)


def test_the_whole_supported_range_of_dates_is_a_list(client, make_event):
    event = make_event(starts_at=at(2030, 12, 5, 11))
    response = client.get("/api/v1/events?from=2000-01-01&to=2099-12-31")
    assert response.status_code == 200
    assert [item["id"] for item in response.get_json()["items"]] == [event.id]
    error = assert_error(client.get("/api/v1/events?to=9999-12-31",
                                    headers={"Accept-Language": "en"}), 400, "bad_date")
    assert "2000-01-01" in error["message"] and "2099-12-31" in error["message"]


def new_event(branch_slug, **overrides):
    data = {"branch": branch_slug, "kind": "kids_cafeteria", "title": "子ども食堂",
            "description": "**どうぞ**", "starts_at": "2030-12-14T11:00:00+09:00",
            "ends_at": "2030-12-14T14:00:00+09:00", "capacity": 40, "status": "published",
            "venue": {"name": "公民館", "postal_code": "070-0031", "address": "旭川市"},
            "fees": [{"code": "child", "label": "こども", "amount": 0},
                     {"code": "adult", "label": "おとな", "amount": 300}]}
    data.update(overrides)
    return data


@pytest.fixture
def organizer(make_user, make_branch, api_token):
    branch = make_branch(slug="hokkaido")
    user = make_user("organizer", branches=[branch])
    return {"branch": branch, "user": user, "headers": api_token(user)}


def count_events():
    return db.session.scalar(sa.select(sa.func.count(Event.id)))


def test_create_and_patch_with_a_bearer_token(client, organizer):
    headers = organizer["headers"]
    response = client.post("/api/v1/events", json=new_event("hokkaido"), headers=headers)
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) >= EVENT_KEYS and body["venue"]["postal_code"] == "0700031"
    event_id = body["id"]

    response = client.patch(f"/api/v1/events/{event_id}", json={"capacity": 30, "title": "新"},
                            headers=headers)
    assert response.status_code == 200
    assert (response.get_json()["capacity"], response.get_json()["title"]) == (30, "新")
    assert response.get_json()["starts_at"] == "2030-12-14T11:00:00+09:00"

    response = client.patch(f"/api/v1/events/{event_id}", json={"status": "cancelled"},
                            headers=headers)
    assert response.status_code == 200 and response.get_json()["status"] == "cancelled"
    assert_error(client.patch(f"/api/v1/events/{event_id}", json={"status": "cancelled"},
                              headers=headers), 409, "event_cancelled")
    # A cancelled event is final: no un-cancelling, no edits (calendars already dropped it).
    for change in ({"status": "published"}, {"title": "やっぱり開催"}):
        assert_error(client.patch(f"/api/v1/events/{event_id}", json=change, headers=headers),
                     409, "event_cancelled")
    assert client.get(f"/api/v1/events/{event_id}").get_json()["status"] == "cancelled"


def test_writes_need_a_valid_token(client, organizer):
    before = count_events()
    assert_error(client.post("/api/v1/events", json=new_event("hokkaido")), 401, "unauthorized")
    assert_error(client.post("/api/v1/events", json=new_event("hokkaido"),
                             headers={"Authorization": "Bearer nope"}), 401, "unauthorized")
    assert_error(client.post("/api/v1/events", json=new_event("hokkaido"),
                             headers={"Authorization": "Basic abc"}), 401, "unauthorized")
    assert_error(client.post("/api/v1/events", json=new_event("hokkaido"),
                             headers={"Authorization": "Bearer " + "x" * 10_000}), 401)
    assert count_events() == before


def test_only_the_branchs_organizers_write(client, organizer, make_user, make_branch,
                                           make_event, api_token):
    other = make_branch(slug="kansai")
    theirs = make_event(other)
    headers = organizer["headers"]
    before = count_events()
    assert_error(client.post("/api/v1/events", json=new_event("kansai"), headers=headers),
                 403, "forbidden")
    assert_error(client.patch(f"/api/v1/events/{theirs.id}", json={"title": "x"},
                              headers=headers), 403, "forbidden")
    volunteer = api_token(make_user("volunteer", branches=[organizer["branch"]]))
    assert_error(client.post("/api/v1/events", json=new_event("hokkaido"), headers=volunteer),
                 403)
    admin = api_token(make_user("admin"))
    assert client.patch(f"/api/v1/events/{theirs.id}", json={"title": "管理者"},
                        headers=admin).status_code == 200
    assert count_events() == before
    assert_error(client.patch("/api/v1/events/999999", json={"title": "x"}, headers=headers),
                 404)


HUGE = "あ" * 10_240


@pytest.mark.parametrize("overrides, field", [
    ({"title": HUGE}, "title"),
    ({"title": ""}, "title"),
    ({"title": 5}, "title"),
    ({"title": None}, "title"),
    ({"kind": "party"}, "kind"),
    ({"kind": ["summit"]}, "kind"),
    ({"starts_at": "2026-02-30T11:00:00+09:00"}, "starts_at"),
    ({"starts_at": 1700000000}, "starts_at"),
    ({"ends_at": "2030-12-14T10:00:00+09:00"}, "ends_at"),
    ({"capacity": "forty"}, "capacity"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"fees": {"child": 0}}, "fees"),
    ({"fees": [{"code": "a", "label": "x", "amount": 1.5}]}, "fees.0.amount"),
    ({"venue": ["公民館"]}, "venue"),
    ({"venue": {"name": "x", "postal_code": "1"}}, "venue.postal_code"),
    ({"status": "deleted"}, "status"),
    ({"branch": "nowhere"}, "branch"),
    ({"branch": 12}, "branch"),
    ({"branch": None}, "branch"),
])
def test_invalid_fields_are_422_and_nothing_is_stored(client, organizer, overrides, field):
    before = count_events()
    error = assert_error(client.post("/api/v1/events", json=new_event("hokkaido", **overrides),
                                     headers=organizer["headers"]), 422, "invalid")
    assert field in error["fields"]
    assert all(isinstance(m, str) for messages in error["fields"].values() for m in messages)
    assert count_events() == before


@pytest.mark.parametrize("body, content_type, status, code", [
    ("[1, 2]", "application/json", 400, "malformed_json"),
    ('"a string"', "application/json", 400, "malformed_json"),
    ("{not json", "application/json", 400, "malformed_json"),
    ("", "application/json", 400, "malformed_json"),
    ("title=x", "application/x-www-form-urlencoded", 415, "unsupported_media_type"),
    ("{}", "text/plain", 415, "unsupported_media_type"),
])
def test_malformed_bodies(client, organizer, body, content_type, status, code):
    headers = dict(organizer["headers"], **{"Content-Type": content_type})
    assert_error(client.post("/api/v1/events", data=body, headers=headers), status, code)
    event = client.post("/api/v1/events", json=new_event("hokkaido"),
                        headers=organizer["headers"]).get_json()
    assert_error(client.patch(f"/api/v1/events/{event['id']}", data=body, headers=headers),
                 status, code)


def test_a_huge_body_is_413(client, organizer):
    body = json.dumps(new_event("hokkaido", description="x" * 600_000))
    assert_error(client.post("/api/v1/events", data=body, headers=dict(
        organizer["headers"], **{"Content-Type": "application/json"})), 413, "too_large")


def test_patch_cannot_move_an_event_to_another_branch(client, organizer, make_event):
    event = make_event(organizer["branch"])
    error = assert_error(client.patch(f"/api/v1/events/{event.id}", json={"branch": "kansai"},
                                      headers=organizer["headers"]), 422)
    assert "branch" in error["fields"]


def test_patch_end_before_start(client, organizer, make_event):
    event = make_event(organizer["branch"])
    error = assert_error(client.patch(
        f"/api/v1/events/{event.id}",
        json={"ends_at": (event.starts_at - timedelta(hours=1)).isoformat()},
        headers=organizer["headers"]), 422)
    assert "ends_at" in error["fields"]


def test_messages_follow_accept_language(client, organizer):
    ja = assert_error(client.post("/api/v1/events", json=new_event("hokkaido", title="")), 401)
    assert ja["message"] == "ログインするか、正しいトークンを送ってください。"
    en = assert_error(client.post("/api/v1/events", json=new_event("hokkaido", title=""),
                                  headers={"Accept-Language": "en"}), 401)
    assert en["message"] == "Please log in or send a valid token."
    error = assert_error(client.post("/api/v1/events", json=new_event("hokkaido", title=""),
                                     headers=dict(organizer["headers"],
                                                  **{"Accept-Language": "en-GB,en;q=0.8"})),
                         422)
    assert error["fields"]["title"] == ["This field is required."]
    assert error["message"] == "Some fields are invalid."
    assert assert_error(client.get("/api/v1/nowhere", headers={"Accept-Language": "en"}),
                        404)["message"] == "This page does not exist."


def test_wrong_methods_are_405_json(client, app):
    error = assert_error(client.delete("/api/v1/events"), 405, "method_not_allowed")
    assert error


def test_session_writes_need_the_csrf_header(make_app, make_user):
    user = make_user("admin")
    email = user.email
    db.session.rollback()
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    from tests.conftest import PASSWORD

    client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
    error = assert_error(client.post("/api/v1/events", json={"title": "x"},
                                     headers={"Accept-Language": "en"}), 400, "csrf_failed")
    assert "reload" in error["message"].lower()
    assert_error(client.post("/api/v1/events", json={"title": "x"},
                             headers={"X-CSRFToken": "forged"}), 400, "csrf_failed")
    response = client.post("/api/v1/events", json={"title": "x"}, headers={"X-CSRFToken": token})
    assert response.status_code == 422  # past CSRF, on to validation


def test_a_line_break_in_a_title_is_folded_and_the_ics_still_works(client, organizer,
                                                                   make_event):
    event = make_event(organizer["branch"])
    response = client.patch(f"/api/v1/events/{event.id}",
                            json={"title": "a\nb", "venue": {"name": "公民館\r\n2階"}},
                            headers=organizer["headers"])
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["title"] == "a b"
    assert response.get_json()["venue"]["name"] == "公民館 2階"
    ics = client.get(f"/events/{event.id}.ics")
    assert ics.status_code == 200
    (vevent,) = icalendar.Calendar.from_ical(ics.data).walk("VEVENT")
    assert vevent["SUMMARY"] == "a b"


def test_the_branchs_staff_read_their_drafts(client, organizer, make_user, make_branch,
                                             api_token):
    response = client.post("/api/v1/events", json=new_event("hokkaido", status="draft"),
                           headers=organizer["headers"])
    assert response.status_code == 201
    url = f"/api/v1/events/{response.get_json()['id']}"
    body = client.get(url, headers=organizer["headers"])
    assert body.status_code == 200 and body.get_json()["status"] == "draft"
    assert client.get(url, headers=api_token(make_user("admin"))).status_code == 200
    # everyone else: as if it did not exist
    assert_error(client.get(url), 404, "not_found")
    other = make_user("organizer", branches=[make_branch(slug="kansai")])
    assert_error(client.get(url, headers=api_token(other)), 404, "not_found")
    door = make_user("volunteer", branches=[organizer["branch"]])
    assert_error(client.get(url, headers=api_token(door)), 404, "not_found")


@pytest.mark.parametrize("role", ["volunteer", "organizer"])
def test_a_write_not_allowed_is_403_before_its_fields_are_checked(client, organizer, make_user,
                                                                   make_branch, api_token,
                                                                   role):
    """A token that may not post to a branch hears so at once, not a list of fields to fill
    in that would be refused all the same once filled."""
    branch = organizer["branch"] if role == "volunteer" else make_branch(slug="kansai")
    headers = api_token(make_user(role, branches=[branch]))
    for body in ({"branch": "hokkaido"}, new_event("hokkaido", title="")):
        assert_error(client.post("/api/v1/events", json=body, headers=headers),
                     403, "forbidden")
    assert count_events() == 0
