"""The money pages, CSV exports and receipt pages, through the test client."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pypdf
import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import CashCount, Payment, Receipt


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


@pytest.fixture
def paid_party(cafeteria, make_registration, admit, now, organizer):
    reg, token = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, cash_tendered=1000)
    db.session.commit()
    return reg, token


# ---------------------------------------------------------------------------------------
# Access


def _urls(event, reg, receipt):
    return [f"/organizer/events/{event.id}/money",
            f"/organizer/events/{event.id}/money/ledger.csv",
            f"/organizer/events/{event.id}/money/balances.csv",
            f"/organizer/registrations/{reg.id}/receipt",
            f"/organizer/receipts/{receipt.id}"]


def test_pages_need_a_login(client, cafeteria, paid_party):
    reg, _ = paid_party
    receipt = fees.issue_receipt(db.session, reg)
    db.session.commit()
    for url in [*_urls(cafeteria, reg, receipt), "/organizer/money"]:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.location, url


def test_another_branch_is_refused(client, auth, cafeteria, paid_party, stranger):
    reg, _ = paid_party
    receipt = fees.issue_receipt(db.session, reg)
    db.session.commit()
    auth.login(stranger)
    for url in _urls(cafeteria, reg, receipt):
        assert client.get(url).status_code == 403, url
    response = client.post(f"/organizer/events/{cafeteria.id}/money/entries",
                           data={"registration_id": reg.id, "kind": "cash", "amount": "300"})
    assert response.status_code == 403
    assert client.get("/organizer/money?branch=asahi").status_code == 404
    assert _count(Payment) == 1


def test_volunteer_issues_receipts_but_sees_no_money_page(client, auth, cafeteria, paid_party,
                                                          volunteer):
    reg, _ = paid_party
    auth.login(volunteer)
    assert client.get(f"/organizer/events/{cafeteria.id}/money").status_code == 403
    assert client.get("/organizer/money").status_code == 403
    page = client.get(f"/organizer/registrations/{reg.id}/receipt")
    assert page.status_code == 200
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "山田花子", "proviso": ""})
    assert response.status_code == 302
    receipt = db.session.scalar(sa.select(Receipt))
    assert response.location.endswith(f"/organizer/receipts/{receipt.id}")
    assert receipt.issued_by_id == volunteer.id


def test_unknown_ids_are_404(client, auth, organizer):
    auth.login(organizer)
    for url in ["/organizer/events/99999/money", "/organizer/registrations/99999/receipt",
                "/organizer/receipts/99999", "/organizer/receipts/99999.pdf"]:
        assert client.get(url).status_code == 404, url


# ---------------------------------------------------------------------------------------
# The money page of an event


def test_money_page_shows_summary_ledger_and_change(client, auth, cafeteria, paid_party,
                                                    organizer):
    auth.login(organizer)
    page = client.get(f"/organizer/events/{cafeteria.id}/money")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "山田花子" in html
    assert "300円" in html and "700円" in html  # paid 300, change 700 from 1,000
    assert "お釣り" in html or "change" in html
    assert 'href="/static/css/fees.css"' in html


def test_organizer_event_page_links_to_money(client, auth, cafeteria, organizer):
    auth.login(organizer)
    html = client.get(f"/organizer/events/{cafeteria.id}").get_data(as_text=True)
    assert f"/organizer/events/{cafeteria.id}/money" in html


def _entry(client, event, **data):
    data.setdefault("nonce", "form-1")
    return client.post(f"/organizer/events/{event.id}/money/entries", data=data)


def test_record_bank_transfer_then_double_submit_records_once(client, auth, cafeteria,
                                                              make_registration, organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    auth.login(organizer)
    data = {"registration_id": reg.id, "kind": "bank_transfer", "amount": "３００",
            "received_on": "2026-11-20", "reference": "ﾔﾏﾀﾞﾊﾅｺ"}
    response = _entry(client, cafeteria, **data)
    assert response.status_code == 302
    assert _entry(client, cafeteria, **data).status_code == 302
    rows = list(db.session.scalars(sa.select(Payment)))
    assert len(rows) == 1
    assert (rows[0].amount, rows[0].method, rows[0].reference) == (300, "bank_transfer",
                                                                    "ヤマダハナコ")


def test_refund_and_waiver_through_the_form(client, auth, cafeteria, paid_party, organizer,
                                            make_registration, admit, now):
    reg, _ = paid_party
    auth.login(organizer)
    assert _entry(client, cafeteria, registration_id=reg.id, kind="refund", amount="100",
                  refund_method="cash", reason="過払い", nonce="r1").status_code == 302
    other, _ = make_registration(cafeteria, people=("adult",))
    admit(other, now)
    response = _entry(client, cafeteria, registration_id=other.id, kind="waived", amount="300",
                      nonce="w1")
    assert response.status_code == 422  # no reason
    assert "理由" in response.get_data(as_text=True)
    assert _entry(client, cafeteria, registration_id=other.id, kind="waived", amount="300",
                  reason="減免", nonce="w2").status_code == 302
    amounts = sorted(db.session.scalars(sa.select(Payment.amount)))
    assert amounts == [-100, 300, 300]


@pytest.mark.parametrize("amount", ["", "-300", "1.5", "abc", "9" * 10_000, "<script>"])
def test_bad_amounts_in_the_form_are_shown_and_nothing_stored(client, auth, cafeteria,
                                                              make_registration, organizer,
                                                              amount):
    reg, _ = make_registration(cafeteria, people=("adult",))
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount=amount)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "<script>" not in html.split("<main", 1)[1]
    assert _count(Payment) == 0


def test_refund_larger_than_paid_is_refused_in_the_form(client, auth, cafeteria, paid_party,
                                                        organizer):
    reg, _ = paid_party
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="refund", amount="1000",
                      refund_method="cash")
    assert response.status_code == 409
    assert "300" in response.get_data(as_text=True)
    assert _count(Payment) == 1


def test_registration_of_another_event_is_404(client, auth, cafeteria, make_event,
                                              make_registration, organizer):
    other_event = make_event(cafeteria.branch)
    reg, _ = make_registration(other_event, people=("adult",))
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="300")
    assert response.status_code in (404, 422)
    assert _count(Payment) == 0


def test_cash_count_shows_the_difference(client, auth, cafeteria, paid_party, organizer):
    auth.login(organizer)
    response = client.post(f"/organizer/events/{cafeteria.id}/money/cash-counts",
                           data={"volunteer_id": 0, "counted": "5,200", "float_amount": "5000"},
                           follow_redirects=True)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "100円" in html  # 200 counted against 300 expected
    assert _count(CashCount) == 1
    response = client.post(f"/organizer/events/{cafeteria.id}/money/cash-counts",
                           data={"volunteer_id": 0, "counted": "abc"})
    assert response.status_code == 422
    assert _count(CashCount) == 1


def test_cash_count_below_the_float_is_recorded_and_compared(client, auth, till_paid_back,
                                                             cafeteria, organizer):
    auth.login(organizer)
    url = f"/organizer/events/{cafeteria.id}/money/cash-counts"
    response = client.post(url, data={"volunteer_id": 0, "counted": "700",
                                      "float_amount": "1000"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "つり銭準備金より少なく" not in html
    assert "現金は台帳と一致しました。" in html and "一致" in html
    # a real shortfall larger than the takings: recorded, and said plainly
    response = client.post(url, data={"volunteer_id": 0, "counted": "500",
                                      "float_amount": "1000"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "200円 不足" in html
    assert _count(CashCount) == 2


def test_csv_exports(client, auth, cafeteria, paid_party, organizer):
    auth.login(organizer)
    for name in ("ledger", "balances"):
        response = client.get(f"/organizer/events/{cafeteria.id}/money/{name}.csv")
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
        assert response.data.startswith(b"\xef\xbb\xbf")
        assert "山田花子" in response.data.decode("utf-8-sig")
        assert "attachment" in response.headers["Content-Disposition"]


def test_month_page_and_csv(client, auth, cafeteria, paid_party, organizer):
    auth.login(organizer)
    html = client.get("/organizer/money?month=2026-12").get_data(as_text=True)
    assert "2026年12月" in html and cafeteria.title in html and "300円" in html
    assert "この月のイベントはありません" in client.get("/organizer/money?month=2026-11").get_data(
        as_text=True)
    response = client.get("/organizer/money.csv?month=2026-12")
    text = response.data.decode("utf-8-sig")
    assert response.data.startswith(b"\xef\xbb\xbf")
    assert "令和8年12月12日" in text and "2026" in text
    assert client.get("/organizer/money?month=garbage").status_code == 200  # falls back


# ---------------------------------------------------------------------------------------
# Receipts


def test_receipt_page_in_japanese_and_58mm(client, auth, cafeteria, paid_party, organizer):
    reg, _ = paid_party
    auth.login(organizer)
    client.post(f"/organizer/registrations/{reg.id}/receipt",
                data={"addressee": "山田花子", "proviso": ""})
    receipt = db.session.scalar(sa.select(Receipt))
    html = client.get(f"/organizer/receipts/{receipt.id}").get_data(as_text=True)
    assert "領収書" in html and "山田花子 様" in html and "¥300-" in html
    assert "12月12日" in html and "参加費として" in html
    assert "あさひ子ども食堂運営委員会" in html and "北海道旭川市1条通8丁目" in html
    assert "2026-00001" in html and "再発行" not in html.split("<article", 1)[1]
    assert "上様" not in html
    assert "収入印紙" not in html
    narrow = client.get(f"/organizer/receipts/{receipt.id}?paper=58").get_data(as_text=True)
    assert "paper-58" in narrow


def test_hostile_addressee_is_escaped(client, auth, cafeteria, paid_party, organizer):
    reg, _ = paid_party
    auth.login(organizer)
    client.post(f"/organizer/registrations/{reg.id}/receipt",
                data={"addressee": "<script>alert(1)</script>", "proviso": "<b>x</b>"})
    receipt = db.session.scalar(sa.select(Receipt))
    html = client.get(f"/organizer/receipts/{receipt.id}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;" in html


def test_receipt_issue_refusals_shown(client, auth, cafeteria, make_registration, paid_party,
                                      organizer):
    reg, _ = paid_party
    auth.login(organizer)
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "", "proviso": ""})
    assert response.status_code == 422
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "名" * 5000, "proviso": ""})
    assert response.status_code == 422
    unpaid, _ = make_registration(cafeteria, people=("adult",))
    response = client.post(f"/organizer/registrations/{unpaid.id}/receipt",
                           data={"addressee": "山田", "proviso": ""})
    assert response.status_code == 422
    assert "まだ" in response.get_data(as_text=True)
    assert _count(Receipt) == 0


def _pdf_text_and_fonts(data: bytes) -> tuple[str, set[str]]:
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "".join(page.extract_text() for page in reader.pages).replace(" ", "")
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            fonts.add(str(font.get_object()["/BaseFont"]))
    return text, fonts


def test_receipt_pdf_renders_japanese_with_an_embedded_font(client, auth, cafeteria, paid_party,
                                                            organizer):
    reg, _ = paid_party
    auth.login(organizer)
    client.post(f"/organizer/registrations/{reg.id}/receipt",
                data={"addressee": "山田花子", "proviso": ""})
    first = db.session.scalar(sa.select(Receipt))
    client.post(f"/organizer/registrations/{reg.id}/receipt",
                data={"addressee": "山田花子", "proviso": "", "reissue": "1"})
    reissue = db.session.scalar(sa.select(Receipt).order_by(Receipt.id.desc()))
    assert reissue.id != first.id
    response = client.get(f"/organizer/receipts/{reissue.id}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text, fonts = _pdf_text_and_fonts(response.data)
    for expected in ("領収書", "再発行", "山田花子", "¥300-", "参加費として",
                     "あさひ子ども食堂運営委員会", "2026-00002"):
        assert expected in text, expected
    assert any("CJK" in f and "JP" in f for f in fonts), fonts
    narrow = client.get(f"/organizer/receipts/{first.id}.pdf?paper=58")
    text, _fonts = _pdf_text_and_fonts(narrow.data)
    assert "領収書" in text and "再発行" not in text
    width_pt = float(pypdf.PdfReader(io.BytesIO(narrow.data)).pages[0].mediabox.width)
    assert round(width_pt / 72 * 25.4) == 58


# ---------------------------------------------------------------------------------------
# The resident, from the manage link


def test_resident_gets_a_receipt_from_the_manage_link(client, cafeteria, paid_party):
    reg, token = paid_party
    page = client.get(f"/r/{token}/receipt")
    assert page.status_code == 200 and "山田花子" in page.get_data(as_text=True)
    assert f'href="/r/{token}"' in page.get_data(as_text=True)  # back to the manage page
    manage = client.get(f"/r/{token}").get_data(as_text=True)
    assert f"/r/{token}/receipt" in manage  # the manage page links here
    response = client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"})
    assert response.status_code == 302
    view = client.get(response.location)
    assert view.status_code == 200
    assert "¥300-" in view.get_data(as_text=True)
    pdf = client.get(f"/r/{token}/receipt.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # asking again does not use up numbers
    client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"})
    assert _count(Receipt) == 1


def test_resident_before_paying_and_with_bad_links(client, cafeteria, make_registration):
    _reg, token = make_registration(cafeteria, people=("adult",))
    page = client.get(f"/r/{token}/receipt")
    assert page.status_code == 200
    assert client.post(f"/r/{token}/receipt", data={"addressee": "山田"}).status_code == 422
    assert client.get(f"/r/{token}/receipt/view").status_code == 404
    assert client.get(f"/r/{token}/receipt.pdf").status_code == 404
    assert client.get("/r/not-a-token/receipt").status_code == 404
    assert client.get(f"/r/{'x' * 5000}/receipt").status_code == 404
    assert _count(Receipt) == 0


def test_receipt_url_in_the_api_registration(client, api_token, cafeteria, paid_party,
                                             organizer):
    from gathering.rsvp.serialize import registration_json

    reg, _ = paid_party
    with client.application.test_request_context():
        data = registration_json(db.session, reg)
    assert data["paid"] == 300 and data["balance"] == 0
    assert data["receipt_url"].endswith(f"/organizer/registrations/{reg.id}/receipt")


def test_resident_receipt_requests_are_rate_limited(make_app, cafeteria, paid_party):
    _reg, token = paid_party
    limited = make_app(RATELIMIT_ENABLED=True, RATELIMIT_RECEIPT="2 per hour")
    client = limited.test_client()
    statuses = [client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"}).status_code
                for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert _count(Receipt) == 1


def test_pages_read_in_english_too(client, auth, cafeteria, paid_party, organizer):
    reg, _ = paid_party
    auth.login(organizer)
    headers = {"Accept-Language": "en"}
    client.get("/?lang=en", headers=headers)
    html = client.get(f"/organizer/events/{cafeteria.id}/money", headers=headers).get_data(
        as_text=True)
    assert "Cash count" in html and "¥300" in html
    client.post(f"/organizer/registrations/{reg.id}/receipt",
                data={"addressee": "Hanako Yamada", "proviso": ""}, headers=headers)
    receipt = db.session.scalar(sa.select(Receipt))
    html = client.get(f"/organizer/receipts/{receipt.id}", headers=headers).get_data(
        as_text=True)
    assert "To Hanako Yamada" in html and "¥300-" in html and "participation fee" in html


# ---------------------------------------------------------------------------------------
# Cash more than owed on the money page, receipts of overpaid parties, refunds due at the door


def test_cash_more_than_owed_is_not_recorded_silently(client, auth, cafeteria,
                                                      make_registration, admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="１，０００",
                      nonce="form-1")
    assert response.status_code == 409
    assert _count(Payment) == 0
    html = response.get_data(as_text=True)
    assert "300円" in html and "700円" in html and "お釣り" in html
    assert 'name="keep" value="300"' in html and 'name="amount" value="1000"' in html
    # the offer: record the balance, give the rest back as change
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="1000",
                      keep="300", nonce="form-1")
    assert response.status_code == 302
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.amount, payment.cash_tendered) == (300, 1000)
    page = client.get(response.location).get_data(as_text=True)
    assert "お釣り700円" in page.replace(" ", "") or "700円" in page
    assert "返金が必要" not in page
    # the same offer posted twice records one payment
    assert _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="1000",
                  keep="300", nonce="form-1").status_code == 302
    assert _count(Payment) == 1


def test_cash_up_to_the_balance_goes_straight_in(client, auth, cafeteria, make_registration,
                                                 admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="300円")
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Payment.amount)) == 300


def test_cash_when_nothing_is_owed_is_refused_in_the_form(client, auth, cafeteria,
                                                          make_registration, organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))  # not checked in: owes nothing
    auth.login(organizer)
    response = _entry(client, cafeteria, registration_id=reg.id, kind="cash", amount="300",
                      keep="0")
    assert response.status_code == 409
    assert 'name="keep"' not in response.get_data(as_text=True)
    assert _count(Payment) == 0


def test_transfer_above_what_is_owed_warns_of_the_refund(client, auth, cafeteria,
                                                         make_registration, admit, now,
                                                         organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    auth.login(organizer)
    response = client.post(f"/organizer/events/{cafeteria.id}/money/entries", data={
        "registration_id": reg.id, "kind": "bank_transfer", "amount": "1000",
        "received_on": "2026-11-20", "nonce": "form-1"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "700円" in html and "返金" in html
    assert db.session.scalar(sa.select(Payment.amount)) == 1000  # the money did arrive
    # the balance links to a refund form started for this party
    link = f"/organizer/events/{cafeteria.id}/money?registration={reg.id}&amp;kind=refund"
    assert link in html
    page = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="refund"', page)
    assert re.search(r'name="amount"[^>]*value="700"', page)
    assert re.search(rf'<option selected value="{reg.id}"', page)


def test_receipt_page_of_an_overpaid_party_is_for_the_fee(client, auth, cafeteria,
                                                          make_registration, admit, now,
                                                          organizer):
    reg, token = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 1000, "cash", user=organizer)
    db.session.commit()
    auth.login(organizer)
    page = client.get(f"/organizer/registrations/{reg.id}/receipt").get_data(as_text=True)
    assert "1,000円" in page and "700円" in page and "300円" in page
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "山田花子", "proviso": ""})
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "¥300-" in html and "¥1,000-" not in html
    assert db.session.scalar(sa.select(Receipt.amount)) == 300
    view = client.get(f"/r/{token}/receipt/view").get_data(as_text=True)
    assert "¥300-" in view


def test_no_receipt_when_the_money_is_owed_back(client, auth, cafeteria, paid_party,
                                                organizer):
    reg, token = paid_party
    for a in reg.active_attendees:
        a.checked_in_at = None  # the check-in was undone
    db.session.commit()
    auth.login(organizer)
    page = client.get(f"/organizer/registrations/{reg.id}/receipt").get_data(as_text=True)
    assert "返金が必要" in page and "領収書は出せません" in page
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "山田花子", "proviso": ""})
    assert response.status_code == 409 or response.status_code == 422
    assert client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"}).status_code in (
        409, 422)
    assert _count(Receipt) == 0


@pytest.mark.parametrize("who", ["volunteer", "organizer"])
def test_door_page_shows_a_refund_due_after_an_undo(client, auth, cafeteria, paid_party,
                                                    organizer, volunteer, who):
    reg, _ = paid_party
    auth.login(volunteer if who == "volunteer" else organizer)
    before = client.get(f"/c/{reg.ticket_token}").get_data(as_text=True)
    assert "data-refund-due" not in before
    reg.active_attendees[1].checked_in_at = None  # the paying adult's check-in undone
    db.session.commit()
    page = client.get(f"/c/{reg.ticket_token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-refund-due="300"' in html and "返金が必要です" in html and "300円" in html
    link = f"/organizer/events/{cafeteria.id}/money?registration={reg.id}&amp;kind=refund"
    if who == "organizer":
        assert link in html
    else:
        assert link not in html and "主催者" in html


# ---------------------------------------------------------------------------------------
# A cancelled event: nothing owed anywhere; the month report marks cancelled and drafts


@pytest.fixture
def called_off(cafeteria, make_event, make_registration):
    """申込した人全員が払う, one 500円 party, in December 2026, then cancelled."""
    event = make_event(cafeteria.branch, fee_basis="registered", title="12月の上映会",
                       starts_at=cafeteria.starts_at + timedelta(days=7),
                       fees=[{"code": "adult", "label": "おとな", "amount": 500}])
    reg, _ = make_registration(event, people=("adult",))
    event.status = "cancelled"
    db.session.commit()
    return event, reg


def test_a_cancelled_event_shows_nothing_owed(client, auth, called_off, organizer, api_token):
    event, reg = called_off
    auth.login(organizer)
    html = client.get(f"/organizer/events/{event.id}/money").get_data(as_text=True)
    assert "このイベントは中止です。支払う必要のある参加費はありません。" in html
    assert "500円 未収" not in html and "500円" not in html
    month = client.get("/organizer/money?month=2026-12").get_data(as_text=True)
    assert "500円" not in month
    text = client.get("/organizer/money.csv?month=2026-12").data.decode("utf-8-sig")
    row = next(r for r in csv.reader(io.StringIO(text)) if r[3] == "12月の上映会")
    assert row[6] == "0" and row[13] == "0"  # due, outstanding
    balances = client.get(f"/organizer/events/{event.id}/money/balances.csv")
    rows = list(csv.reader(io.StringIO(balances.data.decode("utf-8-sig"))))
    assert rows[1][5] == "0" and rows[1][9] == "0"
    body = client.get(f"/api/v1/registrations/{reg.id}", headers=api_token(organizer)).get_json()
    assert (body["amount_due"], body["balance"]) == (0, 0)


def test_month_report_marks_cancelled_and_draft_events(client, auth, cafeteria, paid_party,
                                                       called_off, make_event, organizer):
    make_event(cafeteria.branch, status="draft", title="下書きの会",
               starts_at=cafeteria.starts_at + timedelta(days=10))
    auth.login(organizer)
    html = client.get("/organizer/money?month=2026-12").get_data(as_text=True)
    assert '<span class="badge">中止</span>' in html and '<span class="badge">下書き</span>' in html
    assert "開催 1回・中止 1回・下書き 1件" in html
    text = client.get("/organizer/money.csv?month=2026-12").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["日付", "和暦", "年度"] and rows[0][14] == "状態"
    assert len(rows[0]) == 19  # 15 columns, then the people of the 実績報告書 at the end
    assert {r[3]: r[14] for r in rows[1:]} == {cafeteria.title: "開催", "12月の上映会": "中止",
                                               "下書きの会": "下書き"}


def test_balances_csv_status_is_in_the_csv_language(client, auth, cafeteria, paid_party,
                                                    organizer):
    auth.login(organizer)
    text = client.get(f"/organizer/events/{cafeteria.id}/money/balances.csv").data.decode(
        "utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][1] == "状態" and rows[1][1] == "参加確定"
    assert "confirmed" not in text
