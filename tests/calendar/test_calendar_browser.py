"""The subscribe page on a phone in real Chromium: readable at 390 px, links that calendar
apps open, and no accessibility violations (axe-core)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gathering.extensions import db

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def test_subscribe_page_on_a_phone(live_server, phone, make_branch):
    branch = make_branch(slug="asahikawa", name="あさひかわ子ども食堂の会")
    db.session.commit()  # the server thread reads through its own connection
    phone.goto(live_server.url + f"/branches/{branch.slug}")
    phone.get_by_role("link", name="追加のしかた").click()
    phone.wait_for_load_state()
    assert phone.url.endswith(f"/calendar?branch={branch.slug}")
    assert phone.get_by_role("heading", level=1).inner_text() == "カレンダーに追加"
    first = phone.locator(".feed").first
    assert first.get_by_role("link").get_attribute("href") == (
        f"webcal://127.0.0.1:{live_server.port}/calendar/branches/{branch.slug}.ics")
    url_box = first.get_by_role("textbox")
    assert url_box.input_value() == f"{live_server.url}/calendar/branches/{branch.slug}.ics"
    # nothing wider than the phone
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    # the steps for Google Calendar and the iPhone are there, in Japanese
    text = phone.locator("main").inner_text()
    assert "Googleカレンダーの場合" in text and "iPhoneの場合" in text
    # a group's feed opens from its summary
    phone.get_by_text(branch.name, exact=True).first.click()
    if not AXE.exists():
        pytest.skip("node_modules/axe-core is missing (npm ci)")
    phone.add_script_tag(path=str(AXE))
    result = phone.evaluate("axe.run()")
    assert result["violations"] == [], [v["id"] for v in result["violations"]]
