"""Every door rule and refusal code, against the services directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gathering.checkin import services
from gathering.checkin.models import CheckIn
from gathering.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.fees.models import Payment
from gathering.idempotency import IdempotencyRecord
from gathering.rsvp.models import Registration


def _rows(**where):
    q = sa.select(CheckIn).order_by(CheckIn.id)
    for key, value in where.items():
        q = q.where(getattr(CheckIn, key) == value)
    return list(db.session.scalars(q))


def test_admits_everyone_and_logs_who_when_device(door, make_registration, now):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    result = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               nonce="n1", device="受付1", now=now)
    db.session.commit()
    assert sorted(result["admitted"]) == sorted(a.id for a in reg.attendees)
    assert result["already"] == [] and result["alerts"] == ["egg"]
    assert all(a.checked_in_at == now for a in reg.attendees)
    rows = _rows(registration_id=reg.id)
    assert [(r.action, r.user_id, r.device, r.nonce) for r in rows] == [
        ("in", door.volunteer.id, "受付1", "n1")] * 2
    # the fee is owed only for those who came (子ども食堂 default): 0 + 300
    assert result["amount_due"] == 300 and result["balance"] == 300


def test_admits_some_then_the_rest(door, make_registration, now):
    reg, _ = make_registration(door.event, people=("child", "child", "adult"))
    child = reg.attendees[0]
    first = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                              attendee_ids=[child.id], nonce="a", now=now)
    assert first["admitted"] == [child.id] and first["amount_due"] == 0
    second = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               nonce="b", now=now)
    assert child.id in second["already"] and len(second["admitted"]) == 2
    assert second["amount_due"] == 300


def test_same_nonce_returns_first_answer_and_changes_nothing(door, make_registration, now):
    reg, _ = make_registration(door.event)
    first = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                              nonce="same", now=now)
    db.session.commit()
    again = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                              nonce="same", now=now + timedelta(minutes=1))
    db.session.commit()
    assert again["admitted"] == first["admitted"] and again["replayed"] is True
    assert len(_rows()) == 2
    assert db.session.scalar(sa.select(sa.func.count(IdempotencyRecord.id))) == 1


def test_already_checked_in_with_a_new_nonce_is_refused(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="1", now=now)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          nonce="2", now=now)
    assert exc.value.code == "already_checked_in"
    assert len(_rows()) == 2


@pytest.mark.parametrize("status,code", [("cancelled", "cancelled"),
                                         ("waitlisted", "waitlisted")])
def test_refuses_parties_without_a_seat(door, make_registration, now, status, code):
    reg, _ = make_registration(door.event, status=status)
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          now=now)
    assert exc.value.code == code and exc.value.status == 409
    assert _rows() == [] and all(a.checked_in_at is None for a in reg.attendees)


def test_refuses_revoked_ticket(door, make_registration, now):
    reg, _ = make_registration(door.event)
    reg.ticket_revoked_at = now
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          now=now)
    assert exc.value.code == "revoked"


def test_refuses_ticket_of_another_event_with_its_title(door, make_event, make_registration,
                                                        now):
    other = make_event(door.branch, title="上映会")
    reg, _ = make_registration(other)
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          now=now)
    assert exc.value.code == "wrong_event"
    assert "上映会" in str(exc.value.message)


@pytest.mark.parametrize("token", ["", "x" * 10_000, "nope-not-a-token", None, 42])
def test_unknown_token(door, token, now):
    with pytest.raises(NotFound) as exc:
        services.check_in(db.session, door.event, token, user=door.volunteer, now=now)
    assert exc.value.code == "unknown_token" and exc.value.status == 404


def test_only_staff_of_the_branch(door, make_registration, now):
    reg, _ = make_registration(door.event)
    with pytest.raises(Forbidden):
        services.check_in(db.session, door.event, reg.ticket_token, user=door.outsider,
                          now=now)
    with pytest.raises(Forbidden):
        services.check_in(db.session, door.event, reg.ticket_token, user=None, now=now)
    assert _rows() == []


@pytest.mark.parametrize("ids", [[], [999_999], ["1"], [True], "1,2", {"a": 1}])
def test_bad_attendee_ids(door, make_registration, now, ids):
    reg, _ = make_registration(door.event)
    with pytest.raises(ValidationFailed) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          attendee_ids=ids, now=now)
    assert exc.value.code == "invalid_attendees"


def test_attendee_of_another_party_is_refused(door, make_registration, now):
    reg, _ = make_registration(door.event)
    other, _ = make_registration(door.event, family_name="佐藤")
    with pytest.raises(ValidationFailed):
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          attendee_ids=[other.attendees[0].id], now=now)


def test_bad_nonce(door, make_registration, now):
    reg, _ = make_registration(door.event)
    with pytest.raises(ValidationFailed):
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          nonce="n" * 500, now=now)


def test_offline_double_admission_is_logged_as_conflict_and_counted_once(
        door, make_registration, now):
    reg, _ = make_registration(door.event)
    phone_a = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                                nonce="a", device="A", was_offline=True,
                                scanned_at=now - timedelta(minutes=5), now=now)
    db.session.commit()
    phone_b = services.check_in(db.session, door.event, reg.ticket_token, user=door.organizer,
                                nonce="b", device="B", was_offline=True,
                                scanned_at=now - timedelta(minutes=4), now=now)
    db.session.commit()
    assert len(phone_a["admitted"]) == 2 and phone_b["admitted"] == []
    assert sorted(phone_b["conflicts"]) == sorted(a.id for a in reg.attendees)
    # the offline admission keeps the time it happened on the phone
    assert reg.attendees[0].checked_in_at == now - timedelta(minutes=5)
    counts = services.live_counts(db.session, door.event, now)
    assert counts.admitted == 2 and counts.conflicts == 2
    assert len(services.conflicts_of(db.session, reg)) == 2


def test_undo_is_a_new_row_and_clears_the_state(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="in", now=now)
    adult = reg.attendees[1]
    result = services.undo_check_in(db.session, door.event, reg.ticket_token,
                                    user=door.volunteer, attendee_ids=[adult.id], nonce="u",
                                    device="受付1", now=now)
    db.session.commit()
    assert result["undone"] == [adult.id] and adult.checked_in_at is None
    assert [r.action for r in _rows()] == ["in", "in", "undo"]
    assert fees.amount_due(reg) == 0  # the adult no longer counts as having come
    again = services.undo_check_in(db.session, door.event, reg.ticket_token,
                                   user=door.volunteer, attendee_ids=[adult.id], nonce="u",
                                   now=now)
    assert again["replayed"] is True and len(_rows()) == 3
    with pytest.raises(Conflict) as exc:
        services.undo_check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               attendee_ids=[adult.id], nonce="u2", now=now)
    assert exc.value.code == "not_checked_in"
    # admitted again after the undo
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="in2", now=now)
    assert adult.checked_in_at is not None


def test_undo_with_nobody_chosen_is_refused_and_changes_nothing(door, make_registration,
                                                               now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="in", now=now)
    with pytest.raises(ValidationFailed) as exc:
        services.undo_check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               attendee_ids=[], nonce="u", now=now)
    assert exc.value.code == "invalid_attendees"
    assert [r.action for r in _rows()] == ["in", "in"]
    assert all(a.checked_in_at is not None for a in reg.attendees)


def test_wrong_event_of_the_same_series_names_its_date_and_party(door, two_dates,
                                                                  make_registration, now):
    today, other = two_dates
    title = other.title
    reg, _ = make_registration(other)
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, today, reg.ticket_token, user=door.volunteer, now=now)
    assert exc.value.code == "wrong_event"
    assert exc.value.details["other_event_id"] == other.id
    message = str(exc.value.message)
    assert "12月26日(土) 11:00" in message and title in message
    assert reg.full_name in message and "別の日" in message


def test_wrong_event_of_another_group_does_not_name_the_party(door, make_branch, make_event,
                                                              make_registration, now):
    from datetime import datetime

    from gathering.timeutil import TOKYO

    other = make_event(make_branch(), title="上映会",
                       starts_at=datetime(2027, 1, 9, 14, 0, tzinfo=TOKYO))
    reg, _ = make_registration(other)
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          now=now)
    message = str(exc.value.message)
    assert exc.value.code == "wrong_event" and "上映会" in message and "14:00" in message
    assert "1月9日(土)" in message and "山田" not in message


def test_undo_refuses_other_event_and_outsider(door, make_event, make_registration, now):
    other, _ = make_registration(make_event(door.branch))
    with pytest.raises(Conflict) as exc:
        services.undo_check_in(db.session, door.event, other.ticket_token, user=door.volunteer,
                               now=now)
    assert exc.value.code == "wrong_event"
    reg, _ = make_registration(door.event)
    with pytest.raises(Forbidden):
        services.undo_check_in(db.session, door.event, reg.ticket_token, user=door.outsider,
                               now=now)


# ---------------------------------------------------------------------------------------
# Cash at the door


def test_cash_with_admission_shows_change(door, make_registration, now):
    reg, _ = make_registration(door.event)
    result = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               nonce="c", cash_received=1000, now=now)
    db.session.commit()
    assert result["change"] == 700 and result["balance"] == 0
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.amount, payment.method, payment.cash_tendered) == (300, "cash", 1000)
    assert payment.recorded_by_id == door.volunteer.id


def test_same_cash_tap_twice_records_one_payment(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="x", now=now)
    first = services.take_cash(db.session, reg, 500, user=door.volunteer, nonce="tap", now=now)
    again = services.take_cash(db.session, reg, 500, user=door.volunteer, nonce="tap", now=now)
    db.session.commit()
    assert first[0].id == again[0].id and first[1] == again[1] == 200
    assert fees.paid(db.session, reg) == 300


def test_cash_not_enough_is_refused_and_nothing_written(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="x", now=now)
    with pytest.raises(ValidationFailed) as exc:
        services.take_cash(db.session, reg, 100, user=door.volunteer, now=now)
    assert exc.value.code == "not_enough_cash"
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize("amount", [-1, 1.5, "300", True, 10**9, None])
def test_cash_bad_amounts(door, make_registration, now, amount):
    reg, _ = make_registration(door.event)
    with pytest.raises(ValidationFailed) as exc:
        services.take_cash(db.session, reg, amount, user=door.volunteer, now=now)
    assert exc.value.code == "invalid_amount"


def test_cash_when_nothing_is_owed_records_nothing(door, make_registration, now):
    reg, _ = make_registration(door.event, people=("child",))
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="x", now=now)
    payment, change = services.take_cash(db.session, reg, 100, user=door.volunteer, now=now)
    assert payment is None and change == 100


def test_cash_nonce_of_another_party_is_refused(door, make_registration, now):
    first, _ = make_registration(door.event)
    second, _ = make_registration(door.event, family_name="青木")
    for reg, nonce in ((first, "a"), (second, "b")):
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          nonce=nonce, now=now)
    services.take_cash(db.session, first, 500, user=door.volunteer, nonce="tap", now=now)
    with pytest.raises(Conflict) as exc:
        services.take_cash(db.session, second, 500, user=door.volunteer, nonce="tap", now=now)
    assert exc.value.code == "nonce_reused" and exc.value.status == 409
    assert fees.paid(db.session, second) == 0


def test_a_check_in_nonce_reused_at_another_event_still_takes_its_cash(
        door, make_event, make_registration, now):
    other = make_event(door.branch, title="上映会")
    here, _ = make_registration(door.event)
    there, _ = make_registration(other, family_name="青木")
    for event, reg in ((door.event, here), (other, there)):
        result = services.check_in(db.session, event, reg.ticket_token, user=door.volunteer,
                                   nonce="scan-1", cash_received=1000, now=now)
        assert result["change"] == 700 and result["balance"] == 0
    db.session.commit()
    assert fees.paid(db.session, here) == fees.paid(db.session, there) == 300
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 2


def test_cash_with_the_longest_check_in_nonce(door, make_registration, now):
    reg, _ = make_registration(door.event)
    nonce = "n" * services.MAX_NONCE
    result = services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                               nonce=nonce, cash_received=1000, now=now)
    db.session.commit()
    assert result["change"] == 700
    payment = db.session.scalar(sa.select(Payment))
    assert payment.amount == 300 and len(payment.nonce) <= 120  # Payment.nonce is String(120)


# ---------------------------------------------------------------------------------------
# Walk-ins


def test_walk_in_takes_seats_and_is_admitted(door):
    reg = services.admit_walk_in(
        db.session, door.event, services.WalkIn(counts={"child": 2, "adult": 1},
                                                family_name="ｽｽﾞｷ", family_name_kana="すずき",
                                                allergens=["milk"]),
        user=door.volunteer, nonce="w1")
    db.session.commit()
    assert reg.is_walk_in and reg.status == "confirmed" and reg.party_size == 3
    assert reg.family_name_kana == "スズキ"
    assert all(a.checked_in_at is not None for a in reg.attendees)
    assert reg.attendees[0].allergens == ["milk"] and reg.consent_at is not None
    db.session.refresh(door.event)
    assert door.event.seats_taken == 3
    assert len(_rows(registration_id=reg.id)) == 3
    counts = services.live_counts(db.session, door.event)
    assert (counts.walk_ins, counts.admitted, counts.expected) == (3, 3, 0)
    assert fees.amount_due(reg) == 300
    # the same tap again: the same party, no new seats
    again = services.admit_walk_in(db.session, door.event,
                                   services.WalkIn(counts={"child": 2, "adult": 1},
                                                   family_name="鈴木"),
                                   user=door.volunteer, nonce="w1")
    assert again.id == reg.id
    db.session.refresh(door.event)
    assert door.event.seats_taken == 3


def test_walk_in_full_event_refused_for_volunteer_overbook_for_organizer(
        door, make_registration):
    make_registration(door.event, people=("adult",) * 9)
    with pytest.raises(Conflict) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 2}, family_name="田中"),
                               user=door.volunteer)
    assert exc.value.code == "full"
    db.session.rollback()
    with pytest.raises(Forbidden):
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 2}, family_name="田中"),
                               user=door.volunteer, overbook=True)
    db.session.rollback()
    reg = services.admit_walk_in(db.session, door.event,
                                 services.WalkIn(counts={"adult": 2}, family_name="田中"),
                                 user=door.organizer, overbook=True)
    db.session.commit()
    db.session.refresh(door.event)
    assert reg.party_size == 2 and door.event.seats_taken == 11


@pytest.mark.parametrize("counts,field", [
    ({}, "counts"), ({"adult": 0}, "counts"), ({"adult": -1}, "counts"),
    ({"adult": "2"}, "counts"), ({"nope": 1}, "counts"), ({"adult": 99}, "counts"),
])
def test_walk_in_bad_counts(door, counts, field):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts=counts, family_name="田中"),
                               user=door.volunteer)
    assert field in exc.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


@pytest.mark.parametrize("counts", [
    {"adult": 9_223_372_036_854_775_808}, {"adult": 10**9}, {"adult": 20, "child": 20},
])
def test_walk_in_huge_counts_are_refused(door, counts):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts=counts, family_name="田中"),
                               user=door.volunteer)
    assert "counts" in exc.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_allergies_go_to_the_person_they_are_about(door):
    """A parent with a child: the egg allergy is the adult's, not the first person's."""
    reg = services.admit_walk_in(
        db.session, door.event, services.WalkIn(counts={"child": 1, "adult": 1},
                                                family_name="鈴木", allergens=["egg"],
                                                note="卵は加熱してもだめ", allergy_for="adult"),
        user=door.volunteer, nonce="w-allergy")
    by_code = {a.fee_category.code: a for a in reg.attendees}
    assert by_code["adult"].allergens == ["egg"] and by_code["adult"].note == "卵は加熱してもだめ"
    assert by_code["child"].allergens == [] and by_code["child"].note == ""


@pytest.mark.parametrize("allergy_for, code", [("elder", "リストから選んでください"),
                                               ("child", "この区分の人は")])
def test_walk_in_allergies_for_someone_not_in_the_party_are_refused(door, allergy_for, code):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(
            db.session, door.event, services.WalkIn(counts={"adult": 1}, family_name="鈴木",
                                                    allergens=["egg"], allergy_for=allergy_for),
            user=door.volunteer, nonce="w-bad")
    assert code in str(exc.value.fields["allergy_for"][0])
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    # without allergies the choice does not matter (the form always sends one)
    reg = services.admit_walk_in(
        db.session, door.event, services.WalkIn(counts={"adult": 1}, family_name="鈴木",
                                                allergy_for="child"),
        user=door.volunteer, nonce="w-none")
    assert reg.party_size == 1


@pytest.mark.parametrize("allergens", [["nope"], ["egg", "bogus"], ["egg", 5], [None],
                                       [["egg"]], "egg"])
def test_walk_in_unknown_allergens_are_refused(door, allergens):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="田中",
                                               allergens=allergens),
                               user=door.volunteer)
    assert "allergens" in exc.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_allergens_as_sign_up_keeps_them(door):
    reg = services.admit_walk_in(
        db.session, door.event, services.WalkIn(counts={"adult": 1}, family_name="田中",
                                                allergens=["milk", "egg", "milk"]),
        user=door.volunteer)
    assert reg.attendees[0].allergens == ["egg", "milk"]  # the legal order, once each


@pytest.mark.parametrize("phone", ["abc", "123", "0901234567890"])
def test_walk_in_phone_is_checked_as_at_sign_up(door, phone):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="田中",
                                               phone=phone),
                               user=door.volunteer)
    assert "phone" in exc.value.fields
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_phone_is_normalised(door):
    reg = services.admit_walk_in(
        db.session, door.event, services.WalkIn(counts={"adult": 1}, family_name="田中",
                                                phone="０９０−１２３４−５６７８"),
        user=door.volunteer)
    assert reg.phone == "09012345678"


def test_walk_in_needs_a_name_and_staff(door):
    with pytest.raises(ValidationFailed) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="  "),
                               user=door.volunteer)
    assert "family_name" in exc.value.fields
    with pytest.raises(Forbidden):
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="田中"),
                               user=door.outsider)


def _closed_event(kind, door, make_event):
    """A cancelled or draft event of the door's branch, or (``over``) the door's event."""
    from gathering.events import services as events

    if kind == "over":
        return door.event
    event = make_event(door.branch, status="draft" if kind == "draft" else "published")
    if kind == "cancelled":
        events.cancel_event(db.session, door.organizer, event)
        db.session.commit()
    return event


@pytest.mark.parametrize("kind,code", [
    ("cancelled", "event_cancelled"), ("draft", "event_not_published"), ("over", "event_over")])
def test_walk_in_refused_where_the_door_takes_none(door, make_event, kind, code):
    event = _closed_event(kind, door, make_event)
    after_the_end = services.walk_ins_until(event)
    for data in (services.WalkIn(counts={"adult": 1}, family_name="田中"),
                 services.WalkIn(counts={}, phone="123")):  # refused before the fields
        with pytest.raises(Conflict) as exc:
            services.admit_walk_in(db.session, event, data, user=door.organizer, nonce="w",
                                   overbook=True, now=after_the_end)
        assert (exc.value.code, exc.value.status, exc.value.fields) == (code, 409, {})
    assert services.walk_ins_closed(event, after_the_end).code == code
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_walk_in_refusals_say_why_in_japanese_and_english(door, make_event):
    from flask_babel import force_locale

    messages = {}
    for kind in ("cancelled", "draft", "over"):
        event = _closed_event(kind, door, make_event)
        closed = services.walk_ins_closed(event, services.walk_ins_until(event))
        with force_locale("ja"):
            messages[kind] = (str(closed.message), closed.code)
        with force_locale("en"):
            assert "Walk-ins" in str(closed.message)
    assert messages["cancelled"][0] == "このイベントは中止です。当日参加は受け付けられません。"
    assert len({m for m, _ in messages.values()}) == 3  # each case its own words
    assert all("当日参加" in m for m, _ in messages.values())


def test_walk_ins_are_taken_from_publication_to_the_end_of_the_last_day(door):
    from gathering.timeutil import to_local

    event = door.event  # sign-up still open, a week ahead: the door takes walk-ins anyway
    assert services.walk_ins_closed(event, event.starts_at - timedelta(days=7)) is None
    # after the end, the same evening: the latecomers of the paper list are typed in
    closes = services.walk_ins_until(event)
    assert to_local(closes).date() == to_local(event.ends_at).date() + timedelta(days=1)
    assert (to_local(closes).hour, to_local(closes).minute) == (0, 0)
    reg = services.admit_walk_in(db.session, event,
                                 services.WalkIn(counts={"adult": 1}, family_name="田中"),
                                 user=door.volunteer, now=closes - timedelta(minutes=1))
    assert reg.is_walk_in and reg.party_size == 1
    assert services.walk_ins_closed(event, event.ends_at + timedelta(minutes=1)) is None
    assert services.walk_ins_closed(event, closes).code == "event_over"


def test_walk_in_refused_when_called_off_while_the_volunteer_typed(door, monkeypatch):
    real_lock = services.events.lock_event

    def lock_after_a_cancellation(session, event_id):  # what the locked row reads on PostgreSQL
        event = real_lock(session, event_id)
        event.status = "cancelled"
        return event

    monkeypatch.setattr(services.events, "lock_event", lock_after_a_cancellation)
    with pytest.raises(Conflict) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="田中"),
                               user=door.volunteer)
    assert exc.value.code == "event_cancelled"
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_walk_in_nonce_replayed_after_the_event_was_cancelled(door):
    from gathering.events import services as events

    first = services.admit_walk_in(db.session, door.event,
                                   services.WalkIn(counts={"adult": 1}, family_name="田中"),
                                   user=door.volunteer, nonce="w1")
    db.session.commit()
    events.cancel_event(db.session, door.organizer, door.event)
    db.session.commit()
    again = services.admit_walk_in(db.session, door.event,
                                   services.WalkIn(counts={"adult": 1}, family_name="田中"),
                                   user=door.volunteer, nonce="w1")
    assert again.id == first.id
    with pytest.raises(Conflict) as exc:
        services.admit_walk_in(db.session, door.event,
                               services.WalkIn(counts={"adult": 1}, family_name="田中"),
                               user=door.volunteer, nonce="w2")
    assert exc.value.code == "event_cancelled"


# ---------------------------------------------------------------------------------------
# Search, door list, counts


def _three(door, make_registration):
    a, _ = make_registration(door.event, family_name="山田", given_name="花子",
                             kana=("ヤマダ", "ハナコ"), phone="09012345678")
    b, _ = make_registration(door.event, family_name="青木", given_name="太郎",
                             kana=("アオキ", "タロウ"), phone="08011112222")
    c, _ = make_registration(door.event, family_name="Nguyen", given_name="Lan", kana=("", ""),
                             phone="07033334444", status="waitlisted")
    return a, b, c


@pytest.mark.parametrize("query,expected", [
    ("やまだ", ["山田"]), ("ヤマダ", ["山田"]), ("ﾔﾏﾀﾞ", ["山田"]), ("山田", ["山田"]),
    ("山田 花子", ["山田"]), ("はなこ", ["山田"]), ("5678", ["山田"]), ("2222", ["青木"]),
    ("nguyen", ["Nguyen"]), ("ＮＧＵＹＥＮ", ["Nguyen"]), ("090-1234-5678", ["山田"]),
    ("", []), ("   ", []), ("佐藤", []), ("<script>", []), ("x" * 10_000, []),
])
def test_search_is_kana_insensitive_and_finds_phone_digits(door, make_registration, query,
                                                           expected):
    _three(door, make_registration)
    found = services.search(db.session, door.event, query)
    assert [r.family_name for r in found] == expected


def test_search_stays_within_the_event(door, make_event, make_registration):
    make_registration(make_event(door.branch), family_name="山田")
    assert services.search(db.session, door.event, "山田") == []


def test_door_list_in_aiueo_order_with_due_and_alerts(door, make_registration):
    a, b, _ = _three(door, make_registration)
    d, _ = make_registration(door.event, family_name="上田", kana=("ウエダ", "ユイ"),
                             allergens={1: ["peanut"]})
    rows = services.door_list(db.session, door.event)
    assert [r["registration"].family_name for r in rows] == ["青木", "上田", "山田"]
    assert rows[1]["alerts"] == ["peanut"] and rows[0]["due"] == 300


def test_live_counts_no_shows_after_the_event(door, make_registration, now):
    reg, _ = make_registration(door.event)
    make_registration(door.event, family_name="青木", people=("adult",))
    make_registration(door.event, family_name="待", people=("adult", "adult"),
                      status="waitlisted")
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      nonce="n", now=now)
    db.session.commit()
    during = services.live_counts(db.session, door.event, door.event.starts_at)
    assert (during.admitted, during.expected, during.waiting, during.no_shows) == (2, 3, 2, None)
    after = services.live_counts(db.session, door.event, door.event.ends_at + timedelta(hours=1))
    assert after.no_shows == 1


def test_checkin_list_has_no_contact_details(door, make_registration):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    [(token, summary)] = services.checkin_list(db.session, door.event)
    assert token == reg.ticket_token
    assert summary["people"][0]["allergens"] == ["egg"]
    flat = repr(summary)
    assert reg.phone not in flat and reg.email not in flat


def test_history_names_who_admitted(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.organizer,
                      nonce="n", now=now)
    last = services.history(db.session, reg)
    assert {row.user_id for row in last.values()} == {door.organizer.id}


def test_a_phone_clock_in_the_future_is_not_trusted(door, make_registration, now):
    reg, _ = make_registration(door.event)
    services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                      was_offline=True, scanned_at=now + timedelta(days=3), now=now)
    assert all(a.checked_in_at == now for a in reg.attendees)


def test_no_admission_to_a_cancelled_event(door, make_registration, now):
    from gathering.events import services as events

    reg, _ = make_registration(door.event)
    token = reg.ticket_token
    events.cancel_event(db.session, door.organizer, door.event)
    db.session.commit()
    with pytest.raises(Conflict) as exc:
        services.check_in(db.session, door.event, token, user=door.volunteer, now=now)
    assert exc.value.code in ("event_cancelled", "cancelled")
    assert _rows() == []


def test_door_search_finds_a_variant_kanji_of_the_family_name(door, make_registration):
    reg, _ = make_registration(door.event, family_name="髙橋", kana=("タカハシ", "ハナコ"))
    make_registration(door.event, family_name="高梨", kana=("タカナシ", "ハナコ"))
    assert services.search(db.session, door.event, "高橋") == [reg]
    assert services.search(db.session, door.event, "髙橋 花子") == [reg]
