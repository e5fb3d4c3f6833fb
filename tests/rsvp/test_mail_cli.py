"""Mail through a real SMTP server on loopback (aiosmtpd), and the purge command."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from gathering.extensions import db
from gathering.rsvp import services
from gathering.rsvp.models import Registration
from gathering.timeutil import utcnow


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(email.message_from_bytes(envelope.content,
                                                      policy=email.policy.default))
        return "250 OK"


@pytest.fixture
def smtp(app):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    yield inbox
    app.config.update(MAIL_SERVER="")
    controller.stop()


def text_of(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def test_confirmation_mail_arrives_with_working_link(client, make_event, signup, smtp):
    event = make_event(capacity=10)
    r = client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    assert r.status_code == 201
    [msg] = smtp.messages
    assert msg["To"] == "hanako@example.jp" and event.title in msg["Subject"]
    body = text_of(msg)
    link = re.search(r"http://\S+/r/\S+", body).group(0)
    assert link == r.get_json()["manage_url"] + "?lang=ja"  # opens in the party's language
    assert "卵" in body and "山田花子" in body
    assert client.get(link).status_code == 200
    lines = body.splitlines()
    # the venue on a line of its own, the people after it on theirs
    assert "場所: 公民館 (北海道旭川市1条通8丁目)" in lines
    assert lines[lines.index("場所: 公民館 (北海道旭川市1条通8丁目)") + 1] == "参加する人:"


def test_no_mail_without_address(client, make_event, signup, smtp):
    event = make_event(capacity=10)
    client.post(f"/api/v1/events/{event.id}/registrations", json=signup(email=""))
    assert smtp.messages == []


def test_promotion_and_lost_link_mails(client, make_event, signup, smtp):
    event = make_event(capacity=2)
    first = client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    second = client.post(f"/api/v1/events/{event.id}/registrations",
                         json=signup(email="wait@example.jp", phone="080-2222-3333"))
    assert second.get_json()["status"] == "waitlisted"
    token = first.get_json()["manage_url"].rsplit("/", 1)[1]
    client.post(f"/r/{token}/cancel", data={"whole": "1"})
    promoted = [m for m in smtp.messages if m["To"] == "wait@example.jp"]
    assert len(promoted) == 2  # the waiting-list mail, then the promotion
    assert second.get_json()["manage_url"] in text_of(promoted[-1])
    smtp.messages.clear()
    client.post("/r/lost", data={"email": "WAIT@example.jp"})
    [lost] = smtp.messages
    assert second.get_json()["manage_url"] in text_of(lost)


@pytest.mark.parametrize("how", ["api", "organizer page"])
def test_a_larger_capacity_mails_the_parties_it_confirms(client, make_event, make_user,
                                                         api_token, auth, signup, smtp, how):
    event = make_event(capacity=2)
    client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    waiting = client.post(f"/api/v1/events/{event.id}/registrations",
                          json=signup(email="wait@example.jp", phone="080-2222-3333")).get_json()
    assert waiting["status"] == "waitlisted"
    smtp.messages.clear()
    organizer = make_user("organizer", branches=[event.branch])
    if how == "api":
        r = client.patch(f"/api/v1/events/{event.id}", json={"capacity": 4},
                         headers=api_token(organizer))
        assert r.status_code == 200
    else:
        auth.login(organizer)
        page = client.get(f"/organizer/events/{event.id}/edit").get_data(as_text=True)
        assert 'name="capacity"' in page
        form = _form_fields(page)
        form["capacity"] = "4"
        r = client.post(f"/organizer/events/{event.id}/edit", data=form)
        assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    [mail] = smtp.messages
    assert mail["To"] == "wait@example.jp" and event.title in mail["Subject"]
    assert waiting["manage_url"] in text_of(mail)
    db.session.commit()
    assert db.session.get(Registration, waiting["id"]).status == "confirmed"


def _form_fields(page: str) -> dict:
    """The values an unchanged edit form would send (inputs, selected options, textareas)."""
    import html

    fields: dict = {}
    for tag in re.findall(r"<input[^>]*>", page):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = re.search(r'type="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and "checked" not in tag:
            continue
        if kind and kind.group(1) == "submit":
            continue
        fields[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        for option in re.findall(r"<option[^>]*>", body):
            if " selected" in option:
                fields[name] = html.unescape(re.search(r'value="([^"]*)"', option).group(1))
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page,
                                 re.S):
        fields[name] = html.unescape(body).lstrip("\n")
    return fields


def test_a_promotion_is_mailed_in_the_language_of_the_sign_up(client, make_event, signup,
                                                                smtp):
    event = make_event(capacity=2, title="子ども食堂")
    first = client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    english = client.post(f"/api/v1/events/{event.id}/registrations",
                          json=signup(email="wait@example.jp", phone="080-2222-3333"),
                          headers={"Accept-Language": "en"}).get_json()
    assert english["status"] == "waitlisted"
    [waiting] = [m for m in smtp.messages if m["To"] == "wait@example.jp"]
    assert "ticket" not in text_of(waiting).lower()  # no seat yet, so no ticket
    smtp.messages.clear()
    token = first.get_json()["manage_url"].rsplit("/", 1)[1]
    # a Japanese visitor cancels; the English-speaking family is told in English
    client.post(f"/r/{token}/cancel", data={"whole": "1"}, headers={"Accept-Language": "ja"})
    [mail] = [m for m in smtp.messages if m["To"] == "wait@example.jp"]
    assert mail["Subject"].startswith("A seat is free for you")
    body = text_of(mail)
    assert english["manage_url"] in body and body.startswith("Dear ")
    [when] = [line for line in body.splitlines() if line.startswith("When: ")]
    assert "年" not in when and "月" not in when, when  # the date in English too
    assert "席" not in mail["Subject"]
    # and the canceller's own page stays Japanese
    assert 'lang="ja"' in client.get(f"/events/{event.id}",
                                     headers={"Accept-Language": "ja"}).get_data(as_text=True)


def _english_party(client, event) -> dict:
    """Amy Brown signs up in English (her phone's language) and gets her mail."""
    payload = {"contact": {"family_name": "Brown", "given_name": "Amy", "family_name_kana": "",
                           "given_name_kana": "", "phone": "", "email": "amy@example.jp"},
               "attendees": [{"category": "adult", "allergens": ["egg"]},
                             {"category": "child"}],
               "consent": True}
    r = client.post(f"/api/v1/events/{event.id}/registrations", json=payload,
                    headers={"Accept-Language": "en"})
    assert r.status_code == 201
    return r.get_json()


def test_mails_about_a_sign_up_speak_its_language_whatever_phone_asks(client, make_event,
                                                                       smtp):
    """An English-speaking family asks for its link and cancels from a phone set to
    Japanese: the pages answer in Japanese, the mails to the family stay English, and their
    links open the pages in English."""
    event = make_event(capacity=10, title="子ども食堂")
    english = _english_party(client, event)
    smtp.messages.clear()
    ja = {"Accept-Language": "ja"}

    answer = client.post("/r/lost", data={"email": "amy@example.jp"}, headers=ja,
                         follow_redirects=True).get_data(as_text=True)
    assert "リンクを送りました。メールを確かめてください。" in answer  # the page: Japanese
    [lost] = smtp.messages
    assert lost["Subject"] == "Your sign-up link: 子ども食堂"
    body = text_of(lost)
    assert body.startswith("Dear Amy Brown,") and "様" not in body and "[Egg]" in body
    link = re.search(r"http://\S+/r/\S+", body).group(0)
    assert link.endswith("?lang=en")
    # opened on the family's own phone, however it is set
    opened = client.application.test_client().get(link, headers=ja)
    assert 'lang="en"' in opened.get_data(as_text=True)
    token = link.rsplit("/", 1)[1].split("?")[0]
    smtp.messages.clear()

    page = client.post(f"/r/{token}/cancel", data={"whole": "1"}, headers=ja,
                       follow_redirects=True)
    assert "申し込みをキャンセルしました。" in page.get_data(as_text=True)
    [cancelled] = smtp.messages
    assert cancelled["Subject"] == "Cancelled: 子ども食堂"
    body = text_of(cancelled)
    assert body.startswith("Dear Amy Brown,") and "Your sign-up is cancelled" in body
    assert f"/events/{event.id}?lang=en" in body
    assert english["status"] == "confirmed"


def test_an_edit_that_moves_an_english_party_up_tells_it_in_english(client, make_event,
                                                                   make_registration, smtp):
    event = make_event(capacity=2, title="子ども食堂")
    reg, token = make_registration(event, people=("adult", "adult"), email="ja@example.jp")
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted",
                                   email="en@example.jp")
    waiting.lang = "en"
    db.session.commit()
    keep = reg.active_attendees[0]
    r = client.post(f"/r/{token}/edit", headers={"Accept-Language": "ja"}, data={
        "family_name": reg.family_name, "given_name": reg.given_name,
        "family_name_kana": reg.family_name_kana, "given_name_kana": reg.given_name_kana,
        "phone": reg.phone, "email": reg.email, "attendees-0-id": str(keep.id),
        "attendees-0-category": "adult"})
    assert r.status_code == 302
    # the family that changed its party has the change in writing, in its language
    changed, mail = smtp.messages
    assert changed["To"] == "ja@example.jp"
    assert changed["Subject"] == "申し込みを変更しました: 子ども食堂"
    assert mail["To"] == "en@example.jp" and mail["Subject"] == "A seat is free for you: 子ども食堂"
    assert "?lang=en" in text_of(mail)


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_link_in_a_mail_is_on_a_line_of_its_own(client, auth, make_user, make_event,
                                                      signup, smtp, lang):
    """trim_blocks ate the line break after a block tag: "こちら:http://…". Each template,
    in each language: a URL alone on its line, after its label, a blank line after it."""
    event = make_event(capacity=2, title="子ども食堂")
    headers = {"Accept-Language": lang}
    first = client.post(f"/api/v1/events/{event.id}/registrations", headers=headers,
                        json=signup(email="first@example.jp")).get_json()
    client.post(f"/api/v1/events/{event.id}/registrations", headers=headers,
                json=signup(email="second@example.jp", family_name="佐藤",
                            family_name_kana="さとう")).get_json()
    client.post("/r/lost", data={"email": "first@example.jp"})
    client.post(first["manage_url"].replace("http://localhost", "") + "/cancel",
                data={"whole": "1"})  # the second party moves up
    auth.login(make_user("organizer", branches=[event.branch]))
    client.post(f"/organizer/events/{event.id}/cancel")  # and is told it is called off
    kinds = {"registered": 0, "lost_link": 0, "cancelled": 0, "promoted": 0,
             "event_cancelled": 0}
    subjects = {"ja": (("申し込みを受け付けました", "キャンセル待ちで受け付けました"),
                       "申し込みページのリンク", "キャンセルしました", "席が空きました",
                       "中止のお知らせ"),
                "en": (("Signed up", "On the waiting list"), "Your sign-up link", "Cancelled",
                       "A seat is free", "Called off")}[lang]
    assert len(smtp.messages) == 6
    for msg in smtp.messages:
        for kind, start in zip(kinds, subjects, strict=True):
            if msg["Subject"].startswith(start):  # a str or a tuple of them
                kinds[kind] += 1
        lines = text_of(msg).splitlines()
        links = [i for i, line in enumerate(lines) if "://" in line]
        assert links, msg["Subject"]
        for i in links:
            assert re.fullmatch(r"http://localhost/\S+", lines[i]), lines[i]
            assert lines[i].endswith(f"?lang={lang}"), lines[i]
            assert lines[i - 1].endswith(":") and "://" not in lines[i - 1], lines[i - 1]
            assert i + 1 == len(lines) or lines[i + 1] == "", lines[i + 1]
    assert kinds == {"registered": 2, "lost_link": 1, "cancelled": 1, "promoted": 1,
                     "event_cancelled": 1}, [m["Subject"] for m in smtp.messages]


