"""The door in a real Chromium: the ticket screen's cash form and the scanner's cards.

The scanner is fed ticket URLs through ``window.tsudoiScanner.handle`` (what the camera loop
calls with each decoded QR code), so no fake camera is needed here.
"""

from __future__ import annotations

import contextlib

import pytest
import sqlalchemy as sa

from gathering.checkin.models import CheckIn
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment
from tests.browser.helpers import checked_in_times, login

pytestmark = pytest.mark.browser

TIMEOUT = 30_000  # generous for a slow CI machine; not an assertion on speed




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

    login(phone, base, email)
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

    login(phone, base, email)
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

    login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=2)
    phone.context.set_offline(True)
    text = _scan(phone, urls[0])
    assert "参加費 300円" in text, text
    phone.evaluate("() => { document.getElementById('scan-result').innerHTML = ''; }")
    text = _scan(phone, urls[1])
    assert "参加費" not in text, text  # paid beforehand: nothing to take at the door
    phone.context.set_offline(False)


def _search(page, text: str) -> str:
    page.fill("#manual-q", text)
    page.press("#manual-q", "Enter")
    summary = page.locator("#manual-summary")
    page.wait_for_function("() => document.getElementById('manual-summary').textContent",
                           timeout=TIMEOUT)
    return summary.inner_text()


def test_scanner_search_finds_a_party_without_signal_and_admits_it(
        live_server, phone, door, make_registration):
    """No ticket and no network: the name is found in the saved list, told apart from a
    family of the same name, admitted with one tap, and sent when the signal is back."""
    hanako, _ = make_registration(door.event)
    taro, _ = make_registration(door.event, given_name="太郎", kana=("ヤマダ", "タロウ"),
                                phone="08055550000", people=("adult",))
    make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"))
    make_registration(door.event, family_name="髙橋", kana=("タカハシ", "ハナコ"))
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email
    hanako_id, taro_id = hanako.id, taro.id
    db.session.commit()  # never hold the SQLite write lock while the server works

    login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=4)
    phone.context.set_offline(True)
    # the everyday 高 typed finds the 髙 a parent wrote
    _search(phone, "高橋")
    assert phone.locator("#manual-results button").all_inner_texts()[0].startswith("髙橋")
    # hiragana finds the katakana フリガナ, as the server's search does; the page stays put
    summary = _search(phone, "やまだ")
    assert "2件" in summary, summary
    names = phone.locator("#manual-results button").all_inner_texts()
    assert len(names) == 2 and all("山田" in n for n in names), names
    assert names[0].startswith("山田太郎"), names  # あいうえお order of フリガナ: タロウ < ハナコ
    assert phone.url.endswith("/scanner")

    phone.locator("#manual-results button", has_text="花子").click()
    card = phone.locator(".result-card.is-found")
    assert "まだ受付していません" in card.inner_text() and "山田花子" in card.inner_text()
    assert not any(checked_in_times(hanako_id))  # choosing is not admitting
    card.locator("button", has_text="受付する").click()
    phone.locator('#scanner[data-pending="1"]').wait_for(state="attached", timeout=TIMEOUT)
    assert phone.locator("#manual-results").is_hidden()

    # a phone's last digits cannot be searched offline: the list holds no phone numbers
    summary = _search(phone, "0000")
    assert "電話番号" in summary, summary
    assert phone.url.endswith("/scanner")

    phone.context.set_offline(False)
    phone.locator('#scanner[data-pending="0"]').wait_for(state="attached", timeout=TIMEOUT)
    assert all(checked_in_times(hanako_id)) and len(checked_in_times(hanako_id)) == 2
    assert not any(checked_in_times(taro_id))


def test_scanner_search_asks_the_server_for_what_the_list_cannot_answer(
        live_server, phone, door, make_registration):
    """Online, the last digits of a phone go to the server's door search."""
    make_registration(door.event, phone="08055554321")
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email
    db.session.commit()

    login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=1)
    phone.fill("#manual-q", "4321")
    with phone.expect_navigation(timeout=TIMEOUT):
        phone.press("#manual-q", "Enter")
    assert f"/door/events/{event_id}?q=4321" in phone.url
    assert "山田花子" in phone.locator(".results").inner_text()


def _check_ins() -> int:
    db.session.expire_all()
    count = db.session.scalar(sa.select(sa.func.count(CheckIn.id)))
    db.session.commit()  # never hold the SQLite write lock while the server works
    return count


def _scanner_for(phone, live_server, door, reg, cached: int = 1) -> tuple[str, int]:
    """The door volunteer's scanner open with its saved list: (reg's ticket URL, reg's id)."""
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email
    url, reg_id = f"{base}/c/{reg.ticket_token}", reg.id
    db.session.commit()  # never hold the SQLite write lock while the server works
    login(phone, base, email)  # (nothing read from the session after the commit)
    _open_scanner(phone, base, event_id, cached=cached)
    return url, reg_id


