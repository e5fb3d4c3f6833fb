"""iCalendar (RFC 5545) built by pure functions from events and series, with ``icalendar``.

Nothing here queries or reads the request: callers hand in loaded objects, URLs and the
language (translations are looked up with the locale the caller forced). The output is
deterministic for the same database state, so a hash of it is a good ETag.

How a series stays exactly equal to the database
------------------------------------------------
A published series is one VEVENT with the series' RRULE, whose DTSTART is the first
occurrence in the feed and whose RRULE ends (UNTIL) at the last one: occurrences exist in
the database only up to the materialised horizon, and the feed must not promise more.
Dates the rule gives in between that are not in the feed (deleted, drafts, filtered out,
cancelled long ago) are EXDATEs. An occurrence that differs from the series (moved, edited,
cancelled) is a RECURRENCE-ID override with its own fields; a cancelled one carries
STATUS:CANCELLED so that calendar apps remove it. An occurrence the rule no longer gives
(the rule was changed after it was made, or it falls after a last date set later) is a
plain VEVENT with its own UID.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import icalendar
from flask_babel import gettext as _

from gathering.events import recurrence
from gathering.events.models import Event, EventKind, EventStatus, Series
from gathering.formatting import format_yen
from gathering.markup import markdown_plain
from gathering.timeutil import TOKYO

PRODID = "-//Tsudoi//Tsudoi community gatherings//JA"
TIMEZONE = "Asia/Tokyo"
#: a feed's DESCRIPTION carries at most this much of an event's own description
MAX_DESCRIPTION = 1500


@dataclass(frozen=True)
class Links:
    """How to make absolute URLs: an event's page and a series' page (its dates)."""

    event: Callable[[Event], str]
    series: Callable[[Series, Event], str]


def new_calendar(name: str, description: str, refresh_minutes: int) -> icalendar.Calendar:
    """An empty VCALENDAR with the headers calendar apps read when subscribing."""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    _add_text(cal, "x-wr-calname", name)
    _add_text(cal, "name", name)  # RFC 7986
    if description:
        _add_text(cal, "x-wr-caldesc", description)
        cal.add("description", description)
    cal.add("x-wr-timezone", TIMEZONE)
    refresh = timedelta(minutes=max(refresh_minutes, 1))
    cal.add("refresh-interval", refresh, parameters={"VALUE": "DURATION"})
    # icalendar writes an x-property as given: give it the DURATION form itself (PT1H)
    cal.add("x-published-ttl", icalendar.vDuration(refresh).to_ical().decode())
    return cal


def _add_text(cal: icalendar.Calendar, name: str, value: str) -> None:
    """A TEXT property that icalendar does not know as text (X-WR-CALNAME, X-WR-CALDESC,
    NAME: it writes them unescaped), escaped as TEXT: a newline in a title must not make
    the whole calendar unwritable, nor a comma or semicolon end the value early."""
    cal.add(name, icalendar.vText(value))


def to_ical(cal: icalendar.Calendar) -> bytes:
    """The calendar's bytes, with the VTIMEZONE of every TZID used.

    Without a VTIMEZONE, Mozilla's parser (Thunderbird) reads ``TZID=Asia/Tokyo`` times as
    floating and shows them nine hours off. icalendar folds lines at 75 octets without
    splitting a UTF-8 character and escapes commas, semicolons and newlines.
    """
    cal.add_missing_timezones()
    return cal.to_ical()


def _local(value: datetime) -> datetime:
    return value.astimezone(TOKYO)


def _stamp(value: datetime | None) -> datetime:
    return (value or datetime(2000, 1, 1, tzinfo=UTC)).astimezone(UTC).replace(microsecond=0)


def kind_label(kind: str) -> str:
    try:
        return str(EventKind(kind).label)
    except ValueError:
        return str(EventKind.other.label)


def location_text(venue) -> str:
    """venue name, 〒123-4567 address — one line, as maps apps search it."""
    if venue is None:
        return ""
    place = " ".join(p for p in (venue.postal_code_display, venue.address) if p)
    return ", ".join(p for p in (venue.name, place) if p)


@lru_cache(maxsize=4096)
def _yen(amount: int, lang: str) -> str:
    return format_yen(amount, lang)  # Babel's number formatting is slow for a 1,000-event feed


def fees_text(fees: Iterable[tuple[str, int]], lang: str) -> str:
    """こども 無料、おとな 300円"""
    free = _("free")
    parts = [f"{label} {free if amount == 0 else _yen(amount, lang)}" for label, amount in fees]
    return ("、" if lang == "ja" else ", ").join(parts)


def _trim(text: str) -> str:
    text = (text or "").strip()
    return text if len(text) <= MAX_DESCRIPTION else text[:MAX_DESCRIPTION].rstrip() + "…"


def description_text(*, text: str, fees: list[tuple[str, int]], url: str, lang: str,
                     cancelled: bool = False, series_rule: str | None = None) -> str:
    """What a calendar app shows under the title: status, pattern, fees, how to sign up."""
    lines = []
    if cancelled:
        lines.append(_("Cancelled: this event will not take place."))
    if series_rule:
        lines.append(_("Repeats: %(pattern)s", pattern=recurrence.describe(series_rule, lang)))
    if fees:
        lines.append(_("Fee: %(fees)s", fees=fees_text(fees, lang)))
    if url:
        lines.append(_("Details and sign-up: %(url)s", url=url))
    body = _trim(markdown_plain(text))  # a calendar app shows no HTML: **無料** as 無料
    if body:
        lines.extend(["", body])
    return "\n".join(lines)


def _place(component: icalendar.Event, venue) -> None:
    location = location_text(venue)
    if location:
        component.add("location", location)
    if venue is not None and venue.latitude is not None and venue.longitude is not None:
        component.add("geo", (venue.latitude, venue.longitude))


def _summary(title: str, cancelled: bool) -> str:
    # Some apps show cancelled events instead of removing them: say so in the title too.
    return _("[Cancelled] %(title)s", title=title) if cancelled else title


def event_fees(event: Event) -> list[tuple[str, int]]:
    return [(f.label, f.amount) for f in event.fees]


def series_fees(series: Series) -> list[tuple[str, int]]:
    return [(str(f.get("label", "")), int(f.get("amount", 0))) for f in series.fee_template or []]


def event_component(event: Event, *, url: str, lang: str, uid: str | None = None,
                    sequence: int | None = None, recurrence_id: datetime | None = None,
                    summary: str | None = None, status: str | None = None) -> icalendar.Event:
    """One VEVENT of an event: a one-off, or (with ``recurrence_id``) a series override."""
    cancelled = event.status == EventStatus.cancelled
    component = icalendar.Event()
    component.add("uid", uid or event.uid)
    component.add("dtstamp", _stamp(event.updated_at))
    component.add("created", _stamp(event.created_at))
    component.add("last-modified", _stamp(event.updated_at))
    component.add("sequence", event.sequence if sequence is None else sequence)
    if recurrence_id is not None:
        component.add("recurrence-id", _local(recurrence_id))
    component.add("dtstart", _local(event.starts_at))
    component.add("dtend", _local(event.ends_at))
    component.add("summary", summary or _summary(event.title, cancelled))
    component.add("description", description_text(
        text=event.description, fees=event_fees(event), url=url, lang=lang,
        cancelled=cancelled))
    _place(component, event.venue)
    component.add("categories", [kind_label(event.kind)])
    if url:
        component.add("url", url)
    component.add("status", status or ("CANCELLED" if cancelled else "CONFIRMED"))
    component.add("transp", "OPAQUE")
    return component


def _matches_series(event: Event, series: Series) -> bool:
    """Whether the occurrence looks exactly as the series VEVENT would show it."""
    return (
        event.status == EventStatus.published
        and event.starts_at == event.original_starts_at
        and event.ends_at - event.starts_at == timedelta(minutes=series.duration_minutes)
        and event.title == series.title
        and event.kind == series.kind
        and (event.description or "") == (series.description or "")
        and event.venue_id == series.venue_id
        and event_fees(event) == series_fees(series)
    )


#: one VEVENT of a feed: a key that names everything its bytes depend on (None: build it
#: every time), and how to build it
Part = tuple[tuple | None, Callable[[], icalendar.Event]]


def _edited(event: Event) -> str:
    # to the microsecond: two edits within one second must not share a key
    return event.updated_at.isoformat() if event.updated_at else ""


def _event_part(event: Event, *, links: Links, lang: str) -> Part:
    url = links.event(event)
    # every edit of an event moves updated_at (fees and venues included; seats do not)
    key = ("event", event.uid, _edited(event), event.sequence, url, lang)
    return key, lambda: event_component(event, url=url, lang=lang)


def _instance_sequence(event: Event, series: Series) -> int:
    return max(event.sequence, series.sequence)  # an override never reads older than


def instance_component(event: Event, series: Series, *, url: str,
                       lang: str) -> icalendar.Event:
    """The VEVENT of one instance of a series' recurring VEVENT: the series' UID with
    RECURRENCE-ID = the occurrence's original start (RFC 5545 §3.8.4.4), as feeds write
    an override."""
    return event_component(event, url=url, lang=lang, uid=series.uid,
                           sequence=_instance_sequence(event, series),
                           recurrence_id=event.original_starts_at)


def _override_part(event: Event, series: Series, *, links: Links, lang: str) -> Part:
    url = links.event(event)
    sequence = _instance_sequence(event, series)
    key = ("override", series.uid, event.uid, _edited(event), sequence, url, lang)
    return key, lambda: instance_component(event, series, url=url, lang=lang)


def _split_members(series: Series, events: list[Event]) -> tuple[list[Event], list[Event]]:
    """(members, standalone): the occurrences the series' recurring VEVENT holds (the rule
    still gives their original start), and those shown as VEVENTs of their own."""
    with_origin = [e for e in events if e.original_starts_at is not None]
    standalone = [e for e in events if e.original_starts_at is None]
    members: list[Event] = []
    if with_origin:
        lo = min(e.original_starts_at for e in with_origin)
        hi = max(e.original_starts_at for e in with_origin)
        # a date after the series' last date is no longer given by it (a cancelled one
        # stays a VEVENT of its own), so the RRULE's UNTIL never passes that day
        given = set(recurrence.occurrences(series.rrule, series.starts_at, lo,
                                           recurrence.bounded(hi, series.ends_on)))
        members = [e for e in with_origin if e.original_starts_at in given]
        standalone += [e for e in with_origin if e.original_starts_at not in given]
    return members, standalone


def _series_parts(series: Series, events: list[Event], *, links: Links,
                  lang: str) -> list[Part]:
    members, standalone = _split_members(series, events)
    parts = [_event_part(e, links=links, lang=lang) for e in standalone]
    if not members:
        return parts
    members.sort(key=lambda e: e.original_starts_at)
    parts.append((None, lambda: _series_master(series, members, links=links, lang=lang)))
    parts.extend(_override_part(e, series, links=links, lang=lang)
                 for e in members if not _matches_series(e, series))
    return parts


def _series_master(series: Series, members: list[Event], *, links: Links,
                   lang: str) -> icalendar.Event:
    """The recurring VEVENT of a series whose occurrences in the feed are ``members``
    (sorted by their original start)."""
    first, last = members[0].original_starts_at, members[-1].original_starts_at
    # Expand from the DTSTART the clients will use, so EXDATEs match their expansion.
    expanded = recurrence.occurrences(series.rrule, first, first, last)
    present = {e.original_starts_at for e in members}
    master = icalendar.Event()
    master.add("uid", series.uid)
    master.add("dtstamp", _stamp(series.updated_at))
    master.add("created", _stamp(series.created_at))
    master.add("last-modified", _stamp(series.updated_at))
    master.add("sequence", series.sequence)
    master.add("dtstart", _local(first))
    master.add("dtend", _local(first + timedelta(minutes=series.duration_minutes)))
    rule = icalendar.vRecur.from_ical(series.rrule)
    rule.pop("COUNT", None)  # UNTIL and COUNT must not both be given (RFC 5545)
    rule["UNTIL"] = [last.astimezone(UTC)]
    master.add("rrule", rule)
    missing = [_local(start) for start in expanded if start not in present]
    if missing:
        master.add("exdate", missing)
    series_url = links.series(series, members[0])
    master.add("summary", series.title)
    master.add("description", description_text(
        text=series.description, fees=series_fees(series), url=series_url, lang=lang,
        series_rule=series.rrule))
    _place(master, series.venue)
    master.add("categories", [kind_label(series.kind)])
    if series_url:
        master.add("url", series_url)
    master.add("status", "CONFIRMED")
    master.add("transp", "OPAQUE")
    return master


def series_components(series: Series, events: list[Event], *, links: Links,
                      lang: str) -> list[icalendar.Event]:
    """The VEVENTs of one published series given the occurrences that belong in the feed:
    the master with RRULE (ending at the last occurrence) and EXDATEs, overrides for the
    occurrences that differ, and plain VEVENTs for occurrences the rule no longer gives."""
    return [build() for _, build in _series_parts(series, events, links=links, lang=lang)]


def feed_parts(events: list[Event], *, links: Links, lang: str) -> list[Part]:
    """The VEVENTs of a feed, in order: one-offs as VEVENTs, a published series'
    occurrences as one recurring VEVENT with overrides. ``events`` are those that belong in
    the feed (published, or cancelled recently), with venue, branch, fees and series
    loaded."""
    parts: list[Part] = []
    by_series: dict[int, list[Event]] = {}
    series_of: dict[int, Series] = {}
    for event in events:
        series = event.series
        if series is not None and series.status == EventStatus.published:
            by_series.setdefault(series.id, []).append(event)
            series_of[series.id] = series
        else:
            # One-offs, and published dates of an unpublished series (shown on the site too).
            parts.append(_event_part(event, links=links, lang=lang))
    for series_id, members in by_series.items():
        parts.extend(_series_parts(series_of[series_id], members, links=links, lang=lang))
    return parts


def public_feed(events: list[Event], *, name: str, description: str, refresh_minutes: int,
                links: Links, lang: str) -> icalendar.Calendar:
    """A feed of events as a Calendar (see feed_parts)."""
    cal = new_calendar(name, description, refresh_minutes)
    for _key, build in feed_parts(events, links=links, lang=lang):
        cal.add_component(build())
    return cal


_END = b"END:VCALENDAR\r\n"


def public_feed_bytes(events: list[Event], *, name: str, description: str,
                      refresh_minutes: int, links: Links, lang: str, cache) -> bytes:
    """The same bytes as ``to_ical(public_feed(...))``, with each VEVENT's bytes kept in
    ``cache`` (get/put by key) so that after one edit only that VEVENT is built again.

    The parts are joined as icalendar serialises a calendar: its properties, the VTIMEZONE
    (the one add_missing_timezones would add), the VEVENTs, END:VCALENDAR.
    """
    parts = feed_parts(events, links=links, lang=lang)
    cal = new_calendar(name, description, refresh_minutes)
    if parts:
        cal.add_component(icalendar.Timezone.from_tzid(TIMEZONE))
    head = cal.to_ical()
    chunks = [head[: -len(_END)]]
    for key, build in parts:
        if key is None:
            chunks.append(build().to_ical())
            continue
        name_ = repr(key)
        body = cache.get(name_)
        if body is None:
            body = build().to_ical()
            cache.put(name_, body)
        chunks.append(body)
    chunks.append(_END)
    return b"".join(chunks)


def add_alarm(component: icalendar.Event, minutes: int, text: str) -> None:
    """A display reminder ``minutes`` before the start."""
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", timedelta(minutes=-minutes))
    alarm.add("description", text)
    component.add_component(alarm)


def personal_component(registration, *, url: str, lang: str,
                       reminder_minutes: int) -> icalendar.Event:
    """The VEVENT of one's own sign-up: its own UID (not the public event's, so the two
    never collide in one calendar app), a reminder while it stands, and STATUS:CANCELLED
    once the sign-up or the event is cancelled so that the app removes it."""
    event = registration.event
    reg_cancelled = registration.status == "cancelled"
    cancelled = reg_cancelled or event.status == EventStatus.cancelled
    if event.status == EventStatus.cancelled:
        summary = _summary(event.title, True)
    elif reg_cancelled:
        summary = _("[Sign-up cancelled] %(title)s", title=event.title)
    elif registration.status == "waitlisted":
        summary = _("[Waiting list] %(title)s", title=event.title)
    else:
        summary = event.title
    status = "CANCELLED" if cancelled else (
        "TENTATIVE" if registration.status == "waitlisted" else "CONFIRMED")
    component = event_component(
        event, url=url, lang=lang, uid=f"r{registration.id}.{event.uid}",
        # the sign-up's own changes (cancel, promotion) must reach the app as well
        sequence=event.sequence + (1 if reg_cancelled else 0)
        + (1 if registration.promoted_at else 0),
        summary=summary, status=status)
    modified = max(_stamp(event.updated_at), _stamp(registration.updated_at))
    for prop in ("dtstamp", "last-modified"):
        component.pop(prop)
        component.add(prop, modified)
    if not cancelled and reminder_minutes > 0:
        add_alarm(component, reminder_minutes, _("Soon: %(title)s", title=event.title))
    return component


def personal_feed(registrations, *, name: str, refresh_minutes: int, urls: dict, lang: str,
                  reminder_minutes: int) -> icalendar.Calendar:
    """The feed of one's own sign-ups (``urls`` maps a registration id to its page)."""
    cal = new_calendar(name, "", refresh_minutes)
    for registration in registrations:
        cal.add_component(personal_component(
            registration, url=urls.get(registration.id, ""), lang=lang,
            reminder_minutes=reminder_minutes))
    return cal


def single_event(event: Event, *, url: str, lang: str, name: str) -> icalendar.Calendar:
    """The .ics of one event (カレンダーに追加): a plain VEVENT with the event's own UID,
    even for an occurrence of a series, since it is imported on its own. (A lone
    RECURRENCE-ID instance of the series' UID would name the feed's instance, but importers
    that key on the UID alone would keep one of two dates of a series added one by one;
    and a subscribed feed is a calendar of its own in the common apps, which do not merge
    across calendars anyway.)"""
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    _add_text(cal, "x-wr-calname", name)  # the event's title
    cal.add("x-wr-timezone", TIMEZONE)
    cal.add_component(event_component(event, url=url, lang=lang))
    return cal
