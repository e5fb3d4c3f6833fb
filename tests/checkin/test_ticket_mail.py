"""Replacing a ticket from the sign-up list asks first and tells the family: its new ticket
by mail, or the organizer is told to phone. The list links phone numbers and marks the
parties without an e-mail address."""

from __future__ import annotations

import re
import socket
from html.parser import HTMLParser

import pytest

from gathering.extensions import db
from tests.rsvp.test_mail_cli import smtp, text_of  # noqa: F401 - smtp is a fixture


class _ConfirmedForms(HTMLParser):
    """The action of every form of a page, and whether it sits in a <details class=confirm>
    (opened with a tap before its button shows)."""

    def __init__(self):
        super().__init__()
        self.depth = 0  # open <details class="confirm"> around the current tag
        self.stack: list[bool] = []
        self.forms: dict[str, bool] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "details":
            confirm = "confirm" in (attrs.get("class") or "").split()
            self.stack.append(confirm)
            self.depth += confirm
        elif tag == "form":
            self.forms[attrs.get("action")] = self.depth > 0

    def handle_endtag(self, tag):
        if tag == "details" and self.stack:
            self.depth -= self.stack.pop()


def forms_of(page: str) -> dict[str, bool]:
    parser = _ConfirmedForms()
    parser.feed(page)
    return parser.forms


@pytest.fixture
def listed(door, make_registration, auth):
    """The door's organizer logged in, and the URL of the event's sign-up list."""
    auth.login(door.organizer)
    return f"/organizer/events/{door.event.id}/registrations"


def replace_url(door, reg) -> str:
    return f"/organizer/events/{door.event.id}/registrations/{reg.id}/ticket"


def test_the_list_asks_before_replacing_a_ticket(client, door, listed, make_registration):
    reg, _ = make_registration(door.event)
    page = client.get(listed).get_data(as_text=True)
    forms = forms_of(page)
    assert forms[replace_url(door, reg)] is True  # inside a <details class="confirm">
    assert "今のQRコードはすぐに使えなくなります" in page
    assert "hanako@example.org" in page and "はい、新しいチケットを出します" in page


def test_the_new_ticket_is_mailed_to_the_party(client, door, listed, make_registration,
                                               smtp):  # noqa: F811
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    old = reg.ticket_token
    response = client.post(replace_url(door, reg), follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "古いQRコードは使えません" in page
    assert "新しいチケットをhanako@example.orgにメールで送りました" in page
    db.session.expire_all()
    assert reg.ticket_token != old
    [msg] = smtp.messages
    assert msg["To"] == "hanako@example.org" and "新しいチケット" in msg["Subject"]
    body = text_of(msg)
    ticket = re.search(r"http://\S+/c/(\S+)", body)
    assert ticket and ticket.group(1).split("?")[0] == reg.ticket_token
    assert old not in body
    manage = re.search(r"http://\S+/r/\S+", body).group(0)
    client.post("/logout")
    assert client.get(manage).status_code == 200
    shown = client.get(ticket.group(0)).get_data(as_text=True)
    assert "受付でこの画面を見せてください" in shown and "data:image/png" in shown


def test_the_new_ticket_mail_says_how_to_tell_the_organizers(client, door, listed,
                                                             make_registration,
                                                             smtp):  # noqa: F811
    door.branch.contact_phone, door.branch.contact_email = "0166123456", "info@example.jp"
    db.session.commit()
    reg, _ = make_registration(door.event)
    client.post(replace_url(door, reg))
    [msg] = smtp.messages
    lines = text_of(msg).splitlines()
    asked = lines.index("新しいチケットを頼んでいない場合は、主催者にお知らせください。")
    assert lines[asked + 1] == (f"お問い合わせ（{door.branch.name}）: 電話番号 0166-12-3456 / "
                                "メールアドレス info@example.jp")
    door.branch.contact_phone = ""
    db.session.commit()
    client.post(replace_url(door, reg))
    assert text_of(smtp.messages[1]).splitlines()[asked + 1] == (
        f"お問い合わせ（{door.branch.name}）: メールアドレス info@example.jp")


def test_without_a_contact_the_new_ticket_mail_ends_as_before(client, door, listed,
                                                              make_registration,
                                                              smtp):  # noqa: F811
    reg, _ = make_registration(door.event)
    client.post(replace_url(door, reg))
    [msg] = smtp.messages
    body = text_of(msg)
    assert "お問い合わせ" not in body
    assert body.rstrip().endswith("主催者にお知らせください。")


def test_an_english_party_gets_its_mail_in_english(client, door, listed, make_registration,
                                                   smtp):  # noqa: F811
    reg, _ = make_registration(door.event)
    reg.lang = "en"
    db.session.commit()
    client.post(replace_url(door, reg))
    [msg] = smtp.messages
    assert msg["Subject"].startswith("Your new ticket")
    assert "?lang=en" in text_of(msg)


def test_a_party_without_e_mail_must_be_phoned(client, door, listed, make_registration,
                                               smtp):  # noqa: F811
    reg, _ = make_registration(door.event, email="", phone="09012345678")
    page = client.post(replace_url(door, reg), follow_redirects=True).get_data(as_text=True)
    assert "古いQRコードは使えません" in page
    assert "電話で伝えてください（090-1234-5678）" in page
    assert smtp.messages == []
    nobody, _ = make_registration(door.event, email="", phone="", family_name="佐藤")
    page = client.post(replace_url(door, nobody), follow_redirects=True).get_data(as_text=True)
    assert "メールアドレスも電話番号もない" in page


def test_a_mail_that_cannot_be_sent_says_to_phone(app, client, door, listed,
                                                  make_registration):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_TIMEOUT=2)
    try:
        reg, _ = make_registration(door.event)
        page = client.post(replace_url(door, reg), follow_redirects=True).get_data(
            as_text=True)
    finally:
        app.config.update(MAIL_SERVER="")
    assert "hanako@example.orgへのメールを送れませんでした" in page
    assert "（090-1234-5678）" in page
    db.session.expire_all()
    assert reg.replaced_ticket_token is not None  # the ticket was replaced all the same


def test_the_list_links_phone_numbers_and_marks_parties_without_e_mail(
        client, door, listed, make_registration):
    make_registration(door.event, phone="09012345678", family_name="山田")
    make_registration(door.event, phone="0166123456", email="", family_name="佐藤")
    walk_in, _ = make_registration(door.event, phone="", email="", family_name="鈴木")
    walk_in.is_walk_in = True
    make_registration(door.event, email="", status="cancelled", family_name="高橋")
    db.session.commit()
    page = client.get(listed).get_data(as_text=True)
    assert '<a href="tel:09012345678">090-1234-5678</a>' in page
    assert '<a href="tel:0166123456">0166-12-3456</a>' in page
    # only 佐藤: 山田 has an address, a walk-in gave none to call, 高橋 cancelled
    assert page.count("メールなし") == 1
    row = next(r for r in page.split("<tr>") if "佐藤" in r)
    assert "メールなし：日時変更・中止のときは電話で連絡" in row
