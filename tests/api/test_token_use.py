"""A token's last use is recorded whatever the answer was, and a refused write's changes
never go in with it (``list-tokens`` tells an operator which partner sites still call)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from gathering.accounts.models import ApiToken
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import utcnow
from tests.test_query_counts import counting


def stored(token_id: int):
    db.session.remove()  # what the database holds, not what this session flushed
    return db.session.scalar(sa.select(ApiToken.last_used_at).where(ApiToken.id == token_id))


def token_writes(statements: list[str]) -> list[str]:
    return [s for s in statements if "api_tokens" in s and not s.lstrip().upper().startswith(
        "SELECT")]


def test_a_token_whose_writes_are_all_refused_is_shown_as_used(client, runner, make_user,
                                                                make_event, api_token):
    organizer = make_user("organizer")
    email, branch_slug = organizer.email, organizer.branches[0].slug
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))

    response = client.post("/api/v1/events", headers=headers,
                           json={"branch": branch_slug, "kind": "kids_cafeteria"})
    assert response.status_code == 422
    assert stored(token_id) is not None
    listed = runner.invoke(args=["list-tokens", email])
    assert "last used" in listed.output and "never used" not in listed.output, listed.output


def test_a_refused_write_records_the_use_but_none_of_its_changes(client, make_user,
                                                                 make_event, make_registration,
                                                                 api_token):
    organizer = make_user("organizer")
    event = make_event(organizer.branches[0], capacity=10)
    event_id = event.id
    make_registration(event, people=("adult",))  # the "adult" fee is in use
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))

    # the title is set before the fees are refused: it must not be committed with the use
    response = client.patch(f"/api/v1/events/{event_id}", headers=headers, json={
        "title": "書き換え", "fees": [{"code": "child", "label": "こども", "amount": 0}]})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "fee_in_use"
    assert stored(token_id) is not None
    assert db.session.get(Event, event_id).title == "子ども食堂"
    assert {f.code for f in db.session.get(Event, event_id).fees} == {"child", "adult"}


def test_a_refused_read_records_the_use(client, make_user, make_event, api_token):
    organizer = make_user("organizer")
    other_event = make_event().id  # another group's
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    response = client.get(f"/api/v1/events/{other_event}/registrations", headers=headers)
    assert response.status_code == 403
    assert stored(token_id) is not None
    assert client.get("/api/v1/events/999999/registrations",
                      headers=headers).status_code == 404


def test_refusals_within_the_precision_write_nothing_more(client, make_user, api_token):
    organizer = make_user("organizer")
    body = {"branch": organizer.branches[0].slug}
    headers = api_token(organizer)
    assert client.post("/api/v1/events", headers=headers, json=body).status_code == 422
    with counting() as statements:
        assert client.post("/api/v1/events", headers=headers, json=body).status_code == 422
    assert token_writes(statements) == []


def test_an_older_use_is_written_again_and_a_later_one_kept(client, make_user, api_token):
    organizer = make_user("organizer")
    body = {"branch": organizer.branches[0].slug}
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    long_ago = utcnow() - timedelta(days=30)
    db.session.execute(sa.update(ApiToken).values(last_used_at=long_ago))
    db.session.commit()
    assert client.post("/api/v1/events", headers=headers, json=body).status_code == 422
    assert stored(token_id) > long_ago + timedelta(days=29)


def test_a_successful_write_records_the_use(client, make_user, api_token):
    organizer = make_user("organizer")
    slug = organizer.branches[0].slug
    headers = api_token(organizer)
    token_id = db.session.scalar(sa.select(ApiToken.id))
    start = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    body = {"branch": slug, "kind": "shared_meal", "title": "みんなの食堂",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=2)).isoformat(),
            "fees": [{"code": "adult", "label": "おとな", "amount": 300}]}
    assert client.post("/api/v1/events", headers=headers, json=body).status_code == 201
    assert stored(token_id) is not None
