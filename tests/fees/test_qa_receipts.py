"""Receipts QA: the revenue-stamp box is for paper only (DOMAIN.md §5), and a receipt whose
money changed since it was issued (a refund, a later payment) is not handed out again."""

from __future__ import annotations

import io

import pypdf
import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Receipt


def _pdf_text(data: bytes) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "")


@pytest.fixture
def summit_receipt(make_branch, make_event, make_registration, make_user, now):
    """A 60,000円 receipt of a group that asks for the 収入印紙 box, and its organizer."""
    branch = make_branch(receipt_stamp_note=True, issuer_name="サミット実行委員会")
    event = make_event(branch, fee_basis="registered",
                       fees=[{"code": "adult", "label": "参加費", "amount": 60_000}])
    organizer = make_user("organizer", branches=[branch])
    reg, token = make_registration(event, people=("adult",))
    fees.record_payment(db.session, reg, 60_000, "bank_transfer", user=organizer,
                        received_on=now.date(), now=now)
    receipt = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    db.session.commit()
    return receipt, organizer, token


def test_the_stamp_box_is_on_the_printed_page_not_on_the_pdf(client, auth, summit_receipt):
    receipt, organizer, token = summit_receipt
    auth.login(organizer)
    page = client.get(f"/organizer/receipts/{receipt.id}").get_data(as_text=True)
    assert "stamp-box" in page and "収入印紙" in page
    pdf = client.get(f"/organizer/receipts/{receipt.id}.pdf")
    assert pdf.status_code == 200
    text = _pdf_text(pdf.data)
    assert "¥60,000-" in text and "収入印紙" not in text
    auth.logout()
    resident_pdf = client.get(f"/r/{token}/receipt.pdf")
    assert "収入印紙" not in _pdf_text(resident_pdf.data)


def test_stamp_rule_of_the_service(summit_receipt):
    receipt, _organizer, _token = summit_receipt
    assert fees.needs_stamp_note(receipt)
    assert not fees.needs_stamp_note(receipt, on_paper=False)


@pytest.fixture
def resident_receipt(cafeteria, make_registration, admit, now, organizer, client):
    """One おとな (300円) admitted and paid in cash; the resident got a ¥300- receipt."""
    reg, token = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, now=now)
    db.session.commit()
    response = client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"})
    assert response.status_code == 302
    return reg, token


def test_after_a_full_refund_the_resident_gets_no_old_receipt(client, resident_receipt,
                                                             organizer):
    reg, token = resident_receipt
    fees.record_refund(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    for url in (f"/r/{token}/receipt/view", f"/r/{token}/receipt.pdf"):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.location.endswith(f"/r/{token}/receipt")
    page = client.get(f"/r/{token}/receipt").get_data(as_text=True)
    assert "領収書を見る" not in page
    assert "は無効になりました" in page
    assert "お金は返金されたため、領収書は出せません。" in page
    assert "まだ支払いがない" not in page


def test_after_a_later_payment_the_resident_gets_a_new_receipt(client, resident_receipt,
                                                              cafeteria, make_registration,
                                                              organizer, now):
    reg, token = resident_receipt
    # a second adult of the party arrives and pays: the fee is now 600円
    from gathering.rsvp.models import Attendee

    adult = next(f for f in cafeteria.fees if f.code == "adult")
    reg.attendees.append(Attendee(position=1, fee_category=adult, name="", checked_in_at=now))
    db.session.commit()
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, now=now)
    db.session.commit()
    assert client.get(f"/r/{token}/receipt/view").status_code == 302
    page = client.get(f"/r/{token}/receipt").get_data(as_text=True)
    assert "金額は300円ですが、支払われた参加費は今は600円です" in page
    assert "新しい領収書をもらう" in page
    response = client.post(f"/r/{token}/receipt", data={"addressee": "山田花子"})
    assert response.status_code == 302
    latest = db.session.scalar(sa.select(Receipt).order_by(Receipt.id.desc()))
    assert (latest.amount, latest.is_reissue) == (600, True)
    view = client.get(f"/r/{token}/receipt/view")
    assert view.status_code == 200 and "¥600-" in view.get_data(as_text=True)


def test_staff_are_warned_on_an_outdated_receipt(client, auth, resident_receipt, organizer):
    reg, _token = resident_receipt
    receipt = db.session.scalar(sa.select(Receipt))
    auth.login(organizer)
    fresh = client.get(f"/organizer/receipts/{receipt.id}").get_data(as_text=True)
    assert "receipt-outdated" not in fresh
    fees.record_refund(db.session, reg, 300, "cash", user=organizer)
    db.session.commit()
    page = client.get(f"/organizer/receipts/{receipt.id}")
    assert page.status_code == 200  # staff keep the record
    assert "この領収書は無効です" in page.get_data(as_text=True)
    issue = client.get(f"/organizer/registrations/{reg.id}/receipt").get_data(as_text=True)
    assert "前の領収書を見る" in issue and "すでに渡した場合は" in issue


def test_an_unchanged_receipt_is_shown_again(client, resident_receipt):
    _reg, token = resident_receipt
    view = client.get(f"/r/{token}/receipt/view")
    assert view.status_code == 200 and "¥300-" in view.get_data(as_text=True)
    page = client.get(f"/r/{token}/receipt").get_data(as_text=True)
    assert "領収書を見る" in page and "receipt-outdated" not in page
