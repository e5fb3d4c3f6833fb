"""What the sign-up pages and mails say, in Japanese and in English: a cancelled sign-up is
申込取消 (not the event's 中止), why a party waits, how long allergy data is kept, the
button as a verb, names in English order and lists joined the way each language does."""

from __future__ import annotations

import re

import pytest

from gathering import mail
from gathering.extensions import db
from tests.rsvp.test_views import form_data


def _text(response) -> str:
    return response.get_data(as_text=True)


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', page, re.S))


@pytest.fixture
def mails(monkeypatch):
    """The mails sent, rendered: each as its plain text and its HTML."""
    sent = []

    def _send(to, subject, template, **context):
        msg = mail.build_message(to, subject, template, **context)
        html = msg.get_body(("html",))
        sent.append((msg.get_body(("plain",)).get_content(),
                     html.get_content() if html else ""))
        return True

    monkeypatch.setattr(mail, "send_mail", _send)
    return sent


# ---------------------------------------------------------------------------------------
# 申込取消, not 中止


@pytest.mark.parametrize(("lang", "label", "wrong"), [
    ("ja", "申込取消", "<li>中止:"), ("en", "Sign-up cancelled", "<li>Cancelled:")])
def test_the_list_calls_a_withdrawn_sign_up_by_its_status(client, auth, make_user,
                                                         make_branch, make_event,
                                                         make_registration, lang, label,
                                                         wrong):
    branch = make_branch()
    event = make_event(branch, capacity=10)
    make_registration(event, status="cancelled")
    auth.login(make_user("organizer", branches=[branch]))
    client.set_cookie("lang", lang)
    page = _text(client.get(f"/organizer/events/{event.id}/registrations"))
    assert f"<li>{label}: 2</li>" in page and wrong not in page  # its 2 people
    assert f'<option value="cancelled">{label}</option>' in page


@pytest.mark.parametrize(("lang", "said"), [
    ("ja", "この申し込みはキャンセルされているため、変更できません。やはり参加する場合は、"
           "つどいのページからもう一度申し込んでください。"),
    ("en", "This sign-up is cancelled, so it cannot be changed. To come after all, please "
           "sign up again on the event page.")])
def test_editing_a_cancelled_sign_up_says_it_was_cancelled(client, make_event,
                                                           make_registration, lang, said):
    event = make_event(capacity=10)  # sign-up open
    _reg, token = make_registration(event, status="cancelled")
    client.set_cookie("lang", lang)
    page = _text(client.get(f"/r/{token}/edit", follow_redirects=True))
    assert said in _flash(page)
    assert "sign-up is open" not in page and "受付中だけ" not in page


# ---------------------------------------------------------------------------------------
# Why a party waits


def _second_party(**over):
    return form_data(idempotency_key="key-2", family_name="佐藤", family_name_kana="さとう",
                     phone="080-2222-3333", email="sato@example.jp", **over)


@pytest.mark.parametrize(("lang", "page_says", "mail_says"), [
    ("en", "Only 1 seat is left, not enough for your party of 2, so you are on the waiting "
           "list.",
     "Thank you for signing up. Only 1 seat is left, not enough for your party of 2, so you "
     "are on the waiting list."),
    ("ja", "残りの席は1席で、2人には足りないため、キャンセル待ちとして受け付けました。",
     "お申し込みありがとうございます。残りの席は1席で、2人には足りないため、キャンセル待ちで"
     "受け付けました。")])
def test_a_party_too_large_for_the_seats_left_is_told_so_not_that_it_is_full(
        client, make_event, mails, lang, page_says, mail_says):
    event = make_event(capacity=3)
    client.post(f"/events/{event.id}/signup?lang={lang}", data=form_data())  # 2 of 3
    mails.clear()
    r = client.post(f"/events/{event.id}/signup?lang={lang}", data=_second_party())
    page = _text(client.get(r.headers["Location"]))
    assert page_says in _flash(page)
    assert "full" not in _flash(page) and "満席" not in _flash(page)
    [(text, html)] = mails
    for body in (text, html):
        assert mail_says in body and "full" not in body and "満席" not in body


