"""The sign-up rules, called directly: every rule and every refusal code."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gathering.errors import Conflict, NotFound, ValidationFailed
from gathering.events.models import Event
from gathering.extensions import db
from gathering.rsvp import services
from gathering.rsvp.models import Attendee, Registration
from gathering.security import token_hash


def reg_(event, payload, now, **kw):
    result = services.register(db.session, event, payload, now=now, **kw)
    db.session.commit()
    return result


def people(n, category="adult", **extra):
    return [{"category": category, **extra} for _ in range(n)]


def family(n):
    """Another family's contact: the same party (name and phone or e-mail) signs up for an
    event only once."""
    return {"phone": f"080-0000-{n:04d}", "email": f"family{n}@example.jp"}


def test_register_confirms_and_normalises(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    payload = signup(family_name="山田", family_name_kana="ﾔﾏﾀﾞ", given_name_kana="はなこ",
                     phone="０９０ー１２３４ー５６７８", email="Hanako@Example.JP")
    result = reg_(event, payload, now)
    reg = result.registration
    assert result.status == "confirmed" and not result.replayed
    assert reg.family_name_kana == "ヤマダ" and reg.given_name_kana == "ハナコ"
    assert reg.phone == "09012345678"
    assert reg.email == "hanako@example.jp"  # in lower case whole: found again as typed
    assert [a.allergens for a in reg.active_attendees] == [[], ["egg", "milk"]]
    assert reg.consent_at is not None and reg.feed_token and reg.ticket_token
    assert event.seats_taken == 2
    assert reg.manage_token_hash == token_hash(result.manage_token)
    assert len(result.manage_token) >= 22  # ≥128 bits
    assert services.get_registration_by_manage_token(db.session, result.manage_token) is reg


def test_a_new_party_is_handed_back_whole_as_stored(make_event, signup, now):
    """register() INSERTs with Core: the objects it returns must be what a flush would
    leave, every column set as stored and nothing left to load."""
    import sqlalchemy as sa

    event_id = make_event(capacity=10, starts_at=now + timedelta(days=7)).id
    db.session.remove()
    event = db.session.get(Event, event_id)
    result = services.register(db.session, event, signup(), now=now, idempotency_key="k1")
    reg = result.registration
    assert not db.session.new and not db.session.dirty
    assert not sa.inspect(reg).unloaded, sa.inspect(reg).unloaded
    assert all(not sa.inspect(a).unloaded for a in reg.attendees)
    sql: list[str] = []

    def count(conn, cursor, statement, *args):
        sql.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        seen = {c.key: getattr(reg, c.key) for c in Registration.__table__.c}
        people = [{c.key: getattr(a, c.key) for c in Attendee.__table__.c}
                  for a in reg.attendees]
        assert [a.fee_category.code for a in reg.attendees] == ["adult", "child"]
        assert reg.event is event and reg.attendees[1].registration is reg
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert sql == []
    db.session.commit()
    db.session.remove()
    stored = db.session.get(Registration, seen["id"])
    assert {c.key: getattr(stored, c.key) for c in Registration.__table__.c} == seen
    assert [{c.key: getattr(a, c.key) for c in Attendee.__table__.c}
            for a in stored.attendees] == people
    assert seen["lang"] == "ja" and seen["receipt_name"] == "" and seen["cancelled_at"] is None


@pytest.mark.parametrize("family, given", [("Nguyen", "Van An"), ("Nguyễn", "Thị Lan"),
                                           ("Müller", "Jürgen"), ("O’Brien", "Seán")])
def test_latin_name_needs_no_kana(make_event, signup, now, family, given):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    payload = signup(family_name=family, given_name=given, family_name_kana="",
                     given_name_kana="", phone="", email="an@example.com")
    assert reg_(event, payload, now).status == "confirmed"


def test_full_party_goes_on_waiting_list_never_split(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    first = reg_(event, signup(attendees=people(2)), now).registration
    second = reg_(event, signup(attendees=people(2), **family(2)), now).registration
    third = reg_(event, signup(attendees=people(1), **family(3)), now).registration
    assert (first.status, second.status, third.status) == ("confirmed", "waitlisted",
                                                           "confirmed")
    assert event.seats_taken == 3


def test_cancellation_promotes_first_party_that_fits(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    a = reg_(event, signup(attendees=people(3)), now).registration
    big = reg_(event, signup(attendees=people(3), **family(2)),
               now + timedelta(minutes=1)).registration
    small = reg_(event, signup(attendees=people(1), **family(3)),
                 now + timedelta(minutes=2)).registration
    change = services.cancel_registration(db.session, a, now=now + timedelta(hours=1),
                                          attendee_ids=[a.active_attendees[0].id])
    db.session.commit()
    # one seat free: the big family does not fit and is not split; the small one moves up
    assert change.promoted == [small] and small.promoted_at is not None
    assert big.status == "waitlisted" and a.party_size == 2
    change = services.cancel_registration(db.session, a, now=now + timedelta(hours=2))
    db.session.commit()
    assert a.status == "cancelled" and change.promoted == []  # 2 free, big needs 3
    services.cancel_registration(db.session, small, now=now + timedelta(hours=3))
    db.session.commit()
    assert big.status == "confirmed" and event.seats_taken == 3


def test_idempotency_key_replays(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    first = reg_(event, signup(), now, idempotency_key="k1")
    again = reg_(event, signup(), now, idempotency_key="k1")
    assert again.replayed and again.registration.id == first.registration.id
    assert again.manage_token == first.manage_token
    assert db.session.query(Registration).count() == 1 and event.seats_taken == 2
    with pytest.raises(Conflict) as exc:
        reg_(event, signup(family_name="佐藤", email="sato@example.jp"), now,
             idempotency_key="k1")
    assert exc.value.code == "idempotency_key_reused"


@pytest.mark.parametrize("kw, code", [
    ({"status": "cancelled"}, "event_cancelled"),
    ({"signup_opens_at_days": 3}, "signup_not_open"),
    ({"signup_closes_at_days": -1}, "signup_closed"),
    ({"starts_days": -1}, "signup_closed"),
])
def test_window_refusals(make_event, signup, now, kw, code):
    start = now + timedelta(days=kw.get("starts_days", 7))
    data = {"starts_at": start, "capacity": 10}
    if "signup_opens_at_days" in kw:
        data["signup_opens_at"] = now + timedelta(days=kw["signup_opens_at_days"])
    if "signup_closes_at_days" in kw:
        data["signup_closes_at"] = now + timedelta(days=kw["signup_closes_at_days"])
    event = make_event(**data)
    if kw.get("status") == "cancelled":
        event.status = "cancelled"
        db.session.commit()
    with pytest.raises(Conflict) as exc:
        reg_(event, signup(), now)
    assert exc.value.code == code
    assert db.session.query(Registration).count() == 0


def test_draft_is_not_found(make_event, signup, now):
    event = make_event(status="draft", starts_at=now + timedelta(days=7))
    with pytest.raises(NotFound):
        reg_(event, signup(), now)


@pytest.mark.parametrize("change, field", [
    ({"family_name": ""}, "contact.family_name"),
    ({"family_name_kana": "yamada"}, "contact.family_name_kana"),
    ({"family_name_kana": ""}, "contact.family_name_kana"),
    ({"phone": "12345"}, "contact.phone"),
    ({"phone": "", "email": ""}, "contact.phone"),
    ({"email": "not-an-address"}, "contact.email"),
    ({"family_name": "x" * 10_000}, "contact.family_name"),
    ({"family_name": 42}, "contact.family_name"),
])
def test_contact_refusals(make_event, signup, now, change, field):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(**change), now)
    assert field in exc.value.fields
    assert db.session.query(Registration).count() == 0 and event.seats_taken == 0


@pytest.mark.parametrize("attendees, field", [
    ([], "attendees"),
    ("two", "attendees"),
    ([{"category": "vip"}], "attendees.0.category"),
    ([{"category": "adult", "allergens": ["uranium"]}], "attendees.0.allergens"),
    ([{"category": "adult", "allergens": "egg"}], "attendees.0.allergens"),
    ([{"category": "adult", "diets": ["carnivore"]}], "attendees.0.diets"),
    ([{"category": "adult", "note": "n" * 600}], "attendees.0.note"),
    (["adult"], "attendees.0"),
    ([{"category": "adult"}] * 11, "attendees"),
])
def test_people_refusals(make_event, signup, now, attendees, field):
    event = make_event(capacity=40, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(attendees=attendees), now)
    assert field in exc.value.fields


def test_consent_required_only_with_sensitive_data(make_event, signup, now):
    event = make_event(capacity=40, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(consent=False), now)
    assert "consent" in exc.value.fields
    plain = signup(attendees=people(2), consent=False)
    result = reg_(event, plain, now)
    assert result.registration.consent_at is None


def test_party_larger_than_event_refused(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    with pytest.raises(ValidationFailed) as exc:
        reg_(event, signup(attendees=people(4)), now)
    assert exc.value.code == "party_too_large"


def test_markup_is_stored_as_text(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    payload = signup(family_name="<script>alert(1)</script>", family_name_kana="ヤマダ")
    reg = reg_(event, payload, now).registration
    assert reg.family_name == "<script>alert(1)</script>"


def test_manage_token_of_other_event_refused(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    other = make_event(capacity=10, starts_at=now + timedelta(days=7))
    result = reg_(event, signup(), now)
    with pytest.raises(NotFound):
        services.get_registration_by_manage_token(db.session, result.manage_token,
                                                  event_id=other.id)
    for bad in ("", "x" * 500, "nope", None):
        with pytest.raises(NotFound):
            services.get_registration_by_manage_token(db.session, bad)


def test_update_adds_and_removes_people(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    reg = reg_(event, signup(), now).registration  # 2 people
    waiting = reg_(event, signup(attendees=people(2), **family(2)),
                   now + timedelta(minutes=1)).registration
    kept = reg.active_attendees[1]
    payload = signup(attendees=[{"id": kept.id, "category": "child",
                                 "allergens": ["wheat"]}])
    change = services.update_registration(db.session, reg, payload, now=now)
    db.session.commit()
    assert reg.party_size == 1 and kept.allergens == ["wheat"]
    assert change.promoted == [waiting] and event.seats_taken == 3
    grow = signup(attendees=[{"id": kept.id, "category": "child"}, {"category": "adult"}])
    with pytest.raises(Conflict) as exc:
        services.update_registration(db.session, reg, grow, now=now)
    assert exc.value.code == "not_enough_seats"
    db.session.rollback()
    assert reg.party_size == 1


def test_update_refuses_foreign_attendee_ids(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    mine = reg_(event, signup(), now).registration
    theirs = reg_(event, signup(**family(2)), now).registration
    payload = signup(attendees=[{"id": theirs.active_attendees[0].id, "category": "adult"}])
    with pytest.raises(ValidationFailed):
        services.update_registration(db.session, mine, payload, now=now)


def test_the_fee_of_someone_checked_in_cannot_be_changed_by_the_family(make_event, signup,
                                                                       now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg = reg_(event, signup(), now).registration
    adult, child = reg.active_attendees
    adult.checked_in_at = now  # the door took おとな's fee
    db.session.commit()
    as_child = signup(attendees=[{"id": adult.id, "category": "child"},
                                 {"id": child.id, "category": "child", "name": "太郎"}])
    with pytest.raises(Conflict) as exc:
        services.update_registration(db.session, reg, as_child, now=now)
    assert exc.value.code == "checked_in"
    db.session.rollback()
    db.session.expire_all()
    assert adult.fee_category.code == "adult"
    # the rest of the party may still change: the child's allergy corrected, fees kept
    fixed = signup(attendees=[{"id": adult.id, "category": "adult"},
                              {"id": child.id, "category": "adult", "name": "太郎",
                               "allergens": ["egg"]}])
    services.update_registration(db.session, reg, fixed, now=now)
    db.session.commit()
    db.session.expire_all()
    assert [a.fee_category.code for a in reg.active_attendees] == ["adult", "adult"]
    assert reg.active_attendees[1].allergens == ["egg"]


def test_cancel_refusals(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg = reg_(event, signup(), now).registration
    reg.active_attendees[0].checked_in_at = now
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.cancel_registration(db.session, reg, now=now)
    assert exc.value.code == "checked_in"
    db.session.rollback()
    with pytest.raises(ValidationFailed):
        services.cancel_registration(db.session, reg, now=now, attendee_ids=[999999])
    db.session.rollback()
    services.cancel_registration(db.session, reg, now=now,
                                 attendee_ids=[reg.active_attendees[1].id])
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.cancel_registration(db.session, reg, now=now + timedelta(days=30))
    assert exc.value.code == "event_over"


def test_cancel_twice(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg = reg_(event, signup(), now).registration
    services.cancel_registration(db.session, reg, now=now)
    db.session.commit()
    assert event.seats_taken == 0
    with pytest.raises(Conflict) as exc:
        services.cancel_registration(db.session, reg, now=now)
    assert exc.value.code == "already_cancelled"


def test_walk_in_skips_window_and_contact(make_event, now):
    event = make_event(capacity=10, starts_at=now + timedelta(hours=1))
    result = services.register(db.session, event, {"attendees": people(1, "child")}, now=now,
                               is_walk_in=True)
    assert result.status == "confirmed" and result.registration.is_walk_in


def test_search_kitchen_and_counts(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg_(event, signup(), now)
    reg_(event, signup(family_name="佐藤", family_name_kana="サトウ", given_name="一郎",
                       given_name_kana="イチロウ",
                       attendees=[{"category": "adult", "allergens": ["egg"],
                                   "diets": ["halal"], "note": "えびせんべいも不可"}]), now)
    regs = services.list_registrations(db.session, event)
    assert [r.family_name for r in services.list_registrations(db.session, event, q="さとう")
            ] == ["佐藤"]
    assert len(services.list_registrations(db.session, event, q="ヤマダ")) == 1
    kitchen = services.kitchen_summary(regs)
    egg = kitchen["allergens"][0]
    assert (egg.code, egg.people, len(egg.parties)) == ("egg", 2, 2)
    assert [line.code for line in kitchen["allergens"]] == ["egg", "milk"]
    assert kitchen["diets"][0].code == "halal" and len(kitchen["notes"]) == 1
    c = services.counts(regs)
    assert c["confirmed"] == 3 and c["by_category"] == {"おとな": 2, "こども": 1}


def test_csv_has_bom_and_defuses_formulas(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg_(event, signup(family_name="=HYPERLINK(1)", family_name_kana="ヤマダ"), now)
    text = services.registrations_csv(services.list_registrations(db.session, event))
    assert text.startswith("\ufeff") and "'=HYPERLINK(1)" in text
    assert "卵 乳" in text


def test_purge_sensitive(make_event, signup, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    reg = reg_(event, signup(message="よろしく"), now).registration
    assert services.purge_sensitive(db.session, now=now + timedelta(days=20), days=30) == 0
    assert services.purge_sensitive(db.session, now=now + timedelta(days=40), days=30) == 1
    db.session.commit()
    assert all(a.allergens == [] for a in reg.attendees) and reg.message == ""
    assert reg.purged_at is not None and reg.family_name == "山田"
    assert services.purge_sensitive(db.session, now=now + timedelta(days=41), days=30) == 0


def test_lost_link_lookup_and_reissue(make_event, signup, make_registration, now):
    event = make_event(capacity=10, starts_at=now + timedelta(days=7))
    result = reg_(event, signup(), now)
    found = services.find_for_lost_link(db.session, "HANAKO@example.jp", now=now)
    assert found == [result.registration]
    assert services.reissue_manage_token(found[0]) == result.manage_token
    other, old = make_registration(event, email="x@example.jp")
    new = services.reissue_manage_token(other)
    assert new != old and other.manage_token_hash == token_hash(new)
    assert services.find_for_lost_link(db.session, "nobody@example.jp", now=now) == []


@pytest.mark.parametrize("typed, message", [
    ("", "申し込みに使ったメールアドレスを入れてください。"),
    ("   ", "申し込みに使ったメールアドレスを入れてください。"),
    ("not an email", "name@example.jp のようなメールアドレスを入れてください。"),
    ("hanako@", "name@example.jp のようなメールアドレスを入れてください。"),
    ("a" * 250 + "@example.jp", "長すぎます（254文字まで）。"),
])
def test_lost_link_refuses_what_is_no_address(app, typed, message, now):
    """Told what is wrong, not 'we sent it': only a well-formed address is looked up."""
    with pytest.raises(ValidationFailed) as exc:
        services.find_for_lost_link(db.session, typed, now=now)
    assert [str(m) for m in exc.value.fields["email"]] == [message]


def test_a_sign_up_of_a_cancelled_event_cannot_be_cancelled(make_event, make_registration,
                                                           now):
    """Called off already: cancelling would change nothing for the party, and must not move
    a waiting party up into an event that will not happen."""
    event = make_event(capacity=1, starts_at=now + timedelta(days=7))
    reg, _ = make_registration(event, people=("adult",))
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted")
    event.status = "cancelled"
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.cancel_registration(db.session, reg, now=now)
    assert exc.value.code == "event_cancelled"
    db.session.rollback()
    assert reg.status == "confirmed" and waiting.status == "waitlisted"
    assert event.seats_taken == 1


def test_more_seats_promote_the_waiting_list(make_event, make_user, signup, now):
    from gathering.events import services as events

    event = make_event(capacity=2, starts_at=now + timedelta(days=7))
    reg_(event, signup(attendees=people(2)), now)
    waiting = reg_(event, signup(attendees=people(2), **family(2)), now).registration
    admin = make_user("admin")
    events.update_event(db.session, admin, event, {"capacity": 3}, now=now)
    assert waiting.status == "waitlisted"  # 1 more seat: the family of 2 still waits whole
    events.update_event(db.session, admin, event, {"capacity": 4}, now=now)
    db.session.commit()
    assert waiting.status == "confirmed" and waiting.promoted_at is not None
    assert event.seats_taken == 4


def test_kitchen_summary_for_mixed_families(make_event, signup, now):
    """Confirmed people only; a person cancelled from a party or a waiting family does not
    count; each line names the parties and who in them."""
    event = make_event(capacity=8, starts_at=now + timedelta(days=7))

    def fam(name, kana, *persons):
        return reg_(event, signup(family_name=name, family_name_kana=kana, attendees=[
            {"category": c, "name": n, "allergens": a, "diets": d} for c, n, a, d in persons]),
            now).registration

    sato = fam("佐藤", "さとう", ("adult", "母", [], ["halal"]),
               ("child", "ゆうと", ["egg", "milk"], ["halal"]), ("child", "はな", ["egg"], []))
    suzuki = fam("鈴木", "すずき", ("adult", "", ["wheat"], []),
                 ("child", "そら", ["egg", "shrimp"], ["soft_food"]))
    tanaka = fam("田中", "たなか", ("child", "つばさ", ["peanut", "egg"], []),
                 ("adult", "", [], ["vegetarian"]))
    waiting = fam("高橋", "たかはし", ("adult", "", ["egg"], []), ("adult", "", ["egg"], []),
                  ("child", "", ["buckwheat"], []))
    assert waiting.status == "waitlisted"
    # つばさ cannot come after all
    services.cancel_registration(db.session, tanaka, now=now,
                                 attendee_ids=[tanaka.active_attendees[0].id])
    db.session.commit()
    assert waiting.status == "waitlisted"  # two seats free: the family of three waits

    kitchen = services.kitchen_summary(services.list_registrations(db.session, event))
    lines = {line.code: line for line in kitchen["allergens"] + kitchen["diets"]}
    assert [line.code for line in kitchen["allergens"]] == ["shrimp", "wheat", "egg", "milk"]
    assert {c: line.people for c, line in lines.items()} == {
        "shrimp": 1, "wheat": 1, "egg": 3, "milk": 1,
        "halal": 2, "soft_food": 1, "vegetarian": 1}
    egg = lines["egg"]
    assert [(r.family_name, who) for r, who in egg.parties] == [
        ("佐藤", ["ゆうと", "はな"]), ("鈴木", ["そら"])]
    assert [(r.family_name, who) for r, who in lines["wheat"].parties] == [("鈴木", ["#1"])]
    assert "peanut" not in lines and "buckwheat" not in lines
    assert sato.party_size == 3 and suzuki.party_size == 2
