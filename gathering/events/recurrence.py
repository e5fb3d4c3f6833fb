"""Recurring patterns in plain Japanese, held as RFC 5545 RRULEs.

An organizer picks 毎週◯曜, 毎月第N◯曜 (several Ns, e.g. 第2・第4土曜) or 毎月N日; we store
the RRULE (``FREQ=MONTHLY;BYDAY=2SA,4SA``) and expand it with python-dateutil in Asia/Tokyo
wall-clock time, so 11:00 stays 11:00.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from dateutil.rrule import rrulestr

from gathering.timeutil import TOKYO

WEEKDAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"]
WEEKDAY_JA = ["月", "火", "水", "木", "金", "土", "日"]
WEEKDAY_EN = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
ORDINAL_EN = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", -1: "last"}

PATTERN_WEEKLY = "weekly"
PATTERN_MONTHLY_NTH = "monthly_nth"
PATTERN_MONTHLY_DAY = "monthly_day"
PATTERNS = (PATTERN_WEEKLY, PATTERN_MONTHLY_NTH, PATTERN_MONTHLY_DAY)


class PatternError(ValueError):
    """The pattern cannot be turned into a rule; ``field`` names the offending input."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass
class Pattern:
    """A pattern as the organizer chose it."""

    kind: str
    weekdays: list[int] = field(default_factory=list)  # 0 = Monday
    nths: list[int] = field(default_factory=list)  # 1..5, or -1 for the last
    monthday: int | None = None
    interval: int = 1


def to_rrule(p: Pattern) -> str:
    """The RRULE (without DTSTART) of a pattern. Raises PatternError."""
    if p.kind not in PATTERNS:
        raise PatternError("pattern", "unknown pattern")
    if not 1 <= p.interval <= 12:
        raise PatternError("interval", "interval out of range")
    interval = f";INTERVAL={p.interval}" if p.interval != 1 else ""
    if p.kind == PATTERN_MONTHLY_DAY:
        if p.monthday is None or not 1 <= p.monthday <= 31:
            raise PatternError("monthday", "day of month out of range")
        return f"FREQ=MONTHLY{interval};BYMONTHDAY={p.monthday}"
    if not p.weekdays or any(not 0 <= d <= 6 for d in p.weekdays):
        raise PatternError("weekdays", "choose a weekday")
    days = sorted(set(p.weekdays))
    if p.kind == PATTERN_WEEKLY:
        return f"FREQ=WEEKLY{interval};BYDAY=" + ",".join(WEEKDAYS[d] for d in days)
    nths = sorted(set(p.nths), key=lambda n: (n < 0, n))
    if not nths or any(n not in (1, 2, 3, 4, 5, -1) for n in nths):
        raise PatternError("nths", "choose which week of the month")
    parts = [f"{n}{WEEKDAYS[d]}" for d in days for n in nths]
    return f"FREQ=MONTHLY{interval};BYDAY=" + ",".join(parts)


_BYDAY_RE = re.compile(r"^(-?\d)?(MO|TU|WE|TH|FR|SA|SU)$")


def from_rrule(rule: str) -> Pattern:
    """The pattern of a stored RRULE (the inverse of to_rrule)."""
    parts = dict(item.split("=", 1) for item in rule.split(";") if "=" in item)
    interval = int(parts.get("INTERVAL", "1"))
    if "BYMONTHDAY" in parts:
        return Pattern(PATTERN_MONTHLY_DAY, monthday=int(parts["BYMONTHDAY"]), interval=interval)
    weekdays, nths = [], []
    for item in parts.get("BYDAY", "").split(","):
        m = _BYDAY_RE.match(item)
        if not m:
            continue
        weekdays.append(WEEKDAYS.index(m.group(2)))
        if m.group(1):
            nths.append(int(m.group(1)))
    kind = PATTERN_MONTHLY_NTH if parts.get("FREQ") == "MONTHLY" else PATTERN_WEEKLY
    return Pattern(kind, sorted(set(weekdays)), sorted(set(nths), key=lambda n: (n < 0, n)),
                   interval=interval)


def describe(rule: str, lang: str = "ja") -> str:
    """毎月第2・第4土曜 / 2nd and 4th Saturday of every month."""
    p = from_rrule(rule)
    if lang == "en":
        every = "every month" if p.interval == 1 else f"every {p.interval} months"
        if p.kind == PATTERN_MONTHLY_DAY:
            return f"Day {p.monthday} of {every}"
        days = " and ".join(WEEKDAY_EN[d] for d in p.weekdays)
        if p.kind == PATTERN_WEEKLY:
            return f"Every {days}" if p.interval == 1 else f"{days}, every {p.interval} weeks"
        nths = " and ".join(ORDINAL_EN[n] for n in p.nths)
        text = f"{nths} {days} of {every}"
        return text[0].upper() + text[1:]  # "Last Friday …" starts with a capital
    every_month = "毎月" if p.interval == 1 else f"{p.interval}か月ごと"
    if p.kind == PATTERN_MONTHLY_DAY:
        return f"{every_month}{p.monthday}日"
    days = "・".join(WEEKDAY_JA[d] for d in p.weekdays) + "曜"
    if p.kind == PATTERN_WEEKLY:
        return f"毎週{days}" if p.interval == 1 else f"{p.interval}週ごと{days}"
    nths = "・".join("最終" if n == -1 else f"第{n}" for n in p.nths)
    return f"{every_month}{nths}{days}"


def occurrences(rule: str, first_start: datetime, start: datetime, until: datetime) -> list[datetime]:
    """Starts (UTC) of a rule between ``start`` and ``until``, both aware, inclusive.

    Expanded in Tokyo wall-clock time from ``first_start``, whose own time of day is kept.
    """
    local_first = first_start.astimezone(TOKYO).replace(tzinfo=None)
    ruleset = rrulestr(rule, dtstart=local_first)
    lo = start.astimezone(TOKYO).replace(tzinfo=None)
    hi = until.astimezone(TOKYO).replace(tzinfo=None)
    return [
        d.replace(tzinfo=TOKYO).astimezone(UTC) for d in ruleset.between(lo, hi, inc=True)
    ]


def span_minutes(day: date, start: time, end: time) -> int:
    """Minutes from ``start`` to ``end`` on ``day`` in Tokyo, as an organizer writes the
    times of a date: an end before the start is on the next day (18:00〜0:00, 22:00〜2:00),
    as one-off events may end after midnight. The same time twice is 0 (refused as an end
    not after the start): far likelier a slip than a date lasting a whole day."""
    begins = datetime.combine(day, start, TOKYO)
    ends = datetime.combine(day, end, TOKYO)
    if ends < begins:
        ends += timedelta(days=1)
    return int((ends - begins).total_seconds() // 60)


def bounded(until: datetime, last_day: date | None) -> datetime:
    """``until``, or the end of ``last_day`` in Tokyo when that comes first: a series with a
    last date (最終日) has no date after that day, and one on that day is still in it."""
    if last_day is None:
        return until
    return min(until, datetime.combine(last_day, time.max, TOKYO))
