"""The door in a real Chromium: the ticket screen's cash form and the scanner's cards.

The scanner is fed ticket URLs through ``window.tsudoiScanner.handle`` (what the camera loop
calls with each decoded QR code), so no fake camera is needed here.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

TIMEOUT = 30_000  # generous for a slow CI machine; not an assertion on speed


def _login(page, base: str, email: str) -> None:
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state()


def _open_scanner(page, base: str, event_id: int, cached: int) -> None:
    page.goto(f"{base}/door/events/{event_id}/scanner")
    page.locator(f'#scanner[data-cached="{cached}"]').wait_for(state="attached",
                                                              timeout=TIMEOUT)


def _scan(page, url: str, kind: str = "ok") -> str:
    page.evaluate("url => window.tsudoiScanner.handle(url)", url)
    card = page.locator(f".result-card.is-{kind}")
    card.wait_for(timeout=TIMEOUT)
    return card.inner_text()


def test_enter_in_the_other_amount_records_what_was_typed(live_server, phone, door,
                                                          make_registration):
    reg, _ = make_registration(door.event)
    base, email = live_server.url, door.volunteer.email
    ticket = f"{base}/c/{reg.ticket_token}?event={door.event.id}"
    db.session.commit()  # never hold the SQLite write lock while the server works

    _login(phone, base, email)
    phone.goto(ticket)
    with phone.expect_navigation():
        phone.locator("button[name=all]").click()
    phone.fill("#tendered-other", "2000")
    with phone.expect_navigation():
        phone.press("#tendered-other", "Enter")  # a phone keyboard's Go key
    flash = phone.locator(".flash").inner_text()
    assert "お釣り 1,700円" in flash, flash
    db.session.expire_all()
    [payment] = db.session.scalars(sa.select(Payment))
    assert (payment.amount, payment.cash_tendered) == (300, 2000)
    db.session.commit()  # never hold the SQLite write lock while the server works


def test_scanner_names_fee_categories_by_their_labels(live_server, phone, door,
                                                      make_registration):
    cached, _ = make_registration(door.event)
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email

    cached_url = f"{base}/c/{cached.ticket_token}"
    db.session.commit()  # never hold the SQLite write lock while the server works

    _login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=1)
    # a party that signed up after the list was saved: not in the phone's cache
    fresh, _ = make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"))
    fresh_url = f"{base}/c/{fresh.ticket_token}"
    db.session.commit()
    for url in (fresh_url, cached_url):
        text = _scan(phone, url)
        assert "こども、おとな" in text, text
        assert "child" not in text and "adult" not in text, text
        phone.evaluate("() => { document.getElementById('scan-result').innerHTML = ''; }")


def test_scanner_offline_shows_what_the_party_will_owe(live_server, phone, door,
                                                       make_registration):
    owes, _ = make_registration(door.event)
    prepaid, _ = make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"),
                                   people=("adult",))
    fees.record_payment(db.session, prepaid, 300, "cash", user=door.organizer)
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email
    urls = [f"{base}/c/{reg.ticket_token}" for reg in (owes, prepaid)]
    db.session.commit()  # never hold the SQLite write lock while the server works

    _login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=2)
    phone.context.set_offline(True)
    text = _scan(phone, urls[0])
    assert "参加費 300円" in text, text
    phone.evaluate("() => { document.getElementById('scan-result').innerHTML = ''; }")
    text = _scan(phone, urls[1])
    assert "参加費" not in text, text  # paid beforehand: nothing to take at the door
    phone.context.set_offline(False)
