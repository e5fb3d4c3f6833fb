"""The sign-up form sent again, with people left empty, too many people or a name too long:
the rules called directly, then the form (no JavaScript) and the API."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import Conflict, ValidationFailed
from gathering.extensions import db
from gathering.rsvp import services
from gathering.rsvp.models import Attendee, Registration
from tests.rsvp.test_views import form_data, manage_token


def reg_(event, payload, now, **kw):
    result = services.register(db.session, event, payload, now=now, **kw)
    db.session.commit()
    return result


def count() -> int:
    db.session.expire_all()
    return db.session.scalar(sa.select(sa.func.count(Registration.id)))


def people_stored() -> int:
    return db.session.scalar(sa.select(sa.func.count(Attendee.id)))


@pytest.fixture
def mails(monkeypatch):
    """The confirmation mails the form sends: (registration id, kind)."""
    sent = []
    monkeypatch.setattr("gathering.rsvp.views.send_registration_mail",
                        lambda reg, token, kind="registered", **context: sent.append((reg.id, kind)))
    return sent


# ---------------------------------------------------------------------------------------
# The rules


def test_a_party_signed_up_already_is_refused_under_another_key(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg_(event, signup(), now, idempotency_key="page-1")
    # the same family from a reloaded page: its name written another way, one contact only
    for again in (signup(), signup(email=""), signup(phone="", email="hanako@example.jp"),
                  signup(family_name="山田 ", given_name="花子", phone="09012345678"),
                  signup(family_name="ヤマダ", given_name="ハナコ")):
        if again["contact"]["family_name"] == "ヤマダ":
            reg_(event, signup(family_name="やまだ", given_name="はなこ",
                               email="kana@example.jp"), now)
        with pytest.raises(Conflict) as exc:
            services.register(db.session, event, again, now=now, idempotency_key="page-2")
        assert exc.value.code == "already_registered" and exc.value.status == 409
        assert "manage_token" not in exc.value.details
        db.session.rollback()
    assert count() == 2 and event.seats_taken == 4


def test_an_address_typed_with_capitals_is_the_same_party(make_event, signup, now):
    # a phone capitalises the first letter: Anna@example.jp once, anna@EXAMPLE.jp again
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    first = reg_(event, signup(family_name="Smith", given_name="Anna", phone="",
                               email="Anna@Example.COM"), now).registration
    assert first.email == "anna@example.com"
    with pytest.raises(Conflict) as exc:
        services.register(db.session, event, signup(
            family_name="Smith", given_name="Anna", phone="", email="anna@example.COM"),
            now=now, idempotency_key="page-2")
    assert exc.value.code == "already_registered"
    db.session.rollback()
    assert count() == 1 and event.seats_taken == 2


def test_another_party_with_the_same_phone_or_name_is_not_a_duplicate(make_event, signup,
                                                                     now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg_(event, signup(), now)
    # the father signs his own party up with the family phone; another 山田花子 elsewhere
    reg_(event, signup(given_name="太郎", given_name_kana="たろう", email=""), now)
    reg_(event, signup(phone="080-1111-2222", email="other@example.jp"), now)
    assert count() == 3


def test_a_cancelled_sign_up_does_not_stop_signing_up_again(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    first = reg_(event, signup(), now).registration
    services.cancel_registration(db.session, first, now=now)
    db.session.commit()
    assert reg_(event, signup(), now).status == "confirmed"


def test_walk_ins_are_not_checked_for_duplicates(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg_(event, signup(), now)
    reg_(event, signup(), now, is_walk_in=True)
    assert count() == 2


def test_the_same_key_with_changes_is_already_sent_and_changes_nothing(make_event, signup,
                                                                       now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    first = reg_(event, signup(), now, idempotency_key="page-1")
    child = {"category": "child", "name": "", "allergens": ["egg"], "diets": [], "note": ""}
    changed = signup()
    changed["attendees"].append(child)
    # a child added; the given name corrected: the same page, the same party
    for again in (changed, signup(given_name="華子")):
        with pytest.raises(Conflict) as exc:
            services.register(db.session, event, again, now=now, idempotency_key="page-1")
        assert exc.value.code == "already_sent"
        assert exc.value.details["manage_token"] == first.manage_token
        db.session.rollback()
    assert count() == 1 and first.registration.party_size == 2 and event.seats_taken == 2
    # the exact double tap still answers with the first sign-up
    again = reg_(event, signup(), now, idempotency_key="page-1")
    assert again.replayed and again.registration.id == first.registration.id
    # another family on the same page (a shared phone) is not this party
    with pytest.raises(Conflict) as exc:
        services.register(db.session, event, signup(family_name="佐藤", phone="080-1111-2222",
                                                     email="sato@example.jp"),
                          now=now, idempotency_key="page-1")
    assert exc.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("key, value", [
    ("family_name", "山" * 300), ("given_name", "花" * 300),
    ("family_name_kana", "ヤ" * 300), ("given_name_kana", "ハ" * 61),
    ("family_name", "山" * 61),
])
def test_a_name_too_long_gets_one_error_saying_so(make_event, signup, now, key, value):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(**{key: value}), now)
    assert {k: [str(m) for m in v] for k, v in exc.value.fields.items()} == {
        f"contact.{key}": ["長すぎます（60文字まで）。"]}


def test_a_party_too_large_is_refused_on_the_people(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(attendees=[{"category": "adult"}] * 4), now)
    assert exc.value.code == "party_too_large"
    assert [str(m) for m in exc.value.fields["attendees"]] == [
        "このつどいの席は全部で3席なので、この人数では申し込めません。3人までにするか、"
        "主催者に相談してください。"]


# ---------------------------------------------------------------------------------------
# The form, without JavaScript


def test_back_to_a_reloaded_page_and_sent_again_is_refused_with_everything_kept(
        client, make_event, mails):
    event = make_event(capacity=10)
    first = client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-1"))
    token = manage_token(first)
    # Back reloaded the page: a new key, the same family, a child with an egg allergy
    again = client.post(f"/events/{event.id}/signup", data=form_data(
        idempotency_key="page-2", **{"attendees-2-category": "child",
                                     "attendees-2-allergens": ["egg"]}))
    page = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "この名前と連絡先で、すでに申し込まれています。" in page
    assert "リンクをなくした場合は" in page and 'href="/r/lost"' in page
    assert token not in page and "/r/" not in page.replace("/r/lost", "")
    # nothing stored, one mail; everything typed is still on the form
    assert count() == 1 and people_stored() == 2 and len(mails) == 1
    assert 'value="山田"' in page and 'value="090-1234-5678"' in page
    assert re.search(r'name="attendees-2-allergens" type="checkbox" value="egg" checked', page) \
        or re.search(r'checked[^>]*name="attendees-2-allergens"[^>]*value="egg"', page)
    assert 'value="page-2"' in page  # the same page's key: sending it again changes nothing


def test_signed_up_already_without_e_mail_the_form_gives_the_groups_contact(
        client, make_event, make_branch, mails):
    branch = make_branch(name="あさひかわ子ども食堂", contact_phone="0166123456",
                         contact_email="info@asahikawa.example.jp")
    event = make_event(branch, capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-1"))
    again = client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-2"))
    box = re.search(r'<div class="error-summary signup-conflict".*?</div>',
                    again.get_data(as_text=True), re.S).group(0)
    assert "メールアドレスなしで申し込んだ場合は、主催者に連絡してください。" in box
    assert ('お問い合わせ（あさひかわ子ども食堂）: 電話番号 <a href="tel:0166123456">'
            '0166-12-3456</a> · メールアドレス <a href="mailto:info@asahikawa.example.jp">'
            in box)
    other = make_event(capacity=10)  # a group with no contact: the box as before
    client.post(f"/events/{other.id}/signup", data=form_data(idempotency_key="page-3"))
    again = client.post(f"/events/{other.id}/signup", data=form_data(idempotency_key="page-4"))
    box = re.search(r'<div class="error-summary signup-conflict".*?</div>',
                    again.get_data(as_text=True), re.S).group(0)
    assert "主催者に連絡してください" in box and "お問い合わせ" not in box


def test_the_same_page_sent_again_with_changes_says_so_and_offers_the_sign_up(
        client, make_event, mails):
    event = make_event(capacity=10)
    first = client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-1"))
    token = manage_token(first)
    # the back/forward cache kept the page (the same key); a child with an egg allergy added
    again = client.post(f"/events/{event.id}/signup", data=form_data(
        idempotency_key="page-1", **{"attendees-2-category": "child",
                                     "attendees-2-allergens": ["egg"]}))
    page = again.get_data(as_text=True)
    assert again.status_code == 409
    assert "この申し込みはすでに送信され、受け付けています。" in page
    assert "あとから変えた内容は保存されていません。" in page
    assert f'href="/r/{token}"' in page and "申し込みのページを開く" in page
    assert count() == 1 and people_stored() == 2 and len(mails) == 1
    # its own page offers the change
    assert f"/r/{token}/edit" in client.get(f"/r/{token}").get_data(as_text=True)
    # the exact double tap still lands on the sign-up, without a second message
    tap = client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-1"))
    assert tap.status_code == 302 and manage_token(tap) == token and len(mails) == 1


def test_the_conflicts_speak_english_too(client, make_event):
    event = make_event(capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="page-1"))
    page = client.post(f"/events/{event.id}/signup?lang=en",
                       data=form_data(idempotency_key="page-2")).get_data(as_text=True)
    assert "You have already signed up for this event with this name and contact." in page
    assert "Send me the link again" in page


def test_the_flash_says_how_many_people_are_signed_up(client, make_event,
                                                      make_registration):
    event = make_event(capacity=3)
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "ありがとうございます。2人の申し込みを受け付けました。" in page
    r = client.post(f"/events/{event.id}/signup", data=form_data(
        idempotency_key="key-2", family_name="佐藤", family_name_kana="さとう",
        phone="080-2222-3333", email="sato@example.jp"))
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    # one seat was left, too few for the two of them: the event is not full
    assert "残りの席は1席で、2人には足りないため、キャンセル待ちとして受け付けました。" in page
    assert "満席" not in page


def _added_row_page(client, event) -> str:
    """The form after "add a person" without JavaScript, with one person filled in."""
    data = form_data()
    for key in [k for k in data if k.startswith("attendees-1-")]:
        del data[key]
    r = client.post(f"/events/{event.id}/signup", data={**data, "add_person": "1"})
    assert r.status_code == 200
    return r.get_data(as_text=True)


def _as_sent(page: str) -> dict:
    """What the browser sends for the people rows as the page shows them."""
    data = {}
    for name, body in re.findall(r'<select[^>]*name="(attendees-\d+-category)"[^>]*>(.*?)'
                                 r"</select>", page, re.S):
        options = re.findall(r'<option([^>]*)value="([^"]*)"', body)
        chosen = [v for attrs, v in options if "selected" in attrs] or [options[0][1]]
        data[name] = chosen[0]
    return data


def test_an_added_row_left_empty_asks_for_its_category(client, make_event):
    """Several categories: the empty row is a person whose 区分 was forgotten, not nobody."""
    event = make_event(capacity=10)
    page = _added_row_page(client, event)
    sent = _as_sent(page)
    assert sent == {"attendees-0-category": "adult", "attendees-1-category": ""}
    data = {**form_data(), **sent}
    data = {k: v for k, v in data.items() if not k.startswith("attendees-1-") or k in sent}
    r = client.post(f"/events/{event.id}/signup", data=data)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and count() == 0
    assert 'id="attendees-1-category-error"' in page and "区分を選んでください。" in page
    assert 'class="error-summary" role="alert"' in page


def test_an_added_row_left_empty_is_a_person_with_one_category(client, make_event):
    """One category: the row already has it, as the page shows; the count says so."""
    event = make_event(capacity=10, fees=[{"code": "all", "label": "どなたでも", "amount": 300}])
    page = _added_row_page(client, event)
    assert "2人で申し込みます。" in page
    sent = _as_sent(page)
    assert sent == {"attendees-0-category": "all", "attendees-1-category": "all"}
    data = {k: v for k, v in form_data().items() if not k.startswith("attendees-")}
    r = client.post(f"/events/{event.id}/signup", data={**data, **sent})
    assert r.status_code == 302
    reg = db.session.scalar(sa.select(Registration))
    assert reg.party_size == 2 and event.seats_taken == 2
    assert "2人の申し込みを受け付けました" in client.get(r.headers["Location"]).get_data(
        as_text=True)


def test_an_empty_row_counts_the_same_without_fee_categories(client, make_event):
    event = make_event(capacity=10, fees=[])
    data = {k: v for k, v in form_data().items() if not k.startswith("attendees-")}
    r = client.post(f"/events/{event.id}/signup",
                    data={**data, "attendees-0-name": "", "attendees-1-name": ""})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Registration)).party_size == 2


def _seat_notes(page: str) -> dict:
    return {name: f"data-{name}" in page and not re.search(
        rf"data-{name}[^>]*hidden|hidden[^>]*data-{name}", page)
        for name in ("seats-short", "seats-full", "too-large")}


def test_the_form_warns_as_the_service_decides(client, make_event, make_registration):
    event = make_event(capacity=3)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "このつどいの席は全部で3席です。これより多い人数では申し込めません。" in page
    assert "人数がこれより多いと、キャンセル待ち" not in page  # nobody larger can wait
    assert _seat_notes(page) == {"seats-short": False, "seats-full": False, "too-large": False}
    four = {**form_data(), "attendees-2-category": "child", "attendees-3-category": "child"}
    page = client.post(f"/events/{event.id}/signup", data={**four, "add_person": "1"}
                       ).get_data(as_text=True)  # five on the page now
    assert _seat_notes(page)["too-large"] and not _seat_notes(page)["seats-short"]
    make_registration(event, people=("adult", "adult"))
    page = client.post(f"/events/{event.id}/signup",
                       data={**form_data(), "add_person": "0"}).get_data(as_text=True)
    assert "残り1席です。人数がこれより多いと、キャンセル待ちになります。" in page
    assert _seat_notes(page) == {"seats-short": True, "seats-full": False, "too-large": False}


def test_a_party_too_large_is_marked_on_the_people_section(client, make_event):
    event = make_event(capacity=3)
    four = {**form_data(), "attendees-2-category": "child", "attendees-3-category": "child",
            "attendees-3-name": "陽"}
    r = client.post(f"/events/{event.id}/signup", data=four)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and count() == 0
    party = page[page.index('<fieldset class="stack party'):]
    party = party[:party.index('<fieldset class="person')]
    assert "party-has-error" in party and 'aria-describedby="attendees-error"' in party
    assert re.search(r'<p class="error" id="attendees-error">このつどいの席は全部で3席なので、'
                     r"この人数では申し込めません。3人までにするか", party)
    assert "下の赤い字のところを見てください" in page  # and there is something in red
    assert 'value="陽"' in page


def test_a_name_too_long_on_the_form_gets_one_error_and_is_kept(client, make_event):
    event = make_event(capacity=10)
    long = "山" * 300
    r = client.post(f"/events/{event.id}/signup", data=form_data(family_name=long))
    page = r.get_data(as_text=True)
    assert r.status_code == 422
    errors = re.search(r'<p class="error" id="family_name-error">(.*?)</p>', page).group(1)
    assert errors == "長すぎます（60文字まで）。"
    assert "姓を入れてください" not in page and f'value="{long}"' in page


# ---------------------------------------------------------------------------------------
# The API


def url(event):
    return f"/api/v1/events/{event.id}/registrations"


def test_api_refuses_the_same_party_with_a_stable_code(client, make_event, signup):
    event = make_event(capacity=10)
    first = client.post(url(event), json={**signup(), "idempotency_key": "a"})
    assert first.status_code == 201
    r = client.post(url(event), json={**signup(), "idempotency_key": "b"})
    error = r.get_json()["error"]
    assert r.status_code == 409 and error["code"] == "already_registered"
    assert error["lost_link_url"] == "http://localhost/r/lost"
    assert "manage_url" not in error and first.get_json()["manage_url"] not in r.get_data(
        as_text=True)
    assert "すでに申し込まれています" in error["message"]
    english = client.post(url(event), json=signup(), headers={"Accept-Language": "en"})
    assert english.get_json()["error"]["message"].startswith("You have already signed up")
    assert count() == 1


def test_api_the_same_key_with_other_data_is_already_sent(client, make_event, signup):
    event = make_event(capacity=10)
    first = client.post(url(event), json={**signup(), "idempotency_key": "a"}).get_json()
    changed = {**signup(attendees=[{"category": "adult"}]), "idempotency_key": "a"}
    r = client.post(url(event), json=changed)
    error = r.get_json()["error"]
    assert r.status_code == 409 and error["code"] == "already_sent"
    assert error["manage_url"] == first["manage_url"]
    again = client.post(url(event), json={**signup(), "idempotency_key": "a"})
    assert again.status_code == 201 and again.get_json() == first  # the double tap as before
    assert count() == 1


def test_openapi_names_the_duplicate_codes(client):
    doc = client.get("/api/openapi.json").get_json()
    post = doc["paths"]["/api/v1/events/{event_id}/registrations"]["post"]
    assert {"already_registered", "already_sent", "lost_link_url"} <= set(
        re.findall(r"\w+", post["responses"]["409"]["description"]))
