"""The money page and a receipt in a real Chromium: readable on a phone, accessible, and a
receipt that prints on a 58 mm roll."""

from __future__ import annotations

import io
from pathlib import Path

import pypdf
import pytest

from gathering.extensions import db
from gathering.fees import services as fees
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def _axe(page) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `npm ci` (make setup)")
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    return [f"{v['id']}: {v['help']}" for v in result["violations"]]


@pytest.fixture
def day(cafeteria, make_registration, admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, cash_tendered=1000)
    receipt = fees.issue_receipt(db.session, reg, user=organizer)
    db.session.commit()
    ids = {"event": cafeteria.id, "receipt": receipt.id, "email": organizer.email}
    db.session.rollback()  # hold no SQLite lock while the live server works
    return ids


def _login(page, base, email):
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state("load")


def test_money_page_on_a_phone(live_server, phone, day):
    _login(phone, live_server.url, day["email"])
    phone.goto(f"{live_server.url}/organizer/events/{day['event']}/money")
    assert "300円" in phone.locator(".money-summary").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    assert _axe(phone) == []
    assert phone.locator("#record").is_visible()


def test_receipt_prints_on_a_58mm_roll(live_server, phone, day):
    _login(phone, live_server.url, day["email"])
    phone.goto(f"{live_server.url}/organizer/receipts/{day['receipt']}?paper=58")
    assert "¥300-" in phone.locator(".receipt").inner_text()
    assert _axe(phone) == []
    phone.emulate_media(media="print")
    assert not phone.locator(".site-header").is_visible()
    pdf = phone.pdf(prefer_css_page_size=True)
    page = pypdf.PdfReader(io.BytesIO(pdf)).pages[0]
    assert round(float(page.mediabox.width) / 72 * 25.4) == 58
    assert "¥300-" in page.extract_text()
