"""The calendar's reads and rules, called directly: filters, the feed window, versions
(the ETag) and the cache of built feeds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gathering.calendar import services
from gathering.calendar.cache import FeedCache
from gathering.errors import NotFound
from gathering.events import services as events
from gathering.extensions import db

WINDOW = {"past_days": 90, "cancelled_days": 30}


def test_split_values():
    assert services.split_values(["a,b", " c ", "", "a", ",,"]) == ["a", "b", "c"]


@pytest.mark.parametrize(("slugs", "kinds"), [
    (["<b>"], []), (["a b"], []), ([], ["KIDS"]), ([], ["kids-cafeteria"]),
    (["x" * 61], []), ([f"b{i}" for i in range(21)], []), ([], ["a"] * 21)])
def test_malformed_filters(app, slugs, kinds):
    with pytest.raises(services.BadFilter) as info:
        services.resolve_filter(db.session, slugs, kinds)
    assert info.value.status == 400 and info.value.code == "bad_filter"


def test_unknown_branch_and_kind(app, make_branch):
    make_branch(slug="known")
    with pytest.raises(NotFound) as info:
        services.resolve_filter(db.session, ["known", "unknown"], [])
    assert info.value.code == "unknown_branch"
    with pytest.raises(NotFound) as info:
        services.resolve_filter(db.session, [], ["karaoke"])
    assert info.value.code == "unknown_kind"


def test_a_japanese_slug_is_well_formed(app, make_branch):
    branch = make_branch(slug="旭川")
    assert services.resolve_filter(db.session, ["旭川"], []).branches == [branch]


def test_resolve_filter_keeps_order(app, make_branch):
    a, b = make_branch(slug="a"), make_branch(slug="b")
    feed = services.resolve_filter(db.session, ["b", "a"], ["summit"])
    assert feed.branches == [b, a] and feed.kinds == ["summit"] and not feed.is_all
    assert services.resolve_filter(db.session, [], []).is_all


def test_window_keeps_recent_past_and_recent_cancellations(app, h, now, admin, make_event):
    old = make_event(starts_at=now - timedelta(days=120))
    recent = make_event(starts_at=now - timedelta(days=30))
    future = make_event(starts_at=now + timedelta(days=10))
    cancelled_long_ago = make_event(starts_at=now + timedelta(days=11))
    cancelled_lately = make_event(starts_at=now + timedelta(days=12))
    make_event(starts_at=now + timedelta(days=13), status="draft")
    events.cancel_event(db.session, admin, cancelled_long_ago, now=now - timedelta(days=40))
    events.cancel_event(db.session, admin, cancelled_lately, now=now - timedelta(days=2))
    db.session.commit()
    found = services.feed_events(db.session, services.FeedFilter(), now=now, **WINDOW)
    assert [e.id for e in found] == [recent.id, future.id, cancelled_lately.id]
    assert old.id not in {e.id for e in found}


def test_feed_version_moves_with_edits_deletions_and_the_day(app, h, now, admin, make_event):
    first = make_event(starts_at=now + timedelta(days=3))
    second = make_event(starts_at=now + timedelta(days=4))

    def version(at=now):
        return services.feed_version(db.session, services.FeedFilter(), now=at, **WINDOW)

    v1 = version()
    assert v1 == version()
    assert version(now + timedelta(hours=1)) == v1  # same day, same feed
    assert version(now + timedelta(days=1)) != v1  # the window moved
    events.update_event(db.session, admin, first, {"title": "変更"}, now=now)
    db.session.commit()
    v2 = version()
    assert v2 != v1 and v2.last_modified >= first.updated_at.replace(microsecond=0)
    db.session.delete(second)
    db.session.commit()
    assert version() != v2
    events.take_seats(db.session, first, 2)
    db.session.commit()
    assert version().count == 1


def test_feed_version_counts_series(app, h, now, admin, make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=2)
    v1 = services.feed_version(db.session, services.FeedFilter(), now=now, **WINDOW)
    assert v1.series_count == v1.count == len(series.events)
    series.description = "新しい説明"
    db.session.commit()
    assert services.feed_version(db.session, services.FeedFilter(), now=now, **WINDOW) != v1


def test_day_start_is_tokyo_midnight(now):
    start = services.day_start(now.replace(hour=0, minute=30))
    assert (start.hour, start.minute) == (0, 0) and start.utcoffset() == timedelta(hours=9)


def test_feed_cache_is_bounded_lru():
    cache = FeedCache(max_bytes=10)
    cache.put("a", b"1234")
    cache.put("b", b"5678")
    assert cache.get("a") == b"1234"  # a is now the most recent
    cache.put("c", b"90ab")  # over 10 bytes: the least recent (b) goes
    assert cache.get("b") is None and cache.get("a") and cache.get("c")
    cache.put("huge", b"x" * 11)  # larger than the whole cache: not kept
    assert cache.get("huge") is None and len(cache) == 2
    cache.put("a", b"12")  # replacing keeps the size right
    cache.put("d", b"1234")
    assert cache.get("a") == b"12" and cache.get("c") == b"90ab"
