"""What the door pages say, in Japanese and in English: lists joined the way each language
joins them, counts with their plural, yen as ¥300 in English, names in English order, the
button of a party partly in, and a form left open too long."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from gathering.checkin import services
from gathering.errors import Conflict, ValidationFailed
from gathering.extensions import db
from gathering.i18n import speaking
from gathering.rsvp.models import Registration


def _text(response) -> str:
    return response.get_data(as_text=True)


def _in(client, auth, user, lang: str):
    auth.login(user)
    client.set_cookie("lang", lang)


def _flash(page: str) -> str:
    return " ".join(re.findall(r'class="flash[^"]*"[^>]*>(.*?)</', page, re.S))


@pytest.fixture
def amy(door, make_registration):
    """The Browns, written as the form stores them (姓 Brown, 名 Amy), egg and milk for the
    first of them."""
    reg, _ = make_registration(door.event, family_name="Brown", given_name="Amy",
                               kana=("ブラウン", "エイミー"), allergens={0: ["egg", "milk"]},
                               diets={1: ["vegetarian"]})
    return reg


# ---------------------------------------------------------------------------------------
# Lists and names


@pytest.mark.parametrize(("lang", "allergies", "name"), [
    ("en", "Egg, Milk", "Amy Brown"), ("ja", "卵、乳", "Brown Amy")])
def test_the_party_page_joins_allergies_in_the_pages_language(client, auth, door, amy, lang,
                                                              allergies, name):
    _in(client, auth, door.volunteer, lang)
    page = _text(client.get(f"/c/{amy.ticket_token}?event={door.event.id}"))
    assert allergies in page
    assert f'<h1 class="party-name">{name} ' in page
    if lang == "en":
        assert "、" not in page.split("<main")[1]


@pytest.mark.parametrize(("lang", "people", "alerts", "name"), [
    ("en", "Child, Adult", "Egg, Milk", "Amy Brown"),
    ("ja", "こども、おとな", "卵、乳", "Brown Amy")])
def test_the_door_list_joins_people_and_alerts_and_orders_names(client, auth, door, amy,
                                                                lang, people, alerts, name):
    door.event.fees[0].label, door.event.fees[1].label = (
        ("Child", "Adult") if lang == "en" else ("こども", "おとな"))
    db.session.commit()
    _in(client, auth, door.volunteer, lang)
    page = _text(client.get(f"/door/events/{door.event.id}/list"))
    assert people in page and alerts in page
    assert f"<strong>{name}</strong>" in page


def test_the_scanner_gets_its_separator_brackets_plurals_and_yen(client, auth, door):
    for lang, want in (
            ("en", {"people_one": "%(n)s person", "people_other": "%(n)s people",
                    "list_sep": ", ", "yen": "¥%(amount)s", "due": "Due: %(amount)s",
                    "name_kana": "%(name)s (%(kana)s)", "status_cancelled": "Sign-up cancelled"}),
            ("ja", {"people_one": "%(n)s人", "people_other": "%(n)s人", "list_sep": "、",
                    "yen": "%(amount)s円", "due": "参加費 %(amount)s",
                    "name_kana": "%(name)s（%(kana)s）", "status_cancelled": "申込取消"})):
        _in(client, auth, door.volunteer, lang)
        page = _text(client.get(f"/door/events/{door.event.id}/scanner"))
        texts = json.loads(re.search(r'id="scanner-texts">(.*?)</script>', page, re.S)[1])
        assert {k: texts[k] for k in want} == want, lang


# ---------------------------------------------------------------------------------------
# Counts


def test_walk_in_page_and_flash_count_in_the_singular(client, auth, door, make_event):
    event = make_event(door.branch, capacity=2)
    _in(client, auth, door.volunteer, "en")
    r = client.post(f"/door/events/{event.id}/walk-in",
                    data={"count_adult": "1", "family_name": "Smith", "nonce": "w1"},
                    follow_redirects=True)
    assert "Walk-in party admitted: 1 person." in _flash(_text(r))
    page = _text(client.get(f"/door/events/{event.id}/walk-in"))
    assert "1 seat left" in page and "1 seats" not in page
    client.set_cookie("lang", "ja")
    r = client.post(f"/door/events/{event.id}/walk-in",
                    data={"count_adult": "1", "family_name": "佐藤", "nonce": "w2"},
                    follow_redirects=True)
    assert "当日参加を受付しました：1人" in _flash(_text(r))


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "Not enough seats for 2 people: 1 seat left. An organizer can admit beyond the "
           "capacity."),
    ("ja", "2人分の席がありません（残り1席）。定員をこえる受付は世話人ができます。")])
def test_a_walk_in_party_larger_than_the_seats_left_is_not_told_the_event_is_full(
        client, auth, door, make_event, lang, said):
    event = make_event(door.branch, capacity=1)
    _in(client, auth, door.volunteer, lang)
    r = client.post(f"/door/events/{event.id}/walk-in",
                    data={"count_adult": "2", "family_name": "Smith", "nonce": "w1"},
                    follow_redirects=True)
    page = _text(r)
    assert said in page
    assert "is full" not in page and "満席です" not in page
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_a_walk_in_when_no_seat_is_left_is_told_the_event_is_full(app, door, make_event):
    event = make_event(door.branch, capacity=1)
    walk_in = services.WalkIn(counts={"adult": 1}, family_name="鈴木")
    services.admit_walk_in(db.session, event, walk_in, user=door.volunteer, nonce="a")
    db.session.commit()
    with app.test_request_context(), speaking("en"), pytest.raises(Conflict) as refused:
        services.admit_walk_in(db.session, event, walk_in, user=door.volunteer, nonce="b")
    with app.test_request_context(), speaking("en"):
        assert str(refused.value.message) == (
            "The event is full. An organizer can admit beyond the capacity.")
    assert refused.value.code == "full"


# ---------------------------------------------------------------------------------------
# Yen


@pytest.mark.parametrize(("lang", "said"), [
    ("en", "Received ¥300. Change: ¥700."), ("ja", "300円を受け取りました。お釣り 700円")])
def test_the_cash_flash_writes_yen_in_the_pages_language(client, auth, door,
                                                         make_registration, lang, said):
    reg, _ = make_registration(door.event)
    _in(client, auth, door.volunteer, lang)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": "1000", "nonce": "c1"},
                    follow_redirects=True)
    flash = _flash(_text(r))
    assert said in flash
    if lang == "en":
        assert "yen" not in flash and "円" not in flash


def test_nothing_owed_gives_the_cash_back_in_yen(client, auth, door, make_registration):
    reg, _ = make_registration(door.event, people=("child",))  # こども 0円
    _in(client, auth, door.volunteer, "en")
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": "500", "nonce": "c1"},
                    follow_redirects=True)
    assert "Nothing is owed. Give back ¥500." in _flash(_text(r))


def test_too_little_cash_is_refused_in_yen(app, door, make_registration):
    reg, _ = make_registration(door.event, people=("adult", "adult"))
    for a in reg.active_attendees:
        a.checked_in_at = a.created_at
    db.session.commit()
    for lang, said in (("en", "¥500 does not cover the ¥600 due."),
                       ("ja", "500円では、お支払い額 600円に足りません。")):
        with app.test_request_context(), speaking(lang):
            with pytest.raises(ValidationFailed) as refused:
                services.take_cash(db.session, reg, 500, user=door.volunteer)
            assert str(refused.value.message) == said


# ---------------------------------------------------------------------------------------
# A party partly admitted


@pytest.mark.parametrize(("lang", "button", "not_said"), [
    ("ja", "残りの1人を受付", "全員（1人）を受付"),
    ("en", "Admit the other 1 person", "Admit all")])
def test_the_button_says_the_rest_once_some_are_in(client, auth, door, make_registration,
                                                   lang, button, not_said):
    reg, _ = make_registration(door.event, people=("child", "adult", "adult"))
    _in(client, auth, door.volunteer, lang)
    url = f"/c/{reg.ticket_token}?event={door.event.id}"
    client.post(f"/c/{reg.ticket_token}/admit?event={door.event.id}",
                data={"all": "1", "nonce": "n1"})
    undone = reg.active_attendees[2].id
    client.post(f"/c/{reg.ticket_token}/undo?event={door.event.id}",
                data={"attendee": str(undone), "nonce": "u1"})
    page = _text(client.get(url))
    assert button in page and not_said not in page
    # nobody in yet: the whole party
    fresh, _ = make_registration(door.event, people=("child", "adult"))
    page = _text(client.get(f"/c/{fresh.ticket_token}?event={door.event.id}"))
    assert ("全員（2人）を受付" if lang == "ja" else "Admit all 2 people") in page


# ---------------------------------------------------------------------------------------
# A door form left open too long


def test_a_stale_door_form_links_back_to_the_door(app, make_app, door, make_registration):
    reg, _ = make_registration(door.event)
    ticket = f"/c/{reg.ticket_token}?event={door.event.id}"
    db.session.rollback()  # never hold the SQLite write lock while the other app works
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    response = client.post(f"/c/{reg.ticket_token}/admit?event={door.event.id}",
                           data={"all": "1"}, headers={"Referer": "http://localhost" + ticket})
    page = _text(response)
    assert response.status_code == 400 and "ページを読み込み直して" in page
    assert f'<a class="button" href="{ticket}">元のページに戻る</a>' in page


@pytest.mark.parametrize(("lang", "said"), [
    ("ja", "当日の安全な食事提供のためだけに使い、イベントの30日後に削除します。"),
    ("en", "Used only to serve safe food today, and deleted 30 days after the event.")])
def test_the_walk_in_form_says_when_allergies_are_deleted(client, auth, door, lang, said):
    _in(client, auth, door.volunteer, lang)
    page = _text(client.get(f"/door/events/{door.event.id}/walk-in"))
    assert said in page
