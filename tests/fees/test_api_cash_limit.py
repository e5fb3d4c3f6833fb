"""Cash through the API is kept within what the party owes, as at the door and on the money
page (``record_cash``); transfers, refunds and waivers keep their own rules and roles."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from gathering.errors import Conflict, Forbidden
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment


def _rows() -> int:
    return db.session.scalar(sa.select(sa.func.count(Payment.id)))


def _post(client, headers, reg, **body):
    return client.post(f"/api/v1/registrations/{reg.id}/payments", json=body, headers=headers)


def _refused(response, code: str) -> dict:
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    # API.md's shape: code and message; ``fields`` only for validation errors
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code and body["error"]["message"]
    return body["error"]


@pytest.fixture
def came(cafeteria, make_registration, admit, now):
    """こども and おとな checked in: 300円 owed."""
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    return reg


@pytest.fixture
def not_yet(cafeteria, make_registration):
    """Signed up, nobody checked in, fee on attendance: nothing owed yet."""
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    return reg


# ---------------------------------------------------------------------------------------
# The API


def test_volunteer_cannot_record_cash_when_nothing_is_owed(client, api_token, not_yet,
                                                           volunteer):
    response = _post(client, api_token(volunteer), not_yet, kind="cash", amount=999999,
                     nonce="v-over-1")
    _refused(response, "nothing_owed")
    assert _rows() == 0
    listed = client.get(f"/api/v1/registrations/{not_yet.id}/payments",
                        headers=api_token(volunteer)).get_json()
    assert listed["total"] == 0
    assert fees.balance(db.session, not_yet) == 0


@pytest.mark.parametrize("role", ["volunteer", "organizer"])
def test_cash_above_the_balance_is_refused_and_nothing_is_stored(client, api_token, came,
                                                                 role, request):
    headers = api_token(request.getfixturevalue(role))
    for amount in (301, 999999):
        error = _refused(_post(client, headers, came, kind="cash", amount=amount,
                               nonce=f"over-{amount}"), "exceeds_balance")
        assert "300" in error["message"]
    assert _rows() == 0
    # the same nonce, now with the balance, records once: the refusal kept nothing of it
    response = _post(client, headers, came, kind="cash", amount=300, cash_tendered=1000,
                     nonce="over-301")
    assert response.status_code == 201
    assert response.get_json()["payment"]["change"] == 700
    assert response.get_json()["registration"]["balance"] == 0
    assert _rows() == 1


def test_cash_up_to_the_balance_is_recorded_as_sent(client, api_token, came, volunteer):
    headers = api_token(volunteer)
    part = _post(client, headers, came, kind="cash", amount=100, nonce="part-1")
    assert part.status_code == 201 and part.get_json()["registration"]["balance"] == 200
    _refused(_post(client, headers, came, kind="cash", amount=201, nonce="part-2"),
             "exceeds_balance")
    rest = _post(client, headers, came, kind="cash", amount=200, cash_tendered=500,
                 nonce="part-3")
    assert rest.status_code == 201
    assert rest.get_json()["registration"]["balance"] == 0
    assert rest.get_json()["payment"]["change"] == 300
    # settled: more cash is refused, the first request sent again still answers its row
    _refused(_post(client, headers, came, kind="cash", amount=1, nonce="part-4"),
             "nothing_owed")
    again = _post(client, headers, came, kind="cash", amount=200, cash_tendered=500,
                  nonce="part-3")
    assert again.status_code == 200
    assert again.get_json()["payment"]["id"] == rest.get_json()["payment"]["id"]
    assert _rows() == 2


def test_other_refusals_come_before_the_balance(client, api_token, came, cafeteria,
                                                make_registration, volunteer, organizer):
    headers = api_token(volunteer)
    response = _post(client, headers, came, kind="cash", amount=300, cash_tendered=100)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "insufficient_cash"
    response = _post(client, headers, came, kind="cash", amount=10**12)
    assert response.get_json()["error"]["code"] == "invalid_amount"
    gone, _ = make_registration(cafeteria, status="cancelled")
    _refused(_post(client, headers, gone, kind="cash", amount=300), "cancelled")
    assert _rows() == 0


@pytest.mark.parametrize("body", [
    {"kind": "bank_transfer", "amount": 300, "received_on": "2026-11-27"},
    {"kind": "online", "amount": 300, "reference": "pay_1"},
    {"kind": "waived", "reason": "減免"},
    {"kind": "refund", "amount": 100, "reason": "返金"},
])
def test_volunteer_records_nothing_but_cash(client, api_token, came, volunteer, organizer,
                                            body):
    fees.record_payment(db.session, came, 300, "cash", user=organizer)
    db.session.commit()
    response = _post(client, api_token(volunteer), came, **body)
    assert response.status_code == 403, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == "forbidden"
    assert _rows() == 1


def test_organizer_operations_keep_working(client, api_token, came, organizer, now):
    """A transfer is recorded as it arrived, above the balance too (the money is in the
    bank: it shows as money to pay back); refunds and waivers keep their limits."""
    headers = api_token(organizer)
    response = _post(client, headers, came, kind="bank_transfer", amount=1000,
                     received_on=now.date().isoformat(), reference="ヤマダ")
    assert response.status_code == 201
    assert response.get_json()["registration"]["balance"] == -700
    refund = _post(client, headers, came, kind="refund", amount=700, method="bank_transfer",
                   reason="過払い")
    assert refund.status_code == 201 and refund.get_json()["registration"]["balance"] == 0
    _refused(_post(client, headers, came, kind="waived", reason="減免"), "nothing_owed")
    _refused(_post(client, headers, came, kind="refund", amount=301, reason="x"),
             "refund_exceeds_paid")
    assert _rows() == 2


def test_the_rule_is_documented(client):
    doc = client.get("/api/openapi.json").get_json()
    post = doc["paths"]["/api/v1/registrations/{registration_id}/payments"]["post"]
    codes = set(re.findall(r"\b[a-z]+(?:_[a-z]+)+\b", post["description"]))
    assert {"exceeds_balance", "nothing_owed"} <= codes


# ---------------------------------------------------------------------------------------
# The service


def test_record_cash_refuses_beyond_the_balance(came, volunteer):
    with pytest.raises(Conflict) as exc:
        fees.record_cash(db.session, came, 1000, user=volunteer, nonce="s-1")
    assert exc.value.code == "exceeds_balance" and exc.value.status == 409
    assert (exc.value.details["balance"], exc.value.details["change"]) == (300, 700)
    assert exc.value.fields == {}
    db.session.rollback()
    assert _rows() == 0
    payment = fees.record_cash(db.session, came, 300, user=volunteer, cash_tendered=1000,
                               nonce="s-1")
    assert (payment.amount, fees.change_due(payment)) == (300, 700)
    assert fees.record_cash(db.session, came, 300, user=volunteer, nonce="s-1") is payment


def test_record_cash_refuses_when_nothing_is_owed(not_yet, volunteer):
    with pytest.raises(Conflict) as exc:
        fees.record_cash(db.session, not_yet, 300, user=volunteer)
    assert exc.value.code == "nothing_owed"
    db.session.rollback()
    assert _rows() == 0


def test_record_cash_is_for_the_branchs_staff(came, stranger):
    with pytest.raises(Forbidden):
        fees.record_cash(db.session, came, 300, user=stranger)


def test_the_money_page_refuses_as_before(came, organizer):
    """receive_cash shares the refusal: with the field the page shows it by."""
    with pytest.raises(Conflict) as exc:
        fees.receive_cash(db.session, came, 1000, user=organizer)
    assert exc.value.code == "exceeds_balance" and "amount" in exc.value.fields
    payment = fees.receive_cash(db.session, came, 1000, keep=300, user=organizer)
    assert (payment.amount, payment.cash_tendered) == (300, 1000)
    with pytest.raises(Conflict) as exc:
        fees.receive_cash(db.session, came, 100, user=organizer)
    assert exc.value.code == "nothing_owed" and "amount" in exc.value.fields
