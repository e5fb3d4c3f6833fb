"""The manage page behind the secret link, its edit and cancel POSTs, and the lost-link page:
what they offer for the event's state, and what they do when the session is gone."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.fees import services as fees
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO


def soon() -> datetime:
    return datetime.now(TOKYO).replace(microsecond=0, second=0, minute=0) + timedelta(days=7)


def edit_data(reg, **over) -> dict:
    """What the edit form sends for ``reg`` unchanged, then ``over``."""
    data = {"family_name": reg.family_name, "given_name": reg.given_name,
            "family_name_kana": reg.family_name_kana, "given_name_kana": reg.given_name_kana,
            "phone": reg.phone, "email": reg.email, "consent": "y"}
    for i, a in enumerate(reg.active_attendees):
        data[f"attendees-{i}-id"] = str(a.id)
        data[f"attendees-{i}-category"] = a.fee_category.code if a.fee_category else ""
    data.update(over)
    return data


def fresh(reg) -> Registration:
    db.session.expire_all()
    return db.session.get(Registration, reg.id)


def csrf_token_in(page: str) -> str:
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_client(app, make_app):
    """A client of an app that checks CSRF tokens, as production does."""
    checking = make_app(WTF_CSRF_ENABLED=True)
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    return checking.test_client()


# ---------------------------------------------------------------------------------------
# The session lost between opening a page and sending it


def send(client, path: str, data: dict):
    """POST from the other app's client, with no transaction of ours holding the database."""
    db.session.rollback()
    return client.post(path, data=data)


def stored(reg_id: int) -> dict:
    """What the database holds for a sign-up now (read, then the transaction ended)."""
    db.session.expire_all()
    reg = db.session.get(Registration, reg_id)
    out = {"status": reg.status, "given_name": reg.given_name, "party_size": reg.party_size,
           "allergens": [sorted(a.allergens) for a in reg.active_attendees],
           "notes": [a.note for a in reg.active_attendees]}
    db.session.rollback()
    return out


def test_an_edit_sent_without_its_session_comes_back_as_typed(csrf_client, make_event,
                                                              make_registration):
    """Types changes, the phone's browser restarts, presses save: the form again with
    everything typed and a fresh token; nothing saved until it is sent again."""
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult", "child"))
    data = edit_data(reg, given_name="花江", **{"attendees-1-allergens": ["wheat", "egg"],
                                               "attendees-1-note": "刻み食で"})
    stale = send(csrf_client, f"/r/{token}/edit",
                 dict(data, csrf_token="from-a-session-long-gone"))
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "変更はまだ保存されていません" in page and "もう一度「変更を保存する」を押して" in page
    assert 'value="花江"' in page and "刻み食で" in page
    ticked = re.findall(r'<input[^>]*name="attendees-1-allergens"[^>]*>', page)
    assert sorted(re.search(r'value="(\w+)"', t).group(1) for t in ticked
                  if "checked" in t) == ["egg", "wheat"]
    assert stored(reg.id) == {"status": "confirmed", "given_name": "花子", "party_size": 2,
                              "allergens": [[], []], "notes": ["", ""]}

    again = send(csrf_client, f"/r/{token}/edit", dict(data, csrf_token=csrf_token_in(page)))
    assert again.status_code == 302 and again.headers["Location"].endswith(f"/r/{token}")
    assert stored(reg.id) == {"status": "confirmed", "given_name": "花江", "party_size": 2,
                              "allergens": [[], ["egg", "wheat"]], "notes": ["", "刻み食で"]}


def test_adding_a_person_without_the_session_keeps_the_form(csrf_client, make_event,
                                                            make_registration):
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult",))
    r = send(csrf_client, f"/r/{token}/edit", edit_data(reg, given_name="花江",
                                                        add_person="1"))
    assert r.status_code == 400 and 'value="花江"' in r.get_data(as_text=True)
    assert stored(reg.id)["party_size"] == 1


@pytest.mark.parametrize("whole", [True, False])
def test_a_cancellation_sent_without_its_session_asks_again(csrf_client, make_event,
                                                            make_registration, whole):
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult", "child"))
    child = reg.active_attendees[1].id
    sent = {"whole": "1"} if whole else {"attendee_ids": [str(child)]}
    stale = send(csrf_client, f"/r/{token}/cancel", dict(sent, csrf_token="gone"))
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400
    assert "まだキャンセルされていません" in page and "もう一度ボタンを押してください" in page
    # the choice made is still made: the whole sign-up open, or the same person ticked
    assert ('<details class="confirm" open>' in page) is whole
    [box] = re.findall(rf'<input[^>]*value="{child}"[^>]*>', page)
    assert ("checked" in box) is (not whole)
    before = stored(reg.id)
    assert before["status"] == "confirmed" and before["party_size"] == 2

    again = send(csrf_client, f"/r/{token}/cancel", dict(sent, csrf_token=csrf_token_in(page)))
    assert again.status_code == 302
    after = stored(reg.id)
    assert (after["status"] == "cancelled") if whole else (after["party_size"] == 1)


