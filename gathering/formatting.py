"""How dates and money read on the page, per locale.

Japanese: ``2026年12月12日(土) 11:00〜14:00``, ``300円`` and ``こども、おとな``. English:
``Sat 12 Dec 2026, 11:00–14:00``, ``¥300`` and ``child, adult``. Pure functions of a value
and a locale; templates use them as filters through the current locale.
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date as _babel_date
from babel.numbers import format_decimal

from gathering.timeutil import to_local

DATE_PATTERNS = {"ja": "y年M月d日(EEE)", "en": "EEE d MMM y"}
SHORT_DATE_PATTERNS = {"ja": "M月d日(EEE)", "en": "EEE d MMM"}
RANGE_SEP = {"ja": "〜", "en": "–"}
#: between the items of a list in running text: こども、おとな; child, adult
LIST_SEP = {"ja": "、", "en": ", "}
#: an amount of yen around its digits (%(amount)s: 1,000): 1,000円, ¥1,000
YEN_PATTERNS = {"ja": "%(amount)s円", "en": "¥%(amount)s"}


def _lang(locale) -> str:
    return "en" if str(locale or "ja").startswith("en") else "ja"


def format_day(value: date | datetime, locale="ja", short: bool = False) -> str:
    lang = _lang(locale)
    if isinstance(value, datetime):
        value = to_local(value).date()
    pattern = (SHORT_DATE_PATTERNS if short else DATE_PATTERNS)[lang]
    return _babel_date(value, pattern, locale=lang)


def format_time(value: datetime) -> str:
    return to_local(value).strftime("%H:%M")


def format_when(starts_at: datetime, ends_at: datetime | None = None, locale="ja") -> str:
    """The date and time span of an event, e.g. 2026年12月12日(土) 11:00〜14:00."""
    lang = _lang(locale)
    start = to_local(starts_at)
    text = f"{format_day(start, lang)} {start:%H:%M}"
    if lang == "en":
        text = f"{format_day(start, lang)}, {start:%H:%M}"
    if ends_at is None:
        return text
    end = to_local(ends_at)
    sep = RANGE_SEP[lang]
    if end.date() == start.date():
        return f"{text}{sep}{end:%H:%M}"
    end_day = format_day(end, lang, short=end.year == start.year)
    joiner = " " if lang == "ja" else ", "
    return f"{text}{sep}{end_day}{joiner}{end:%H:%M}"


def format_yen(amount: int | None, locale="ja") -> str:
    """300円 in Japanese, ¥300 in English. Yen have no minor unit."""
    if amount is None:
        return ""
    lang = _lang(locale)
    number = format_decimal(abs(amount), locale=lang)
    sign = "-" if amount < 0 else ""
    return sign + YEN_PATTERNS[lang] % {"amount": number}


def list_separator(locale="ja") -> str:
    """What goes between the items of a list in running text: 「、」 or ", "."""
    return LIST_SEP[_lang(locale)]


def join_list(items, locale="ja") -> str:
    """Items as a list in running text: こども、おとな in Japanese, child, adult in English."""
    return list_separator(locale).join(str(item) for item in items)


def format_phone(digits: str | None) -> str:
    """Show stored phone digits the Japanese way: 090-1234-5678, 03-1234-5678."""
    from gathering.japanese import format_phone as _fmt

    return _fmt(digits or "")
