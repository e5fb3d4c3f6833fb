"""Public pages are kept a few seconds for visitors who are not logged in (pagecache.py)."""

import re
import secrets
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.events.models import Event
from gathering.extensions import cache, db
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO


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


# ---------------------------------------------------------------------------------------
# The event page: one rendering shared, the visitor's secrets their own


def hidden(page: str, name: str) -> str:
    match = re.search(rf'name="{name}"[^>]*value="([^"]+)"', page) or re.search(
        rf'value="([^"]+)"[^>]*name="{name}"', page)
    assert match, f"no {name} in the page"
    return match.group(1)


@pytest.fixture
def guarded_app(make_app):
    """Pages cached and CSRF checked, as in production."""
    cached_app = make_app(PAGE_CACHE_SECONDS=60, WTF_CSRF_ENABLED=True)
    with cached_app.app_context():
        cache.clear()
    yield cached_app
    with cached_app.app_context():
        cache.clear()


def retitle(event_id: int, title: str) -> None:
    db.session.commit()
    db.session.get(Event, event_id).title = title
    db.session.commit()


def sign_up(client, event_id: int, page: str, family_name: str):
    return client.post(f"/events/{event_id}/signup", data={
        "csrf_token": hidden(page, "csrf_token"),
        "idempotency_key": hidden(page, "idempotency_key"),
        "family_name": family_name, "given_name": "花子", "family_name_kana": "やまだ",
        "given_name_kana": "はなこ", "phone": "090-1234-5678", "email": "",
        "attendees-0-category": "adult"})


def test_event_page_is_shared_but_each_visitor_gets_own_token_and_key(guarded_app,
                                                                       make_event):
    event_id = make_event(capacity=10, title="最初の題").id
    db.session.commit()  # end the test's read so the other app's write can begin
    one, two = guarded_app.test_client(), guarded_app.test_client()
    first = one.get(f"/events/{event_id}").get_data(as_text=True)
    retitle(event_id, "あとの題")
    second = two.get(f"/events/{event_id}").get_data(as_text=True)
    # the same rendering (the edit shows once the cache time is over) ...
    assert "最初の題" in second and "あとの題" not in second
    assert "\x00" not in second
    # ... with a CSRF token and a request key of each visitor's own
    assert hidden(first, "csrf_token") != hidden(second, "csrf_token")
    assert hidden(first, "idempotency_key") != hidden(second, "idempotency_key")
    # both sign up with what their page carried: two parties, not one replayed
    assert sign_up(two, event_id, second, "二番").status_code == 302
    assert sign_up(one, event_id, first, "一番").status_code == 302
    db.session.commit()
    names = set(db.session.scalars(sa.select(Registration.family_name)
                                   .where(Registration.event_id == event_id)))
    assert names == {"一番", "二番"}
    db.session.commit()
    # a token of another visitor's session is refused
    stolen = sign_up(guarded_app.test_client(), event_id, first, "三番")
    assert stolen.status_code == 400