def test_scanner_keeps_a_queued_check_in_the_server_did_not_take(live_server, phone, door,
                                                                  make_registration):
    """A proxy's 502 on reconnect is no answer: the check-in stays queued and is sent
    again, and the offline card then says everything was sent."""
    reg, _ = make_registration(door.event)
    url, reg_id = _scanner_for(phone, live_server, door, reg)
    phone.context.set_offline(True)
    assert "オフライン" in _scan(phone, url)
    # queued before the network returns (the card may show a moment before the count)
    phone.locator('#scanner[data-pending="1"]').wait_for(state="attached", timeout=TIMEOUT)
    answered = []

    def first_bad_gateway(route):
        if not answered:
            answered.append(route.request.method)
            route.fulfill(status=502, content_type="text/html", body="<h1>Bad Gateway</h1>")
        else:
            route.continue_()

    phone.route("**/api/v1/checkins", first_bad_gateway)
    phone.context.set_offline(False)
    phone.locator('#scanner[data-pending="0"]').wait_for(state="attached", timeout=TIMEOUT)
    assert answered == ["POST"]
    assert all(checked_in_times(reg_id)) and _check_ins() == 2
    card = phone.locator(".result-card.is-ok")
    card.locator(".synced").wait_for(timeout=TIMEOUT)
    assert "すべて送信しました。" in card.inner_text()
    assert "あとで送信します" not in card.inner_text()


def test_scanner_waits_as_long_as_a_busy_server_asks(live_server, phone, door,
                                                     make_registration):
    """429 with Retry-After: the queue is kept and not sent again before that time."""
    reg, _ = make_registration(door.event)
    url, reg_id = _scanner_for(phone, live_server, door, reg)
    phone.context.set_offline(True)
    _scan(phone, url)
    tries = []

    def busy(route):
        tries.append(route.request.method)
        route.fulfill(status=429, content_type="application/json", headers={"Retry-After": "120"},
                      body='{"error": {"code": "rate_limited", "message": "Too many."}}')

    phone.route("**/api/v1/checkins", busy)
    phone.context.set_offline(False)
    phone.wait_for_function("() => window.tsudoiScanner.retryAt() > 0", timeout=TIMEOUT)
    wait_ms = phone.evaluate("() => window.tsudoiScanner.retryAt() - Date.now()")
    assert 100_000 < wait_ms <= 120_000, wait_ms  # not the 3 s of its own backoff
    assert tries == ["POST"]
    assert phone.locator("#scanner").get_attribute("data-pending") == "1"
    assert not any(checked_in_times(reg_id))


def test_a_scan_the_server_fails_on_does_not_hold_up_the_others(live_server, phone, door,
                                                                make_registration):
    """A 500 for one queued ticket: it goes to the back and the scans behind it are sent."""
    broken, _ = make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"))
    fine, _ = make_registration(door.event)
    broken_token, fine_token, fine_id = broken.ticket_token, fine.ticket_token, fine.id
    broken_url, broken_id = _scanner_for(phone, live_server, door, broken, cached=2)
    fine_url = broken_url.replace(broken_token, fine_token)
    phone.context.set_offline(True)
    _scan(phone, broken_url)
    _scan(phone, fine_url)
    assert phone.locator("#scanner").get_attribute("data-pending") == "2"

    def fail_one(route):
        if broken_token in (route.request.post_data or ""):
            route.fulfill(status=500, content_type="text/html", body="<h1>Server Error</h1>")
        else:
            route.continue_()

    phone.route("**/api/v1/checkins", fail_one)
    phone.context.set_offline(False)
    phone.locator('#scanner[data-pending="1"]').wait_for(state="attached", timeout=TIMEOUT)
    assert all(checked_in_times(fine_id)) and not any(checked_in_times(broken_id))
    assert [q["token"] for q in phone.evaluate("() => window.tsudoiScanner.queue()")] == [
        broken_token]


def test_scanner_queues_an_admission_that_stalls(live_server, phone, door, make_registration):
    """Online but the request never answers: after a few seconds the party is admitted
    offline, and the queue sends it (the same nonce) once the network carries it."""
    reg, _ = make_registration(door.event)
    url, reg_id = _scanner_for(phone, live_server, door, reg)
    hold, stalled = [True], []

    def stall(route):
        if hold[0]:
            stalled.append(route)  # never answered: a weak signal
        else:
            route.continue_()

    phone.route("**/api/v1/checkins", stall)
    phone.evaluate("url => window.tsudoiScanner.handle(url)", url)
    phone.locator(".result-card.is-wait").wait_for(timeout=TIMEOUT)
    card = phone.locator(".result-card.is-ok")
    card.wait_for(timeout=8000)  # POST_MS is 5 s
    assert "オフライン" in card.inner_text()
    assert phone.locator("#scanner").get_attribute("data-pending") == "1"
    assert not any(checked_in_times(reg_id))

    hold[0] = False
    for route in stalled:  # the browser gave up on them: let them end
        with contextlib.suppress(Exception):
            route.abort()
    phone.locator('#scanner[data-pending="0"]').wait_for(state="attached", timeout=TIMEOUT)
    assert all(checked_in_times(reg_id)) and _check_ins() == 2
    assert len(stalled) >= 1


