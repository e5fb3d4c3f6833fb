"""The fee rules, called directly: amounts due, the ledger, refusals, cash counts, receipts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import Conflict, Forbidden, ValidationFailed
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import CashCount, Payment, Receipt


def _rows() -> int:
    return db.session.scalar(sa.select(sa.func.count(Payment.id)))


# ---------------------------------------------------------------------------------------
# Amount due


def test_only_people_who_came_owe_on_attendance_basis(cafeteria, make_registration, admit, now):
    reg, _ = make_registration(cafeteria, people=("child", "adult", "adult"))
    assert fees.amount_due(reg) == 0
    admit(reg, now, positions={0, 1})
    assert fees.amount_due(reg) == 300
    admit(reg, now)
    assert fees.amount_due(reg) == 600


def test_everyone_registered_owes_on_registration_basis(make_event, make_registration):
    event = make_event(fee_basis="registered")
    reg, _ = make_registration(event, people=("child", "adult", "adult"))
    assert fees.amount_due(reg) == 600


def test_change_after_payment_leaves_a_balance(cafeteria, make_registration, admit, now,
                                               organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    assert fees.balance(db.session, reg) == 0
    cafeteria.fees[1].amount = 500  # the fee table changed afterwards
    db.session.flush()
    assert fees.balance(db.session, reg) == 200
    assert db.session.scalar(sa.select(Payment.amount)) == 300  # nothing edited


# ---------------------------------------------------------------------------------------
# Payments


def test_cash_with_change_and_nonce_replay(cafeteria, make_registration, admit, now, volunteer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    first = fees.record_payment(db.session, reg, 300, "cash", user=volunteer, nonce="tap-1",
                                cash_tendered=1000, now=now)
    again = fees.record_payment(db.session, reg, 300, "cash", user=volunteer, nonce="tap-1",
                                cash_tendered=1000, now=now)
    db.session.commit()
    assert again.id == first.id
    assert _rows() == 1
    assert fees.change_due(first) == 700
    assert fees.paid(db.session, reg) == 300
    assert first.recorded_by_id == volunteer.id


def test_nonce_of_another_registration_is_refused(cafeteria, make_registration, organizer):
    a, _ = make_registration(cafeteria)
    b, _ = make_registration(cafeteria)
    fees.record_payment(db.session, a, 300, "cash", user=organizer, nonce="n-1")
    with pytest.raises(Conflict) as exc:
        fees.record_payment(db.session, b, 300, "cash", user=organizer, nonce="n-1")
    assert exc.value.code == "nonce_reused"


def test_bank_transfer_needs_the_day_it_arrived(cafeteria, make_registration, organizer, now):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer, now=now)
    assert exc.value.code == "invalid_date"
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer, now=now,
                            received_on=now.date() + timedelta(days=2))
    assert exc.value.code == "invalid_date"
    p = fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer, now=now,
                            received_on=date(2026, 11, 25), reference="ﾔﾏﾀﾞ ﾊﾅｺ")
    assert (p.received_on, p.reference, p.cash_tendered) == (date(2026, 11, 25), "ヤマダ ハナコ",
                                                             None)


def test_online_payment_keeps_the_provider_reference(cafeteria, make_registration, organizer):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, 300, "online", user=organizer)
    assert exc.value.code == "reference_required"
    p = fees.record_payment(db.session, reg, 300, "online", user=organizer,
                            reference="pi_123", provider="stripe")
    assert (p.method, p.provider, p.reference) == ("online", "stripe", "pi_123")


@pytest.mark.parametrize("amount", [0, -300, 1.5, "300", True, None, 10**9, float("nan")])
def test_bad_amounts_are_refused(cafeteria, make_registration, organizer, amount):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, amount, "cash", user=organizer)
    assert exc.value.code == "invalid_amount"
    assert _rows() == 0


@pytest.mark.parametrize("method", ["bitcoin", None, 5, {"a": 1}, ["cash"]])
@pytest.mark.parametrize("record", [fees.record_payment, fees.record_refund])
def test_unknown_method_is_refused(cafeteria, make_registration, organizer, record, method):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        record(db.session, reg, 300, method, user=organizer)
    assert exc.value.code == "invalid_method"
    assert _rows() == 0


def test_cash_handed_over_must_cover_the_amount(cafeteria, make_registration, volunteer):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, 300, "cash", user=volunteer, cash_tendered=100)
    assert exc.value.code == "insufficient_cash"
    assert _rows() == 0


def test_payment_on_a_cancelled_registration_is_refused(cafeteria, make_registration,
                                                         organizer):
    reg, _ = make_registration(cafeteria, status="cancelled")
    with pytest.raises(Conflict) as exc:
        fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    assert exc.value.code == "cancelled"
    assert _rows() == 0


def test_payment_on_a_cancelled_event_is_refused(cafeteria, make_registration, organizer):
    reg, _ = make_registration(cafeteria)
    cafeteria.status = "cancelled"
    db.session.flush()
    with pytest.raises(Conflict) as exc:
        fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    assert exc.value.code == "event_cancelled"


def test_volunteer_of_another_branch_is_refused(cafeteria, make_registration, make_user):
    reg, _ = make_registration(cafeteria)
    other = make_user("volunteer")
    with pytest.raises(Forbidden) as exc:
        fees.record_payment(db.session, reg, 300, "cash", user=other)
    assert exc.value.code == "forbidden"
    assert _rows() == 0


def test_volunteers_take_cash_but_not_transfers_waivers_or_refunds(cafeteria, make_registration,
                                                                    volunteer, now, admit):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=volunteer)
    with pytest.raises(Forbidden):
        fees.record_payment(db.session, reg, 300, "bank_transfer", user=volunteer,
                            received_on=now.date(), now=now)
    with pytest.raises(Forbidden):
        fees.record_refund(db.session, reg, 100, "cash", user=volunteer)
    with pytest.raises(Forbidden):
        fees.waive(db.session, reg, 100, reason="x", user=volunteer)


def test_overlong_reference_is_refused(cafeteria, make_registration, organizer, now):
    reg, _ = make_registration(cafeteria)
    with pytest.raises(ValidationFailed) as exc:
        fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer, now=now,
                            received_on=now.date(), reference="x" * 10_000)
    assert exc.value.code == "too_long"


@pytest.mark.parametrize("text,expected", [
    ("300", 300), ("１，０００", 1000), ("1,000円", 1000), ("¥500", 500), (" 700 ", 700),
])
def test_parse_yen_reads_what_people_type(text, expected):
    assert fees.parse_yen(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.5", "-300", "0", "300ドル", "1e3", "x" * 10_000,
                                  "99999999999"])
def test_parse_yen_refuses_the_rest(text):
    with pytest.raises(ValidationFailed) as exc:
        fees.parse_yen(text)
    assert exc.value.code == "invalid_amount"


# ---------------------------------------------------------------------------------------
# Refunds and waivers


def test_refund_is_a_negative_row_never_more_than_paid(cafeteria, make_registration, organizer,
                                                       admit, now):
    reg, _ = make_registration(cafeteria, people=("adult", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 600, "cash", user=organizer)
    with pytest.raises(Conflict) as exc:
        fees.record_refund(db.session, reg, 700, "cash", user=organizer)
    assert exc.value.code == "refund_exceeds_paid"
    r = fees.record_refund(db.session, reg, 300, "cash", reason="一人帰宅", user=organizer)
    assert (r.amount, r.is_refund) == (-300, True)
    with pytest.raises(Conflict) as exc:
        fees.record_refund(db.session, reg, 301, "cash", user=organizer)
    assert exc.value.code == "refund_exceeds_paid"
    assert fees.paid(db.session, reg) == 300


def test_waived_money_cannot_be_refunded(cafeteria, make_registration, organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.waive(db.session, reg, reason="ひとり親家庭の減免", user=organizer)
    with pytest.raises(Conflict) as exc:
        fees.record_refund(db.session, reg, 300, "cash", user=organizer)
    assert exc.value.code == "refund_exceeds_paid"


def test_refund_allowed_after_cancellation(cafeteria, make_registration, organizer, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    reg.status = "cancelled"
    db.session.flush()
    fees.record_refund(db.session, reg, 300, "bank_transfer", user=organizer)
    assert fees.paid(db.session, reg) == 0


def test_waiver_needs_a_reason_and_stays_within_the_balance(cafeteria, make_registration,
                                                            organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    with pytest.raises(Conflict) as exc:  # nobody came yet: nothing owed
        fees.waive(db.session, reg, reason="減免", user=organizer)
    assert exc.value.code == "nothing_owed"
    admit(reg, now)
    with pytest.raises(ValidationFailed) as exc:
        fees.waive(db.session, reg, reason="   ", user=organizer)
    assert exc.value.code == "reason_required"
    with pytest.raises(Conflict) as exc:
        fees.waive(db.session, reg, 500, reason="減免", user=organizer)
    assert exc.value.code == "waiver_exceeds_balance"
    w = fees.record_payment(db.session, reg, 300, "waived", reason="減免", user=organizer)
    assert (w.method, w.reason) == ("waived", "減免")
    assert fees.balance(db.session, reg) == 0
    assert fees.received(db.session, reg) == 0


def test_totals_sum_paid_and_received_in_one_statement(cafeteria, make_registration,
                                                       organizer, volunteer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult", "adult"))
    assert fees.totals(db.session, reg) == (0, 0)
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=volunteer)
    fees.record_payment(db.session, reg, 300, "waived", reason="減免", user=organizer)
    fees.record_refund(db.session, reg, 100, "cash", user=organizer, reason="返金")
    totals = fees.totals(db.session, reg)
    assert totals == (fees.paid(db.session, reg), fees.received(db.session, reg)) == (500, 200)
    assert (totals.paid, totals.received) == (500, 200)


# ---------------------------------------------------------------------------------------
# Money view and cash counts


def test_event_money_summary(cafeteria, make_registration, organizer, volunteer, admit, now):
    a, _ = make_registration(cafeteria, people=("adult",))
    b, _ = make_registration(cafeteria, people=("adult", "adult"))
    c, _ = make_registration(cafeteria, people=("child",))
    for reg in (a, b, c):
        admit(reg, now)
    fees.record_payment(db.session, a, 300, "cash", user=volunteer)
    fees.record_payment(db.session, b, 300, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    summary, lines = fees.event_money(db.session, cafeteria)
    assert summary.due == 900
    assert summary.income["cash"] == 300 and summary.income["bank_transfer"] == 300
    assert summary.outstanding == 300
    assert summary.expected_cash == 300
    assert [p.balance for p in lines] == [0, 300, 0]


def test_cash_count_per_volunteer_and_difference(cafeteria, make_registration, organizer,
                                                  volunteer, make_user, admit, now):
    second = make_user("volunteer", branches=[cafeteria.branch])
    for user in (volunteer, volunteer, second):
        reg, _ = make_registration(cafeteria, people=("adult",))
        admit(reg, now)
        fees.record_payment(db.session, reg, 300, "cash", user=user)
    fees.record_cash_count(db.session, cafeteria, 5600, float_amount=5000, volunteer=volunteer,
                           user=organizer)
    fees.record_cash_count(db.session, cafeteria, 200, volunteer=second, user=organizer)
    lines = {(line.volunteer.id if line.volunteer else None): line
             for line in fees.cash_position(db.session, cafeteria)}
    assert lines[None].expected == 900 and lines[None].difference is None
    assert (lines[volunteer.id].expected, lines[volunteer.id].difference) == (600, 0)
    assert (lines[second.id].expected, lines[second.id].difference) == (300, -100)
    # a recount is a new row, and the latest one counts
    fees.record_cash_count(db.session, cafeteria, 300, volunteer=second, user=organizer)
    line = [c for c in fees.cash_position(db.session, cafeteria) if c.volunteer == second][0]
    assert line.difference == 0
    assert db.session.scalar(sa.select(sa.func.count(CashCount.id))) == 3


def test_cash_count_below_the_float_after_a_cash_refund_matches(till_paid_back, cafeteria,
                                                                organizer):
    """400円 paid back from the till and 100円 taken: the ledger expects −300円 of the till,
    so 700円 counted with a 1,000円 float is a match, not a malformed count."""
    fees.record_cash_count(db.session, cafeteria, 700, float_amount=1000, user=organizer)
    line = fees.cash_position(db.session, cafeteria)[0]
    assert (line.expected, line.counted, line.difference) == (-300, -300, 0)


def test_cash_count_short_by_more_than_the_takings_is_recorded(cafeteria, make_registration,
                                                               organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    fees.record_cash_count(db.session, cafeteria, 600, float_amount=1000, user=organizer)
    line = fees.cash_position(db.session, cafeteria)[0]
    assert (line.expected, line.counted, line.difference) == (300, -400, -700)
    assert db.session.scalar(sa.select(sa.func.count(CashCount.id))) == 1


def test_cash_count_refusals(cafeteria, organizer, volunteer, make_user):
    with pytest.raises(ValidationFailed) as exc:
        fees.record_cash_count(db.session, cafeteria, -1, user=organizer)
    assert exc.value.code == "invalid_amount"
    for counted, float_amount in ((0, -1), (10**9, 0), (100, 10**9), (1.5, 0), ("100", 0)):
        with pytest.raises(ValidationFailed) as exc:
            fees.record_cash_count(db.session, cafeteria, counted, float_amount=float_amount,
                                   user=organizer)
        assert exc.value.code == "invalid_amount"
    with pytest.raises(ValidationFailed) as exc:
        fees.record_cash_count(db.session, cafeteria, 100, volunteer=make_user("volunteer"),
                               user=organizer)
    assert exc.value.code == "unknown_volunteer"
    with pytest.raises(Forbidden):
        fees.record_cash_count(db.session, cafeteria, 100, user=volunteer)
    assert db.session.scalar(sa.select(sa.func.count(CashCount.id))) == 0


def test_month_money_is_branch_scoped(cafeteria, make_event, make_registration, organizer,
                                      admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    other = make_event(starts_at=cafeteria.starts_at)  # another branch, same day
    first, rows, total = fees.month_money(db.session, [cafeteria.branch_id], "2026-12")
    assert first == date(2026, 12, 1)
    assert [e.id for e, _ in rows] == [cafeteria.id]
    assert other.id not in [e.id for e, _ in rows]
    assert total.net == 300
    _first, rows, _total = fees.month_money(db.session, [cafeteria.branch_id], "2026-11")
    assert rows == []


@pytest.mark.parametrize("month", ["2026-13", "december", "2026-12-01", "1999-01", "x" * 500])
def test_bad_month_is_refused(month):
    with pytest.raises(ValidationFailed) as exc:
        fees.month_bounds(month)
    assert exc.value.code == "invalid_month"


def test_csv_has_a_bom_and_defuses_formulas(cafeteria, make_registration, organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",), family_name="=HYPERLINK(1)",
                               given_name="")
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    data = fees.ledger_csv(db.session, cafeteria)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=HYPERLINK(1)" in text
    assert ",300," in text


def test_japanese_era_and_fiscal_year():
    assert fees.japanese_era(date(2026, 12, 12)) == "令和8年"
    assert fees.japanese_era(date(2019, 5, 1)) == "令和元年"
    assert fees.fiscal_year(date(2027, 3, 31)) == 2026
    assert fees.fiscal_year(date(2027, 4, 1)) == 2027


# ---------------------------------------------------------------------------------------
# Receipts


def test_receipt_defaults_to_the_payer_and_numbers_per_branch_per_year(
        cafeteria, make_registration, make_event, organizer, admit, now):
    a, _ = make_registration(cafeteria, people=("adult",))
    b, _ = make_registration(cafeteria, people=("adult",), family_name="佐藤", given_name="一郎")
    for reg in (a, b):
        admit(reg, now)
        fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    ra = fees.issue_receipt(db.session, a, user=organizer, now=now)
    rb = fees.issue_receipt(db.session, b, user=organizer, now=now)
    assert (ra.addressee, ra.amount, ra.number) == ("山田花子", 300, "2026-00001")
    assert rb.number == "2026-00002"
    assert ra.addressee != "上様"
    assert "子ども食堂" in ra.proviso and "12月12日" in ra.proviso
    # another branch starts its own numbering
    other = make_event(starts_at=cafeteria.starts_at)
    c, _ = make_registration(other, people=("adult",))
    admit(c, now)
    fees.record_payment(db.session, c, 300, "cash")
    assert fees.issue_receipt(db.session, c, now=now).number == "2026-00001"
    # a new year starts again at 1
    later = fees.issue_receipt(db.session, a, reissue=True, now=now + timedelta(days=60))
    assert later.number == "2027-00001"


def test_asking_again_gives_the_same_receipt_and_reissue_is_marked(cafeteria, make_registration,
                                                                   organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    first = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert fees.issue_receipt(db.session, reg, user=organizer, now=now).id == first.id
    assert not first.is_reissue
    renamed = fees.issue_receipt(db.session, reg, addressee="株式会社つどい", user=organizer,
                                 now=now)
    assert renamed.is_reissue and renamed.reissue_of_id == first.id
    assert renamed.addressee == "株式会社つどい"
    assert reg.receipt_name == "株式会社つどい"
    again = fees.issue_receipt(db.session, reg, reissue=True, user=organizer, now=now)
    assert again.reissue_of_id == first.id and again.serial == 3
    assert db.session.scalar(sa.select(sa.func.count(Receipt.id))) == 3


def test_receipt_refusals(cafeteria, make_registration, organizer, stranger, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    with pytest.raises(Conflict) as exc:
        fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert exc.value.code == "nothing_paid"
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    with pytest.raises(ValidationFailed) as exc:
        fees.issue_receipt(db.session, reg, addressee="   ", user=organizer, now=now)
    assert exc.value.code == "addressee_required"
    for nobody in ("上様", "上様。", "　上様　"):
        with pytest.raises(ValidationFailed) as exc:
            fees.issue_receipt(db.session, reg, addressee=nobody, user=organizer, now=now)
        assert exc.value.code == "addressee_required" and "上様" in str(exc.value.message)
    with pytest.raises(ValidationFailed) as exc:
        fees.issue_receipt(db.session, reg, addressee="名" * 500, user=organizer, now=now)
    assert exc.value.code == "too_long"
    with pytest.raises(Forbidden):
        fees.issue_receipt(db.session, reg, user=stranger, now=now)
    assert db.session.scalar(sa.select(sa.func.count(Receipt.id))) == 0


def test_receipt_for_a_waiver_only_is_refused(cafeteria, make_registration, organizer, admit,
                                              now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.waive(db.session, reg, reason="減免", user=organizer)
    with pytest.raises(Conflict) as exc:
        fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert exc.value.code == "nothing_paid"


def test_stamp_note_only_where_the_branch_asks(cafeteria, make_registration, make_event,
                                               make_branch, organizer, admit, now):
    big = make_event(make_branch(receipt_stamp_note=True), fee_basis="registered",
                     fees=[{"code": "adult", "label": "参加費", "amount": 60_000}])
    reg, _ = make_registration(big, people=("adult",))
    fees.record_payment(db.session, reg, 60_000, "cash")
    assert fees.needs_stamp_note(fees.issue_receipt(db.session, reg, now=now))
    small, _ = make_registration(cafeteria, people=("adult",))
    admit(small, now)
    fees.record_payment(db.session, small, 300, "cash")
    assert not fees.needs_stamp_note(fees.issue_receipt(db.session, small, now=now))
    assert fees.receipt_amount_text(3000) == "¥3,000-"


def test_receipt_url_only_once_something_was_paid(app, cafeteria, make_registration, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    assert fees.receipt_url(reg) is None
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash")
    with app.test_request_context():
        assert fees.receipt_url(reg).endswith(f"/organizer/registrations/{reg.id}/receipt")


# ---------------------------------------------------------------------------------------
# Cash recorded on the money page: never more than is owed (the rest is change)


def test_cash_up_to_the_balance_is_recorded_as_it_is(cafeteria, make_registration, organizer,
                                                     admit, now):
    reg, _ = make_registration(cafeteria, people=("adult", "adult"))
    admit(reg, now)
    part = fees.receive_cash(db.session, reg, 300, user=organizer, nonce="c1", now=now)
    assert (part.amount, part.cash_tendered) == (300, None)
    rest = fees.receive_cash(db.session, reg, 300, user=organizer, nonce="c2", now=now)
    assert rest.amount == 300 and fees.balance(db.session, reg) == 0
    # the same nonce again: the first row, nothing added
    assert fees.receive_cash(db.session, reg, 300, user=organizer, nonce="c2").id == rest.id
    assert _rows() == 2


def test_cash_more_than_owed_is_refused_with_the_balance(cafeteria, make_registration,
                                                         organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    with pytest.raises(Conflict) as exc:
        fees.receive_cash(db.session, reg, 1000, user=organizer, nonce="c1", now=now)
    assert exc.value.code == "exceeds_balance" and exc.value.status == 409
    assert exc.value.details == {"balance": 300, "handed_over": 1000, "change": 700}
    assert "300" in str(exc.value.message) and "700" in str(exc.value.message)
    assert "amount" in exc.value.fields
    assert _rows() == 0


def test_cash_more_than_owed_with_change_records_the_balance(cafeteria, make_registration,
                                                             organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    payment = fees.receive_cash(db.session, reg, 1000, keep=300, user=organizer, nonce="c1",
                                now=now)
    assert (payment.amount, payment.cash_tendered, payment.method) == (300, 1000, "cash")
    assert fees.change_due(payment) == 700
    assert fees.balance(db.session, reg) == 0
    assert fees.event_money(db.session, cafeteria)[0].overpaid == 0


def test_change_offer_for_a_balance_that_moved_is_refused_again(cafeteria, make_registration,
                                                                organizer, volunteer, admit,
                                                                now):
    reg, _ = make_registration(cafeteria, people=("adult", "adult"))
    admit(reg, now)
    # the page offered "record 600, give 400 change"; meanwhile the door took 300
    fees.record_payment(db.session, reg, 300, "cash", user=volunteer, nonce="door")
    with pytest.raises(Conflict) as exc:
        fees.receive_cash(db.session, reg, 1000, keep=600, user=organizer, nonce="c1")
    assert exc.value.code == "exceeds_balance" and exc.value.details["balance"] == 300
    assert _rows() == 1


@pytest.mark.parametrize("paid_before", [0, 300])
def test_cash_when_nothing_is_owed_is_refused(cafeteria, make_registration, organizer, admit,
                                              now, paid_before):
    reg, _ = make_registration(cafeteria, people=("adult",))
    if paid_before:
        admit(reg, now)
        fees.record_payment(db.session, reg, paid_before, "cash", user=organizer)
    # nobody checked in where only people who came pay, or already paid: nothing to take
    for keep in (None, 0):
        with pytest.raises(Conflict) as exc:
            fees.receive_cash(db.session, reg, 300, keep=keep, user=organizer)
        assert exc.value.code == "nothing_owed"
    assert _rows() == (1 if paid_before else 0)


def test_receive_cash_keeps_the_other_refusals(cafeteria, make_registration, organizer,
                                               stranger, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    with pytest.raises(ValidationFailed) as exc:
        fees.receive_cash(db.session, reg, 0, user=organizer)
    assert exc.value.code == "invalid_amount"
    with pytest.raises(Forbidden):
        fees.receive_cash(db.session, reg, 300, user=stranger)
    reg.status = "cancelled"
    with pytest.raises(Conflict) as exc:
        fees.receive_cash(db.session, reg, 300, user=organizer)
    assert exc.value.code == "cancelled"
    assert _rows() == 0


# ---------------------------------------------------------------------------------------
# The receipt states the fee paid and kept, never more


def test_receipt_of_an_overpaid_party_is_for_the_fee(cafeteria, make_registration, organizer,
                                                     admit, now):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    # 1,000円 recorded as paid for a 300円 fee (a transfer, or the API)
    fees.record_payment(db.session, reg, 1000, "cash", user=organizer)
    assert fees.receipt_figures(db.session, reg) == (1000, 300, 700)
    receipt = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert receipt.amount == 300
    # the 700円 paid back: the same receipt still holds
    fees.record_refund(db.session, reg, 700, reason="過払い", user=organizer)
    assert fees.receipt_amount(db.session, reg) == 300
    assert fees.issue_receipt(db.session, reg, user=organizer, now=now).id == receipt.id


def test_receipt_after_a_partial_refund_and_with_a_waiver(cafeteria, make_registration,
                                                          organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult", "adult", "adult"))
    admit(reg, now)
    fees.record_payment(db.session, reg, 900, "cash", user=organizer)
    fees.record_refund(db.session, reg, 200, reason="一人分の半額", user=organizer)
    assert fees.receipt_amount(db.session, reg) == 700
    other, _ = make_registration(cafeteria, people=("adult", "adult"))
    admit(other, now)
    fees.waive(db.session, other, 300, reason="減免", user=organizer)
    fees.record_payment(db.session, other, 600, "bank_transfer", user=organizer,
                        received_on=date(2026, 11, 20), now=now)
    # 600 due, 300 waived: the fee paid is 300, the other 300 is to be paid back
    assert fees.receipt_figures(db.session, other) == (600, 300, 300)
    assert fees.issue_receipt(db.session, other, now=now).amount == 300


def test_a_receipt_issued_for_too_much_is_reissued_for_the_fee(cafeteria, make_registration,
                                                               organizer, admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    first = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    fees.record_payment(db.session, reg, 700, "cash", user=organizer)  # recorded by mistake
    again = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert again.id == first.id and again.amount == 300


def test_no_receipt_when_the_money_paid_is_owed_back(cafeteria, make_registration, organizer,
                                                     admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", user=organizer)
    reg.active_attendees[0].checked_in_at = None  # the check-in was undone at the door
    db.session.flush()
    assert fees.balance(db.session, reg) == -300
    assert fees.receipt_figures(db.session, reg) == (300, 0, 300)
    with pytest.raises(Conflict) as exc:
        fees.issue_receipt(db.session, reg, user=organizer, now=now)
    assert exc.value.code == "nothing_due" and "300" in str(exc.value.message)
    assert db.session.scalar(sa.select(sa.func.count(Receipt.id))) == 0


@pytest.mark.parametrize("month", ["2026-12", "2026/12", "2026年12月", "２０２６－１２", "202612",
                                   " 2026 - 12 "])
def test_month_is_read_as_people_write_it(month):
    first, start, end = fees.month_bounds(month)
    assert (first.year, first.month) == (2026, 12)
    assert (start.month, end.year, end.month) == (12, 2027, 1)


# ---------------------------------------------------------------------------------------
# A cancelled event, or a cancelled sign-up: nothing is due, money paid is to pay back


@pytest.fixture
def everyone_pays(cafeteria, make_event):
    """申込した人全員が払う, 500円 a person, in the cafeteria's branch, in December 2026."""
    return make_event(cafeteria.branch, fee_basis="registered",
                      starts_at=cafeteria.starts_at + timedelta(days=7),
                      fees=[{"code": "adult", "label": "おとな", "amount": 500}])