def test_event_page_cache_is_per_language_and_not_for_staff(guarded_app, make_event,
                                                          make_user):
    from tests.conftest import PASSWORD

    event_id = make_event(capacity=10, title="最初の題").id
    email = make_user("organizer").email
    db.session.commit()
    visitor = guarded_app.test_client()
    assert 'lang="ja"' in visitor.get(f"/events/{event_id}").get_data(as_text=True)
    english = visitor.get(f"/events/{event_id}?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Sign up" in english
    retitle(event_id, "あとの題")
    staff = guarded_app.test_client()
    login_page = staff.get("/login").get_data(as_text=True)
    staff.post("/login", data={"email": email, "password": PASSWORD,
                               "csrf_token": hidden(login_page, "csrf_token")})
    assert "あとの題" in staff.get(f"/events/{event_id}").get_data(as_text=True)
    assert "あとの題" not in visitor.get(f"/events/{event_id}").get_data(as_text=True)


def test_unknown_event_is_not_kept(guarded_app, make_event):
    client = guarded_app.test_client()
    assert client.get("/events/999999").status_code == 404
    event_id = make_event().id
    db.session.commit()
    assert client.get(f"/events/{event_id}").status_code == 200


# ---------------------------------------------------------------------------------------
# New visitors: the kept event page answered before Flask runs, with secrets of their own


@pytest.fixture
def counted_app(guarded_app):
    """guarded_app, counting the requests Flask itself handled."""
    guarded_app.handled = 0

    @guarded_app.before_request
    def _count():
        guarded_app.handled += 1

    return guarded_app


def test_new_visitors_get_the_kept_event_page_without_flask_and_can_sign_up(counted_app,
                                                                           make_event):
    event_id = make_event(capacity=10, title="はじめての会").id
    db.session.commit()
    url = f"/events/{event_id}"
    first = counted_app.test_client()
    from_flask = first.get(url)
    assert counted_app.handled == 1
    visitors = [counted_app.test_client() for _ in range(3)]
    pages = [visitor.get(url) for visitor in visitors]
    assert counted_app.handled == 1  # all three answered from memory
    for page in pages:
        assert page.status_code == 200 and "はじめての会" in page.get_data(as_text=True)
        assert "\x00" not in page.get_data(as_text=True)
        assert page.headers["Content-Length"] == str(len(page.data))
        cookie = page.headers["Set-Cookie"]
        assert cookie.startswith("session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        # the app's own headers (security, caching, Vary) kept as Flask gave them
        for name in ("Content-Security-Policy", "Cache-Control", "Vary", "Content-Type"):
            assert page.headers[name] == from_flask.headers[name]
    texts = [page.get_data(as_text=True) for page in pages]
    assert len({hidden(text, "csrf_token") for text in texts}) == 3
    assert len({hidden(text, "idempotency_key") for text in texts}) == 3
    assert len({page.headers["Set-Cookie"] for page in pages}) == 3
    # each signs up with what their page and cookie carry, through Flask-WTF's own check
    for n, (visitor, text) in enumerate(zip(visitors, texts, strict=True)):
        assert sign_up(visitor, event_id, text, f"新{n}").status_code == 302
    db.session.commit()
    names = set(db.session.scalars(sa.select(Registration.family_name)
                                   .where(Registration.event_id == event_id)))
    assert names == {"新0", "新1", "新2"}
    db.session.commit()
    # a replayed page's token is worth nothing without the session it came with
    assert sign_up(counted_app.test_client(), event_id, texts[0], "横取り").status_code == 400
    # and one visitor's token does not pass with another's cookie
    assert sign_up(visitors[1], event_id, texts[2], "取り違え").status_code == 400


def test_returning_visitors_are_replayed_with_their_own_session_unless_it_holds_more(
        counted_app, make_event):
    event_id = make_event(capacity=10).id
    db.session.commit()
    url = f"/events/{event_id}"
    counted_app.test_client().get(url)
    returning = counted_app.test_client()
    returning.get(url)  # replayed: a new session
    again = returning.get(url)
    assert counted_app.handled == 1  # replayed again, with a token of the same session
    assert "Set-Cookie" not in again.headers
    assert sign_up(returning, event_id, again.get_data(as_text=True), "再訪").status_code == 302
    handled = counted_app.handled
    # a session holding more than the CSRF secret (here a message) is Flask's to answer
    with returning.session_transaction() as held:
        held["_flashes"] = [("info", "お知らせがあります")]
    shown = returning.get(url)
    assert counted_app.handled == handled + 1
    assert "お知らせがあります" in shown.get_data(as_text=True)
    # so is a cookie this app did not sign: Flask starts a new session, as always
    forged = counted_app.test_client()
    forged.set_cookie("session", "eyJjc3JmX3Rva2VuIjoiYWJjIn0.forged.signature")
    answer = forged.get(url)
    assert counted_app.handled == handled + 2
    assert answer.status_code == 200 and answer.headers["Set-Cookie"].startswith("session=")
    assert sign_up(forged, event_id, answer.get_data(as_text=True), "新規").status_code == 302


def test_replayed_event_pages_keep_their_language_and_closed_ones_set_no_cookie(
        counted_app, make_event):
    open_id = make_event(capacity=10).id
    past = make_event(starts_at=datetime.now(TOKYO) - timedelta(days=3)).id
    db.session.commit()
    english = {"Accept-Language": "en"}
    for _ in range(2):
        page = counted_app.test_client().get(f"/events/{open_id}", headers=english)
        assert 'lang="en"' in page.get_data(as_text=True) and "Sign up" in page.get_data(
            as_text=True)
    japanese = counted_app.test_client().get(f"/events/{open_id}")
    assert 'lang="ja"' in japanese.get_data(as_text=True)
    assert counted_app.handled == 2  # one rendering per language
    for _ in range(2):
        closed = counted_app.test_client().get(f"/events/{past}")
        assert closed.status_code == 200 and "Set-Cookie" not in closed.headers
    assert counted_app.handled == 3
    # choosing a language sets a cookie of its own: that answer is never kept
    for _ in range(2):
        chosen = counted_app.test_client().get(f"/events/{open_id}?lang=en")
        assert any(c.startswith("lang=en") for c in chosen.headers.get_all("Set-Cookie"))
    assert counted_app.handled == 5


def test_a_new_visitors_token_is_the_one_flask_wtf_signs(monkeypatch):
    from itsdangerous import URLSafeTimedSerializer

    from gathering.pagecache import _TokenSigner

    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_800_000_000)
    ours, theirs = (cls("a secret", salt="wtf-csrf-token")
                    for cls in (_TokenSigner, URLSafeTimedSerializer))
    for _ in range(200):  # random hex never shrinks in zlib: the very same token
        secret = secrets.token_hex(20)
        assert ours.dumps(secret) == theirs.dumps(secret)
    # one that would have shrunk is signed uncompressed, and still read back
    assert theirs.loads(ours.dumps("0" * 40)) == "0" * 40


@pytest.mark.parametrize("settings", [{}, {"SESSION_COOKIE_SECURE": True,
                                           "SESSION_COOKIE_DOMAIN": "tsudoi.example",
                                           "SESSION_COOKIE_NAME": "tsudoi"}])
def test_a_new_visitors_cookie_is_the_one_flask_sets(make_app, monkeypatch, settings):
    import flask

    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: 1_800_000_000)
    app = make_app(**settings)
    interface = app.session_interface
    secret = secrets.token_hex(20)
    with app.test_request_context():
        flask.session["csrf_token"] = secret
        response = app.response_class()
        interface.save_session(app, flask.session._get_current_object(), response)
    assert interface.new_cookie(app, {"csrf_token": secret}) == response.headers["Set-Cookie"]
    assert interface.read_cookie(app, response.headers["Set-Cookie"].split(";")[0].split(
        "=", 1)[1]) == {"csrf_token": secret}
