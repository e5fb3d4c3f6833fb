"""Series as series: one VEVENT with RRULE ending at the materialised horizon, EXDATEs,
RECURRENCE-ID overrides; expanded like a calendar app, it equals the database exactly."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa

from gathering.calendar import ics, services
from gathering.events import services as events
from gathering.events.models import Event
from gathering.extensions import db


def build(now, h, feed=None, **kw):
    found = services.feed_events(db.session, feed or services.FeedFilter(), now=now,
                                 past_days=kw.get("past_days", 90),
                                 cancelled_days=kw.get("cancelled_days", 30))
    cal = ics.public_feed(found, name="テスト", description="", refresh_minutes=60,
                          links=h.LINKS, lang="ja")
    return h.parse(ics.to_ical(cal))


def occurrences_of(series):
    return list(db.session.scalars(
        sa.select(Event).where(Event.series_id == series.id).order_by(Event.original_starts_at)))


def test_plain_series_is_one_vevent_with_rrule_until_the_horizon(app, h, now, make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=6)
    cal = build(now, h)
    (master,) = h.vevents(cal)
    assert str(master["UID"]) == series.uid
    rule = master["RRULE"]
    assert rule["FREQ"] == ["MONTHLY"] and rule["BYDAY"] == ["2SA", "4SA"]
    last = occurrences_of(series)[-1].original_starts_at
    assert rule["UNTIL"][0] == last.astimezone(UTC)
    assert master["DTSTART"].dt == h.day(2026, 11, 28)
    assert master["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert "EXDATE" not in master and "RECURRENCE-ID" not in master
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()
    assert len(h.db_occurrences()) == len(occurrences_of(series)) >= 10


def test_moved_cancelled_deleted_edited_and_draft_occurrences(app, h, now, admin, make_series,
                                                              make_event):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now)
    occ = occurrences_of(series)
    moved, cancelled, deleted, renamed, drafted = occ[2], occ[3], occ[4], occ[5], occ[6]
    events.update_event(db.session, admin, moved, {
        "starts_at": moved.starts_at + timedelta(days=1, hours=2),
        "ends_at": moved.ends_at + timedelta(days=1, hours=2)}, now=now)
    events.cancel_event(db.session, admin, cancelled, now=now)
    db.session.delete(deleted)
    events.update_event(db.session, admin, renamed, {"title": "クリスマス子ども食堂"}, now=now)
    events.update_event(db.session, admin, drafted, {"status": "draft"}, now=now)
    deleted_start = deleted.original_starts_at
    db.session.commit()
    make_event(starts_at=h.day(2026, 12, 20, 13), title="ひとつだけの会")
    make_event(starts_at=h.day(2026, 12, 21, 13), title="中止の会", status="published")
    make_event(starts_at=h.day(2026, 12, 22, 13), title="下書き", status="draft")
    lone_cancelled = db.session.scalar(sa.select(Event).where(Event.title == "中止の会"))
    events.cancel_event(db.session, admin, lone_cancelled, now=now)
    db.session.commit()

    cal = build(now, h)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()

    by_uid = {}
    for c in h.vevents(cal):
        by_uid.setdefault(str(c["UID"]), []).append(c)
    master = next(c for c in by_uid[series.uid] if "RRULE" in c)
    exdates = {d.dt.astimezone(UTC) for prop in ([master["EXDATE"]] if not isinstance(
        master["EXDATE"], list) else master["EXDATE"]) for d in prop.dts}
    assert exdates == {deleted_start, drafted.original_starts_at}
    overrides = {c["RECURRENCE-ID"].dt.astimezone(UTC): c for c in by_uid[series.uid]
                 if "RECURRENCE-ID" in c}
    assert set(overrides) == {moved.original_starts_at, cancelled.original_starts_at,
                              renamed.original_starts_at}
    assert overrides[cancelled.original_starts_at]["STATUS"] == "CANCELLED"
    assert overrides[moved.original_starts_at]["DTSTART"].dt == moved.starts_at
    assert overrides[moved.original_starts_at]["SEQUENCE"] >= 1
    assert str(overrides[renamed.original_starts_at]["SUMMARY"]) == "クリスマス子ども食堂"
    assert overrides[renamed.original_starts_at]["URL"].endswith(f"/events/{renamed.id}")
    assert not any("下書き" in str(c["SUMMARY"]) for c in h.vevents(cal))


def test_interval_series_started_in_the_past_keeps_its_rhythm(app, h, now, make_series):
    # every other Wednesday since October; occurrences exist only from creation on
    series = make_series(rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE", starts_at=h.day(2026, 10, 7, 18),
                         now=now, months=4, duration=90)
    occ = occurrences_of(series)
    assert occ[0].original_starts_at > series.starts_at  # the past was not materialised
    cal = build(now, h)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()
    (master,) = h.vevents(cal)
    assert master["DTSTART"].dt.astimezone(UTC) == occ[0].original_starts_at


def test_day_31_series_skips_short_months(app, h, now, make_series):
    make_series(rrule="FREQ=MONTHLY;BYMONTHDAY=31", starts_at=h.day(2026, 12, 31, 10), now=now,
                months=8)
    cal = build(now, h)
    got = h.expand(cal, *h.WIDE)
    assert got == h.db_occurrences()
    assert [s.astimezone(h.day(2026, 1, 1).tzinfo).month for s, _, _ in got] == [12, 1, 3, 5]


def test_changed_rule_keeps_old_detached_dates_as_their_own_events(app, h, now, admin,
                                                                    make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now)
    occ = occurrences_of(series)
    kept = occ[1]
    events.update_event(db.session, admin, kept, {"title": "特別回"}, now=now)  # detached
    db.session.commit()
    data = events.clean_series_data({
        "title": series.title, "kind": series.kind, "description": series.description,
        "rrule": "FREQ=MONTHLY;BYDAY=3SU", "starts_at": h.day(2026, 12, 20, 12),
        "duration_minutes": 120, "capacity": 40, "status": "published",
        "fees": series.fee_template, "venue_id": series.venue_id})
    events.update_series(db.session, admin, series, data, now=now, months=6)
    db.session.commit()
    cal = build(now, h)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()
    lone = [c for c in h.vevents(cal) if str(c["UID"]) == kept.uid]
    assert len(lone) == 1 and "RECURRENCE-ID" not in lone[0]
    master = next(c for c in h.vevents(cal) if "RRULE" in c)
    assert master["RRULE"]["BYDAY"] == ["3SU"] and master["SEQUENCE"] == series.sequence >= 1


def test_draft_series_is_not_in_feeds(app, h, now, make_series):
    make_series(starts_at=h.day(2026, 11, 28), now=now, status="draft")
    cal = build(now, h)
    assert h.vevents(cal) == []


def test_series_edit_raises_sequence_and_keeps_uid(app, h, now, admin, make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now)
    before = next(c for c in h.vevents(build(now, h)) if "RRULE" in c)
    data = events.clean_series_data({
        "title": series.title, "kind": series.kind, "description": series.description,
        "rrule": series.rrule, "starts_at": h.day(2026, 11, 28, 12), "duration_minutes": 180,
        "capacity": 40, "status": "published", "fees": series.fee_template,
        "venue_id": series.venue_id})
    events.update_series(db.session, admin, series, data, now=now, months=6)
    db.session.commit()
    cal = build(now, h)
    after = next(c for c in h.vevents(cal) if "RRULE" in c)
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTART"].dt.hour == 12
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()


def test_cancelled_occurrence_leaves_the_feed_after_the_retention(app, h, now, admin,
                                                                  make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=3)
    target = occurrences_of(series)[-2]
    events.cancel_event(db.session, admin, target, now=now)
    db.session.commit()
    cal = build(now, h)
    assert (target.starts_at, target.ends_at, "CANCELLED") in h.expand(cal, *h.WIDE)
    later = now + timedelta(days=31)
    cal = build(later, h)
    got = h.expand(cal, *h.WIDE)
    assert all(s != target.starts_at for s, _, _ in got)
    assert got == h.db_occurrences(Event.status == "published")


@pytest.mark.parametrize("branch_filter", [True, False])
def test_kind_filter_with_an_override_of_another_kind(app, h, now, admin, make_series,
                                                      branch_filter):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=3)
    odd = occurrences_of(series)[2]
    events.update_event(db.session, admin, odd, {"kind": "shared_meal"}, now=now)
    db.session.commit()
    feed = services.FeedFilter(branches=[series.branch] if branch_filter else [],
                               kinds=["kids_cafeteria"])
    cal = build(now, h, feed)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences(Event.kind == "kids_cafeteria")


def test_a_stored_rule_with_count_still_ends_at_the_last_occurrence(app, h, now, make_series):
    series = make_series(rrule="FREQ=WEEKLY;BYDAY=SA", starts_at=h.day(2026, 11, 28), now=now,
                         months=2)
    series.rrule = "FREQ=WEEKLY;BYDAY=SA;COUNT=100"  # written by hand, say
    db.session.commit()
    cal = build(now, h)
    (master,) = h.vevents(cal)
    assert "COUNT" not in master["RRULE"] and master["RRULE"]["UNTIL"]
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()


def test_feed_bytes_with_kept_vevents_equal_a_fresh_build(app, h, now, admin, make_series,
                                                          make_event):
    from gathering.calendar.cache import FeedCache

    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=3)
    occ = occurrences_of(series)
    events.cancel_event(db.session, admin, occ[1], now=now)
    events.update_event(db.session, admin, occ[2], {"title": "特別回"}, now=now)
    one_off = make_event(starts_at=h.day(2026, 12, 3, 18), title="学習会")
    db.session.commit()
    cache = FeedCache(10 * 1024 * 1024)

    def both():
        found = services.feed_events(db.session, services.FeedFilter(), now=now,
                                     past_days=90, cancelled_days=30)
        kw = {"name": "テスト", "description": "説明", "refresh_minutes": 60,
              "links": h.LINKS, "lang": "ja"}
        fresh = ics.to_ical(ics.public_feed(found, **kw))
        return fresh, ics.public_feed_bytes(found, cache=cache, **kw)

    fresh, cold = both()
    assert cold == fresh
    kept = len(cache)
    assert kept == 3  # the one-off and the two overrides; the master is built each time
    fresh, warm = both()
    assert warm == fresh
    events.update_event(db.session, admin, one_off, {"title": "学習会（変更）"}, now=now)
    db.session.commit()
    fresh, after_edit = both()
    assert after_edit == fresh and "学習会（変更）" in after_edit.decode()
    assert len(cache) == kept + 1
    empty = ics.public_feed([], name="空", description="", refresh_minutes=60,
                            links=h.LINKS, lang="ja")
    assert ics.public_feed_bytes([], name="空", description="", refresh_minutes=60,
                                 links=h.LINKS, lang="ja", cache=cache) == ics.to_ical(empty)


def test_kept_vevent_is_not_reused_after_an_edit_in_the_same_second(app, h, now, admin,
                                                                    make_event):
    from gathering.calendar.cache import FeedCache

    event = make_event(starts_at=h.day(2026, 12, 3, 18), title="学習会")
    cache = FeedCache(1024 * 1024)
    kw = {"name": "x", "description": "", "refresh_minutes": 60, "links": h.LINKS,
          "lang": "ja", "cache": cache}
    ics.public_feed_bytes([event], **kw)
    events.update_event(db.session, admin, event, {"title": "学習会・改"}, now=now)
    db.session.commit()
    assert "学習会・改" in ics.public_feed_bytes([event], **kw).decode()


def _series_edit(series, admin, now, **changes):
    data = events.clean_series_data({
        "title": series.title, "kind": series.kind, "description": series.description,
        "rrule": series.rrule, "starts_at": series.starts_at,
        "duration_minutes": series.duration_minutes, "capacity": series.capacity,
        "status": series.status, "fees": series.fee_template, "venue_id": series.venue_id,
        "ends_on": series.ends_on, **changes})
    result = events.update_series(db.session, admin, series, data, now=now, months=6,
                                  confirm=True)
    db.session.commit()
    return result


def _end_of(day):
    from datetime import datetime, time

    from gathering.timeutil import TOKYO

    return datetime.combine(day, time.max, TOKYO).astimezone(UTC)


def test_a_series_with_a_last_date_ends_its_rule_there(app, h, now, make_series):
    from datetime import date

    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=12,
                         ends_on=date(2027, 3, 31))
    cal = build(now, h)
    (master,) = h.vevents(cal)
    until = master["RRULE"]["UNTIL"][0]
    assert until == h.day(2027, 3, 27).astimezone(UTC)  # the last 4th Saturday of the 年度
    assert until <= _end_of(series.ends_on)
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()


def test_a_last_date_set_later_ends_the_rule_and_keeps_the_booked_date_cancelled(
        app, h, now, admin, make_series, make_registration):
    from datetime import date

    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=6)  # … 5/22
    booked = next(e for e in occurrences_of(series) if e.starts_at.month == 4)
    make_registration(booked)
    db.session.commit()
    result = _series_edit(series, admin, now, ends_on=date(2027, 3, 31))
    assert result["cancelled_events"] == [booked]
    cal = build(now, h)
    master = next(c for c in h.vevents(cal) if "RRULE" in c)
    assert master["RRULE"]["UNTIL"][0] <= _end_of(date(2027, 3, 31))
    # the called-off date stays in the feed, cancelled, as a VEVENT of its own
    (alone,) = [c for c in h.vevents(cal) if str(c["UID"]) == booked.uid]
    assert alone["STATUS"] == "CANCELLED" and "RECURRENCE-ID" not in alone
    assert not any("RECURRENCE-ID" in c and c["RECURRENCE-ID"].dt.astimezone(UTC)
                   > _end_of(date(2027, 3, 31)) for c in h.vevents(cal))
    got = h.expand(cal, *h.WIDE)
    assert got == h.db_occurrences()
    assert (booked.starts_at, booked.ends_at, "CANCELLED") in got
    assert max(s for s, _, status in got if status == "CONFIRMED") == \
        h.day(2027, 3, 27).astimezone(UTC)