def _cancel(event):
    event.status = "cancelled"
    db.session.commit()


def test_nothing_is_due_once_the_event_is_cancelled(everyone_pays, make_registration):
    reg, _ = make_registration(everyone_pays, people=("adult",))
    assert fees.amount_due(reg) == 500 and fees.balance(db.session, reg) == 500
    _cancel(everyone_pays)
    assert fees.amount_due(reg) == 0 and fees.balance(db.session, reg) == 0
    summary, lines = fees.event_money(db.session, everyone_pays)
    assert (summary.due, summary.outstanding, summary.overpaid) == (0, 0, 0)
    assert [p.balance for p in lines] == [0]


def test_a_cancelled_sign_up_owes_nothing_even_with_someone_admitted(cafeteria,
                                                                     make_registration,
                                                                     admit, now):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    assert fees.amount_due(reg) == 300
    reg.status = "cancelled"  # it can take no payment nor waiver: nothing may stay owed
    db.session.flush()
    assert fees.amount_due(reg) == 0


def test_money_paid_for_a_cancelled_event_is_to_pay_back(everyone_pays, make_registration,
                                                         organizer, now):
    reg, _ = make_registration(everyone_pays, people=("adult",))
    fees.record_payment(db.session, reg, 500, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    issued = fees.issue_receipt(db.session, reg, user=organizer, now=now)
    db.session.commit()
    _cancel(everyone_pays)
    assert fees.balance(db.session, reg) == -500
    summary, _lines = fees.event_money(db.session, everyone_pays)
    assert (summary.outstanding, summary.overpaid) == (0, 500)
    figures = fees.receipt_figures(db.session, reg)
    assert (figures.amount, figures.to_pay_back) == (0, 500)
    with pytest.raises(Conflict) as exc:  # no new receipt for money owed back
        fees.issue_receipt(db.session, reg, user=organizer, reissue=True, now=now)
    assert exc.value.code == "nothing_due"
    assert fees.list_receipts(db.session, reg) == [issued]  # the one issued before stays
    fees.record_refund(db.session, reg, 500, "bank_transfer", user=organizer)
    assert fees.balance(db.session, reg) == 0


def test_a_waiver_before_the_cancellation_lapses_and_is_no_money_to_pay_back(
        everyone_pays, make_registration, organizer, now):
    waived, _ = make_registration(everyone_pays, people=("adult",))
    fees.waive(db.session, waived, reason="減免", user=organizer)
    part, _ = make_registration(everyone_pays, people=("adult",))
    fees.record_payment(db.session, part, 300, "bank_transfer", user=organizer, now=now,
                        received_on=now.date())
    fees.waive(db.session, part, reason="減免", user=organizer)  # the other 200円
    db.session.commit()
    _cancel(everyone_pays)
    assert fees.balance(db.session, waived) == 0
    assert fees.balance(db.session, part) == -300  # the money, not the waiver
    summary, lines = fees.event_money(db.session, everyone_pays)
    assert [p.balance for p in lines] == [0, -300]
    assert (summary.outstanding, summary.overpaid) == (0, 300)
    assert fees.receipt_figures(db.session, part).to_pay_back == 300


def test_month_money_owes_nothing_for_a_cancelled_event(everyone_pays, make_registration,
                                                        organizer):
    make_registration(everyone_pays, people=("adult",))
    _cancel(everyone_pays)
    _first, rows, total = fees.month_money(db.session, [everyone_pays.branch_id], "2026-12")
    assert total.outstanding == 0 and total.due == 0
