"""Numbers typed or sent on the door pages: Unicode "digits" that ``int`` refuses (², ①) are
refused like any other bad input, never a 500; full-width digits and 1,000円 are read (NFKC,
as everywhere: ² reads as 2)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.checkin.models import CheckIn
from gathering.extensions import db
from gathering.fees.models import Payment
from gathering.rsvp.models import Registration

#: str.isdigit() is true for each, int() refuses each, and NFKC makes no ASCII digit of them
ODD_DIGITS = ["፩", "⑴", "1፩", "𐩀"]


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count(model.id)))


@pytest.mark.parametrize("event", ODD_DIGITS)
def test_ticket_screen_with_an_odd_event_number_shows_the_party(client, auth, door,
                                                               make_registration, event):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    page = client.get(f"/c/{reg.ticket_token}?event={event}")
    assert page.status_code == 200
    assert "山田" in page.get_data(as_text=True)


@pytest.mark.parametrize("attendee", ODD_DIGITS)
def test_admit_with_an_odd_attendee_id_is_refused_not_a_500(client, auth, door,
                                                            make_registration, attendee):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    r = client.post(f"/c/{reg.ticket_token}/admit", data={"attendee": attendee, "nonce": "n"},
                    follow_redirects=True)
    assert r.status_code == 200 and "flash-error" in r.get_data(as_text=True)
    assert _count(CheckIn) == 0


@pytest.mark.parametrize("tendered", ODD_DIGITS)
def test_cash_with_odd_digits_is_refused_not_a_500(client, auth, door, make_registration,
                                                   tendered):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": tendered, "nonce": "c"},
                    follow_redirects=True)
    assert r.status_code == 200 and "flash-error" in r.get_data(as_text=True)
    assert _count(Payment) == 0


@pytest.mark.parametrize("tendered", ["１，０００", "1,000円", "１０００円", "¥1000", "￥１，０００"])
def test_cash_typed_the_japanese_way_is_read(client, auth, door, make_registration, tendered):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": tendered, "nonce": "c"},
                    follow_redirects=True)
    assert "flash-error" not in r.get_data(as_text=True)
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.amount, payment.cash_tendered) == (300, 1000)


@pytest.mark.parametrize("count", ODD_DIGITS)
def test_walk_in_with_an_odd_count_is_refused_not_a_500(client, auth, door, count):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_adult": count, "family_name": "佐藤", "nonce": "w"})
    assert r.status_code == 422
    assert _count(Registration) == 0


def test_cash_of_a_superscript_two_is_two_yen(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": "²", "nonce": "c"},
                    follow_redirects=True)
    assert r.status_code == 200 and "flash-error" in r.get_data(as_text=True)
    assert _count(Payment) == 0


def test_walk_in_count_in_full_width_digits_is_read(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_adult": "２", "family_name": "佐藤", "nonce": "w"})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(Registration)).party_size == 2
