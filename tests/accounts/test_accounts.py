"""Organizer accounts: passwords, login, rate limit, cookies, logout, CSRF, API tokens."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gathering.accounts import services
from gathering.accounts.models import ApiToken, User
from gathering.extensions import db
from tests.conftest import PASSWORD


def test_passwords_are_hashed_with_scrypt(make_user):
    user = make_user("organizer")
    assert user.password_hash.startswith("scrypt:")
    assert PASSWORD not in user.password_hash
    assert services.authenticate(db.session, user.email.upper(), PASSWORD) is user
    assert services.authenticate(db.session, user.email, "wrong password") is None
    assert services.authenticate(db.session, "nobody@example.org", PASSWORD) is None
    assert services.authenticate(db.session, user.email, "") is None


def test_a_deactivated_account_cannot_log_in(make_user):
    user = make_user("organizer")
    user.is_active_account = False
    db.session.commit()
    assert services.authenticate(db.session, user.email, PASSWORD) is None


@pytest.mark.parametrize("kwargs, code", [
    ({"email": "not-an-email"}, "invalid_email"),
    ({"email": "a" * 250 + "@x.jp"}, "invalid_email"),
    ({"role": "superuser"}, "invalid_role"),
    ({"password": "short"}, "weak_password"),
    ({"branch_slugs": ["nowhere"]}, "unknown_branch"),
    ({"branch_slugs": []}, "branch_required"),
])
def test_create_user_refusals(app, make_branch, kwargs, code):
    branch = make_branch()
    args = {"email": "new@example.org", "role": "organizer", "password": PASSWORD,
            "branch_slugs": [branch.slug]}
    args.update(kwargs)
    email = args.pop("email")
    with pytest.raises(services.AccountError) as exc:
        services.create_user(db.session, email, **args)
    assert exc.value.code == code
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_duplicate_email_is_refused_case_insensitively(make_user):
    user = make_user("admin", email="Boss@Example.org")
    assert user.email == "boss@example.org"
    with pytest.raises(services.AccountError) as exc:
        services.create_user(db.session, "BOSS@example.org", role="admin", password=PASSWORD)
    assert exc.value.code == "duplicate"


def test_tokens_are_stored_hashed_and_can_be_revoked(make_user):
    user = make_user("organizer")
    token = services.create_token(db.session, user, name="partner site")
    row = db.session.scalar(sa.select(ApiToken))
    assert token.startswith("tsd_") and token not in row.token_hash and len(row.token_hash) == 64
    assert services.user_for_token(db.session, token) is user
    assert row.last_used_at is not None
    assert services.user_for_token(db.session, token + "x") is None
    assert services.user_for_token(db.session, "") is None
    assert services.user_for_token(db.session, "x" * 10_000) is None
    row.revoked_at = row.last_used_at
    assert services.user_for_token(db.session, token) is None


def test_token_use_is_written_only_when_it_is_stale(make_user, now):
    user = make_user("volunteer")
    token = services.create_token(db.session, user)
    row = db.session.scalar(sa.select(ApiToken))
    assert services.user_for_token(db.session, token, now=now) is user
    assert row.last_used_at == now
    db.session.commit()
    later = now + services.TOKEN_USE_PRECISION - timedelta(seconds=1)
    assert services.user_for_token(db.session, token, now=later) is user
    assert not db.session.dirty  # a request a minute later writes nothing
    assert row.last_used_at == now
    much_later = now + services.TOKEN_USE_PRECISION
    assert services.user_for_token(db.session, token, now=much_later) is user
    assert row.last_used_at == much_later


def test_login_and_logout_in_japanese(client, auth, make_user):
    user = make_user("organizer")
    response = auth.login(user)
    assert response.status_code == 302 and response.headers["Location"] == "/organizer/"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    page = client.get("/organizer/").get_data(as_text=True)
    assert "ログインしました。" in page
    assert "（世話人）でログイン中です。" in page  # the role in words, not "organizer"
    assert client.get("/logout").status_code == 405  # logging out changes state: POST only
    response = client.post("/logout")
    # the door scanner's offline copy of the check-in list leaves the phone with the login
    assert response.headers["Clear-Site-Data"] == '"cache", "storage"'
    assert "ログアウトしました。" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert client.get("/organizer/").status_code == 302


def test_wrong_password_is_refused_with_a_message(client, auth, make_user):
    user = make_user("organizer")
    response = auth.login(user, password="wrong password")
    assert response.status_code == 200
    assert "メールアドレスかパスワードがちがいます。" in response.get_data(as_text=True)
    assert client.get("/organizer/").status_code == 302


@pytest.mark.parametrize("data", [
    {}, {"email": "", "password": ""}, {"email": "x" * 10_000, "password": "y"},
    {"email": "<script>@x", "password": "z" * 10_000}, {"email": ["a", "b"]},
])
def test_bad_login_input_never_crashes(client, app, data):
    response = client.post("/login", data=data)
    assert response.status_code == 200
    assert "<script>@x" not in response.get_data(as_text=True)


def test_login_redirects_only_to_our_own_pages(client, auth, make_user):
    user = make_user("organizer")
    for target, expected in [("/organizer/series/new", "/organizer/series/new"),
                             ("/organizer/past?page=2", "/organizer/past?page=2"),
                             ("https://evil.example/", "/organizer/"),
                             ("//evil.example/", "/organizer/"),
                             ("/\\evil.example/", "/organizer/"),  # browsers: //evil.example
                             ("/\t/evil.example/", "/organizer/"),  # the tab is dropped
                             ("/\n/evil.example/", "/organizer/")]:
        response = client.post("/login", query_string={"next": target},
                               data={"email": user.email, "password": PASSWORD})
        assert response.headers["Location"] == expected, target
        client.post("/logout")


def release_sqlite_lock():
    """End the test's own transaction before another app (make_app) writes to the database."""
    db.session.rollback()


