"""A partner site's view of the API: a token that only reads is known to be in use, and a
replayed sign-up answers within what the OpenAPI document promises."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.accounts.models import ApiToken
from gathering.extensions import db
from gathering.rsvp import services as rsvp
from gathering.rsvp.models import Registration
from gathering.timeutil import utcnow
from tests.test_query_counts import counting


def last_used(token_id: int):
    db.session.remove()  # what the database holds, not what this session flushed
    return db.session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def test_a_token_used_only_for_reads_is_shown_as_used(client, runner, make_user, make_event,
                                                      api_token):
    organizer = make_user("organizer")
    email = organizer.email
    event_id = make_event(organizer.branches[0]).id
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))

    response = client.get(f"/api/v1/events/{event_id}/registrations", headers=headers)
    assert response.status_code == 200
    assert last_used(token_id) is not None
    listed = runner.invoke(args=["list-tokens", email])
    assert "last used" in listed.output and "never used" not in listed.output, listed.output


def test_a_read_within_the_precision_writes_nothing(client, make_user, make_event,
                                                    api_token):
    organizer = make_user("organizer")
    event_id = make_event(organizer.branches[0]).id
    headers = api_token(organizer)
    url = f"/api/v1/events/{event_id}/registrations"
    assert client.get(url, headers=headers).status_code == 200  # records the use
    with counting() as statements:
        assert client.get(url, headers=headers).status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "COMMIT"))]


def test_a_replayed_sign_up_answers_a_status_the_document_declares(client, make_event):
    event = make_event(capacity=10)
    url = f"/api/v1/events/{event.id}/registrations"
    body = {"contact": {"family_name": "山田", "given_name": "花子",
                        "family_name_kana": "ヤマダ", "given_name_kana": "ハナコ",
                        "phone": "090-1234-5678"},
            "attendees": [{"category": "adult"}], "idempotency_key": "partner-42"}
    first = client.post(url, json=body)
    assert first.status_code == 201
    reg = db.session.get(Registration, first.get_json()["id"])
    rsvp.cancel_registration(db.session, reg, now=utcnow())
    db.session.commit()

    again = client.post(url, json=body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    doc = client.get("/api/openapi.json").get_json()
    status = doc["components"]["schemas"]["SignupResponse"]["properties"]["status"]
    assert again.get_json()["status"] == "cancelled"
    assert again.get_json()["status"] in status["enum"]


def test_a_401_says_how_to_authenticate(client):
    for headers in ({}, {"Authorization": "Bearer tsd_not-a-token"}, {"Authorization": "Basic x"}):
        response = client.get("/api/v1/events/1/registrations", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == 'Bearer realm="tsudoi"'
    assert "WWW-Authenticate" not in client.get("/api/v1/events").headers
