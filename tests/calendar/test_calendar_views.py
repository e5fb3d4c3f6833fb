"""The feeds over HTTP: content type, ETag/Last-Modified/304, caching, filters, bad input,
the personal feed's secrecy, the per-event file, the subscribe page and the JSON API."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from icalendar.parser import unescape_backslash
from sqlalchemy import event as sa_event

from gathering.calendar import services
from gathering.events import services as events
from gathering.events.models import Event, FeeCategory
from gathering.extensions import db
from gathering.timeutil import TOKYO

FEEDS = ["/calendar/all.ics", "/calendar/branches/{slug}.ics",
         "/calendar/kinds/kids_cafeteria.ics", "/calendar/all.ics?branch={slug}&kind=kids_cafeteria"]


@pytest.fixture
def soon():
    """A week ahead at 11:00 (feeds are built with the server's clock)."""
    return (datetime.now(TOKYO) + timedelta(days=7)).replace(hour=11, minute=0, second=0,
                                                             microsecond=0)


@pytest.fixture
def branch(make_branch):
    return make_branch(slug="asahikawa", name="あさひかわ")


@pytest.mark.parametrize("url", FEEDS)
def test_feed_is_calendar_with_cache_headers(client, h, branch, make_event, soon, url):
    event = make_event(branch, starts_at=soon)
    response = client.get(url.format(slug=branch.slug))
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["ETag"]
    assert response.last_modified is not None
    assert response.headers["Cache-Control"].startswith("public, max-age=")
    cal = h.parse(response.data)
    assert [str(v["UID"]) for v in h.vevents(cal)] == [event.uid]
    assert cal.walk("VTIMEZONE")
    assert str(cal["X-WR-CALNAME"]).startswith("つどい")


def test_304_on_if_none_match_and_if_modified_since(client, branch, make_event, soon, admin):
    event = make_event(branch, starts_at=soon)
    first = client.get("/calendar/all.ics")
    etag = first.headers["ETag"]
    again = client.get("/calendar/all.ics", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    since = client.get("/calendar/all.ics",
                       headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status_code == 304
    assert client.get("/calendar/all.ics", headers={"If-None-Match": '"other"'}).status_code == 200
    # an edit changes the feed: a new ETag and a full answer to the old one
    events.update_event(db.session, admin, event, {"title": "冬の子ども食堂"})
    db.session.commit()
    changed = client.get("/calendar/all.ics", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert "冬の子ども食堂" in changed.get_data(as_text=True)


def test_a_sign_up_does_not_change_the_feed(client, branch, make_event, make_registration,
                                            soon):
    event = make_event(branch, starts_at=soon, capacity=20)
    etag = client.get("/calendar/all.ics").headers["ETag"]
    events.take_seats(db.session, event, 2)
    db.session.commit()
    assert client.get("/calendar/all.ics",
                      headers={"If-None-Match": etag}).status_code == 304


def test_head_works(client, branch, make_event, soon):
    make_event(branch, starts_at=soon)
    response = client.head("/calendar/all.ics")
    assert response.status_code == 200 and response.headers["ETag"]


@pytest.mark.parametrize("url", [
    "/calendar/all.ics?branch=%3Cscript%3E", "/calendar/all.ics?kind=KIDS",
    "/calendar/all.ics?kind=" + "a" * 10_000, "/calendar/all.ics?branch=" + ",".join(
        f"b{i}" for i in range(21)), "/calendar/all.ics?lang=fr",
    "/calendar/branches/a%20b.ics", "/calendar/kinds/kids-cafeteria!.ics"])
def test_malformed_filters_are_400(client, url):
    assert client.get(url).status_code == 400


@pytest.mark.parametrize("url", [
    "/calendar/branches/nowhere.ics", "/calendar/kinds/karaoke.ics",
    "/calendar/all.ics?branch=nowhere", "/calendar/all.ics?kind=karaoke",
    "/calendar/all.ics?branch={slug},nowhere"])
def test_unknown_branch_or_kind_is_404(client, branch, url):
    assert client.get(url.format(slug=branch.slug)).status_code == 404


def test_filters_combine(client, h, make_branch, make_event, soon):
    a, b, c = make_branch(slug="a"), make_branch(slug="b"), make_branch(slug="c")
    ea = make_event(a, starts_at=soon)
    eb = make_event(b, starts_at=soon, kind="shared_meal")
    make_event(c, starts_at=soon)

    def uids(url):
        return {str(v["UID"]) for v in h.vevents(h.parse(client.get(url).data))}

    assert uids("/calendar/all.ics?branch=a,b") == {ea.uid, eb.uid}
    assert uids("/calendar/all.ics?branch=a&branch=b&kind=shared_meal") == {eb.uid}
    assert uids("/calendar/branches/a.ics?branch=b") == {ea.uid, eb.uid}
    assert uids("/calendar/kinds/shared_meal.ics") == {eb.uid}
    assert uids("/calendar/all.ics?branch=") == uids("/calendar/all.ics")


def test_drafts_never_appear(client, h, branch, make_event, make_series, soon):
    draft = make_event(branch, starts_at=soon, status="draft", title="ないしょの下書き")
    make_series(branch, starts_at=soon, now=soon - timedelta(days=1), status="draft",
                title="下書きシリーズ")
    for url in ("/calendar/all.ics", f"/calendar/branches/{branch.slug}.ics",
                "/calendar/kinds/kids_cafeteria.ics"):
        text = client.get(url).get_data(as_text=True)
        assert "下書き" not in text and draft.uid not in text
    assert client.get(f"/events/{draft.id}.ics").status_code == 404


def test_series_feed_over_http_matches_the_database(client, h, branch, make_series, soon,
                                                    admin, make_event):
    series = make_series(branch, starts_at=soon, now=soon - timedelta(days=1))
    occ = sorted(series.events, key=lambda e: e.starts_at)
    events.cancel_event(db.session, admin, occ[1])
    events.update_event(db.session, admin, occ[2], {
        "starts_at": occ[2].starts_at + timedelta(hours=1),
        "ends_at": occ[2].ends_at + timedelta(hours=1)})
    db.session.commit()
    make_event(branch, starts_at=soon + timedelta(days=2), title="ひとつだけ")
    cal = h.parse(client.get(f"/calendar/branches/{branch.slug}.ics").data)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()


def test_event_ics(client, h, branch, make_event, soon, admin):
    event = make_event(branch, starts_at=soon)
    response = client.get(f"/events/{event.id}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="tsudoi-event-{event.id}.ics"')
    (vevent,) = h.vevents(h.parse(response.data))
    assert vevent["UID"] == event.uid
    assert vevent["URL"] == f"http://localhost/events/{event.id}"
    assert client.get(f"/events/{event.id}.ics",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304
    events.cancel_event(db.session, admin, event)
    db.session.commit()
    (vevent,) = h.vevents(h.parse(client.get(f"/events/{event.id}.ics").data))
    assert vevent["STATUS"] == "CANCELLED"
    assert client.get("/events/999999.ics").status_code == 404


def test_line_breaks_already_stored_never_break_a_calendar(client, h, make_branch, make_event,
                                                          soon):
    branch = make_branch(slug="kita", name="北支部\n旭川, 東; 西")
    event = make_event(branch, starts_at=soon)
    # stored before single-line fields were kept to one line: not through the service
    event.title = "子ども食堂\n冬休み, 特別; 回"
    event.venue.name = "公民館\n2階"
    db.session.commit()
    for url in (f"/events/{event.id}.ics", "/calendar/all.ics", "/calendar/branches/kita.ics"):
        response = client.get(url)
        assert response.status_code == 200, url
        cal = h.parse(response.data)
        (vevent,) = h.vevents(cal)
        assert vevent["SUMMARY"] == event.title
        assert vevent["LOCATION"].startswith("公民館\n2階")
    # the calendar's own name (the title of a one-event file) is TEXT, escaped as such
    one = h.parse(client.get(f"/events/{event.id}.ics").data)
    assert unescape_backslash(str(one["X-WR-CALNAME"])) == event.title
    feed = h.parse(client.get("/calendar/branches/kita.ics").data)
    assert branch.name in unescape_backslash(str(feed["X-WR-CALNAME"]))
    assert branch.name in unescape_backslash(str(feed["NAME"]))


def test_public_base_url_is_used_in_feeds(make_app, app, h, branch, make_event, soon):
    event = make_event(branch, starts_at=soon)
    other = make_app(PUBLIC_BASE_URL="https://tsudoi.example.jp")
    with other.test_client() as c:
        (vevent,) = h.vevents(h.parse(c.get("/calendar/all.ics").data))
        feeds = c.get("/api/v1/feeds").get_json()
    assert vevent["URL"] == f"https://tsudoi.example.jp/events/{event.id}"
    assert feeds["all"] == "https://tsudoi.example.jp/calendar/all.ics"


def test_english_feed_by_query(client, h, branch, make_event, soon):
    make_event(branch, starts_at=soon)
    cal = h.parse(client.get("/calendar/all.ics?lang=en").data)
    assert str(cal["X-WR-CALNAME"]) == "Tsudoi: all gatherings"
    ja = h.parse(client.get("/calendar/all.ics", headers={"Accept-Language": "en"}).data)
    assert str(ja["X-WR-CALNAME"]).startswith("つどい")  # one URL, one content


# ---------------------------------------------------------------------------------------
# Personal feed


@pytest.fixture
def personal(make_registration, make_event, branch, soon):
    event = make_event(branch, starts_at=soon)
    reg, _ = make_registration(event)
    token = services.ensure_feed_token(db.session, reg)
    db.session.commit()
    return reg, token


def test_personal_feed(client, h, personal):
    reg, token = personal
    response = client.get(f"/calendar/me/{token}.ics")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, no-cache"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    cal = h.parse(response.data)
    (vevent,) = h.vevents(cal)
    assert vevent["STATUS"] == "CONFIRMED"
    (alarm,) = vevent.walk("VALARM")
    assert alarm["TRIGGER"].dt == -timedelta(minutes=24 * 60)
    assert "山田" not in response.get_data(as_text=True)  # no personal data in the feed
    assert client.get(f"/calendar/me/{token}.ics",
                      headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_personal_feed_follows_a_cancellation(client, h, personal):
    reg, token = personal
    reg.status = "cancelled"
    reg.cancelled_at = datetime.now(UTC)
    db.session.commit()
    (vevent,) = h.vevents(h.parse(client.get(f"/calendar/me/{token}.ics").data))
    assert vevent["STATUS"] == "CANCELLED" and vevent.walk("VALARM") == []


@pytest.mark.parametrize("signed_up_in, query, reads", [
    ("en", "", "en"),  # the URL the manage page shows: the party's language
    ("ja", "", "ja"),
    ("en", "?lang=ja", "ja"),  # a language in the URL still wins
    ("ja", "?lang=en", "en"),
])
def test_personal_feed_speaks_the_language_of_the_sign_up(client, h, personal, signed_up_in,
                                                          query, reads):
    """An English-speaking family's calendar reminded it 「もうすぐ…」: a calendar app sends
    no language, so the feed takes the one the party signed up in."""
    reg, token = personal
    reg.lang = signed_up_in
    db.session.commit()
    cal = h.parse(client.get(f"/calendar/me/{token}.ics{query}",
                             headers={"Accept-Language": "ja"}).data)
    (vevent,) = h.vevents(cal)
    (alarm,) = vevent.walk("VALARM")
    if reads == "en":
        assert str(cal["X-WR-CALNAME"]) == "Tsudoi: my sign-ups"
        assert str(alarm["DESCRIPTION"]).startswith("Soon: ")
    else:
        assert str(cal["X-WR-CALNAME"]).startswith("つどい")
        assert str(alarm["DESCRIPTION"]).startswith("もうすぐ")


def test_the_manage_page_shows_the_personal_feed_url_without_a_language(client, make_event,
                                                                        make_registration,
                                                                        branch, soon):
    """The same secret URL as before (subscriptions made earlier keep working); the feed
    itself knows the party's language."""
    reg, manage_token = make_registration(make_event(branch, starts_at=soon))
    reg.lang = "en"
    token = services.ensure_feed_token(db.session, reg)
    db.session.commit()
    page = client.get(f"/r/{manage_token}?lang=ja").get_data(as_text=True)
    assert f'value="http://localhost/calendar/me/{token}.ics"' in page
    assert f"webcal://localhost/calendar/me/{token}.ics\"" in page
    assert client.get(f"/calendar/me/{token}.ics?lang=xx").status_code == 400


def test_reminder_setting(make_app, app, h, personal):
    reg, token = personal
    other = make_app(FEED_REMINDER_MINUTES=90)
    with other.test_client() as c:
        (vevent,) = h.vevents(h.parse(c.get(f"/calendar/me/{token}.ics").data))
    assert vevent.walk("VALARM")[0]["TRIGGER"].dt == -timedelta(minutes=90)


@pytest.mark.parametrize("token", ["x" * 32, "short", "a" * 65, "%3Cscript%3E",
                                   "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"])
def test_wrong_personal_token_is_a_plain_404(client, personal, token):
    reg, _ = personal
    other = client.get("/calendar/me/" + "Z" * 32 + ".ics")
    wrong = client.get(f"/calendar/me/{token}.ics")
    assert wrong.status_code == other.status_code == 404
    assert "text/calendar" not in wrong.headers["Content-Type"]
    # the same page as for any unknown address: nothing about the event or the person
    text = wrong.get_data(as_text=True)
    assert reg.event.title not in text and reg.family_name not in text
    assert len(wrong.data) - len(token) == len(other.data) - 32 or "%" in token


def test_personal_token_of_a_draft_event_is_404(client, personal, admin):
    reg, token = personal
    db.session.execute(sa.update(Event).where(Event.id == reg.event_id).values(status="draft"))
    db.session.commit()
    assert client.get(f"/calendar/me/{token}.ics").status_code == 404


def test_ensure_feed_token_is_stable(app, personal):
    reg, token = personal
    assert services.ensure_feed_token(db.session, reg) == token
    assert len(token) >= 32


# ---------------------------------------------------------------------------------------
# Pages and API


def test_subscribe_page(client, branch):
    response = client.get("/calendar")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="webcal://localhost/calendar/all.ics"' in text
    assert f'href="webcal://localhost/calendar/branches/{branch.slug}.ics"' in text
    assert 'value="http://localhost/calendar/all.ics"' in text
    assert "Google" in text and "iPhone" in text
    assert "<script" not in text.split("</header>", 1)[1]


def test_subscribe_page_for_one_branch(client, branch):
    text = client.get(f"/calendar?branch={branch.slug}").get_data(as_text=True)
    first = text.index(f"webcal://localhost/calendar/branches/{branch.slug}.ics")
    assert first < text.index("webcal://localhost/calendar/all.ics")
    assert client.get("/calendar?branch=nowhere").status_code == 404
    assert client.get("/calendar?branch=" + "x" * 10_000).status_code == 404


def test_subscribe_page_in_english_links_english_feeds(client):
    text = client.get("/calendar?lang=en").get_data(as_text=True)
    assert "webcal://localhost/calendar/all.ics?lang=en" in text


def test_index_and_branch_pages_link_to_feeds(client, branch):
    assert 'href="/calendar"' in client.get("/").get_data(as_text=True)
    text = client.get(f"/branches/{branch.slug}").get_data(as_text=True)
    assert f'webcal://localhost/calendar/branches/{branch.slug}.ics' in text
    assert f'href="/calendar?branch={branch.slug}"' in text


def test_api_feeds(client, branch, make_event, soon):
    make_event(branch, starts_at=soon)
    data = client.get("/api/v1/feeds").get_json()
    assert data["all"] == "http://localhost/calendar/all.ics"
    assert data["branches"] == {branch.slug: f"http://localhost/calendar/branches/{branch.slug}.ics"}
    assert set(data["kinds"]) == {"kids_cafeteria", "shared_meal", "film_screening",
                                  "study_session", "workshop", "summit", "other"}
    assert data["webcal"]["all"] == "webcal://localhost/calendar/all.ics"
    for url in [data["all"], *data["branches"].values(), *data["kinds"].values()]:
        response = client.get(url.removeprefix("http://localhost"))
        assert response.status_code == 200, url
        assert response.headers["Content-Type"].startswith("text/calendar")


def test_openapi_documents_feeds(client):
    doc = client.get("/api/openapi.json").get_json()
    for path in ("/api/v1/feeds", "/calendar/all.ics", "/calendar/branches/{slug}.ics",
                 "/calendar/kinds/{kind}.ics", "/events/{event_id}.ics",
                 "/calendar/me/{token}.ics"):
        assert "get" in doc["paths"][path], path
    assert "Feeds" in doc["components"]["schemas"]


# ---------------------------------------------------------------------------------------
# A thousand events in a fixed number of queries


def _bulk_events(branch, count, start):
    venue = events.Venue(branch_id=branch.id, name="会場", address="東京都")
    db.session.add(venue)
    db.session.flush()
    for i in range(count):
        s = start + timedelta(hours=6 * i)
        e = Event(branch_id=branch.id, venue_id=venue.id, kind="shared_meal", title=f"会{i}",
                  starts_at=s, ends_at=s + timedelta(hours=2), status="published")
        e.fees = [FeeCategory(code="adult", label="おとな", amount=300, position=0)]
        db.session.add(e)
    db.session.commit()


def _count_queries(client, url):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url)
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 200
    return response, [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_thousand_events_in_a_fixed_number_of_queries(client, h, branch, make_series, soon):
    make_series(branch, starts_at=soon, now=soon - timedelta(days=1))
    _bulk_events(branch, 10, soon)
    _, small = _count_queries(client, f"/calendar/branches/{branch.slug}.ics")
    _bulk_events(branch, 990, soon)
    response, big = _count_queries(client, f"/calendar/branches/{branch.slug}.ics")
    assert len(big) == len(small) <= 4
    assert len(h.vevents(h.parse(response.data))) == 1000 + 1


def test_unchanged_feed_is_not_built_again(client, h, branch, make_event, soon):
    _bulk_events(branch, 5, soon)
    url = f"/calendar/branches/{branch.slug}.ics"
    _, first = _count_queries(client, url)
    response, again = _count_queries(client, url)
    assert len(again) < len(first)
    assert not any("FROM events JOIN" in s or "fee_categories" in s for s in again)
    assert len(h.vevents(h.parse(response.data))) == 5
    _, conditional = _count_queries_status(client, url, response.headers["ETag"])
    assert len(conditional) == len(again)


def _count_queries_status(client, url, etag):
    statements = []

    def before(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", before)
    try:
        response = client.get(url, headers={"If-None-Match": etag})
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", before)
    assert response.status_code == 304
    return response, [s for s in statements if s.lstrip().upper().startswith("SELECT")]


def test_a_deleted_event_leaves_the_feed(client, h, branch, make_event, soon):
    keep = make_event(branch, starts_at=soon)
    gone = make_event(branch, starts_at=soon + timedelta(days=1))
    etag = client.get("/calendar/all.ics").headers["ETag"]
    db.session.delete(gone)
    db.session.commit()
    response = client.get("/calendar/all.ics", headers={"If-None-Match": etag})
    assert response.status_code == 200
    assert [str(v["UID"]) for v in h.vevents(h.parse(response.data))] == [keep.uid]


def test_if_modified_since_after_an_edit(client, branch, make_event, soon, admin):
    event = make_event(branch, starts_at=soon)
    first = client.get("/calendar/all.ics")
    long_ago = "Mon, 01 Jan 2024 00:00:00 GMT"
    assert client.get("/calendar/all.ics",
                      headers={"If-Modified-Since": long_ago}).status_code == 200
    assert client.get("/calendar/all.ics", headers={
        "If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304
    events.update_event(db.session, admin, event, {"title": "あたらしい題"})
    db.session.commit()
    later = client.get("/calendar/all.ics")
    assert later.last_modified >= first.last_modified


def test_a_branch_with_a_japanese_slug_has_a_feed(client, make_branch):
    make_branch(slug="旭川")
    db.session.commit()
    url = client.get("/api/v1/feeds").get_json()["branches"]["旭川"]
    response = client.get(url.removeprefix("http://localhost"))
    assert response.status_code == 200
    assert client.get("/calendar/branches/%E6%97%AD%E5%B7%9D.ics").status_code == 200


def test_polling_a_feed_costs_no_query_within_the_page_cache_time(make_app, app, h, branch,
                                                                   make_event, soon, admin):
    """Calendar apps poll: a known feed version is kept PAGE_CACHE_SECONDS per URL, so a
    304 or a kept body needs no database; an edit shows once that time is over."""
    from gathering.extensions import cache

    event = make_event(branch, starts_at=soon)
    db.session.commit()
    cached_app = make_app(PAGE_CACHE_SECONDS=60)
    client = cached_app.test_client()
    url = f"/calendar/branches/{branch.slug}.ics"
    with cached_app.app_context():
        cache.clear()
        first = client.get(url)
        etag = first.headers["ETag"]
        statements = []

        def before(conn, cursor, statement, *args):
            statements.append(statement)

        sa_event.listen(db.engine, "before_cursor_execute", before)
        try:
            assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
            again = client.get(url)
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", before)
        assert statements == []
        assert again.status_code == 200 and again.data == first.data
        assert again.headers["ETag"] == etag
        # another URL (language, filter) is its own entry; a bad one is never kept
        assert client.get(url + "?lang=en").headers["ETag"] != etag
        assert client.get(url + "?lang=xx").status_code == 400
        assert client.get(url + "?lang=xx").status_code == 400
        assert client.get("/calendar/branches/nowhere.ics").status_code == 404

    events.update_event(db.session, admin, event, {"title": "冬の子ども食堂"})
    db.session.commit()
    with cached_app.app_context():
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
        cache.clear()  # the cache time is over
        cached_app.extensions["tsudoi.replay"].clear()
        changed = client.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200 and changed.headers["ETag"] != etag
        assert "冬の子ども食堂" in changed.get_data(as_text=True)
        cache.clear()


def test_feed_is_gzipped_for_clients_that_take_it(client, h, branch, make_event, soon):
    """Calendar apps send Accept-Encoding: gzip; a feed then travels compressed, under an
    ETag of its own, and answers 304 to it."""
    import gzip

    make_event(branch, starts_at=soon)
    url = f"/calendar/branches/{branch.slug}.ics"
    plain = client.get(url)
    assert "Content-Encoding" not in plain.headers
    assert "Accept-Encoding" in plain.headers["Vary"]
    packed = client.get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in packed.headers["Vary"]
    assert gzip.decompress(packed.data) == plain.data
    assert packed.headers["ETag"] != plain.headers["ETag"]
    again = client.get(url, headers={"Accept-Encoding": "gzip",
                                     "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # a client that refuses gzip gets the plain bytes
    refused = client.get(url, headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_feeds_work_with_the_feed_cache_off(make_app, app, h, branch, make_event, soon):
    import gzip

    make_event(branch, starts_at=soon, title="キャッシュなし")
    db.session.commit()
    client = make_app(FEED_CACHE_MB=0).test_client()
    url = f"/calendar/branches/{branch.slug}.ics"
    plain = client.get(url)
    assert plain.status_code == 200 and "キャッシュなし" in plain.get_data(as_text=True)
    packed = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(packed.data) == plain.data
    assert client.get(url, headers={"If-None-Match": plain.headers["ETag"]}).status_code == 304
