"""The organizer's past events page in a real Chromium on the narrowest phone (360×640):
readable, accessible, nothing scrolls sideways."""

from __future__ import annotations

import pytest

from tests.fees.test_browser import NARROW, _axe, _login, narrow  # noqa: F401
from tests.organizer.test_past_events import group, past_month  # noqa: F401

pytestmark = pytest.mark.browser


def test_past_events_page_fits_a_phone(live_server, narrow, group, past_month):  # noqa: F811
    email = group["organizer"].email
    from gathering.extensions import db

    db.session.commit()  # hold no SQLite lock while the live server works
    _login(narrow, live_server.url, email)
    narrow.goto(f"{live_server.url}/organizer/past")
    assert "十一月の子ども食堂" in narrow.locator("table.list").inner_text()
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert _axe(narrow) == []
