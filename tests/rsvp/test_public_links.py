"""Links in mail, QR codes and API answers are built on PUBLIC_BASE_URL, never on the Host
header a visitor sends: a forged Host must not put another server's address into a manage
link mailed to a family. Production refuses to start without PUBLIC_BASE_URL."""

from __future__ import annotations

import re

import pytest

from config import ProductionConfig
from tests.rsvp.test_mail_cli import smtp, text_of  # noqa: F401 - smtp is a fixture

BASE = "https://tsudoi.example.jp"
FORGED = "http://evil.example"


@pytest.fixture
def public_base(app):
    app.config["PUBLIC_BASE_URL"] = BASE
    yield BASE
    app.config["PUBLIC_BASE_URL"] = ""


def test_a_lost_link_mail_asked_with_a_forged_host_links_to_our_site(
        client, make_event, make_registration, public_base, smtp):  # noqa: F811
    make_registration(make_event(capacity=10), email="hanako@example.jp")
    r = client.post("/r/lost", data={"email": "hanako@example.jp"}, base_url=FORGED)
    assert r.status_code == 302
    [msg] = smtp.messages
    links = re.findall(r"https?://[^\s/]+/\S*", text_of(msg))
    assert links and all(link.startswith(BASE + "/") for link in links), links
    assert "evil.example" not in text_of(msg)
    manage = next(link for link in links if "/r/" in link)
    assert client.get(manage.removeprefix(BASE)).status_code == 200


def test_a_promotion_mail_caused_with_a_forged_host_links_to_our_site(
        client, make_event, signup, public_base, smtp):  # noqa: F811
    event = make_event(capacity=1)
    first = client.post(f"/api/v1/events/{event.id}/registrations",
                        json=signup(email="first@example.jp", attendees=[{"category": "adult"}]))
    waiting = client.post(f"/api/v1/events/{event.id}/registrations",
                          json=signup(email="second@example.jp", phone="080-2222-3333",
                                      attendees=[{"category": "adult"}]))
    assert (first.status_code, waiting.get_json()["status"]) == (201, "waitlisted")
    smtp.messages.clear()
    manage = first.get_json()["manage_url"]
    assert manage.startswith(BASE + "/r/")
    token = manage.rsplit("/", 1)[-1]
    r = client.post(f"/r/{token}/cancel", data={"whole": "1"}, base_url=FORGED)
    assert r.status_code in (200, 302), r.status_code
    promoted = [m for m in smtp.messages if m["To"] == "second@example.jp"]
    assert promoted, [m["To"] for m in smtp.messages]
    body = text_of(promoted[0])
    assert "evil.example" not in body and BASE + "/r/" in body


def test_api_answers_and_the_ticket_qr_use_our_address(client, make_event, signup,
                                                       public_base):
    event = make_event(capacity=10)
    r = client.post(f"/api/v1/events/{event.id}/registrations", json=signup(),
                    base_url=FORGED)
    body = r.get_json()
    for key in ("manage_url", "ticket_url", "qr_png_url", "qr_svg_url"):
        assert body[key].startswith(BASE + "/"), (key, body[key])
    listed = client.get(f"/api/v1/events/{event.id}", base_url=FORGED).get_json()
    assert all(url.startswith(BASE + "/") for url in listed["urls"].values())


@pytest.mark.parametrize("value", ["", "tsudoi.example.jp", "https://", "ftp://tsudoi.example.jp",
                                   "https://tsudoi.example.jp/app", "https://x.jp/?a=1"])
def test_production_refuses_to_start_without_a_public_address(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "a real secret from the environment")
    with pytest.raises(RuntimeError, match="PUBLIC_BASE_URL"):
        ProductionConfig.validate({"PUBLIC_BASE_URL": value})


@pytest.mark.parametrize("value", [BASE, BASE + "/", "http://127.0.0.1:8000"])
def test_production_accepts_a_scheme_and_host(monkeypatch, value):
    monkeypatch.setenv("SECRET_KEY", "a real secret from the environment")
    ProductionConfig.validate({"PUBLIC_BASE_URL": value})
