"""POST /api/v1/checkins and the scanner's routes, as API.md promises them."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.checkin.models import CheckIn
from gathering.extensions import db
from gathering.fees.models import Payment
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO


def _post(client, headers, **body):
    return client.post("/api/v1/checkins", json=body, headers=headers)


def test_checkin_by_token(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]}, diets={1: ["halal"]})
    headers = api_token(door.volunteer)
    r = _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="n1")
    assert r.status_code == 200
    data = r.get_json()
    assert sorted(data["admitted"]) == sorted(a.id for a in reg.attendees)
    assert data["already"] == [] and data["alerts"] == ["egg", "halal"]
    assert data["amount_due"] == 300
    assert data["registration"]["id"] == reg.id
    assert all(a["checked_in_at"] for a in data["registration"]["attendees"])
    again = _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="n1")
    assert again.status_code == 200 and again.get_json()["admitted"] == data["admitted"]
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 2


def test_a_nonce_sent_again_with_another_ticket_is_refused_not_answered(
        client, api_token, door, make_registration):
    first, _ = make_registration(door.event, email="a@example.jp")
    other, _ = make_registration(door.event, phone="08011112222", email="b@example.jp")
    headers = api_token(door.volunteer)
    assert _post(client, headers, token=first.ticket_token, event_id=door.event.id,
                 nonce="shared-1").status_code == 200
    r = _post(client, headers, token=other.ticket_token, event_id=door.event.id,
              nonce="shared-1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "nonce_reused"
    db.session.expire_all()
    assert all(a.checked_in_at is None for a in db.session.get(Registration, other.id).attendees)
    # the first ticket's retry is still answered as the first time, even once replaced
    from gathering.checkin import services

    old_token = first.ticket_token
    services.replace_ticket(db.session, db.session.get(Registration, first.id),
                            user=door.organizer)
    db.session.commit()
    again = _post(client, headers, token=old_token, event_id=door.event.id, nonce="shared-1")
    assert again.status_code == 200 and again.get_json()["replayed"] is True


def test_whole_ticket_url_and_cash(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    r = _post(client, api_token(door.organizer), token=f"http://x/c/{reg.ticket_token}",
              event_id=door.event.id, nonce="n", cash_received=1000)
    data = r.get_json()
    assert r.status_code == 200 and data["change"] == 700
    assert data["registration"]["paid"] == 300 and data["registration"]["balance"] == 0


@pytest.mark.parametrize("status,code", [("cancelled", "cancelled"),
                                         ("waitlisted", "waitlisted")])
def test_refusals_are_409_with_codes(client, api_token, door, make_registration, status, code):
    reg, _ = make_registration(door.event, status=status)
    r = _post(client, api_token(door.volunteer), token=reg.ticket_token,
              event_id=door.event.id)
    assert r.status_code == 409 and r.get_json()["error"]["code"] == code


def test_already_wrong_event_revoked_unknown(client, api_token, door, make_event,
                                             make_registration):
    headers = api_token(door.volunteer)
    reg, _ = make_registration(door.event)
    _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="1")
    r = _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="2")
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "already_checked_in")
    other, _ = make_registration(make_event(door.branch))
    r = _post(client, headers, token=other.ticket_token, event_id=door.event.id)
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "wrong_event")
    r = _post(client, headers, token="x" * 30, event_id=door.event.id)
    assert (r.status_code, r.get_json()["error"]["code"]) == (404, "unknown_token")


def test_wrong_event_message_names_the_date_of_the_ticket(client, api_token, door,
                                                          two_dates, make_registration):
    today, other = two_dates
    reg, _ = make_registration(other)
    r = _post(client, api_token(door.volunteer), token=reg.ticket_token, event_id=today.id)
    error = r.get_json()["error"]
    assert (r.status_code, error["code"]) == (409, "wrong_event")
    assert error["message"] == ("このチケットは別の日（12月26日(土) 11:00 "
                                "あさひかわ子ども食堂、山田花子さん）のものです。")


def test_messages_follow_the_language(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event, status="cancelled")
    r = client.post("/api/v1/checkins", json={"token": reg.ticket_token,
                                              "event_id": door.event.id},
                    headers={**api_token(door.volunteer), "Accept-Language": "en"})
    assert "cancelled" in r.get_json()["error"]["message"]


def test_auth_and_branch(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    body = {"token": reg.ticket_token, "event_id": door.event.id}
    assert client.post("/api/v1/checkins", json=body).status_code == 401
    r = client.post("/api/v1/checkins", json=body, headers=api_token(door.outsider))
    assert r.status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_session_requests_need_the_csrf_token(make_app, door, make_registration):
    from tests.conftest import PASSWORD

    app = make_app(WTF_CSRF_ENABLED=True)
    reg, _ = make_registration(door.event)
    email, ticket, event_id = door.volunteer.email, reg.ticket_token, door.event.id
    db.session.commit()  # end this test's transaction: the other app writes to the same file
    with app.test_client() as c:
        page = c.get("/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0] \
            if 'name="csrf_token" type="hidden" value="' in page else \
            page.split('name="csrf_token" value="')[1].split('"')[0]
        c.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": token})
        body = {"token": ticket, "event_id": event_id, "nonce": "n"}
        assert c.post("/api/v1/checkins", json=body).status_code == 400
        r = c.post("/api/v1/checkins", json=body, headers={"X-CSRFToken": token})
        assert r.status_code == 200


@pytest.mark.parametrize("body", [
    {}, {"token": "abc"}, {"event_id": 1}, {"token": 5, "event_id": 1},
    {"token": "abc", "event_id": "1"}, {"token": "abc", "event_id": True},
    {"token": "abc", "event_id": 10**12},
])
def test_malformed_bodies(client, api_token, door, body):
    r = client.post("/api/v1/checkins", json=body, headers=api_token(door.volunteer))
    assert r.status_code in (400, 404, 422) and "error" in r.get_json()


@pytest.mark.parametrize("extra", [
    {"cash_received": "1000"}, {"cash_received": -5}, {"cash_received": 1.5},
    {"attendee_ids": "all"}, {"attendee_ids": [0]}, {"nonce": "n" * 1000},
    {"scanned_at": "yesterday"}, {"scanned_at": "2026-11-27T10:00:00"},
])
def test_bad_fields_write_nothing(client, api_token, door, make_registration, extra):
    reg, _ = make_registration(door.event)
    r = client.post("/api/v1/checkins", json={"token": reg.ticket_token,
                                              "event_id": door.event.id, **extra},
                    headers=api_token(door.volunteer))
    assert r.status_code == 422, r.get_json()
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_not_json(client, api_token, door):
    r = client.post("/api/v1/checkins", data="token=x", headers=api_token(door.volunteer))
    assert r.status_code == 415


def test_offline_sync_records_conflict(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    scanned = (datetime.now(TOKYO) - timedelta(minutes=30)).replace(microsecond=0)
    body = {"token": reg.ticket_token, "event_id": door.event.id, "was_offline": True,
            "scanned_at": scanned.isoformat()}
    a = _post(client, api_token(door.volunteer), nonce="phone-a", **body)
    b = _post(client, api_token(door.organizer), nonce="phone-b", **body)
    assert a.status_code == b.status_code == 200
    assert b.get_json()["admitted"] == [] and len(b.get_json()["conflicts"]) == 2
    # the time the phone admitted them, not the time the queue arrived
    assert a.get_json()["registration"]["attendees"][0]["checked_in_at"] == scanned.isoformat()


def test_undo(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    headers = api_token(door.volunteer)
    _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="1")
    r = client.post("/api/v1/checkins/undo", headers=headers, json={
        "token": reg.ticket_token, "event_id": door.event.id, "nonce": "u",
        "attendee_ids": [reg.attendees[0].id]})
    assert r.status_code == 200 and r.get_json()["undone"] == [reg.attendees[0].id]
    r = client.post("/api/v1/checkins/undo", headers=headers, json={
        "token": reg.ticket_token, "event_id": door.event.id, "nonce": "u2",
        "attendee_ids": [reg.attendees[0].id]})
    assert (r.status_code, r.get_json()["error"]["code"]) == (409, "not_checked_in")


def test_undo_with_an_empty_list_changes_nothing(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    headers = api_token(door.volunteer)
    _post(client, headers, token=reg.ticket_token, event_id=door.event.id, nonce="1")
    body = {"token": reg.ticket_token, "event_id": door.event.id}
    r = client.post("/api/v1/checkins/undo", headers=headers,
                    json={**body, "nonce": "u", "attendee_ids": []})
    assert (r.status_code, r.get_json()["error"]["code"]) == (422, "invalid_attendees")
    assert [row.action for row in db.session.scalars(sa.select(CheckIn))] == ["in", "in"]
    # leaving attendee_ids out means everyone, as API.md says
    r = client.post("/api/v1/checkins/undo", headers=headers, json={**body, "nonce": "u2"})
    assert r.status_code == 200 and sorted(r.get_json()["undone"]) == sorted(
        a.id for a in reg.attendees)


def test_a_nonce_reused_at_another_event_records_that_partys_cash(
        client, api_token, door, make_event, make_registration):
    other = make_event(door.branch, title="上映会")
    here, _ = make_registration(door.event)
    there, _ = make_registration(other, family_name="青木")
    headers = api_token(door.volunteer)
    for event, reg in ((door.event, here), (other, there)):
        r = _post(client, headers, token=reg.ticket_token, event_id=event.id, nonce="scan-1",
                  cash_received=1000)
        data = r.get_json()
        assert r.status_code == 200 and data["change"] == 700
        assert data["registration"]["paid"] == 300 and data["registration"]["balance"] == 0
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 2


def test_cash_with_a_nonce_of_the_longest_length(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event)
    headers = api_token(door.volunteer)
    body = dict(token=reg.ticket_token, event_id=door.event.id, nonce="n" * 120,
                cash_received=1000)
    r = _post(client, headers, **body)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["change"] == 700 and r.get_json()["registration"]["paid"] == 300
    again = _post(client, headers, **body)
    assert again.status_code == 200 and again.get_json()["replayed"] is True
    [payment] = db.session.scalars(sa.select(Payment))
    assert len(payment.nonce) <= 120  # Payment.nonce is String(120)


def test_checkin_list_for_the_offline_cache(client, api_token, door, make_registration):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    make_registration(door.event, family_name="青木")
    r = client.get(f"/api/v1/events/{door.event.id}/checkin-list?per_page=1",
                   headers=api_token(door.volunteer))
    data = r.get_json()
    assert r.status_code == 200 and data["total"] == 2 and len(data["items"]) == 1
    assert data["items"][0]["token"] == reg.ticket_token
    assert data["counts"]["expected"] == 4
    assert "private" in r.headers["Cache-Control"]
    assert client.get(f"/api/v1/events/{door.event.id}/checkin-list",
                      headers=api_token(door.outsider)).status_code == 403
    assert client.get(f"/api/v1/events/{door.event.id}/checkin-list").status_code == 401


def test_walk_in_api(client, api_token, door):
    headers = api_token(door.volunteer)
    r = client.post(f"/api/v1/events/{door.event.id}/walk-ins", headers=headers,
                    json={"counts": {"adult": 2}, "family_name": "田中", "nonce": "w"})
    assert r.status_code == 201
    data = r.get_json()
    assert data["registration"]["is_walk_in"] and len(data["registration"]["attendees"]) == 2
    for bad in ({"counts": "2"}, {"counts": {"adult": 2}, "family_name": 5},
                {"counts": {"adult": 2}, "family_name": "田中", "allergens": "egg"}):
        r = client.post(f"/api/v1/events/{door.event.id}/walk-ins", headers=headers, json=bad)
        assert r.status_code in (400, 422)


def _walk_in(client, headers, event_id, **body):
    return client.post(f"/api/v1/events/{event_id}/walk-ins", headers=headers,
                       json={"counts": {"adult": 1}, "family_name": "田中", **body})


@pytest.mark.parametrize("body,field", [
    ({"counts": {"adult": 9_223_372_036_854_775_808}}, "counts"),
    ({"counts": {"adult": 10**9}}, "counts"),
    ({"allergens": ["nope"]}, "allergens"), ({"allergens": ["egg", "bogus"]}, "allergens"),
    ({"allergens": ["egg", 5]}, "allergens"), ({"allergens": [None]}, "allergens"),
    ({"phone": "abc"}, "phone"), ({"phone": "123"}, "phone"),
    ({"family_name": None}, "family_name"), ({"family_name": 5}, "family_name"),
    ({"phone": 9012345678}, "phone"),
    ({"family_name_kana": "yamada"}, "family_name_kana"),  # was stored as typed
])
def test_walk_in_api_refuses_bad_fields(client, api_token, door, body, field):
    r = _walk_in(client, {**api_token(door.volunteer), "Accept-Language": "en"}, door.event.id,
                 **body)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert list(error["fields"]) == [field]
    assert "too long" not in " ".join(error["fields"][field])
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_api_says_to_send_text(client, api_token, door):
    r = _walk_in(client, {**api_token(door.volunteer), "Accept-Language": "en"}, door.event.id,
                 family_name=None)
    assert r.get_json()["error"]["fields"]["family_name"] == ["Enter text."]


def test_walk_in_api_keeps_known_allergens_and_a_phone(client, api_token, door):
    r = _walk_in(client, api_token(door.volunteer), door.event.id, allergens=["milk", "egg"],
                 phone="090-1234-5678")
    assert r.status_code == 201
    data = r.get_json()["registration"]
    assert data["attendees"][0]["allergens"] == ["egg", "milk"]
    assert data["contact"]["phone"] == "09012345678"


@pytest.mark.parametrize("kind,code,words", [
    ("cancelled", "event_cancelled", "このイベントは中止です。当日参加は受け付けられません。"),
    ("draft", "event_not_published", "公開されていません"),
    ("over", "event_over", "終わりました"),
])
def test_walk_in_api_where_the_door_takes_none(client, api_token, door, closed_event, kind,
                                               code, words):
    event = closed_event(kind)
    for body in ({}, {"phone": "123", "counts": {}}):  # the event first, then the fields
        r = _walk_in(client, api_token(door.organizer), event.id, overbook=True, **body)
        assert r.status_code == 409
        error = r.get_json()["error"]
        assert error["code"] == code and words in error["message"] and "fields" not in error
    r = _walk_in(client, {**api_token(door.volunteer), "Accept-Language": "en"}, event.id)
    assert r.get_json()["error"]["code"] == code
    assert "Walk-ins" in r.get_json()["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_refusals_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    text = spec["paths"]["/api/v1/events/{event_id}/walk-ins"]["post"]["description"]
    for code in ("event_cancelled", "event_not_published", "event_over", "full", "invalid"):
        assert code in text


def test_routes_are_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    for path, method in [("/api/v1/checkins", "post"), ("/api/v1/checkins/undo", "post"),
                         ("/api/v1/events/{event_id}/checkin-list", "get"),
                         ("/api/v1/events/{event_id}/walk-ins", "post")]:
        assert method in spec["paths"][path]
    for name in ("CheckinInput", "CheckinResult", "DoorParty"):
        assert name in spec["components"]["schemas"]


def test_rate_limited(make_app, door, api_token, make_registration):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHECKIN="2 per minute")
    headers = api_token(door.volunteer)
    event_id = door.event.id
    db.session.commit()
    with app.test_client() as c:
        codes = [c.post("/api/v1/checkins", json={"token": "x" * 20, "event_id": event_id},
                        headers=headers).status_code for _ in range(3)]
    assert codes[-1] == 429


def test_a_used_nonce_sent_with_an_unknown_ticket_is_refused_as_reused(client, api_token, door,
                                                                        make_registration):
    """The nonce's first answer is read with the party; a ticket that finds no party still
    hears that its scan's number was used, not that the ticket is unknown."""
    reg, _ = make_registration(door.event)
    headers = api_token(door.volunteer)
    assert _post(client, headers, token=reg.ticket_token, event_id=door.event.id,
                 nonce="used-1").status_code == 200
    r = _post(client, headers, token="x" * 30, event_id=door.event.id, nonce="used-1")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "nonce_reused"
    r = _post(client, headers, token="x" * 30, event_id=door.event.id, nonce="fresh-1")
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "unknown_token"


@pytest.mark.parametrize("body", [
    {"token": ""}, {"token": "t" * 30, "scanned_at": "yesterday"},
    {"token": "t" * 30, "cash_received": "500円"}, {"token": "t" * 30, "nonce": "n" * 500},
    {"token": 5},
])
def test_a_door_not_ones_own_is_refused_before_what_was_sent(client, api_token, door, body):
    """Another group's volunteer hears 403 and an unknown event 404, whatever was sent
    with them, as before the event was looked up together with the party."""
    outsider = api_token(door.outsider)
    r = _post(client, outsider, event_id=door.event.id, **body)
    assert r.status_code == 403, r.get_json()
    r = _post(client, api_token(door.volunteer), event_id=999_999, **body)
    assert r.status_code == 404 and r.get_json()["error"]["code"] == "not_found"

