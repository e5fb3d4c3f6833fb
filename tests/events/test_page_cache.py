"""The public listings are kept a few seconds for visitors who are not logged in."""

import pytest

from gathering.extensions import cache, db


@pytest.fixture
def cached_client(make_app, app):
    cached_app = make_app(PAGE_CACHE_SECONDS=60)
    with cached_app.app_context():
        cache.clear()
    yield cached_app.test_client()
    with cached_app.app_context():
        cache.clear()


def test_anonymous_listing_is_served_from_the_cache(cached_client, make_event):
    make_event(title="最初のつどい")
    assert "最初のつどい" in cached_client.get("/").get_data(as_text=True)
    make_event(title="あとから来たつどい")
    # within the cache time the same page comes back, per language and query ...
    assert "あとから来たつどい" not in cached_client.get("/").get_data(as_text=True)
    assert "あとから来たつどい" in cached_client.get("/?kind=kids_cafeteria").get_data(
        as_text=True)
    english = cached_client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "あとから来たつどい" in english and 'lang="en"' in english


def test_logged_in_staff_always_see_the_live_listing(cached_client, make_event, make_user):
    from tests.conftest import PASSWORD

    make_event(title="最初のつどい")
    cached_client.get("/")
    email = make_user("organizer").email
    db.session.commit()  # end the test's read so the other app's write can begin
    cached_client.post("/login", data={"email": email, "password": PASSWORD})
    make_event(title="あとから来たつどい")
    assert "あとから来たつどい" in cached_client.get("/").get_data(as_text=True)


def test_a_page_with_a_message_is_never_shared(cached_client, make_event, make_user):
    from tests.conftest import PASSWORD

    email = make_user("organizer").email
    db.session.commit()  # end the test's read so the other app's write can begin
    cached_client.post("/login", data={"email": email, "password": PASSWORD})
    cached_client.post("/logout")
    page = cached_client.get("/").get_data(as_text=True)  # carries "logged out"
    assert "ログアウトしました。" in page
    assert "ログアウトしました。" not in cached_client.get("/").get_data(as_text=True)
