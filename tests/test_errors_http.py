"""The error pages: a form sent after its CSRF token went stale says so, not "the request
could not be understood", and leads back to the page it came from."""

from __future__ import annotations

import pytest

from gathering.extensions import db
from tests.conftest import PASSWORD


@pytest.fixture
def checking(app, make_app):
    """An app that checks CSRF tokens, as in production."""
    db.session.rollback()  # never hold the SQLite write lock while the other app works
    return make_app(WTF_CSRF_ENABLED=True)


@pytest.mark.parametrize(("lang", "said", "link"), [
    ("ja", "ページが長いあいだ開いたままだったか、別のところから送られたリクエストです。"
           "ページを読み込み直して、もう一度お試しください。", "元のページに戻る"),
    ("en", "The page was open too long or the request came from elsewhere. Reload the page "
           "and try again.", "Back to the page"),
])
def test_a_stale_login_form_says_why_and_links_back_to_it(checking, make_user, lang, said,
                                                          link):
    email = make_user("organizer").email
    db.session.rollback()
    client = checking.test_client()
    client.set_cookie("lang", lang)
    response = client.post("/login?next=/organizer", data={"email": email,
                                                          "password": PASSWORD},
                           headers={"Referer": "http://localhost/login?next=/organizer"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert said in page
    assert "リクエストの内容がわかりませんでした" not in page
    assert "The request could not be understood" not in page
    assert f'<a class="button" href="/login?next=/organizer">{link}</a>' in page


@pytest.mark.parametrize("referrer", [
    None, "https://evil.example/login", "http://localhost.evil.example/login",
    "http://localhost//evil.example/x", "javascript:alert(1)",
])
def test_a_foreign_or_missing_referer_links_home_only(checking, referrer):
    client = checking.test_client()
    headers = {"Referer": referrer} if referrer else {}
    page = client.post("/login", data={"email": "a@example.org"},
                       headers=headers).get_data(as_text=True)
    assert "ページを読み込み直して" in page
    assert 'class="button"' not in page  # no link back: only the way home
    assert "evil" not in page and "javascript" not in page
    assert 'href="/"' in page or 'href="/events' in page


def test_the_public_base_url_counts_as_this_site(app, make_app):
    db.session.rollback()
    client = make_app(WTF_CSRF_ENABLED=True,
                      PUBLIC_BASE_URL="https://tsudoi.example.jp").test_client()
    page = client.post("/login", data={}, headers={
        "Referer": "https://tsudoi.example.jp/login"}).get_data(as_text=True)
    assert '<a class="button" href="/login">' in page


def test_a_json_client_gets_the_csrf_code(checking):
    response = checking.test_client().post("/login", data={},
                                           headers={"Accept": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "csrf_failed"


def test_other_bad_requests_keep_the_generic_message(client, make_event):
    event = make_event()
    # the sign-up form's honeypot filled in: a bad request, not a stale page
    page = client.post(f"/events/{event.id}/signup",
                       data={"homepage": "http://spam.example"}).get_data(as_text=True)
    assert "リクエストの内容がわかりませんでした" in page
    assert "元のページに戻る" not in page
