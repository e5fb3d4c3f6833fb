"""The sign-up API (API.md): status codes, error shape, idempotency, permissions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Registration


def url(event):
    return f"/api/v1/events/{event.id}/registrations"


def count():
    return db.session.scalar(sa.select(sa.func.count(Registration.id)))


def test_signup_201(client, make_event, signup):
    event = make_event(capacity=10, fees=[{"code": "child", "label": "こども", "amount": 100},
                                          {"code": "adult", "label": "おとな", "amount": 300}],
                       fee_basis="registered")
    r = client.post(url(event), json=signup())
    assert r.status_code == 201
    body = r.get_json()
    assert body["status"] == "confirmed" and body["amount_due"] == 400
    assert body["amount_expected"] == 400
    assert "/r/" in body["manage_url"] and "/c/" in body["ticket_url"]
    assert client.get(body["qr_png_url"]).status_code == 200
    assert client.get(body["manage_url"]).status_code == 200


def test_idempotency_key_returns_first_answer(client, make_event, signup):
    event = make_event(capacity=10)
    payload = {**signup(), "idempotency_key": "abc-123"}
    first = client.post(url(event), json=payload)
    again = client.post(url(event), json=payload)
    assert first.get_json() == again.get_json() and again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert count() == 1


def test_the_same_key_after_a_cancellation_answers_the_sign_up_as_it_stands(
        client, make_event, signup, now):
    from gathering.rsvp import services

    event = make_event(capacity=10)
    payload = {**signup(), "idempotency_key": "replay-after-cancel"}
    first = client.post(url(event), json=payload).get_json()
    services.cancel_registration(db.session, db.session.get(Registration, first["id"]),
                                 now=now)
    db.session.commit()
    again = client.post(url(event), json=payload)  # was 409 already_sent, "changes not saved"
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.get_json()["id"] == first["id"]
    assert again.get_json()["status"] == "cancelled"
    assert count() == 1


def test_waitlisted(client, make_event, signup, make_registration):
    event = make_event(capacity=2)
    make_registration(event, people=("adult",))
    waiting = signup(phone="080-2222-3333")  # another family than make_registration's
    assert client.post(url(event), json=waiting).get_json()["status"] == "waitlisted"


def test_422_fields_in_japanese_and_english(client, make_event, signup):
    event = make_event(capacity=10)
    bad = signup(phone="123", attendees=[{"category": "nope", "allergens": ["plutonium"]}])
    r = client.post(url(event), json=bad)
    assert r.status_code == 422
    err = r.get_json()["error"]
    assert err["code"] == "invalid"
    assert {"contact.phone", "attendees.0.category", "attendees.0.allergens"} <= set(
        err["fields"])
    assert "電話" in err["fields"]["contact.phone"][0]
    r = client.post(url(event), json=bad, headers={"Accept-Language": "en"})
    assert "phone number" in r.get_json()["error"]["fields"]["contact.phone"][0]
    assert count() == 0


@pytest.mark.parametrize("body, status", [
    ("not json", 415),
    ([1, 2], 400),
    ({"contact": "x", "attendees": "y"}, 422),
    ({"contact": {}, "attendees": [], "idempotency_key": 5}, 422),
    ({"contact": {"family_name": ["a"]}, "attendees": [{}]}, 422),
])
def test_bad_bodies(client, make_event, body, status):
    event = make_event(capacity=10)
    if isinstance(body, str):
        r = client.post(url(event), data=body, content_type="text/plain")
    else:
        r = client.post(url(event), json=body)
    assert r.status_code == status and "error" in r.get_json()
    assert count() == 0


def test_409_when_closed_and_404_for_drafts(client, make_event, signup):
    event = make_event(capacity=10, status="draft")
    assert client.post(url(event), json=signup()).status_code == 404
    event = make_event(capacity=10)
    event.status = "cancelled"
    db.session.commit()
    r = client.post(url(event), json=signup())
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "event_cancelled"
    assert client.post("/api/v1/events/999999/registrations", json=signup()).status_code == 404


def test_rate_limit_per_ip(make_app, make_event, signup):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_PER_IP="2 per minute")
    path = url(make_event(capacity=50))
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    client = app.test_client()
    codes = [client.post(path, json=signup(phone=f"080-0000-000{i}", email=f"{i}@ex.jp"))
             .status_code for i in range(3)]
    assert codes == [201, 201, 429]
    r = client.post(path, json=signup())
    assert r.get_json()["error"]["code"] == "rate_limited"


def test_rate_limit_per_event(make_app, make_event, signup):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_PER_EVENT="1 per minute")
    path, other = url(make_event(capacity=50)), url(make_event(capacity=50))
    db.session.rollback()
    client = app.test_client()
    assert client.post(path, json=signup()).status_code == 201
    assert client.post(path, json=signup()).status_code == 429
    assert client.post(other, json=signup()).status_code == 201


def test_organizer_reads(client, make_event, make_user, make_branch, api_token, signup):
    event = make_event(capacity=10)
    reg_id = client.post(url(event), json=signup(phone="０９０ー１２３４ー５６７８")).get_json()["id"]
    organizer = make_user("organizer", branches=[event.branch])
    headers = api_token(organizer)
    page = client.get(url(event), headers=headers).get_json()
    assert page["total"] == 1 and page["items"][0]["contact"]["phone"] == "09012345678"
    assert page["items"][0]["contact"]["family_name_kana"] == "ヤマダ"
    assert page["items"][0]["attendees"][1]["allergens"] == ["egg", "milk"]
    one = client.get(f"/api/v1/registrations/{reg_id}", headers=headers)
    assert one.status_code == 200 and one.get_json()["id"] == reg_id
    assert client.get(url(event)).status_code == 401
    stranger = api_token(make_user("organizer", branches=[make_branch()]))
    assert client.get(url(event), headers=stranger).status_code == 403
    assert client.get(f"/api/v1/registrations/{reg_id}", headers=stranger).status_code == 403
    volunteer = api_token(make_user("volunteer", branches=[event.branch]))
    assert client.get(url(event), headers=volunteer).status_code == 403
    assert client.get("/api/v1/registrations/999999", headers=headers).status_code == 404
    assert client.get(url(event) + "?status=bogus", headers=headers).status_code == 400


def test_openapi_documents_routes(client):
    doc = client.get("/api/openapi.json").get_json()
    assert {"get", "post"} <= set(doc["paths"]["/api/v1/events/{event_id}/registrations"])
    assert "get" in doc["paths"]["/api/v1/registrations/{registration_id}"]
