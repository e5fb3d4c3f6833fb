"""Walk-ins record allergies person by person: two children, one with egg and one with
peanut, are plated as two children, on the door form without JavaScript and in the API."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Registration


def _registrations() -> list[Registration]:
    db.session.remove()
    return list(db.session.scalars(sa.select(Registration)))


def _allergies(reg: Registration) -> list[tuple[str, list[str], str]]:
    return [(a.fee_category.code, a.allergens, a.note)
            for a in sorted(reg.attendees, key=lambda a: a.position)]


def _text(response) -> str:
    return response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------
# The door form


def test_the_form_offers_two_rows_at_first(client, auth, door):
    auth.login(door.volunteer)
    page = _text(client.get(f"/door/events/{door.event.id}/walk-in"))
    for name in ("p0_for", "p0_allergens", "p0_note", "p1_for", "p1_allergens", "p1_note"):
        assert f'name="{name}"' in page
    assert 'name="p2_for"' not in page
    assert "アレルギーがあるのはどの人？" in page


def test_two_children_with_different_allergies_are_plated_apart(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "2", "count_adult": "1", "family_name": "鈴木", "nonce": "w",
        "p0_for": "child", "p0_allergens": ["egg", "milk"],
        "p1_for": "child", "p1_allergens": "peanut", "p1_note": "ごまも少し"})
    assert r.status_code == 302
    [reg] = _registrations()
    assert _allergies(reg) == [("child", ["egg", "milk"], ""),
                               ("child", ["peanut"], "ごまも少し"), ("adult", [], "")]
    assert reg.consent_at is not None
    # the printed door list shows each child's, not one line for the party
    listing = _text(client.get(f"/door/events/{door.event.id}/list"))
    assert listing.count("⚠") == 2


def test_an_empty_row_is_not_a_person(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_adult": "2", "family_name": "鈴木", "nonce": "w",
        "p0_for": "adult", "p0_note": "  ", "p1_for": "adult", "p1_allergens": "shrimp"})
    assert r.status_code == 302
    [reg] = _registrations()
    assert _allergies(reg) == [("adult", ["shrimp"], ""), ("adult", [], "")]


def test_adding_a_row_records_nothing_and_keeps_what_was_typed(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "3", "family_name": "鈴木", "nonce": "w", "add_allergy_person": "1",
        "p0_for": "child", "p0_allergens": "egg", "p1_for": "child", "p1_note": "小麦"})
    assert r.status_code == 200
    assert _registrations() == []
    page = _text(r)
    assert 'name="p2_for"' in page and 'name="p3_for"' not in page
    assert 'value="鈴木"' in page and 'value="小麦"' in page
    assert 'value="egg" checked' in page
    assert 'id="p2_for" name="p2_for" autofocus' in page
    # the party is admitted from the page that came back, with its three rows
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "3", "family_name": "鈴木", "nonce": "w",
        "p0_for": "child", "p0_allergens": "egg", "p1_for": "child", "p1_note": "小麦",
        "p2_for": "child", "p2_allergens": "buckwheat"})
    assert r.status_code == 302
    [reg] = _registrations()
    assert _allergies(reg) == [("child", ["egg"], ""), ("child", [], "小麦"),
                               ("child", ["buckwheat"], "")]


def test_more_rows_of_a_category_than_people_of_it_is_refused_in_its_row(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "1", "count_adult": "1", "family_name": "鈴木", "nonce": "w",
        "p0_for": "child", "p0_allergens": "egg", "p1_for": "child", "p1_allergens": "milk"})
    assert r.status_code == 422
    assert _registrations() == []
    page = _text(r)
    assert 'id="p1_for-error"' in page and 'id="p0_for-error"' not in page
    assert 'value="鈴木"' in page and page.count("checked") >= 2


def test_a_row_without_whose_it_is_is_asked_when_the_party_mixes_categories(client, auth,
                                                                             door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "1", "count_adult": "1", "family_name": "鈴木", "nonce": "w",
        "p1_allergens": "egg"})
    assert r.status_code == 422
    assert 'id="p1_for-error"' in _text(r)
    assert _registrations() == []
    # one category only: whose it is goes without saying
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "2", "family_name": "鈴木", "nonce": "w", "p0_allergens": "egg"})
    assert r.status_code == 302
    assert _allergies(_registrations()[0]) == [("child", ["egg"], ""), ("child", [], "")]


@pytest.mark.parametrize("row", [{"p0_allergens": "nope"}, {"p0_note": "x" * 600},
                                 {"p0_for": "vip", "p0_allergens": "egg"}])
def test_hostile_rows_are_refused_or_cut_and_nothing_is_stored_wrongly(client, auth, door,
                                                                        row):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "1", "family_name": "鈴木", "nonce": "w", **row})
    if "p0_note" in row:  # cut to the field's length, as the page's maxlength does
        assert r.status_code == 302
        assert len(_registrations()[0].attendees[0].note) == 500
        return
    assert r.status_code == 422
    assert _registrations() == []


def test_an_older_door_page_sending_the_single_fields_still_works(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "1", "count_adult": "1", "family_name": "鈴木", "nonce": "w",
        "allergens": "egg", "allergy_for": "adult", "note": "少し"})
    assert r.status_code == 302
    assert _allergies(_registrations()[0]) == [("child", [], ""), ("adult", ["egg"], "少し")]


# ---------------------------------------------------------------------------------------
# The API


def _walk_in(client, headers, event_id, **body):
    return client.post(f"/api/v1/events/{event_id}/walk-ins", headers=headers,
                       json={"counts": {"child": 2, "adult": 1}, "family_name": "田中",
                             **body})


def test_the_api_takes_people_one_by_one(client, api_token, door):
    r = _walk_in(client, api_token(door.volunteer), door.event.id, nonce="w", people=[
        {"category": "child", "allergens": ["peanut"]},
        {"category": "adult", "note": "えびが苦手"},
        {"category": "child", "allergens": ["milk", "egg"]}])
    assert r.status_code == 201, r.get_json()
    # the n-th entry of a category is about the n-th person of it, whatever the order
    assert [a for a in _allergies(_registrations()[0]) if a[0] == "child"] == [
        ("child", ["peanut"], ""), ("child", ["egg", "milk"], "")]
    assert [a for a in _allergies(_registrations()[0]) if a[0] == "adult"] == [
        ("adult", [], "えびが苦手")]
    answered = r.get_json()["registration"]["attendees"]
    assert sorted((a["allergens"], a["note"]) for a in answered) == [
        ([], "えびが苦手"), (["egg", "milk"], ""), (["peanut"], "")]


def test_the_api_still_takes_the_single_fields(client, api_token, door):
    r = _walk_in(client, api_token(door.volunteer), door.event.id, allergens=["egg"],
                 allergy_for="adult")
    assert r.status_code == 201
    assert sorted(_allergies(_registrations()[0])) == [
        ("adult", ["egg"], ""), ("child", [], ""), ("child", [], "")]


@pytest.mark.parametrize("people,field", [
    ("egg", "people"), ({"category": "child"}, "people"),
    ([{"category": "child"}] * 31, "people"),
    (["egg"], "people.0"), ([{"category": "child", "who": "me"}], "people.0"),
    ([{"category": "child", "allergens": ["nope"]}], "people.0.allergens"),
    ([{"category": "child", "allergens": "egg"}], "people.0.allergens"),
    ([{"category": "child", "allergens": ["egg"] * 41}], "people.0.allergens"),
    ([{"category": "child", "note": 5}], "people.0.note"),
    ([{"category": "child", "note": "x" * 501}], "people.0.note"),
    ([{"category": 3, "allergens": ["egg"]}], "people.0.category"),
    ([{"category": "vip", "allergens": ["egg"]}], "people.0.category"),
    ([{"allergens": ["egg"]}], "people.0.category"),  # two categories: whose?
    ([{"category": "child", "allergens": ["egg"]}] * 3, "people.2.category"),
])
def test_the_api_refuses_people_that_do_not_fit(client, api_token, door, people, field):
    r = _walk_in(client, {**api_token(door.volunteer), "Accept-Language": "en"},
                 door.event.id, people=people)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert _registrations() == []


def test_a_category_not_in_the_party_is_refused(client, api_token, door):
    r = client.post(f"/api/v1/events/{door.event.id}/walk-ins",
                    headers={**api_token(door.volunteer), "Accept-Language": "en"},
                    json={"counts": {"adult": 1}, "family_name": "田中",
                          "people": [{"category": "child", "allergens": ["egg"]}]})
    assert r.status_code == 422
    assert "people.0.category" in r.get_json()["error"]["fields"]


def test_people_and_the_partys_allergens_together_are_refused(client, api_token, door):
    r = _walk_in(client, api_token(door.volunteer), door.event.id, allergens=["egg"],
                 people=[{"category": "child", "allergens": ["milk"]}])
    assert r.status_code == 422
    assert "people" in r.get_json()["error"]["fields"]
    assert _registrations() == []


def test_the_people_field_is_documented(client):
    spec = client.get("/api/openapi.json").get_json()
    body = spec["paths"]["/api/v1/events/{event_id}/walk-ins"]["post"]["requestBody"]
    schema = body["content"]["application/json"]["schema"]
    assert set(schema["properties"]["people"]["items"]["properties"]) == {
        "category", "allergens", "note"}


def test_the_twenty_other_foods_are_folded_unless_one_is_ticked(client, auth, door):
    auth.login(door.volunteer)
    page = _text(client.get(f"/door/events/{door.event.id}/walk-in"))
    assert page.count("<details>") == 2  # one per row, closed
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_child": "1", "family_name": "鈴木", "add_allergy_person": "1",
        "p0_allergens": ["egg"], "p1_allergens": ["kiwi"]})
    page = _text(r)
    assert page.count("<details>") == 2 and page.count("<details open>") == 1
    assert 'name="p1_allergens" value="kiwi" checked' in page


def test_an_event_without_fees_takes_rows_in_the_order_of_the_party(client, auth, door,
                                                                   make_event):
    event = make_event(door.branch, capacity=10, fees=[])
    auth.login(door.volunteer)
    page = _text(client.get(f"/door/events/{event.id}/walk-in"))
    assert 'name="p0_for"' not in page  # nobody to tell apart by category
    r = client.post(f"/door/events/{event.id}/walk-in", data={
        "count_people": "3", "family_name": "鈴木", "nonce": "w",
        "p0_allergens": "egg", "p1_allergens": "peanut"})
    assert r.status_code == 302
    [reg] = _registrations()
    people = sorted(reg.attendees, key=lambda a: a.position)
    assert [a.allergens for a in people] == [["egg"], ["peanut"], []]
    # more rows than people is refused, in the row that has nobody
    r = client.post(f"/door/events/{event.id}/walk-in", data={
        "count_people": "1", "family_name": "佐藤", "nonce": "w2",
        "p0_allergens": "egg", "p1_allergens": "peanut"})
    # the row's error is shown in the row, though it has no "whose" to choose
    assert r.status_code == 422
    page = _text(r)
    assert 'id="p1_for-error">この組には1人しかいません。' in page
    assert 'aria-describedby="p1_for-error" aria-invalid="true"' in page
    assert len(_registrations()) == 1
    assert "佐藤" in page


def test_with_one_fee_category_a_row_too_many_is_told_in_the_row(client, auth, door,
                                                                make_event):
    event = make_event(door.branch, capacity=10,
                       fees=[{"code": "adult", "label": "おとな", "amount": 300}])
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{event.id}/walk-in", data={
        "count_adult": "1", "family_name": "佐藤", "nonce": "w",
        "p0_allergens": "egg", "p1_allergens": "peanut"})
    assert r.status_code == 422
    assert 'id="p1_for-error">この組には、この区分の人は1人しかいません。' in _text(r)
    assert _registrations() == []
