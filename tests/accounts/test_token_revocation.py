"""One API token (a lost door phone's) is revoked without locking its account out:
services.revoke_tokens and list_tokens, the revoke-tokens and list-tokens commands."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gathering.accounts import services
from gathering.extensions import db
from tests.accounts.test_token_cache import Clock, new_session_user
from tests.conftest import PASSWORD


def new_token(runner, email, name=None) -> str:
    result = runner.invoke(args=["create-token", email, *(["--name", name] if name else [])])
    assert result.exit_code == 0, result.output
    return result.output.strip().splitlines()[-1]


def api_status(client, token) -> int:
    """What an organizer's API call answers with this bearer token."""
    response = client.get("/api/v1/events/999999/registrations",
                          headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.get_json()["error"]["code"] == "unauthorized"
    return response.status_code


def test_revoke_tokens_by_name_stops_only_that_token(runner, client, make_user):
    user = make_user("volunteer")
    email = user.email
    phone, partner = new_token(runner, email, "door phone"), new_token(runner, email, "partner")
    assert api_status(client, phone) == 404 and api_status(client, partner) == 404

    result = runner.invoke(args=["revoke-tokens", email, "--name", "door phone"])
    assert result.exit_code == 0, result.output
    assert "Revoked 1 API token of" in result.output and "'door phone'" in result.output
    assert api_status(client, phone) == 401  # refused at once (API_TOKEN_CACHE_SECONDS=0)
    assert api_status(client, partner) == 404  # the other one still authenticates
    # the account itself is untouched: it still logs in
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302

    again = runner.invoke(args=["revoke-tokens", email, "--name", "door phone"])
    assert again.exit_code == 0 and "Revoked 0 API tokens" in again.output


def test_revoke_tokens_without_a_name_stops_all_of_the_users_tokens(runner, client,
                                                                    make_user):
    user, other = make_user("organizer"), make_user("organizer")
    tokens = [new_token(runner, user.email, "a"), new_token(runner, user.email)]
    kept = new_token(runner, other.email)

    result = runner.invoke(args=["revoke-tokens", user.email])
    assert result.exit_code == 0, result.output
    assert "Revoked 2 API tokens of" in result.output
    assert [api_status(client, t) for t in tokens] == [401, 401]
    assert api_status(client, kept) == 404  # another account's token


def test_revoke_tokens_by_number_stops_one_of_two_unnamed_tokens(runner, client, make_user):
    user = make_user("volunteer")
    first, second = new_token(runner, user.email), new_token(runner, user.email)
    number = services.list_tokens(db.session, user)[0].id
    result = runner.invoke(args=["revoke-tokens", user.email, "--id", str(number)])
    assert result.exit_code == 0, result.output
    assert "Revoked 1 API token of" in result.output
    assert (api_status(client, first), api_status(client, second)) == (401, 404)


@pytest.mark.parametrize("command", ["revoke-tokens", "list-tokens"])
def test_an_unknown_address_is_refused_in_one_line(runner, command):
    result = runner.invoke(args=[command, "nobody@example.org"])
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == ["Error: No user with e-mail nobody@example.org"]


def test_list_tokens_shows_names_and_times_never_the_token(runner, make_user):
    email = make_user("volunteer").email
    empty = runner.invoke(args=["list-tokens", email])
    assert empty.exit_code == 0 and "has no API token" in empty.output
    phone = new_token(runner, email, "door phone")
    spare = new_token(runner, email)
    # a use as a door scan records it (API reads do not commit it)
    assert services.user_for_token(db.session, phone) is not None
    db.session.commit()
    runner.invoke(args=["revoke-tokens", email, "--name", ""])  # the unnamed one

    result = runner.invoke(args=["list-tokens", email])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 3
    assert "door phone" in lines[1] and "last used 20" in lines[1] and "active" in lines[1]
    assert "(no name)" in lines[2] and "never used" in lines[2] and "revoked 20" in lines[2]
    assert "+09:00" in lines[1]  # Japan time, with its offset
    for secret in (phone, spare, phone[4:], spare[4:]):
        assert secret not in result.output
    for row in services.list_tokens(db.session, services.get_user_by_email(db.session, email)):
        assert row.token_hash not in result.output


def test_revoke_tokens_revokes_each_token_once(make_user, now):
    user, other = make_user("organizer"), make_user("organizer")
    services.create_token(db.session, user, name="door")
    services.create_token(db.session, user, name="door")
    services.create_token(db.session, user, name="partner")
    services.create_token(db.session, other, name="door")
    assert services.revoke_tokens(db.session, user, name="door", now=now) == 2
    later = now + timedelta(hours=1)
    assert services.revoke_tokens(db.session, user, now=later) == 1  # only partner is left
    revoked = {t.name: t.revoked_at for t in services.list_tokens(db.session, user)}
    assert revoked == {"door": now, "partner": later}
    assert [t.revoked_at for t in services.list_tokens(db.session, other)] == [None]


def test_a_revoked_token_kept_by_the_cache_stops_once_its_time_is_over(make_user):
    user = make_user("volunteer")
    email, token = user.email, services.create_token(db.session, user, name="door phone")
    db.session.commit()
    clock = Clock()
    cache = services.TokenUsers(10, clock=clock)
    assert new_session_user(cache, token) is not None

    user = services.get_user_by_email(db.session, email)
    assert services.revoke_tokens(db.session, user, name="door phone") == 1
    db.session.commit()
    clock.now += 10.1
    assert new_session_user(cache, token) is None


def test_a_new_password_leaves_api_tokens_working(runner, client, make_user):
    user = make_user("volunteer")
    token = new_token(runner, user.email, "door phone")
    result = runner.invoke(args=["set-password", user.email, "--password", "new-password-2026"])
    assert result.exit_code == 0, result.output
    assert "API tokens still valid: 1" in result.output and "revoke-tokens" in result.output
    assert api_status(client, token) == 404
