"""The fees' JSON routes: recording, refusals with stable codes, the money summary."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees.models import Payment


def _rows() -> int:
    return db.session.scalar(sa.select(sa.func.count(Payment.id)))


@pytest.fixture
def came(cafeteria, make_registration, admit, now):
    reg, _ = make_registration(cafeteria, people=("child", "adult"))
    admit(reg, now)
    return reg


def _post(client, headers, reg, **body):
    return client.post(f"/api/v1/registrations/{reg.id}/payments", json=body, headers=headers)


def test_volunteer_records_cash_with_change_once_per_nonce(client, api_token, came, volunteer):
    headers = api_token(volunteer)
    response = _post(client, headers, came, kind="cash", amount=300, cash_tendered=1000,
                     nonce="tap-1")
    assert response.status_code == 201
    body = response.get_json()
    assert body["payment"]["change"] == 700
    assert body["registration"]["balance"] == 0 and body["registration"]["paid"] == 300
    assert body["registration"]["receipt_url"].endswith(f"/registrations/{came.id}/receipt")
    again = _post(client, headers, came, kind="cash", amount=300, cash_tendered=1000,
                  nonce="tap-1")
    assert again.status_code == 200
    assert again.get_json()["payment"]["id"] == body["payment"]["id"]
    assert _rows() == 1
    listed = client.get(f"/api/v1/registrations/{came.id}/payments", headers=headers)
    assert listed.status_code == 200 and listed.get_json()["total"] == 1


def test_organizer_transfer_waiver_refund_and_money(client, api_token, came, organizer,
                                                    cafeteria, now):
    headers = api_token(organizer)
    assert _post(client, headers, came, kind="bank_transfer", amount=300,
                 received_on=now.date().isoformat(), reference="ヤマダ").status_code == 201
    assert _post(client, headers, came, kind="refund", amount=100, method="bank_transfer",
                 reason="過払い").status_code == 201
    assert _post(client, headers, came, kind="waived", reason="減免").status_code == 201
    money = client.get(f"/api/v1/events/{cafeteria.id}/money", headers=headers).get_json()
    assert money["summary"]["income"]["bank_transfer"] == 300
    assert money["summary"]["refunds"]["bank_transfer"] == 100
    assert money["summary"]["waived"] == 100
    assert money["summary"]["outstanding"] == 0


@pytest.mark.parametrize("body,status,code", [
    ({"kind": "cash", "amount": -300}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": 1.5}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": "300"}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": 10**12}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": 300, "cash_tendered": 100}, 422, "insufficient_cash"),
    ({"kind": "gold", "amount": 300}, 422, "invalid_method"),
    ({"kind": "bank_transfer", "amount": 300}, 422, "invalid_date"),
    ({"kind": "bank_transfer", "amount": 300, "received_on": "yesterday"}, 422, "invalid_date"),
    ({"kind": "refund", "amount": 1000}, 409, "refund_exceeds_paid"),
    ({"kind": "waived", "reason": ""}, 422, "reason_required"),
    ({"kind": "waived", "amount": 5000, "reason": "減免"}, 409, "waiver_exceeds_balance"),
    ({"kind": "cash", "amount": 300, "reference": "x" * 10_000}, 422, "too_long"),
    ({"kind": "cash", "amount": 300, "nonce": ["x"]}, 422, "invalid_nonce"),
    # a list or an object where text or a number belongs is refused, never a 500
    ({"kind": "refund", "amount": 1, "reason": "x", "method": {"a": 1}}, 422, "invalid_method"),
    ({"kind": "refund", "amount": 1, "reason": "x", "method": ["cash"]}, 422, "invalid_method"),
    ({"kind": "refund", "amount": 1, "reason": "x", "method": None}, 422, "invalid_method"),
    ({"kind": {"a": 1}, "amount": 300}, 422, "invalid_method"),
    ({"kind": ["cash"], "amount": 300}, 422, "invalid_method"),
    ({"kind": "cash", "amount": {"a": 1}}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": [300]}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": 300, "cash_tendered": [1000]}, 422, "invalid_amount"),
    ({"kind": "cash", "amount": 300, "nonce": {"a": 1}}, 422, "invalid_nonce"),
    ({"kind": "cash", "amount": 300, "reference": ["x"]}, 422, "invalid"),
    ({"kind": "online", "amount": 300, "provider": {"a": 1}, "reference": "r"}, 422, "invalid"),
    ({"kind": "refund", "amount": 1, "reason": {"a": 1}}, 422, "invalid"),
    ({"kind": "waived", "reason": ["減免"]}, 422, "invalid"),
    ({"kind": "bank_transfer", "amount": 300, "received_on": {"a": 1}}, 422, "invalid_date"),
    ({"kind": "bank_transfer", "amount": 300, "received_on": ["2026-12-12"]}, 422,
     "invalid_date"),
])
def test_refusals(client, api_token, came, organizer, body, status, code):
    response = _post(client, api_token(organizer), came, **body)
    assert response.status_code == status, response.get_json()
    assert response.get_json()["error"]["code"] == code
    assert _rows() == 0


def test_cancelled_registration_and_other_branch(client, api_token, cafeteria, make_registration,
                                                 make_user, organizer):
    reg, _ = make_registration(cafeteria, status="cancelled")
    response = _post(client, api_token(organizer), reg, kind="cash", amount=300)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "cancelled"
    other = make_user("volunteer")
    live, _ = make_registration(cafeteria)
    response = _post(client, api_token(other), live, kind="cash", amount=300)
    assert response.status_code == 403
    assert client.get(f"/api/v1/events/{cafeteria.id}/money",
                      headers=api_token(other)).status_code == 403
    assert _rows() == 0


def test_volunteer_cannot_refund_and_needs_auth(client, api_token, came, volunteer):
    response = _post(client, api_token(volunteer), came, kind="refund", amount=100)
    assert response.status_code == 403
    assert _post(client, {}, came, kind="cash", amount=300).status_code == 401
    assert client.get("/api/v1/registrations/99999/payments",
                      headers=api_token(volunteer)).status_code == 404
    response = client.post(f"/api/v1/registrations/{came.id}/payments", data="nope",
                           headers={**api_token(volunteer), "Content-Type": "application/json"})
    assert response.status_code == 400


def test_routes_are_documented(client):
    doc = client.get("/api/openapi.json").get_json()
    assert set(doc["paths"]["/api/v1/registrations/{registration_id}/payments"]) == {"get",
                                                                                  "post"}
    assert "get" in doc["paths"]["/api/v1/events/{event_id}/money"]
    assert "Payment" in doc["components"]["schemas"]