def test_scanner_shows_an_offline_scan_refused_once_sent(live_server, phone, door,
                                                         make_event, make_registration):
    """「通信が戻ったら確認します」: a ticket of another event scanned offline is listed under
    「確認が必要」 with the server's reason when the network is back."""
    other = make_event(door.branch, title="夏まつり")
    reg, _ = make_registration(other)
    make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"))
    url, reg_id = _scanner_for(phone, live_server, door, reg)
    phone.context.set_offline(True)
    _scan(phone, url, kind="warn")  # not in the saved list: checked when the network is back
    phone.context.set_offline(False)
    phone.locator('#scanner[data-pending="0"]').wait_for(state="attached", timeout=TIMEOUT)
    review = phone.locator("#needs-check")
    review.wait_for(timeout=TIMEOUT)
    text = review.inner_text()
    assert "確認が必要" in text and "夏まつり" in text and "別の" in text, text
    assert "夏まつり" in phone.locator(".result-card.is-bad").inner_text()
    assert not any(checked_in_times(reg_id))

    phone.reload()  # kept on the phone until the volunteer clears it
    review.wait_for(timeout=TIMEOUT)
    review.locator("button").click()
    assert review.is_hidden()


def test_scanner_card_of_a_cancelled_party_says_so(live_server, phone, door,
                                                   make_registration):
    gone, _ = make_registration(door.event, status="cancelled")
    url, _ = _scanner_for(phone, live_server, door, gone)
    text = _scan(phone, url, kind="bad")
    assert "キャンセル済み" in text and "0人" not in text, text
    assert phone.locator("#manual-results").is_hidden()


def test_scanner_asks_to_log_in_again_and_keeps_the_queue(live_server, phone, door,
                                                          make_registration):
    reg, _ = make_registration(door.event)
    url, reg_id = _scanner_for(phone, live_server, door, reg)
    phone.context.set_offline(True)
    _scan(phone, url)
    phone.route("**/api/v1/checkins", lambda route: route.fulfill(
        status=401, content_type="application/json",
        body='{"error": {"code": "unauthorized", "message": "Please log in."}}'))
    phone.context.set_offline(False)
    note = phone.locator("#login-again")
    note.wait_for(timeout=TIMEOUT)
    assert "ログイン" in note.inner_text()
    assert phone.locator("#scanner").get_attribute("data-pending") == "1"
    phone.unroute("**/api/v1/checkins")
    phone.reload()  # as after logging in again: the queue is still on the phone
    phone.locator('#scanner[data-pending="0"]').wait_for(state="attached", timeout=TIMEOUT)
    assert all(checked_in_times(reg_id))


def test_the_english_scanner_card_joins_counts_and_writes_yen_in_english(
        live_server, phone, door, make_registration):
    """Before: 「Child、Adult」, "Egg、Milk", "1 people", the kana in （）, "Due: 300 yen"."""
    door.event.fees[0].label, door.event.fees[1].label = "Child", "Adult"
    browns, _ = make_registration(door.event, family_name="Brown", given_name="Amy",
                                  kana=("ブラウン", "エイミー"), allergens={0: ["egg", "milk"]})
    lee, _ = make_registration(door.event, family_name="Lee", given_name="Sam",
                               kana=("リー", "サム"), people=("adult",))
    base, event_id, email = live_server.url, door.event.id, door.volunteer.email
    urls = [f"{base}/c/{reg.ticket_token}" for reg in (browns, lee)]
    db.session.commit()  # never hold the SQLite write lock while the server works

    phone.context.add_cookies([{"name": "lang", "value": "en", "url": base}])
    login(phone, base, email)
    _open_scanner(phone, base, event_id, cached=2)
    phone.context.set_offline(True)
    text = _scan(phone, urls[0])
    assert "(ブラウン エイミー)" in text and "（" not in text, text
    assert "2 people · Child, Adult" in text, text
    assert "Egg, Milk" in text, text
    assert "Due: ¥300" in text and "yen" not in text, text
    assert "、" not in text, text
    phone.evaluate("() => { document.getElementById('scan-result').innerHTML = ''; }")
    text = _scan(phone, urls[1])
    assert "1 person" in text and "1 people" not in text, text
    phone.context.set_offline(False)