def test_a_party_waiting_because_the_event_is_full_is_told_it_is_full(client, make_event,
                                                                      mails):
    event = make_event(capacity=2)
    client.post(f"/events/{event.id}/signup?lang=en", data=form_data())  # 2 of 2
    mails.clear()
    r = client.post(f"/events/{event.id}/signup?lang=en", data=_second_party())
    page = _text(client.get(r.headers["Location"]))
    assert "The event is full, so your party of 2 people is on the waiting list." in page
    [(text, _html)] = mails
    assert "The event is full, so you are on the waiting list." in text


def test_a_waiting_list_mail_without_the_seats_left_does_not_claim_the_event_is_full(
        app, make_event, make_registration, mails):
    from gathering.rsvp.mails import send_registration_mail

    event = make_event(capacity=1)
    reg, token = make_registration(event, status="waitlisted")
    reg.lang = "en"
    with app.test_request_context():
        send_registration_mail(reg, token)
    [(text, _html)] = mails
    assert "There are not enough seats left for your whole party" in text
    assert "full" not in text


def test_the_api_sign_up_mail_says_how_many_seats_were_left(client, make_event, signup,
                                                            mails):
    event = make_event(capacity=3)
    client.post(f"/api/v1/events/{event.id}/registrations", json=signup())
    mails.clear()
    r = client.post(f"/api/v1/events/{event.id}/registrations", json=signup(
        family_name="佐藤", phone="080-2222-3333", email="sato@example.jp"))
    assert r.get_json()["status"] == "waitlisted"
    [(text, _html)] = mails
    assert "残りの席は1席で、2人には足りないため" in text


# ---------------------------------------------------------------------------------------
# The consent says how long allergy data is kept


@pytest.mark.parametrize(("lang", "said"), [
    ("ja", "つどいの30日後に消します。"), ("en", "it is deleted 30 days after the event.")])
def test_the_consent_names_the_retention_period(client, make_event, lang, said):
    event = make_event(capacity=10)
    page = _text(client.get(f"/events/{event.id}?lang={lang}"))
    assert said in page
    assert "つどいの後に消します" not in page and "deleted after the event" not in page


def test_the_consent_follows_the_setting(app, make_app, make_event):
    event_id = make_event(capacity=10).id
    db.session.rollback()  # never hold the SQLite write lock while the other app works
    client = make_app(SENSITIVE_DATA_RETENTION_DAYS=1).test_client()
    page = _text(client.get(f"/events/{event_id}?lang=en"))
    assert "it is deleted 1 day after the event." in page


# ---------------------------------------------------------------------------------------
# The button and the heading


def test_the_button_is_a_verb_and_the_heading_a_noun(client, make_event):
    event = make_event(capacity=10)
    page = _text(client.get(f"/events/{event.id}"))
    assert '<h2 id="signup-title">申し込み</h2>' in page
    assert '<button type="submit" class="primary big">申し込む</button>' in page
    english = _text(client.get(f"/events/{event.id}?lang=en"))
    assert '<button type="submit" class="primary big">Sign up</button>' in english


def test_a_party_size_of_one_is_said_in_the_singular(app, make_app, make_event):
    event_id = make_event(capacity=10).id
    db.session.rollback()
    client = make_app(MAX_PARTY_SIZE=1).test_client()
    page = _text(client.get(f"/events/{event_id}?lang=en"))
    assert "At most 1 person can sign up together." in page


# ---------------------------------------------------------------------------------------
# The kitchen summary


@pytest.mark.parametrize(("lang", "line"), [
    ("en", "Amy Brown (#1, #2)"), ("ja", "Brown Amy (#1、#2)")])
def test_the_kitchen_summary_orders_names_and_joins_people(client, auth, make_user,
                                                          make_branch, make_event,
                                                          make_registration, lang, line):
    branch = make_branch()
    event = make_event(branch, capacity=10)
    make_registration(event, family_name="Brown", given_name="Amy",
                      kana=("ブラウン", "エイミー"), allergens={0: ["egg"], 1: ["egg"]})
    auth.login(make_user("organizer", branches=[branch]))
    client.set_cookie("lang", lang)
    page = _text(client.get(f"/organizer/events/{event.id}/kitchen"))
    assert line in page