def test_a_forged_cancellation_of_another_sign_up_is_still_404(csrf_client, make_event):
    make_event(capacity=10)
    assert send(csrf_client, "/r/nope/cancel", {"whole": "1"}).status_code == 404
    assert send(csrf_client, "/r/nope/edit", {}).status_code == 404


# ---------------------------------------------------------------------------------------
# An event the organizers called off


def test_the_manage_page_of_a_cancelled_event_offers_nothing_to_do(client, make_event,
                                                                   make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event, people=("adult", "adult"))
    event.status = "cancelled"
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "このイベントは中止です" in page and "当日は来ないでください" in page
    for offer in ("全員来た場合", "受付で払います", "/receipt", "来られなくなりましたか",
                  f"/r/{token}/cancel", f"/r/{token}/edit", "/calendar/me/", "qr.svg",
                  "変更は", "参加する人"):
        assert offer not in page, offer
    assert "申し込んだ人" in page  # what the sign-up held, not "who is coming"


def test_money_paid_for_a_cancelled_event_stays_on_the_page(client, make_event,
                                                            make_registration, make_user):
    event = make_event(capacity=10, fee_basis="registered")
    reg, token = make_registration(event, people=("adult",))
    organizer = make_user("organizer", branches=[event.branch])
    fees.record_payment(db.session, reg, 300, "bank_transfer", user=organizer,
                        received_on=date.today())
    db.session.commit()
    event.status = "cancelled"
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "300円をお支払いいただいています" in page and "返金について" in page
    assert f"/r/{token}/receipt" in page
    assert "来られなくなりましたか" not in page and "全員来た場合" not in page


# ---------------------------------------------------------------------------------------
# Money already paid, on the manage page


@pytest.mark.parametrize("basis, people, transfer, fee, said", [
    # the fee is for who comes and nobody came yet: measured against everyone coming
    ("attended", ("adult",), 300, "全員来た場合 300円。",
     "300円をお支払いいただいています。全員来た場合、当日受付で払うものはありません。"
     "来る人が少ない場合は、差額をお返しします。"),
    ("attended", ("adult", "adult"), 300, "全員来た場合 600円。",
     "300円をお支払いいただいています。当日は残りの分だけを受付で払います（全員来た場合 300円）。"),
    ("attended", ("adult",), 500, "全員来た場合 300円。",
     "500円をお支払いいただいています。全員来た場合の参加費より多いため、200円をお返しします。"),
    # everyone registered pays
    ("registered", ("adult", "adult"), 200, "600円",
     "200円をお支払いいただいています。残りは400円です。"),
    ("registered", ("adult",), 300, "300円",
     "300円をお支払いいただいています。これ以上のお支払いはありません。"),
    ("registered", ("adult",), 600, "300円",
     "600円をお支払いいただいています。参加費より多いため、300円をお返しします。"),
    ("registered", ("child",), 300, "無料",
     "300円をお支払いいただいています。参加費より多いため、300円をお返しします。"),
])
def test_the_manage_page_says_what_was_paid_and_what_comes_back(
        client, make_event, make_registration, make_user, basis, people, transfer, fee, said):
    """Before: a transfer before the day left 「全員来た場合 300円。当日、来た人の分を受付で払います。」
    (the family brings the cash again), and 600円 paid for 300円 said 「300円 (600円 支払いずみ)」
    without a word about the 300円 to come back."""
    event = make_event(capacity=10, fee_basis=basis)
    reg, token = make_registration(event, people=people)
    organizer = make_user("organizer", branches=[event.branch])
    fees.record_payment(db.session, reg, transfer, "bank_transfer", user=organizer,
                        received_on=date.today())
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    line = page[page.index("<dt>参加費</dt>"):page.index("</dl>")]
    text = re.sub(r"\s*<[^>]+>\s*", "|", line)
    assert f"|{fee}|" in text and f"|{said}|" in text, text
    assert "来た人の分を受付で払います" not in page


def test_nothing_paid_says_nothing_of_payments(client, make_event, make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event, people=("adult",))
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "全員来た場合 300円。当日、来た人の分を受付で払います。" in page
    assert "お支払いいただいています" not in page and "fee-paid" not in page


