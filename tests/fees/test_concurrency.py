"""Money under concurrency, on the suite's database (SQLite file or PostgreSQL): receipts
issued at once get distinct serial numbers, and the same tap sent by several devices at once
records one payment. Each thread has its own app context, session and connection."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from gathering.accounts.models import User
from gathering.errors import GatheringError
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment, Receipt
from gathering.rsvp.models import Registration

pytestmark = pytest.mark.slow

THREADS = 8


def _run_together(app, work, args):
    barrier = threading.Barrier(len(args))

    def one(arg):
        with app.app_context():
            barrier.wait()
            try:
                result = work(arg)
                db.session.commit()
                return result
            except Exception:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    with ThreadPoolExecutor(len(args)) as pool:
        return list(pool.map(one, args))


def test_receipts_issued_at_once_get_distinct_serials(app, cafeteria, make_registration, admit,
                                                      now, organizer):
    ids = []
    for i in range(THREADS):
        reg, _ = make_registration(cafeteria, people=("adult",), family_name=f"家族{i}")
        admit(reg, now)
        fees.record_payment(db.session, reg, 300, "cash")
        ids.append(reg.id)
    db.session.commit()
    user_id = organizer.id
    db.session.rollback()

    def issue(reg_id):
        reg = db.session.get(Registration, reg_id)
        return fees.issue_receipt(db.session, reg, user=db.session.get(User, user_id),
                                  now=now).serial

    serials = _run_together(app, issue, ids)
    assert sorted(serials) == list(range(1, THREADS + 1))
    stored = sorted(db.session.scalars(sa.select(Receipt.serial)))
    assert stored == list(range(1, THREADS + 1))


def test_the_same_tap_from_several_devices_records_one_payment(app, cafeteria, make_registration,
                                                               admit, now, volunteer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    reg_id, user_id = reg.id, volunteer.id
    db.session.rollback()

    def tap(_):
        reg = db.session.get(Registration, reg_id)
        return fees.record_payment(db.session, reg, 300, "cash", nonce="the-same-tap",
                                   cash_tendered=500, user=db.session.get(User, user_id),
                                   now=now).id

    payment_ids = _run_together(app, tap, list(range(THREADS)))
    assert len(set(payment_ids)) == 1
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def _outcomes(app, work, count):
    """What each of ``count`` simultaneous calls of ``work(i)`` did: "ok" or its code."""
    def one(i):
        try:
            work(i)
        except GatheringError as exc:
            return exc.code
        return "ok"

    return _run_together(app, one, list(range(count)))


def test_waivers_at_once_never_waive_more_than_is_owed(app, cafeteria, make_registration,
                                                       admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    reg_id, user_id = reg.id, organizer.id
    db.session.commit()

    def waive(i):
        reg = db.session.get(Registration, reg_id)
        fees.waive(db.session, reg, 300, reason="生活保護", nonce=f"waiver-{i}",
                   user=db.session.get(User, user_id), now=now)

    outcomes = _outcomes(app, waive, THREADS)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "waiver_exceeds_balance"}
    waived = db.session.scalar(sa.select(sa.func.sum(Payment.amount)).where(
        Payment.registration_id == reg_id, Payment.method == "waived"))
    assert waived == 300


def test_refunds_at_once_never_pay_back_more_than_was_paid(app, cafeteria, make_registration,
                                                           admit, now, organizer):
    reg, _ = make_registration(cafeteria, people=("adult",))
    admit(reg, now)
    fees.record_payment(db.session, reg, 300, "cash", now=now)
    reg_id, user_id = reg.id, organizer.id
    db.session.commit()

    def refund(i):
        reg = db.session.get(Registration, reg_id)
        fees.record_refund(db.session, reg, 300, nonce=f"refund-{i}",
                           user=db.session.get(User, user_id), now=now)

    outcomes = _outcomes(app, refund, THREADS)
    assert outcomes.count("ok") == 1, outcomes
    assert set(outcomes) == {"ok", "refund_exceeds_paid"}
    assert db.session.scalar(sa.select(sa.func.sum(Payment.amount)).where(
        Payment.registration_id == reg_id)) == 0
