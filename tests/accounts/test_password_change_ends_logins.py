"""A new password ends every login made with the old one: the session cookie and the
"keep me logged in" cookie carry a fingerprint of the password (User.get_id), and the user
loader refuses one that no longer matches."""

from __future__ import annotations

import pytest

from gathering.accounts import services
from gathering.accounts.models import User
from gathering.accounts.session import load_user
from gathering.extensions import db
from tests.conftest import PASSWORD

NEW_PASSWORD = "new-password-2026"


def log_in(app, email, password=PASSWORD, *, remember=True):
    """A browser that logged in through the form; returns it and its two cookies."""
    client = app.test_client()
    response = client.post("/login", data={"email": email, "password": password,
                                           **({"remember": "y"} if remember else {})})
    assert response.status_code == 302 and "/organizer" in response.headers["Location"]
    remember_cookie = client.get_cookie("remember_token")
    assert (remember_cookie is not None) == remember
    return client, client.get_cookie("session").value, remember_cookie and remember_cookie.value


def browser_with(app, **cookies):
    """A fresh browser holding only the cookies given (copied from another one)."""
    client = app.test_client()
    for name, value in cookies.items():
        client.set_cookie(name, value)
    return client


def opens_dashboard(client) -> bool:
    response = client.get("/organizer/")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def change_by_service(app, runner, email):
    user = services.get_user_by_email(db.session, email)
    services.set_password(db.session, user, NEW_PASSWORD)
    db.session.commit()


def change_by_cli(app, runner, email):
    result = runner.invoke(args=["set-password", email, "--password", NEW_PASSWORD])
    assert result.exit_code == 0, result.output
    assert "every other login of it has ended" in result.output


@pytest.mark.parametrize("change", [change_by_service, change_by_cli])
def test_a_new_password_ends_old_sessions_and_remember_cookies(app, runner, make_user, change):
    email = make_user("organizer").email
    db.session.remove()
    client, session_cookie, remember_cookie = log_in(app, email)
    assert opens_dashboard(browser_with(app, session=session_cookie))
    assert opens_dashboard(browser_with(app, remember_token=remember_cookie))

    change(app, runner, email)
    db.session.remove()

    assert not opens_dashboard(client)  # the browser that logged in, both cookies
    assert not opens_dashboard(browser_with(app, session=session_cookie))
    assert not opens_dashboard(browser_with(app, remember_token=remember_cookie))
    assert not opens_dashboard(browser_with(app, session=session_cookie,
                                            remember_token=remember_cookie))
    # the old password is refused, the new one logs in and stays logged in
    response = app.test_client().post("/login", data={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    new_client, new_session, new_remember = log_in(app, email, NEW_PASSWORD)
    assert opens_dashboard(new_client)
    assert opens_dashboard(browser_with(app, session=new_session))
    assert opens_dashboard(browser_with(app, remember_token=new_remember))


def test_a_login_without_remember_me_ends_too(app, make_user):
    email = make_user("volunteer").email
    db.session.remove()
    client, session_cookie, _ = log_in(app, email, remember=False)
    assert opens_dashboard(client)
    change_by_service(app, None, email)
    db.session.remove()
    assert not opens_dashboard(client)
    assert not opens_dashboard(browser_with(app, session=session_cookie))


def test_the_same_password_set_again_still_ends_old_logins(app, make_user):
    # a new salt, a new hash: an operator resetting a leaked password to a known one
    email = make_user("organizer").email
    db.session.remove()
    client, _, remember_cookie = log_in(app, email)
    user = services.get_user_by_email(db.session, email)
    services.set_password(db.session, user, PASSWORD)
    db.session.commit()
    db.session.remove()
    assert not opens_dashboard(client)
    assert not opens_dashboard(browser_with(app, remember_token=remember_cookie))


def test_deactivation_still_locks_out_both_cookies(app, runner, make_user):
    email = make_user("organizer").email
    db.session.remove()
    client, session_cookie, remember_cookie = log_in(app, email)
    result = runner.invoke(args=["update-user", email, "--inactive"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert not opens_dashboard(client)
    assert not opens_dashboard(browser_with(app, session=session_cookie))
    assert not opens_dashboard(browser_with(app, remember_token=remember_cookie))


def test_other_account_changes_leave_logins_alone(app, runner, make_user):
    email = make_user("organizer").email
    db.session.remove()
    client, _, remember_cookie = log_in(app, email)
    result = runner.invoke(args=["update-user", email, "--name", "世話人"])
    assert result.exit_code == 0, result.output
    db.session.remove()
    assert opens_dashboard(client)
    assert opens_dashboard(browser_with(app, remember_token=remember_cookie))


def test_the_login_id_holds_a_fingerprint_of_the_password_not_the_password(make_user):
    user = make_user("organizer")
    user_id, _, fingerprint = user.get_id().partition(":")
    assert user_id == str(user.id) and len(fingerprint) == 16
    assert fingerprint not in user.password_hash
    before = user.get_id()
    services.set_password(db.session, user, NEW_PASSWORD)
    assert user.get_id() != before and user.get_id().startswith(f"{user.id}:")


@pytest.mark.parametrize("make_id", [
    lambda user: str(user.id),  # an id of before the fingerprint: logged out, not a crash
    lambda user: f"{user.id}:",
    lambda user: f"{user.id}:{'0' * 16}",
    lambda user: f"{user.id}:{user.get_id().partition(':')[2]}:x",
    lambda user: f"{user.id + 1}:{user.get_id().partition(':')[2]}",  # another account's id
    lambda user: f"x:{user.get_id().partition(':')[2]}",
    lambda user: "",
    lambda user: "９:abc",  # a digit str.isdigit() accepts but int() reads differently
    lambda user: f"{2**70}:{user.get_id().partition(':')[2]}",
    lambda user: "\x00",
])
def test_the_loader_refuses_ids_it_did_not_make(make_user, make_id):
    user = make_user("organizer")
    assert load_user(user.get_id()) is user
    assert load_user(make_id(user)) is None


def test_the_loader_refuses_a_deactivated_account(make_user):
    user = make_user("organizer")
    login_id = user.get_id()
    user.is_active_account = False
    assert load_user(login_id) is None
    assert isinstance(db.session.get(User, user.id), User)