@pytest.mark.parametrize("path, data, message", [
    ("cancel", {"whole": "1"}, "このイベントは中止になりました。キャンセルの手続きはいりません。"),
    ("edit", {"given_name": "花江"}, "このイベントは中止になったため、申し込みは変更できません。"),
])
def test_changing_a_sign_up_of_a_cancelled_event_is_refused(client, make_event,
                                                            make_registration, path, data,
                                                            message):
    event = make_event(capacity=1)
    reg, token = make_registration(event, people=("adult",))
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted")
    event.status = "cancelled"
    db.session.commit()
    r = client.post(f"/r/{token}/{path}", data=data)
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/r/{token}")
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert message in page
    assert fresh(reg).status == "confirmed" and fresh(reg).given_name == "花子"
    assert fresh(waiting).status == "waitlisted"  # nobody moved up into a called-off event
    assert client.get(f"/r/{token}/edit").status_code == 302


def test_organizers_cannot_cancel_a_party_of_a_cancelled_event(client, auth, make_user,
                                                               make_event, make_registration):
    event = make_event(capacity=1)
    reg, _ = make_registration(event, people=("adult",))
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted")
    event.status = "cancelled"
    db.session.commit()
    auth.login(make_user("organizer", branches=[event.branch]))
    listing = f"/organizer/events/{event.id}/registrations"
    assert "/cancel" not in client.get(listing).get_data(as_text=True).split("<table", 1)[1]
    r = client.post(f"{listing}/{reg.id}/cancel")
    assert r.status_code == 302
    assert "中止になりました" in client.get(listing).get_data(as_text=True)
    assert stored(reg.id)["status"] == "confirmed"
    assert stored(waiting.id)["status"] == "waitlisted"


# ---------------------------------------------------------------------------------------
# The deadline for changes


def test_the_manage_page_says_until_when_changes_are_possible(client, make_event,
                                                              make_registration):
    start = soon().replace(hour=11)
    closes = (start - timedelta(days=1)).replace(hour=17)
    event = make_event(capacity=10, starts_at=start, signup_closes_at=closes)
    _, token = make_registration(event)
    page = client.get(f"/r/{token}").get_data(as_text=True)
    weekday = "月火水木金土日"[closes.weekday()]
    assert f"変更は{closes.month}月{closes.day}日({weekday}) 17:00までです。" in page
    assert f"/r/{token}/edit" in page
    english = client.get(f"/r/{token}?lang=en").get_data(as_text=True)
    assert f"Changes are possible until {closes:%a} {closes.day} {closes:%b} 17:00." in english


def test_after_the_deadline_the_page_says_whom_to_ask(client, make_event, make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event, people=("adult", "child"))
    event.signup_closes_at = datetime.now(TOKYO) - timedelta(hours=1)
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "申し込みの受付が終わったため、ここでは変更できません" in page
    assert f"主催者（{event.branch.name}）に連絡してください" in page
    assert "キャンセルは、下のボタンからまだできます" in page
    assert f"/r/{token}/edit" not in page and f"/r/{token}/cancel" in page


def test_once_someone_came_the_page_does_not_offer_to_cancel(client, make_event,
                                                             make_registration):
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult",))
    event.signup_closes_at = datetime.now(TOKYO) - timedelta(hours=1)
    reg.active_attendees[0].checked_in_at = datetime.now(TOKYO)
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "ここでは変更できません" in page and "キャンセルは" not in page


# ---------------------------------------------------------------------------------------
# Lost link


@pytest.mark.parametrize("typed, message", [
    ("", "申し込みに使ったメールアドレスを入れてください。"),
    ("hanako.example.jp", "name@example.jp のようなメールアドレスを入れてください。"),
    ("x" * 250 + "@example.jp", "長すぎます（254文字まで）。"),
])
def test_lost_link_says_what_is_wrong_with_the_address(client, typed, message):
    r = client.post("/r/lost", data={"email": typed})
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    assert message in page and "リンクを送りました" not in page
    if typed:
        assert f'value="{typed}"' in page


def test_lost_link_answers_the_same_for_a_known_and_an_unknown_address(client, make_event,
                                                                       make_registration):
    event = make_event(capacity=10)
    make_registration(event, email="hanako@example.jp")
    answers = []
    for address in ("hanako@example.jp", "nobody@example.jp"):
        r = client.post("/r/lost", data={"email": address})
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        flash = re.search(r'class="flash[^"]*"[^>]*>(.*?)<', page, re.S).group(1)
        answers.append((r.status_code, r.headers["Location"], flash))
    assert answers[0] == answers[1] and answers[0][0] == 302
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 1


def test_lost_link_sent_without_its_session_asks_again_with_the_address_kept(csrf_client):
    r = send(csrf_client, "/r/lost", {"email": "hanako@example.jp",
                                      "csrf_token": "from-a-session-long-gone"})
    page = r.get_data(as_text=True)
    assert r.status_code == 400 and "もう一度「リンクを送る」を押してください" in page
    assert 'value="hanako@example.jp"' in page
    again = send(csrf_client, "/r/lost", {"email": "hanako@example.jp",
                                          "csrf_token": csrf_token_in(page)})
    assert again.status_code == 302  # the fresh token on the page is taken


