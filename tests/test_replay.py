"""Polled public answers replayed before Flask runs (gathering/replay.py)."""

from __future__ import annotations

import gzip
from datetime import datetime, timedelta

import pytest

from gathering import replay
from gathering.extensions import cache, db
from gathering.timeutil import TOKYO


@pytest.fixture
def feed_app(make_app, make_event, make_branch):
    """An app whose public pages are kept 60 s, a feed with one event, and a count of the
    requests Flask itself handled."""
    branch = make_branch(slug="asahikawa")
    start = (datetime.now(TOKYO) + timedelta(days=7)).replace(hour=11, minute=0, second=0,
                                                              microsecond=0)
    make_event(branch, starts_at=start, title="ポーリングされる会")
    db.session.commit()
    app = make_app(PAGE_CACHE_SECONDS=60)
    app.handled = 0

    @app.before_request
    def _count():
        app.handled += 1

    with app.app_context():
        cache.clear()
    yield app
    with app.app_context():
        cache.clear()


URL = "/calendar/branches/asahikawa.ics"


def without_date(headers) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in headers.items() if k.lower() != "date")


def test_a_polled_feed_is_answered_without_flask(feed_app):
    client = feed_app.test_client()
    first = client.get(URL)
    assert first.status_code == 200 and feed_app.handled == 1
    again = client.get(URL)
    assert feed_app.handled == 1  # answered before Flask ran
    assert again.status_code == 200 and again.data == first.data
    assert without_date(again.headers) == without_date(first.headers)
    assert "Content-Security-Policy" in again.headers  # the app's own headers, kept
    head = client.head(URL)
    assert head.status_code == 200 and head.data == b"" and feed_app.handled == 1


def test_a_replayed_304_is_the_one_flask_gives(feed_app):
    client = feed_app.test_client()
    first = feed_app.test_client().get(URL)
    etag = first.headers["ETag"]
    feed_app.extensions["tsudoi.replay"].clear()
    from_flask = client.get(URL, headers={"If-None-Match": etag})
    assert from_flask.status_code == 304 and feed_app.handled == 2
    client.get(URL)  # kept again
    handled = feed_app.handled
    replayed = client.get(URL, headers={"If-None-Match": etag})
    assert feed_app.handled == handled
    assert replayed.status_code == 304 and replayed.data == b""
    assert without_date(replayed.headers) == without_date(from_flask.headers)
    since = client.get(URL, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304 and feed_app.handled == handled
    other = client.get(URL, headers={"If-None-Match": '"not-this-one"'})
    assert other.status_code == 200 and other.data


def test_gzip_language_and_host_are_kept_apart(feed_app):
    client = feed_app.test_client()
    plain = client.get(URL)
    packed = client.get(URL, headers={"Accept-Encoding": "gzip"})
    assert packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.data) == plain.data
    assert "Content-Encoding" not in client.get(URL).headers
    english = client.get(URL + "?lang=en").get_data(as_text=True)
    assert "Tsudoi" in english and english != plain.get_data(as_text=True)
    other_host = client.get(URL, base_url="https://calendar.example")
    assert "https://calendar.example/" in other_host.get_data(as_text=True)
    assert "https://calendar.example/" not in client.get(URL).get_data(as_text=True)


def test_only_opted_in_answers_are_kept_and_only_for_their_time(feed_app, monkeypatch):
    client = feed_app.test_client()
    client.get("/calendar")
    client.get("/calendar")
    assert feed_app.handled == 2  # a page that did not opt in is never replayed
    assert client.get("/calendar/branches/nowhere.ics").status_code == 404
    assert client.get("/calendar/branches/nowhere.ics").status_code == 404
    assert feed_app.handled == 4  # nor an error
    client.get(URL)
    client.get(URL)
    assert feed_app.handled == 5
    later = replay.time.monotonic() + 61
    monkeypatch.setattr(replay.time, "monotonic", lambda: later)
    client.get(URL)
    assert feed_app.handled == 6  # the time is over: Flask answers again


def test_nothing_is_kept_without_a_page_cache_time(make_app, feed_app):
    app = make_app(PAGE_CACHE_SECONDS=0)
    client = app.test_client()
    client.get(URL)
    assert len(app.extensions["tsudoi.replay"]._kept) == 0


class OptedApp:
    """A WSGI app that opts every answer in for 60 s and counts the calls reaching it."""

    ENV = {"REQUEST_METHOD": "GET", "PATH_INFO": "/a", "HTTP_HOST": "h"}

    def __init__(self, headers, body: bytes):
        self.headers, self.body, self.calls = headers, body, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        environ[replay.ENVIRON_KEY] = (60, (), False, None)
        start_response("200 OK", list(self.headers))
        return [self.body]

    def get(self, middleware) -> bytes:
        return b"".join(middleware(dict(self.ENV), lambda *a: None))