def test_unreachable_server_does_not_lose_the_signup(app, client, make_event, signup):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens there
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=port)
    try:
        event = make_event(capacity=10)
        r = client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
        assert r.status_code == 201
    finally:
        app.config.update(MAIL_SERVER="")


def test_the_apps_log_shows_mail_without_any_logging_set_up():
    """`flask run` sets up no logging: the app's own log level must let the mails logged
    without a MAIL_SERVER through (Flask's logger would inherit the root's WARNING)."""
    import logging

    from config import DevelopmentConfig
    from gathering import create_app

    assert create_app(DevelopmentConfig).logger.getEffectiveLevel() == logging.INFO


def test_mail_logged_without_server(client, make_event, signup, caplog):
    event = make_event(capacity=10)
    with caplog.at_level("INFO"):
        client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    assert "/r/" in caplog.text and "hanako@example.jp" in caplog.text


def test_purge_command(runner, make_event, make_registration):
    event = make_event(capacity=10, starts_at=utcnow() - timedelta(days=40))
    reg, _ = make_registration(event, allergens={0: ["egg"]})
    result = runner.invoke(args=["purge-sensitive"])
    assert result.exit_code == 0 and "1 registration" in result.output
    db.session.expire_all()
    assert reg.attendees[0].allergens == []
    assert "0 registration" in runner.invoke(args=["purge-sensitive"]).output
    assert services.purge_sensitive(db.session, now=utcnow(), days=0) == 0


