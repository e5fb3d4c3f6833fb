"""What the money pages say, in Japanese and in English: yen as ¥700 in English, names in
English order, and a receipt box on the manage page that says what is true."""

from __future__ import annotations

import re

import pytest

from gathering.extensions import db
from gathering.fees import services as fees


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', page, re.S))


@pytest.fixture
def browns(cafeteria, make_registration, admit, now, organizer):
    """Amy Brown's party (姓 Brown, 名 Amy), both in, the adult's 300円 paid in cash."""
    reg, token = make_registration(cafeteria, people=("child", "adult"), family_name="Brown",
                                   given_name="Amy", kana=("ブラウン", "エイミー"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, cash_tendered=1000)
    db.session.commit()
    return reg, token


@pytest.mark.parametrize(("lang", "over", "short"), [
    ("en", "The till has ¥700 more than the ledger.", "The till is ¥100 short of the ledger."),
    ("ja", "現金が台帳より700円多くなっています。", "現金が台帳より100円不足しています。")])
def test_the_cash_count_flash_writes_yen_in_the_pages_language(client, auth, cafeteria,
                                                               browns, organizer, lang, over,
                                                               short):
    auth.login(organizer)
    client.set_cookie("lang", lang)
    url = f"/organizer/events/{cafeteria.id}/money/cash-counts"
    page = _text(client.post(url, data={"volunteer_id": 0, "counted": "1000",
                                        "float_amount": "0"}, follow_redirects=True))
    assert over in _flash(page)
    page = _text(client.post(url, data={"volunteer_id": 0, "counted": "200",
                                        "float_amount": "0"}, follow_redirects=True))
    assert short in _flash(page)
    if lang == "en":
        assert "円" not in _flash(page)


@pytest.mark.parametrize(("lang", "choice"), [
    ("en", "Amy Brown (no. %d): due ¥300, paid ¥300"),
    ("ja", "Brown Amy（No.%d）請求 300円・支払済み 300円")])
def test_the_sign_up_choices_write_yen_and_names_in_the_pages_language(
        client, auth, cafeteria, browns, organizer, lang, choice):
    reg, _ = browns
    auth.login(organizer)
    client.set_cookie("lang", lang)
    page = _text(client.get(f"/organizer/events/{cafeteria.id}/money"))
    assert choice % reg.id in page
    assert "円円" not in page


def test_english_money_page_and_receipt_put_the_given_name_first(client, auth, cafeteria,
                                                                 browns, organizer):
    reg, token = browns
    auth.login(organizer)
    client.set_cookie("lang", "en")
    page = _text(client.get(f"/organizer/events/{cafeteria.id}/money"))
    assert "<td>Amy Brown" in page and "Brown Amy" not in page
    page = _text(client.get(f"/organizer/registrations/{reg.id}/receipt"))
    assert "<dd>Amy Brown</dd>" in page and 'value="Amy Brown"' in page
    # the resident's own receipt page, in English
    resident = _text(client.get(f"/r/{token}/receipt?lang=en"))
    assert 'value="Amy Brown"' in resident
    response = client.post(f"/r/{token}/receipt", data={"addressee": "Amy Brown"})
    assert response.status_code == 302
    assert "To Amy Brown" in _text(client.get(response.location))


# ---------------------------------------------------------------------------------------
# The receipt box of the manage page


def _box(client, token: str, lang: str = "ja") -> str:
    page = _text(client.get(f"/r/{token}?lang={lang}"))
    match = re.search(r'<section class="manage-receipt".*?</section>', page, re.S)
    return match[0] if match else ""


def test_a_free_sign_up_has_no_receipt_box(client, cafeteria, make_registration):
    _reg, token = make_registration(cafeteria, people=("child",))  # こども 0円
    assert _box(client, token) == ""
    assert _box(client, token, "en") == ""


@pytest.mark.parametrize(("lang", "said"), [
    ("ja", "お金を払ったあと、ここで領収書をもらえます。"),
    ("en", "After you pay, you can get a receipt here.")])
def test_before_paying_the_box_says_after_you_pay(client, cafeteria, make_registration, lang,
                                                  said):
    _reg, token = make_registration(cafeteria, people=("adult",))
    box = _box(client, token, lang)
    assert said in box
    assert f"/r/{token}/receipt" not in box  # nothing to get yet


@pytest.mark.parametrize(("lang", "paid", "issued", "show"), [
    ("ja", "お支払いが済んでいるので、ここで領収書をもらえます。", "を%sに発行しました。",
     "領収書を見る"),
    ("en", "You have paid, so you can get a receipt here.", "was issued on %s.",
     "Show the receipt")])
def test_once_paid_the_box_offers_the_receipt_then_says_it_was_issued(
        client, cafeteria, browns, lang, paid, issued, show):
    _reg, token = browns
    box = _box(client, token, lang)
    assert paid in box and "After you pay" not in box and "払ったあと" not in box
    assert f'href="/r/{token}/receipt"' in box
    client.post(f"/r/{token}/receipt", data={"addressee": "Amy Brown"})
    box = _box(client, token, lang)
    [receipt] = fees.list_receipts(db.session, _reg)
    from gathering.formatting import format_day
    assert issued % format_day(receipt.issued_on, lang) in box and receipt.number in box
    assert show in box and f'href="/r/{token}/receipt/view"' in box
    assert paid not in box


@pytest.mark.parametrize(("lang", "waiver", "refund"), [
    ("en", "You can waive at most ¥0, what is still owed.",
     "A refund cannot be more than what was paid (¥300)."),
    ("ja", "免除できるのは未払いの0円までです。", "返金は支払われた金額（300円）より多くできません。")])
def test_waiver_and_refund_refusals_write_yen_in_the_pages_language(app, browns, organizer,
                                                                    lang, waiver, refund):
    reg, _ = browns
    with app.test_request_context(headers={"Accept-Language": lang}):
        with pytest.raises(fees.Conflict) as waived:
            fees.waive(db.session, reg, 100, reason="免除", user=organizer)
        assert str(waived.value.message) == waiver
        with pytest.raises(fees.Conflict) as refunded:
            fees.record_refund(db.session, reg, 500, user=organizer)
        assert str(refunded.value.message) == refund