def test_answers_larger_than_the_bound_are_not_kept():
    app = OptedApp([("Content-Type", "text/plain")], b"x" * 100)
    small = replay.ReplayMiddleware(app, max_bytes=50)
    assert [app.get(small) for _ in range(2)] == [b"x" * 100] * 2
    assert app.calls == 2
    roomy = replay.ReplayMiddleware(app, max_bytes=150)
    assert [app.get(roomy) for _ in range(2)] == [b"x" * 100] * 2
    assert app.calls == 3


def test_a_cookie_setting_answer_is_never_kept():
    app = OptedApp([("Set-Cookie", "session=abc")], b"private")
    middleware = replay.ReplayMiddleware(app, max_bytes=1000)
    for _ in range(2):
        app.get(middleware)
    assert app.calls == 2


# ---------------------------------------------------------------------------------------
# The listings: replayed to anonymous visitors, per language


def test_listing_is_replayed_per_language_to_visitors_without_a_session(feed_app):
    visitor = feed_app.test_client()
    japanese = visitor.get("/branches/asahikawa").get_data(as_text=True)
    visitor.get("/branches/asahikawa")
    assert feed_app.handled == 1 and "ポーリングされる会" in japanese
    english = visitor.get("/branches/asahikawa", headers={"Accept-Language": "en"})
    assert 'lang="en"' in english.get_data(as_text=True) and feed_app.handled == 2
    visitor.get("/branches/asahikawa", headers={"Accept-Language": "en"})
    assert feed_app.handled == 2
    chosen = feed_app.test_client()
    chosen.set_cookie("lang", "en")
    assert 'lang="en"' in chosen.get("/branches/asahikawa").get_data(as_text=True)
    assert 'lang="ja"' in visitor.get("/branches/asahikawa").get_data(as_text=True)


def test_a_visitor_with_a_session_always_reaches_the_app(feed_app, make_user):
    from tests.conftest import PASSWORD

    email = make_user("organizer").email
    db.session.commit()
    feed_app.test_client().get("/")
    handled = feed_app.handled
    staff = feed_app.test_client()
    staff.post("/login", data={"email": email, "password": PASSWORD})
    page = staff.get("/").get_data(as_text=True)
    assert feed_app.handled == handled + 2  # the login and the page
    assert "Log out" in page or "ログアウト" in page


class PerVisitorApp(OptedApp):
    """An app whose answer sets a cookie that its PerVisitor makes anew for each visitor."""

    def __init__(self, cookies=("session=first; HttpOnly",)):
        super().__init__([("Content-Type", "text/html"), ("Content-Length", "9"),
                          *[("Set-Cookie", c) for c in cookies]], b"page:Adam")
        self.filled = 0

    def fill(self, body: bytes, cookies: dict):
        if "session" in cookies:  # a session of its own: replayed only when it is "ok"
            return (body.replace(b"{who}", b"known"), []) if cookies["session"] == "ok" else None
        self.filled += 1
        name = f"V{self.filled}".encode()
        return body.replace(b"{who}", name), [("Set-Cookie", f"session={self.filled}")]

    def __call__(self, environ, start_response):
        answer = super().__call__(environ, start_response)
        environ[replay.ENVIRON_KEY] = (60, (), True, replay.PerVisitor(
            b"page:{who}", self.fill, frozenset({"session"})))
        return answer

    def answer(self, middleware, **environ):
        got = {}

        def start(status, headers, exc_info=None):
            got["status"], got["headers"] = status, headers

        body = b"".join(middleware({**self.ENV, **environ}, start))
        return got["status"], got["headers"], body


def test_a_per_visitor_answer_is_filled_anew_for_each_request():
    app = PerVisitorApp()
    middleware = replay.ReplayMiddleware(app, max_bytes=1000)
    status, headers, body = app.answer(middleware)
    assert body == b"page:Adam" and ("Set-Cookie", "session=first; HttpOnly") in headers
    for n in (1, 2):
        status, headers, body = app.answer(middleware)
        assert status == "200 OK" and body == f"page:V{n}".encode()
        assert [v for k, v in headers if k == "Set-Cookie"] == [f"session={n}"]
        assert [v for k, v in headers if k == "Content-Length"] == [str(len(body))]
    assert app.calls == 1
    # never a 304 (each copy is new), and a visitor with a cookie reaches the app
    assert app.answer(middleware, HTTP_IF_NONE_MATCH="*")[2] == b"page:V3"
    assert app.calls == 1
    # the cookies the fill reads reach it; it may answer, or leave the request to the app
    assert app.answer(middleware, HTTP_COOKIE="session=ok")[2] == b"page:known"
    assert app.calls == 1
    assert app.answer(middleware, HTTP_COOKIE="session=abc")[2] == b"page:Adam"
    assert app.calls == 2
    # any other cookie: the app answers
    assert app.answer(middleware, HTTP_COOKIE="other=1")[2] == b"page:Adam"
    assert app.calls == 3


def test_a_per_visitor_answer_setting_another_cookie_is_not_kept():
    app = PerVisitorApp(cookies=("session=first", "lang=en"))
    middleware = replay.ReplayMiddleware(app, max_bytes=1000)
    for _ in range(2):
        assert app.answer(middleware)[2] == b"page:Adam"
    assert app.calls == 2 and app.filled == 0
