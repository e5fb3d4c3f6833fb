"""Bearer tokens' users kept a few seconds per process (accounts.services.TokenUsers): a
door phone's scans stop looking the token up, and a revoked token stops working once its
time is over."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.accounts import services
from gathering.accounts.models import ApiToken, Branch, User
from gathering.extensions import db
from gathering.timeutil import utcnow
from tests.test_query_counts import MAX_CHECKIN_STATEMENTS, counting


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def new_session_user(cache, token):
    """What one request sees: a fresh session, the user of the token in it."""
    db.session.remove()
    return cache.user(db.session, token)


def test_a_kept_user_costs_no_statement_and_keeps_its_rights(make_branch, make_user):
    branch, other = make_branch(), make_branch()
    user = make_user("volunteer", branches=[branch])
    token = services.create_token(db.session, user)
    db.session.commit()
    user_id, branch_id, other_id = user.id, branch.id, other.id
    cache = services.TokenUsers(10, clock=Clock())

    first = new_session_user(cache, token)
    assert first.id == user_id
    with counting() as statements:
        kept = cache.user(db.session, token)
        assert (kept.id, kept.email, kept.role) == (user_id, first.email, "volunteer")
        assert kept.can_staff_branch(branch_id) and not kept.can_staff_branch(other_id)
        assert kept in db.session  # persistent in this request's session, like a loaded one
    assert statements == []


def test_a_revoked_token_works_until_its_time_is_over_then_never(make_user):
    user = make_user("volunteer")
    token = services.create_token(db.session, user)
    db.session.commit()
    clock = Clock()
    cache = services.TokenUsers(10, clock=clock)
    assert new_session_user(cache, token) is not None

    db.session.execute(sa.update(ApiToken).values(revoked_at=utcnow()))
    db.session.commit()
    clock.now += 9.9
    assert new_session_user(cache, token) is not None  # the documented window
    clock.now += 0.2
    assert new_session_user(cache, token) is None
    assert new_session_user(cache, token) is None  # and it is not kept as a user again


def test_nothing_is_kept_with_zero_seconds(make_user):
    user = make_user("volunteer")
    token = services.create_token(db.session, user)
    db.session.commit()
    user_id = user.id
    cache = services.TokenUsers(0, clock=Clock())
    new_session_user(cache, token)
    with counting() as statements:
        assert cache.user(db.session, token).id == user_id
    assert len(statements) == 1  # looked up again
    assert cache.user(db.session, "tsd_unknown") is None


def test_merging_a_kept_user_leaves_the_branch_members_as_they_are(make_branch, make_user):
    branch = make_branch()
    volunteer = make_user("volunteer", branches=[branch])
    organizer = make_user("organizer", branches=[branch])
    token = services.create_token(db.session, volunteer)
    db.session.commit()
    members = {volunteer.id, organizer.id}
    cache = services.TokenUsers(10, clock=Clock())
    new_session_user(cache, token)

    kept = new_session_user(cache, token)
    assert {u.id for u in kept.branches[0].users} == members  # loaded, not a copy's one
    db.session.commit()
    db.session.remove()
    assert {u.id for u in db.session.get(Branch, branch.id).users} == members
    assert db.session.get(User, volunteer.id).is_active


def test_the_kept_tokens_are_bounded(make_user):
    user = make_user("volunteer")
    tokens = [services.create_token(db.session, user) for _ in range(5)]
    db.session.commit()
    cache = services.TokenUsers(10, max_tokens=3, clock=Clock())
    for token in tokens:
        assert new_session_user(cache, token) is not None
    assert len(cache._kept) <= 3


def test_a_scan_through_the_api_skips_the_token_lookup_while_it_is_kept(
        app, client, monkeypatch, make_branch, make_user, make_event, make_registration):
    # as API_TOKEN_CACHE_SECONDS=30 would make it (the tests' config keeps nothing)
    monkeypatch.setitem(app.extensions, "tsudoi.token_users", services.TokenUsers(30))
    branch = make_branch()
    volunteer = make_user("volunteer", branches=[branch])
    token = services.create_token(db.session, volunteer)
    event = make_event(branch, capacity=None)
    first, _ = make_registration(event, people=("adult",))
    second, _ = make_registration(event, people=("adult",))
    db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    event_id, tickets = event.id, (first.ticket_token, second.ticket_token)

    def scan(ticket, nonce):
        with counting() as statements:
            response = client.post("/api/v1/checkins", headers=headers, json={
                "token": ticket, "event_id": event_id, "nonce": nonce})
        return response, statements

    response, looked_up = scan(tickets[0], "a")
    assert response.status_code == 200
    assert any("api_tokens" in s for s in looked_up)
    response, kept = scan(tickets[1], "b")
    assert response.status_code == 200 and response.get_json()["admitted"]
    assert not any("api_tokens" in s for s in kept)
    assert len(kept) <= MAX_CHECKIN_STATEMENTS - 1