def test_calling_off_an_event_tells_every_party_in_its_language(client, auth, make_user,
                                                                make_event, make_registration,
                                                                smtp):
    event = make_event(capacity=3, title="子ども食堂")
    make_registration(event, people=("adult",), email="ja@example.jp")
    english, _ = make_registration(event, people=("adult",), email="en@example.jp")
    english.lang = "en"
    make_registration(event, people=("adult",), email="")  # signed up by phone
    walk_in, _ = make_registration(event, people=("adult",), email="", phone="")
    walk_in.is_walk_in = True  # came to the door: no number to call, not one to phone
    make_registration(event, people=("adult", "adult"), status="waitlisted",
                      email="wait@example.jp")
    gone, token = make_registration(event, people=("adult",), email="gone@example.jp")
    db.session.commit()
    client.post(f"/r/{token}/cancel", data={"whole": "1"})
    smtp.messages.clear()
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.post(f"/organizer/events/{event.id}/cancel",
                       follow_redirects=True).get_data(as_text=True)
    by_address = {m["To"]: m for m in smtp.messages}
    assert sorted(by_address) == ["en@example.jp", "ja@example.jp", "wait@example.jp"]
    assert by_address["ja@example.jp"]["Subject"] == "中止のお知らせ: 子ども食堂"
    assert by_address["en@example.jp"]["Subject"] == "Called off: 子ども食堂"
    assert "Please do not come" in text_of(by_address["en@example.jp"])
    assert "3組にメールで知らせました" in page and "1組はメールで知らせられませんでした" in page


