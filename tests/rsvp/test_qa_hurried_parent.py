"""QA pass as a hurried parent on an old phone: a sign-up without an e-mail address (the
manage page is the only way back), form fields a page never sends that answered 500, the
confirmation mail as phones show it (its HTML part), and a cancellation tapped twice."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Registration
from tests.rsvp.test_mail_cli import smtp  # noqa: F401 - the fixture
from tests.rsvp.test_manage import edit_data, fresh
from tests.rsvp.test_views import form_data, manage_token


def text(response) -> str:
    """The page's words, tags dropped (a sentence split by a tag reads whole)."""
    page = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


# ---------------------------------------------------------------------------------------
# No e-mail address: no mail carries the link, and the lost-link page works by address


def test_a_party_without_e_mail_is_told_to_keep_its_page(client, make_branch, make_event):
    branch = make_branch(name="あさひかわ食堂", contact_phone="0166123456")
    event = make_event(branch, capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data(email=""))
    assert r.status_code == 302
    page = text(client.get(r.headers["Location"]))
    assert "このページを保存してください" in page
    assert "ブックマーク" in page and "画像で保存" in page
    assert "あさひかわ食堂" in page and "0166-12-3456" in page  # whom to ask if it is lost


def test_a_party_with_e_mail_gets_no_such_warning(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    assert "このページを保存してください" not in text(client.get(r.headers["Location"]))


def test_a_waiting_party_without_e_mail_is_not_promised_a_message(client, make_event,
                                                                  make_registration):
    event = make_event(capacity=2)
    make_registration(event, people=["adult", "child"], phone="08011112222",
                      email="first@example.jp")
    r = client.post(f"/events/{event.id}/signup", data=form_data(email=""))
    page = text(client.get(r.headers["Location"]))
    assert fresh(db.session.scalar(sa.select(Registration).where(
        Registration.email == ""))).status == "waitlisted"
    # the sign-up's message and the page: nobody can write, so the family looks itself
    assert "席が空いたらお知らせします" not in page and "メールでお知らせします" not in page
    assert page.count("メールアドレスがないため、お知らせできません") == 2
    assert "このページを保存してください" in page and "繰り上がったか" in page


def test_a_waiting_party_with_e_mail_is_still_told_it_will_hear(client, make_event,
                                                                make_registration):
    event = make_event(capacity=2)
    make_registration(event, people=["adult", "child"], phone="08011112222",
                      email="first@example.jp")
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    page = text(client.get(r.headers["Location"]))
    assert "席が空いたらお知らせします" in page and "お知らせできません" not in page


# ---------------------------------------------------------------------------------------
# Digits that are digits to str.isdigit but not to int: a 500 before


@pytest.mark.parametrize("value", ["²", "١", "٣"])
def test_odd_digits_in_the_remove_button_change_nothing(client, make_event, value):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data(remove_person=value))
    assert r.status_code == 200
    assert "太郎" in r.get_data(as_text=True)  # both people still there, as typed
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_odd_digits_in_a_person_id_are_refused_next_to_the_row(client, make_event):
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    reg = db.session.scalar(sa.select(Registration))
    r = client.post(f"/r/{token}/edit", data=edit_data(reg, **{"attendees-0-id": "²"}))
    assert r.status_code == 422
    assert "この人は、この申し込みに入っていません" in text(r)
    r = client.post(f"/r/{token}/edit", data=edit_data(reg, remove_person="²"))
    assert r.status_code == 200
    assert fresh(reg).party_size == 2


# ---------------------------------------------------------------------------------------
# The confirmation as phones show it: the HTML part


def html_of(msg) -> str:
    body = msg.get_body(("html",)).get_content()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body))


def test_the_html_confirmation_says_where_how_to_cancel_and_whom_to_ask(
        client, make_branch, make_event, smtp):  # noqa: F811 - the fixture
    branch = make_branch(name="あさひかわ食堂", contact_phone="0166123456")
    event = make_event(branch, capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data())
    [msg] = smtp.messages
    html = html_of(msg)
    assert "〒070-0031" in html and "北海道旭川市1条通8丁目" in html
    assert "キャンセル" in html and "来られなくなったら" in html
    assert "あさひかわ食堂" in html and "0166-12-3456" in html
    assert f"/events/{event.id}?lang=ja" in msg.get_body(("html",)).get_content()
    # and the text part names whom to ask too
    plain = msg.get_body(("plain",)).get_content()
    assert "0166-12-3456" in plain


