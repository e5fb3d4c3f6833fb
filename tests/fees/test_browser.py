"""The money page and a receipt in a real Chromium: readable on a phone, accessible, and a
receipt that prints on a 58 mm roll."""

from __future__ import annotations

import io
from datetime import timedelta
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


NARROW = {"width": 360, "height": 640}

#: the width (in em of the cell's own font) under which a title prints a few characters a
#: line; the squeezed column of the bug was 41px, under 3em
MIN_TEXT_EM = 6

_CELL_EM = """sel => [...document.querySelectorAll(sel)].map(cell => {
    const size = parseFloat(getComputedStyle(cell).fontSize);
    return cell.getBoundingClientRect().width / size;
})"""


@pytest.fixture
def narrow(browser):
    """The narrowest phone of the browser tests (360×640)."""
    context = browser.new_context(viewport=NARROW, device_scale_factor=2, is_mobile=True,
                                  has_touch=True, locale="ja-JP", bypass_csp=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def busy_month(cafeteria, make_event, make_registration, admit, now, organizer):
    """December 2026 as the demo has it: cafeterias with long titles, a screening called
    off, families who came and paid in cash or by transfer, a count of the till."""
    events = [cafeteria]
    for days, title in [(3, "あさひかわ子ども食堂 クリスマス会（予約優先・当日参加も歓迎）"),
                        (7, "みんな食堂・おとな食堂 年末スペシャル"),
                        (14, "上映会「となりのトトロ」と親子で語る会")]:
        events.append(make_event(cafeteria.branch, title=title,
                                 starts_at=cafeteria.starts_at + timedelta(days=days)))
    for i, event in enumerate(events):
        for j in range(3):
            reg, _ = make_registration(event, people=("child", "child", "adult"),
                                       family_name=f"山田{i}{j}")
            admit(reg, now)
            fees.record_payment(db.session, reg, 300, "cash" if j else "bank_transfer",
                                user=organizer, received_on=now.date() if not j else None)
    fees.record_cash_count(db.session, cafeteria, 1600, float_amount=1000, user=organizer)
    events[-1].status = "cancelled"
    db.session.commit()
    ids = {"event": cafeteria.id, "email": organizer.email}
    db.session.rollback()  # hold no SQLite lock while the live server works
    return ids


def test_month_money_is_readable_at_360px(live_server, narrow, busy_month):
    _login(narrow, live_server.url, busy_month["email"])
    narrow.goto(f"{live_server.url}/organizer/money?month=2026-12")
    assert "クリスマス会" in narrow.locator("table.money").inner_text()
    widths = narrow.evaluate(_CELL_EM, "table.money tbody td:first-child")
    assert len(widths) == 4 and min(widths) >= MIN_TEXT_EM, widths
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    # the table scrolls in its own box instead of the page
    wrap = narrow.locator(".table-wrap").first
    assert wrap.evaluate("el => el.scrollWidth > el.clientWidth")
    assert _axe(narrow) == []


def test_event_money_tables_are_readable_at_360px(live_server, narrow, busy_month):
    _login(narrow, live_server.url, busy_month["email"])
    narrow.goto(f"{live_server.url}/organizer/events/{busy_month['event']}/money")
    for selector in ("#cash table.money tbody th:first-child",
                     "#parties-title ~ .table-wrap tbody td:first-child",
                     "#ledger table.money tbody td:nth-child(2)"):
        widths = narrow.evaluate(_CELL_EM, selector)
        assert widths and min(widths) >= MIN_TEXT_EM, (selector, widths)
    assert narrow.evaluate("document.documentElement.scrollWidth") <= NARROW["width"]
    assert _axe(narrow) == []