def test_the_manage_page_writes_a_latin_name_as_its_mail_does(client, make_event,
                                                               make_registration):
    event = make_event(capacity=10)
    _reg, token = make_registration(event, family_name="Murphy", given_name="Sean",
                                    kana=("", ""), email="sean@example.ie")
    english = client.get(f"/r/{token}?lang=en").get_data(as_text=True)
    assert "Sean Murphy" in english  # as "Dear Sean Murphy" in the mail
    japanese = client.get(f"/r/{token}?lang=ja").get_data(as_text=True)
    assert "Murphy Sean" in japanese  # family name first, as the door list has it


# ---------------------------------------------------------------------------------------
# Whom to ask: the group's contact where the page says to contact the organizers

CONTACT = {"contact_phone": "0166123456", "contact_email": "info@asahikawa.example.jp"}
TEL = '<a href="tel:0166123456">0166-12-3456</a>'
MAILTO = '<a href="mailto:info@asahikawa.example.jp">info@asahikawa.example.jp</a>'


def test_after_the_deadline_the_page_gives_the_groups_phone_and_address(
        client, make_event, make_branch, make_registration):
    event = make_event(make_branch(name="あさひかわ子ども食堂", **CONTACT), capacity=10)
    _, token = make_registration(event)
    event.signup_closes_at = datetime.now(TOKYO) - timedelta(hours=1)
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "主催者（あさひかわ子ども食堂）に連絡してください" in page  # the sentence as before
    assert f"お問い合わせ: 電話番号 {TEL} · メールアドレス {MAILTO}" in page
    english = client.get(f"/r/{token}?lang=en").get_data(as_text=True)
    assert f"Inquiries: Phone {TEL} · E-mail {MAILTO}" in english


def test_while_changes_are_possible_the_manage_page_gives_no_contact(
        client, make_event, make_branch, make_registration):
    _, token = make_registration(make_event(make_branch(**CONTACT), capacity=10))
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "変更は" in page and "お問い合わせ" not in page and "tel:" not in page


def test_money_to_come_back_says_whom_to_ask_with_the_groups_contact(
        client, make_event, make_branch, make_registration, make_user):
    branch = make_branch(name="くしろ食堂", contact_phone="0166000000")
    event = make_event(branch, capacity=10, fee_basis="registered")
    reg, token = make_registration(event, people=("adult",))
    fees.record_payment(db.session, reg, 300, "bank_transfer",
                        user=make_user("organizer", branches=[branch]),
                        received_on=date.today())
    event.status = "cancelled"
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "返金については主催者（くしろ食堂）にお問い合わせください。" in page
    assert 'お問い合わせ: 電話番号 <a href="tel:0166000000">0166-00-0000</a></p>' in page
    assert "mailto:" not in page


def test_without_a_contact_the_manage_page_reads_as_before(client, make_event,
                                                           make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event)
    event.signup_closes_at = datetime.now(TOKYO) - timedelta(hours=1)
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert f"主催者（{event.branch.name}）に連絡してください" in page
    assert "お問い合わせ" not in page and "tel:" not in page and "mailto:" not in page


def test_lost_link_from_an_event_page_gives_its_groups_contact(client, make_event,
                                                               make_branch):
    event = make_event(make_branch(name="あさひかわ子ども食堂", **CONTACT), capacity=10)
    event_page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert f'href="/r/lost?event={event.id}"' in event_page
    page = client.get(f"/r/lost?event={event.id}").get_data(as_text=True)
    assert "メールアドレスなしで申し込んだ場合は、主催者に連絡してください。" in page
    assert (f"お問い合わせ（あさひかわ子ども食堂）: 電話番号 {TEL} · メールアドレス {MAILTO}"
            in page)
    # sent from there, it comes back to the same page
    r = client.post(f"/r/lost?event={event.id}", data={"email": "nobody@example.jp"})
    assert r.status_code == 302 and r.headers["Location"] == f"/r/lost?event={event.id}"
    r = client.post(f"/r/lost?event={event.id}", data={"email": "hanako.example.jp"})
    assert r.status_code == 422 and TEL in r.get_data(as_text=True)


@pytest.mark.parametrize("query", ["", "?event=", "?event=abc", "?event=999999",
                                   "?event=99999999999999999999", "?event=-1", "?event=²",
                                   "draft"])
def test_lost_link_without_a_public_event_reads_as_before(client, make_event, make_branch,
                                                          query):
    if query == "draft":
        query = f"?event={make_event(make_branch(**CONTACT), status='draft').id}"
    r = client.get(f"/r/lost{query}")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "メールアドレスなしで申し込んだ場合は、主催者に連絡してください。" in page and "お問い合わせ" not in page