# ---------------------------------------------------------------------------------------
# A cancellation tapped twice


def test_cancelling_the_same_person_twice_reads_as_done(client, make_event):
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    reg = db.session.scalar(sa.select(Registration))
    child = reg.active_attendees[1].id
    client.post(f"/r/{token}/cancel", data={"attendee_ids": [child]})
    r = client.post(f"/r/{token}/cancel", data={"attendee_ids": [child]},
                    follow_redirects=True)
    page = r.get_data(as_text=True)
    assert "来られない人を選んでください" not in page  # no error: nothing was left to do
    assert "選んだ人は、もうキャンセルされています" in page
    assert fresh(reg).party_size == 1 and fresh(reg).status == "confirmed"


def test_cancelling_someone_of_another_party_is_still_refused(client, make_event,
                                                              make_registration):
    event = make_event(capacity=10)
    other, _ = make_registration(event, people=["child"], phone="08011112222",
                                 email="other@example.jp")
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    r = client.post(f"/r/{token}/cancel", data={"attendee_ids": [other.attendees[0].id]},
                    follow_redirects=True)
    assert "来られない人を選んでください" in r.get_data(as_text=True)
    assert fresh(other).party_size == 1


# ---------------------------------------------------------------------------------------
# A change in writing: the party as it now stands, and the fee with it


def test_a_change_is_confirmed_by_mail_with_the_new_party_and_fee(
        client, make_event, smtp):  # noqa: F811 - the fixture
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    reg = db.session.scalar(sa.select(Registration))
    r = client.post(f"/r/{token}/edit", data=edit_data(reg, **{
        "attendees-2-category": "adult", "attendees-2-name": "父"}))
    assert r.status_code == 302
    confirmation, changed = smtp.messages
    assert changed["Subject"] == f"申し込みを変更しました: {event.title}"
    body = changed.get_body(("plain",)).get_content()
    assert "申し込みを変更しました" in body and "- おとな 父" in body
    assert "全員来た場合 600円" in body  # two adults now
    lines = body.splitlines()
    link = lines.index(f"http://localhost/r/{token}?lang=ja")
    assert lines[link - 1].endswith(":") and lines[link + 1] == ""
    assert "心当たりがない場合は" in body  # a change nobody in the family made is noticed


def test_cancelling_some_people_is_confirmed_by_mail_with_who_still_comes(
        client, make_event, smtp):  # noqa: F811 - the fixture
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    reg = db.session.scalar(sa.select(Registration))
    client.post(f"/r/{token}/cancel", data={"attendee_ids": [reg.active_attendees[1].id]})
    assert len(smtp.messages) == 2
    body = smtp.messages[1].get_body(("plain",)).get_content()
    assert "- おとな" in body and "太郎" not in body


def test_a_change_without_e_mail_sends_nothing(client, make_event, smtp):  # noqa: F811
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data(email="")))
    reg = db.session.scalar(sa.select(Registration))
    r = client.post(f"/r/{token}/edit", data=edit_data(reg, message="よろしく"))
    assert r.status_code == 302 and smtp.messages == []


def test_a_form_saved_as_it_was_sends_no_change_mail(client, make_event,
                                                      smtp):  # noqa: F811 - the fixture
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    reg = db.session.scalar(sa.select(Registration))
    same = edit_data(reg, message=reg.message)
    for i, a in enumerate(reg.active_attendees):
        same[f"attendees-{i}-name"] = a.name
        same[f"attendees-{i}-allergens"] = list(a.allergens)
        same[f"attendees-{i}-diets"] = list(a.diets)
        same[f"attendees-{i}-note"] = a.note
    r = client.post(f"/r/{token}/edit", data=same)
    assert r.status_code == 302
    assert len(smtp.messages) == 1  # the confirmation only
    same["attendees-0-note"] = "ごまを少し"
    assert client.post(f"/r/{token}/edit", data=same).status_code == 302
    assert [m["Subject"] for m in smtp.messages][1] == f"申し込みを変更しました: {event.title}"