def test_calling_off_an_event_through_the_api_tells_the_families(client, make_user, api_token,
                                                                  make_event, make_registration,
                                                                  smtp):
    event = make_event(capacity=3, title="子ども食堂")
    make_registration(event, people=("adult",), email="ja@example.jp")
    smtp.messages.clear()
    organizer = make_user("organizer", branches=[event.branch])
    r = client.patch(f"/api/v1/events/{event.id}", json={"status": "cancelled"},
                     headers=api_token(organizer))
    assert r.status_code == 200
    [mail] = smtp.messages
    assert mail["To"] == "ja@example.jp" and mail["Subject"] == "中止のお知らせ: 子ども食堂"
    r = client.patch(f"/api/v1/events/{event.id}", json={"description": "中止です"},
                     headers=api_token(organizer))
    assert len(smtp.messages) == 1  # told once


def test_an_english_letter_puts_a_latin_given_name_first(client, make_event, signup, smtp):
    event = make_event(capacity=5)
    client.post(f"/api/v1/events/{event.id}/registrations",
                json=signup(family_name="Brown", given_name="Amy", family_name_kana="",
                            given_name_kana="", email="amy@example.jp"),
                headers={"Accept-Language": "en"})
    client.post(f"/api/v1/events/{event.id}/registrations", json=signup(email="ja@example.jp"))
    by_address = {m["To"]: text_of(m) for m in smtp.messages}
    assert by_address["amy@example.jp"].startswith("Dear Amy Brown,")
    assert by_address["ja@example.jp"].startswith("山田花子 様")


def test_a_title_stored_with_a_line_break_still_mails(app, client, make_event, signup, smtp):
    event = make_event(capacity=5)
    db.session.execute(sa.text("UPDATE events SET title = :t WHERE id = :id"),
                       {"t": "子ども食堂\n12月", "id": event.id})
    db.session.commit()
    r = client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    assert r.status_code == 201
    [mail] = smtp.messages
    assert mail["Subject"].endswith("子ども食堂 12月")


# ---------------------------------------------------------------------------------------
# A series edit that cancels booked dates tells their parties, as cancelling one date does


