"""Rotating SECRET_KEY with the old key in SECRET_KEY_FALLBACKS keeps the manage link a
family was mailed: a repeated sign-up (a double tap) still answers with that same link."""

from __future__ import annotations

import pytest


@pytest.fixture
def rotate(app):
    old = app.config["SECRET_KEY"]

    def _rotate(*, keep_old: bool) -> None:
        app.config["SECRET_KEY"] = "a new secret key after a rotation"
        app.config["SECRET_KEY_FALLBACKS"] = [old] if keep_old else []

    yield _rotate
    app.config.update(SECRET_KEY=old, SECRET_KEY_FALLBACKS=[])


@pytest.mark.parametrize("keep_old", [True, False])
def test_a_repeated_sign_up_after_a_key_change(client, make_event, signup, rotate, keep_old):
    event = make_event(capacity=10)
    body = dict(signup(), idempotency_key="double-tap-1")
    first = client.post(f"/api/v1/events/{event.id}/registrations", json=body)
    assert first.status_code == 201
    mailed = first.get_json()["manage_url"]
    path = "/r/" + mailed.rsplit("/r/", 1)[1]
    rotate(keep_old=keep_old)
    assert client.get(path).status_code == 200  # the stored hash still knows it
    again = client.post(f"/api/v1/events/{event.id}/registrations", json=body)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    if keep_old:
        assert again.get_json()["manage_url"] == mailed
        assert client.get(path).status_code == 200
    else:  # derived anew: the link mailed before stops working (README, 'Operators')
        assert again.get_json()["manage_url"] != mailed
        assert client.get(path).status_code == 404