def test_login_is_rate_limited(make_app, make_user):
    email = make_user("organizer").email
    release_sqlite_lock()
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="3 per minute").test_client()
    for _ in range(3):
        assert client.post("/login", data={"email": email, "password": "bad"}).status_code == 200
    response = client.post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 429
    assert "少し待ってから" in response.get_data(as_text=True)
    assert client.get("/login").status_code == 200  # only attempts are limited


def test_every_post_needs_a_csrf_token(make_app, make_user, make_event):
    email = make_user("admin").email
    event = make_event()
    event_id = event.id
    release_sqlite_lock()
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 400
    # log in properly with the token from the form
    page = client.get("/login").get_data(as_text=True)
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = client.post("/login", data={"email": email, "password": PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    assert client.post(f"/organizer/events/{event_id}/cancel").status_code == 400
    assert client.post("/logout").status_code == 400
    db.session.expire_all()
    assert event.status == "published"


# ---------------------------------------------------------------------------------------
# A group's contact (お問い合わせ先)


def test_a_groups_contact_is_stored_as_the_sign_up_stores_one(app):
    branch = services.create_branch(db.session, "asahikawa", "あさひかわ子ども食堂",
                                    contact_phone="０１６６ー１２ー３４５６",
                                    contact_email=" Info@Asahikawa.Example.JP ")
    assert (branch.contact_phone, branch.contact_email) == (
        "0166123456", "info@asahikawa.example.jp")
    assert branch.has_contact
    services.update_branch(db.session, branch, contact_phone="+81 90 1234 5678")
    assert branch.contact_phone == "09012345678"
    assert branch.contact_email == "info@asahikawa.example.jp"  # not given: kept
    services.update_branch(db.session, branch, contact_phone="", contact_email="")
    assert (branch.contact_phone, branch.contact_email) == ("", "")
    assert not branch.has_contact


@pytest.mark.parametrize("fields, code", [
    ({"contact_phone": "12345"}, "invalid_phone"),
    ({"contact_phone": "090-1234-567"}, "invalid_phone"),
    ({"contact_phone": "0" * 25}, "invalid_phone"),
    ({"contact_email": "info.example.jp"}, "invalid_email"),
    ({"contact_email": "a" * 250 + "@x.jp"}, "invalid_email"),
])
def test_a_groups_contact_is_refused_when_it_cannot_reach_anyone(app, make_branch, fields,
                                                                 code):
    with pytest.raises(services.AccountError) as exc:
        services.create_branch(db.session, "kushiro", "くしろ食堂", **fields)
    assert exc.value.code == code
    branch = make_branch(contact_phone="0166123456")
    with pytest.raises(services.AccountError) as exc:
        services.update_branch(db.session, branch, **fields)
    assert exc.value.code == code
    assert branch.contact_phone == "0166123456"
