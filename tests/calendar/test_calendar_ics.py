"""RFC 5545 done right: calendar headers, VTIMEZONE, folding, escaping, the event's
fields, and the personal VALARM — checked by parsing the bytes back."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest

from gathering.calendar import ics, services
from gathering.events import services as events
from gathering.extensions import db

HOSTILE = '<script>alert("x")</script>, 子ども食堂; カレー\\ライス\n改行,と;記号'


def feed_bytes(now, h, lang="ja"):
    found = services.feed_events(db.session, services.FeedFilter(), now=now, past_days=90,
                                 cancelled_days=30)
    cal = ics.public_feed(found, name="つどい：テスト", description="説明", refresh_minutes=60,
                          links=h.LINKS, lang=lang)
    return ics.to_ical(cal)


def test_calendar_headers_and_vtimezone(app, h, now, make_event):
    make_event(starts_at=h.day(2026, 12, 5, 11))
    body = feed_bytes(now, h)
    cal = h.parse(body)
    assert cal["VERSION"] == "2.0"
    assert str(cal["PRODID"]).startswith("-//Tsudoi//")
    assert cal["CALSCALE"] == "GREGORIAN"
    assert cal["X-WR-CALNAME"] == "つどい：テスト"
    assert cal["X-WR-TIMEZONE"] == "Asia/Tokyo"
    assert cal["REFRESH-INTERVAL"].dt == timedelta(hours=1)
    assert cal["REFRESH-INTERVAL"].params["VALUE"] == "DURATION"
    assert str(cal["X-PUBLISHED-TTL"]) == "PT1H"
    (tz,) = cal.walk("VTIMEZONE")
    assert tz["TZID"] == "Asia/Tokyo"
    assert tz.walk("STANDARD")[0]["TZOFFSETTO"].td == timedelta(hours=9)
    (event,) = h.vevents(cal)
    assert event["DTSTART"].params["TZID"] == "Asia/Tokyo"
    assert event["DTSTART"].dt.astimezone(UTC) == h.day(2026, 12, 5, 11).astimezone(UTC)
    assert body.startswith(b"BEGIN:VCALENDAR\r\n") and body.endswith(b"END:VCALENDAR\r\n")


def test_event_fields(app, h, now, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11), capacity=30, venue={
        "name": "みんなの家", "postal_code": "0700031", "address": "北海道旭川市1条通8丁目",
        "latitude": 43.7668, "longitude": 142.365})
    (vevent,) = h.vevents(h.parse(feed_bytes(now, h)))
    assert vevent["UID"] == event.uid
    assert vevent["SEQUENCE"] == event.sequence
    assert vevent["SUMMARY"] == "子ども食堂"
    assert vevent["LOCATION"] == "みんなの家, 〒070-0031 北海道旭川市1条通8丁目"
    assert vevent["GEO"].latitude == pytest.approx(43.7668)
    assert vevent["URL"] == f"https://tsudoi.example/events/{event.id}"
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent["CATEGORIES"].cats == [ics.kind_label("kids_cafeteria")]
    assert vevent["DTSTAMP"].dt == event.updated_at.replace(microsecond=0)
    assert vevent["LAST-MODIFIED"].dt == event.updated_at.replace(microsecond=0)
    text = str(vevent["DESCRIPTION"])
    assert "こども " in text and "おとな 300円" in text
    assert f"https://tsudoi.example/events/{event.id}" in text


def test_no_geo_without_coordinates(app, h, now, make_event):
    make_event(starts_at=h.day(2026, 12, 5, 11))
    (vevent,) = h.vevents(h.parse(feed_bytes(now, h)))
    assert "GEO" not in vevent


def test_long_japanese_lines_fold_without_splitting_a_character(app, h, now, make_event):
    title = "地域のこどもと大人がいっしょに食べる食堂" * 8
    description = "アレルギー対応・食材の寄付・ボランティア募集🍙" * 60
    make_event(starts_at=h.day(2026, 12, 5, 11), title=title[:200], description=description)
    body = feed_bytes(now, h)
    for line in body.split(b"\r\n"):
        assert len(line) <= 75
        line.decode("utf-8")  # a split character would not decode
    (vevent,) = h.vevents(h.parse(body))
    assert vevent["SUMMARY"] == title[:200]
    assert description[:100] in str(vevent["DESCRIPTION"])


def test_commas_semicolons_newlines_and_markup_are_escaped_and_come_back(app, h, now,
                                                                         make_event):
    make_event(starts_at=h.day(2026, 12, 5, 11), title=HOSTILE[:200], description=HOSTILE,
               venue={"name": "会場, 2階; 奥", "postal_code": "", "address": "住所\n二行目"})
    body = feed_bytes(now, h)
    assert b"\\," in body and b"\\;" in body and b"\\n" in body
    (vevent,) = h.vevents(h.parse(body))
    # NFKC normalisation may change the text on input; what was stored comes back as is
    stored = events.get_event(db.session, int(str(vevent["URL"]).rsplit("/", 1)[1]))
    assert vevent["SUMMARY"] == stored.title
    assert str(vevent["DESCRIPTION"]).endswith(stored.description)
    assert vevent["LOCATION"] == f"{stored.venue.name}, {stored.venue.address}"


def test_a_markdown_description_reads_as_plain_text_in_calendar_apps(app, h, now, make_event):
    make_event(starts_at=h.day(2026, 12, 5, 11), description=(
        "## 持ち物\n**無料**です。*お気軽に*どうぞ。\n- お箸\n- 水筒\n"
        "詳しくは[こちら](https://example.jp/kodomo)へ。\n\\*印は要予約"))
    (vevent,) = h.vevents(h.parse(feed_bytes(now, h)))
    text = str(vevent["DESCRIPTION"])
    assert text.endswith("持ち物\n無料です。お気軽にどうぞ。\n- お箸\n- 水筒\n"
                         "詳しくはこちら (https://example.jp/kodomo)へ。\n*印は要予約"), text
    assert "**" not in text and "##" not in text and "](" not in text


def test_cancelled_one_off_is_marked_and_its_sequence_raised(app, h, now, admin, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))
    before = h.vevents(h.parse(feed_bytes(now, h)))[0]
    events.cancel_event(db.session, admin, event, now=now)
    db.session.commit()
    (after,) = h.vevents(h.parse(feed_bytes(now, h)))
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["STATUS"] == "CANCELLED"
    assert "中止" in str(after["SUMMARY"])


def test_moved_one_off_keeps_uid_with_higher_sequence(app, h, now, admin, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))
    before = h.vevents(h.parse(feed_bytes(now, h)))[0]
    events.update_event(db.session, admin, event, {
        "starts_at": h.day(2026, 12, 6, 11), "ends_at": h.day(2026, 12, 6, 14)}, now=now)
    db.session.commit()
    (after,) = h.vevents(h.parse(feed_bytes(now, h)))
    assert after["UID"] == before["UID"]
    assert after["SEQUENCE"] > before["SEQUENCE"]
    assert after["DTSTART"].dt == h.day(2026, 12, 6, 11)


def test_fee_edit_changes_last_modified(app, h, now, admin, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))
    before = event.updated_at
    events.update_event(db.session, admin, event, {"fees": [
        {"code": "child", "label": "こども", "amount": 100},
        {"code": "adult", "label": "おとな", "amount": 300}]}, now=now)
    db.session.commit()
    assert event.updated_at > before
    (vevent,) = h.vevents(h.parse(feed_bytes(now, h)))
    assert "こども 100円" in str(vevent["DESCRIPTION"])


def test_taking_seats_is_not_an_edit(app, h, now, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11), capacity=10)
    first = feed_bytes(now, h)
    assert events.take_seats(db.session, event, 3)
    db.session.commit()
    events.release_seats(db.session, event, 1)
    db.session.commit()
    assert feed_bytes(now, h) == first


def test_english_texts(app, h, now, make_event):
    make_event(starts_at=h.day(2026, 12, 5, 11))
    from flask_babel import force_locale

    with app.test_request_context("/"), force_locale("en"):
        (vevent,) = h.vevents(h.parse(feed_bytes(now, h, lang="en")))
    assert vevent["CATEGORIES"].cats == ["Children's cafeteria"]
    assert "¥300" in str(vevent["DESCRIPTION"])


class _Reg:
    """A registration as the personal feed reads it (the ics functions are pure)."""

    def __init__(self, event, status="confirmed", promoted_at=None):
        self.id, self.event, self.event_id, self.status = 7, event, event.id, status
        self.promoted_at, self.updated_at = promoted_at, event.updated_at


@pytest.mark.parametrize(("status", "ical_status", "alarm"), [
    ("confirmed", "CONFIRMED", True), ("waitlisted", "TENTATIVE", True),
    ("cancelled", "CANCELLED", False)])
def test_personal_component(app, h, make_event, status, ical_status, alarm):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))
    cal = ics.personal_feed([_Reg(event, status)], name="つどい：わたしの予定",
                            refresh_minutes=60, urls={7: "https://x/e"}, lang="ja",
                            reminder_minutes=24 * 60)
    (vevent,) = h.vevents(h.parse(ics.to_ical(cal)))
    assert vevent["STATUS"] == ical_status
    assert vevent["UID"] != event.uid and vevent["UID"].endswith(event.uid)
    alarms = vevent.walk("VALARM")
    if alarm:
        (valarm,) = alarms
        assert valarm["ACTION"] == "DISPLAY"
        assert valarm["TRIGGER"].dt == -timedelta(days=1)
    else:
        assert alarms == []


def test_personal_cancellation_raises_sequence(app, h, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))

    def seq(status):
        cal = ics.personal_feed([_Reg(event, status)], name="x", refresh_minutes=60, urls={},
                                lang="ja", reminder_minutes=60)
        return h.vevents(cal)[0]["SEQUENCE"]

    assert seq("cancelled") > seq("confirmed")


def test_no_alarm_when_reminders_are_off(app, h, make_event):
    event = make_event(starts_at=h.day(2026, 12, 5, 11))
    cal = ics.personal_feed([_Reg(event)], name="x", refresh_minutes=60, urls={}, lang="ja",
                            reminder_minutes=0)
    assert h.vevents(cal)[0].walk("VALARM") == []


def test_single_event_ics_is_a_plain_vevent_even_in_a_series(app, h, now, make_series):
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=2)
    occurrence = series.events[1]
    cal = h.parse(ics.to_ical(ics.single_event(occurrence, url="https://x/e", lang="ja",
                                               name=occurrence.title)))
    (vevent,) = h.vevents(cal)
    assert vevent["UID"] == occurrence.uid != series.uid
    assert "RRULE" not in vevent and "RECURRENCE-ID" not in vevent
    assert cal["METHOD"] == "PUBLISH"
    assert cal.walk("VTIMEZONE")


def test_personal_feed_of_a_series_date_is_the_sign_up_not_the_public_instance(app, h, now,
                                                                               admin,
                                                                               make_series):
    """The personal feed shows one's sign-up (its reminder, 「キャンセル待ち」, its own
    cancellation), not the public date: it keeps a UID of its own, without RECURRENCE-ID,
    so a cancelled sign-up never cancels the group's date in an app that holds both, and
    the UID stays the same whether or not the feeds show the date as a series instance."""
    series = make_series(starts_at=h.day(2026, 11, 28), now=now, months=2)
    event = series.events[1]
    events.update_event(db.session, admin, event, {
        "starts_at": event.starts_at + timedelta(hours=1),
        "ends_at": event.ends_at + timedelta(hours=1)}, now=now)
    db.session.commit()
    for status in ("confirmed", "cancelled"):
        cal = ics.personal_feed([_Reg(event, status)], name="x", refresh_minutes=60, urls={},
                                lang="ja", reminder_minutes=60)
        (vevent,) = h.vevents(h.parse(ics.to_ical(cal)))
        assert vevent["UID"] == f"r7.{event.uid}" and "RECURRENCE-ID" not in vevent
        assert vevent["DTSTART"].dt.astimezone(UTC) == event.starts_at