def _wednesday_and_saturday_series(make_branch, make_user):
    """A weekly 水・土 series from tomorrow (the view edits it at the real time)."""
    from datetime import datetime, time

    from gathering.events import recurrence
    from gathering.events import services as events
    from gathering.timeutil import TOKYO
    from tests.events.conftest import series_data

    branch = make_branch()
    organizer = make_user("organizer", branches=[branch])
    first = datetime.combine(utcnow().astimezone(TOKYO).date() + timedelta(days=1),
                             time(11), TOKYO)
    cleaned = events.clean_series_data(series_data(
        starts_at=first, pattern=recurrence.Pattern("weekly", weekdays=[2, 5])))
    series = events.create_series(db.session, organizer, branch, cleaned, now=utcnow(),
                                  months=2)
    db.session.commit()
    days = {2: [], 5: []}
    for event in sorted(series.events, key=lambda e: e.starts_at):
        days[event.starts_at.astimezone(TOKYO).weekday()].append(event)
    return series, organizer, days[2], days[5]


def _saturdays_only_form(series, **overrides) -> dict:
    from gathering.timeutil import TOKYO
    from tests.organizer.test_organizer import series_form

    return series_form(series.branch_id, series.starts_at.astimezone(TOKYO).date(),
                       pattern="weekly", weekdays=["5"], nths=[], venue_name="",
                       confirm="y", **overrides)


def test_a_series_edit_that_cancels_booked_dates_tells_each_party_once(
        client, auth, make_branch, make_user, make_registration, smtp):
    from gathering.events import services as events

    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    booked, empty, cancelled_before = wednesdays[0], wednesdays[1], wednesdays[2]
    make_registration(booked, people=("adult",), email="ja@example.jp")
    english, _ = make_registration(booked, people=("adult",), email="en@example.jp")
    english.lang = "en"
    make_registration(booked, people=("adult",), email="")  # signed up by phone
    make_registration(booked, people=("adult", "adult"), status="waitlisted",
                      email="wait@example.jp")
    make_registration(booked, people=("adult",), status="cancelled", email="gone@example.jp")
    make_registration(cancelled_before, people=("adult",), email="before@example.jp")
    events.cancel_event(db.session, organizer, cancelled_before)
    make_registration(saturdays[0], people=("adult",), email="saturday@example.jp")
    db.session.commit()
    auth.login(organizer)
    form = _saturdays_only_form(series)

    page = client.post(f"/organizer/series/{series.id}/edit", data=form,
                       follow_redirects=True).get_data(as_text=True)
    by_address = {m["To"]: m for m in smtp.messages}
    assert sorted(by_address) == ["en@example.jp", "ja@example.jp", "wait@example.jp"]
    assert len(smtp.messages) == 3
    assert by_address["ja@example.jp"]["Subject"] == "中止のお知らせ: あさひかわ子ども食堂"
    assert by_address["en@example.jp"]["Subject"] == "Called off: あさひかわ子ども食堂"
    assert "Please do not come" in text_of(by_address["en@example.jp"])
    assert f"/events/{booked.id}" in text_of(by_address["ja@example.jp"])
    assert "中止1回" in page
    assert "中止した回に申込のあった3組にメールで知らせました。" in page
    assert "中止した回に申込のあった1組はメールで知らせられませんでした" in page
    db.session.expire_all()
    assert booked.status == "cancelled"
    assert db.session.get(type(empty), empty.id) is None  # nobody booked: removed, no mail

    page = client.post(f"/organizer/series/{series.id}/edit", data=form,
                       follow_redirects=True).get_data(as_text=True)
    assert len(smtp.messages) == 3  # sent again: nobody is told twice
    assert "中止0回" in page and "メールで知らせました" not in page


def test_a_series_edit_that_fails_to_save_mails_nobody(client, auth, make_branch, make_user,
                                                       make_registration, smtp):
    series, organizer, wednesdays, saturdays = _wednesday_and_saturday_series(
        make_branch, make_user)
    booked = wednesdays[0]
    make_registration(booked, people=("adult",), email="ja@example.jp")
    later = next(s for s in saturdays if s.starts_at > booked.starts_at)
    make_registration(later, people=("adult",), email="saturday@example.jp")
    auth.login(organizer)
    # the adult fee goes, but a family on a later Saturday chose it: the save is refused
    # after the Wednesday was cancelled in the same transaction
    form = _saturdays_only_form(series, **{"fees-1-label": "", "fees-1-code": "adult"})
    response = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert response.status_code == 200
    assert "申込で選ばれているため、削除できません" in response.get_data(as_text=True)
    assert smtp.messages == []
    db.session.expire_all()
    assert booked.status == "published"
