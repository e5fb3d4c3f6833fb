"""How dates, money and descriptions read on the page."""

from datetime import date, datetime

import pytest

from gathering import formatting
from gathering.markup import render_markdown
from gathering.timeutil import TOKYO, UTC


def at(*args):
    return datetime(*args, tzinfo=TOKYO)


def test_japanese_date_and_time_span():
    assert formatting.format_when(at(2026, 12, 12, 11), at(2026, 12, 12, 14)) == \
        "2026年12月12日(土) 11:00〜14:00"


def test_stored_utc_is_shown_in_tokyo_time():
    start = datetime(2026, 12, 12, 2, 0, tzinfo=UTC)  # 11:00 in Tokyo
    assert formatting.format_when(start, None) == "2026年12月12日(土) 11:00"
    assert formatting.format_time(start) == "11:00"
    # late evening UTC is already the next day in Tokyo
    assert formatting.format_day(datetime(2026, 12, 11, 16, tzinfo=UTC)) == "2026年12月12日(土)"


def test_english_date_and_time_span():
    assert formatting.format_when(at(2026, 12, 12, 11), at(2026, 12, 12, 14), "en") == \
        "Sat 12 Dec 2026, 11:00–14:00"


def test_multi_day_events_name_both_days():
    assert formatting.format_when(at(2026, 12, 12, 10), at(2026, 12, 13, 16)) == \
        "2026年12月12日(土) 10:00〜12月13日(日) 16:00"
    assert formatting.format_when(at(2026, 12, 31, 18), at(2027, 1, 1, 2), "ja") == \
        "2026年12月31日(木) 18:00〜2027年1月1日(金) 02:00"
    assert formatting.format_when(at(2026, 12, 12, 10), at(2026, 12, 13, 16), "en") == \
        "Sat 12 Dec 2026, 10:00–Sun 13 Dec, 16:00"


@pytest.mark.parametrize("day, ja, en", [
    (date(2026, 11, 23), "2026年11月23日(月)", "Mon 23 Nov 2026"),
    (date(2026, 11, 29), "2026年11月29日(日)", "Sun 29 Nov 2026"),
])
def test_weekdays(day, ja, en):
    assert formatting.format_day(day) == ja
    assert formatting.format_day(day, "en") == en
    assert formatting.format_day(day, "en-US") == en


@pytest.mark.parametrize("amount, ja, en", [
    (300, "300円", "¥300"),
    (0, "0円", "¥0"),
    (2000, "2,000円", "¥2,000"),
    (1_000_000, "1,000,000円", "¥1,000,000"),
    (-300, "-300円", "-¥300"),
])
def test_yen(amount, ja, en):
    assert formatting.format_yen(amount) == ja
    assert formatting.format_yen(amount, "en") == en


def test_yen_of_nothing_is_empty():
    assert formatting.format_yen(None) == ""


def test_the_yen_pattern_is_what_format_yen_writes():
    """The scanner formats yen in JavaScript with the same pattern (templates: yen_pattern)."""
    for lang in ("ja", "en"):
        pattern = formatting.YEN_PATTERNS[lang]
        assert pattern % {"amount": "1,000"} == formatting.format_yen(1000, lang)


def test_lists_in_running_text_per_language():
    assert formatting.join_list(["こども", "おとな"]) == "こども、おとな"
    assert formatting.join_list(["egg", "milk", "wheat"], "en") == "egg, milk, wheat"
    assert formatting.join_list([], "en") == ""
    assert formatting.list_separator("en-GB") == ", "


@pytest.mark.parametrize(("lang", "html", "text"), [
    ("ja", "卵、&lt;乳&gt;", "卵、<乳>"),
    ("en", "Egg, &lt;Milk&gt;", "Egg, <Milk>"),
])
def test_the_join_list_filter_escapes_in_html_only(app, lang, html, text):
    from gathering.i18n import speaking

    names = {"egg": {"ja": "卵", "en": "Egg"}, "milk": {"ja": "<乳>", "en": "<Milk>"}}
    env = app.jinja_env
    with app.test_request_context(), speaking(lang):
        label = lambda code: names[code][lang]  # noqa: E731
        page = env.from_string("{% autoescape true %}{{ codes|join_list(label) }}"
                               "{% endautoescape %}")
        mail = env.from_string("{% autoescape false %}{{ codes|join_list(label) }}"
                               "{% endautoescape %}")
        assert page.render(codes=["egg", "milk"], label=label) == html
        assert mail.render(codes=["egg", "milk"], label=label) == text


def test_phone_filter():
    assert formatting.format_phone("09012345678") == "090-1234-5678"
    assert formatting.format_phone(None) == ""


@pytest.mark.parametrize("hostile", [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    '<img src=x onerror="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    "<iframe src=https://evil.example></iframe>",
    '<p style="background:url(javascript:alert(1))" onclick="alert(1)">x</p>',
    "<svg><script>alert(1)</script></svg>",
])
def test_markdown_keeps_no_script(hostile):
    html = str(render_markdown(hostile)).lower()
    assert "<script" not in html
    assert "javascript:" not in html
    assert "onerror" not in html and "onclick" not in html
    assert "<iframe" not in html and "style=" not in html


def test_markdown_keeps_formatting_and_safe_links():
    html = str(render_markdown("**無料**\n\n- こども\n- おとな\n\n[地図](https://example.org/map)"))
    assert "<strong>無料</strong>" in html
    assert "<li>こども</li>" in html
    assert 'href="https://example.org/map"' in html
    assert "noopener" in html
    assert render_markdown("") == ""
    assert render_markdown(None) == ""
