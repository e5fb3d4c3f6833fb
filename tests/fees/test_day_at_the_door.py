"""A day at the door, replayed: ten families come to the 子ども食堂, most pay cash with change,
one paid by bank transfer beforehand, one is waived, one gets money back; at the end the till
is counted and matches the ledger to the yen, and receipts come out in Japanese."""

from __future__ import annotations

import io
from datetime import timedelta

import pypdf
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment

FAMILIES = [
    # family name, people, handed over at the door (None: does not pay cash)
    ("佐藤", ("child", "adult"), 1000),
    ("鈴木", ("child", "child", "adult"), 500),
    ("高橋", ("adult", "adult"), 1000),
    ("田中", ("child",), None),  # children eat free
    ("伊藤", ("child", "adult"), 300),
    ("渡辺", ("adult",), 10000),
    ("山本", ("child", "adult", "adult"), 600),
    ("中村", ("adult",), None),  # paid by bank transfer beforehand
    ("小林", ("child", "adult"), None),  # waived: the organizer decides
    ("加藤", ("adult", "adult", "adult"), 1000),  # one was admitted by mistake: 300 back
]


def test_a_day_at_the_door(client, auth, cafeteria, make_registration, organizer, volunteer,
                           make_user, now):
    second = make_user("volunteer", branches=[cafeteria.branch])
    door_open = cafeteria.starts_at
    parties = {}
    for name, people, _cash in FAMILIES:
        parties[name], _ = make_registration(cafeteria, people=people, family_name=name,
                                             given_name="")
    # before the day: 中村 pays by transfer
    fees.record_payment(db.session, parties["中村"], 300, "bank_transfer", user=organizer,
                        received_on=(door_open - timedelta(days=3)).date(), reference="ナカムラ",
                        now=door_open - timedelta(days=2))
    db.session.commit()

    # at the door: everyone is admitted; the two volunteers take cash with one tap each
    changes = {}
    for i, (name, _people, cash) in enumerate(FAMILIES):
        reg = parties[name]
        for a in reg.active_attendees:
            a.checked_in_at = door_open + timedelta(minutes=i)
        db.session.flush()
        if cash is None:
            continue
        due = fees.balance(db.session, reg)
        till = volunteer if i % 2 == 0 else second
        nonce = f"door-{name}"
        payment = fees.record_payment(db.session, reg, due, "cash", user=till, nonce=nonce,
                                      cash_tendered=cash, now=door_open + timedelta(minutes=i))
        # a nervous double tap records nothing more
        fees.record_payment(db.session, reg, due, "cash", user=till, nonce=nonce,
                            cash_tendered=cash, now=door_open + timedelta(minutes=i))
        changes[name] = fees.change_due(payment)
        db.session.commit()
    assert changes == {"佐藤": 700, "鈴木": 200, "高橋": 400, "伊藤": 0, "渡辺": 9700,
                       "山本": 0, "加藤": 100}

    # the organizer waives 小林; one of 加藤's three never came (the admission is undone at
    # the door), so 300円 of what they paid goes back
    parties["加藤"].active_attendees[2].checked_in_at = None
    db.session.flush()
    assert fees.balance(db.session, parties["加藤"]) == -300
    fees.waive(db.session, parties["小林"], reason="ひとり親家庭の減免", user=organizer,
               now=door_open + timedelta(hours=1))
    fees.record_refund(db.session, parties["加藤"], 300, "cash", reason="一人は来なかった",
                       user=organizer, now=door_open + timedelta(hours=2))
    db.session.commit()

    summary, lines = fees.event_money(db.session, cafeteria)
    cash_in = 300 + 300 + 600 + 300 + 300 + 600 + 900
    assert summary.income["cash"] == cash_in == 3300
    assert summary.refunds["cash"] == 300
    assert summary.income["bank_transfer"] == 300
    assert summary.waived == 300
    assert summary.due == 300 * 12  # twelve adults came
    assert summary.outstanding == 0
    assert summary.overpaid == 0
    assert all(line.balance == 0 for line in lines)
    assert summary.expected_cash == 3000

    # the organizer counts each till (with its 5,000円 float) and the whole event
    for name_of_till, till in (("v1", volunteer), ("v2", second)):
        expected = db.session.scalar(sa.select(sa.func.sum(Payment.amount)).where(
            Payment.method == "cash", Payment.recorded_by_id == till.id))
        auth.login(organizer)
        response = client.post(f"/organizer/events/{cafeteria.id}/money/cash-counts",
                               data={"volunteer_id": till.id, "counted": str(5000 + expected),
                                     "float_amount": "5000", "note": name_of_till},
                               follow_redirects=True)
        assert "現金は台帳と一致しました" in response.get_data(as_text=True)
    response = client.post(f"/organizer/events/{cafeteria.id}/money/cash-counts",
                           data={"volunteer_id": 0, "counted": "13,000",
                                 "float_amount": "10,000"}, follow_redirects=True)
    assert "現金は台帳と一致しました" in response.get_data(as_text=True)
    lines = {(c.volunteer.id if c.volunteer else None): c
             for c in fees.cash_position(db.session, cafeteria)}
    assert [lines[k].difference for k in (None, volunteer.id, second.id)] == [0, 0, 0]
    assert lines[organizer.id].expected == -300  # the refund went out of the organizer's hand

    # the page says it plainly, and the month adds up to the yen
    html = client.get(f"/organizer/events/{cafeteria.id}/money").get_data(as_text=True)
    assert "一致" in html and "不足" not in html
    _first, rows, total = fees.month_money(db.session, [cafeteria.branch_id], "2026-12")
    assert total.net == 3300 - 300 + 300 == 3300

    # receipts for whoever asks, in Japanese, as HTML and PDF
    reg = parties["佐藤"]
    response = client.post(f"/organizer/registrations/{reg.id}/receipt",
                           data={"addressee": "佐藤", "proviso": ""})
    assert response.status_code == 302
    html = client.get(response.location).get_data(as_text=True)
    assert "佐藤 様" in html and "¥300-" in html and "12月12日" in html
    pdf = client.get(response.location + ".pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "¥300-" in text and "佐藤" in text and "参加費として" in text
