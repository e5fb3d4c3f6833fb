"""QA pass on sign-up: old carrier mail addresses, a waiting party grown past the seats in
all, and the fee in the mails of a 子ども食堂 whose fee is paid at the door."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import ValidationFailed
from gathering.extensions import db
from gathering.rsvp import services
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO
from tests.rsvp.test_mail_cli import smtp, text_of  # noqa: F401 - the fixture
from tests.rsvp.test_manage import edit_data, fresh
from tests.rsvp.test_views import form_data, manage_token

# ---------------------------------------------------------------------------------------
# Addresses of docomo and au phones made before 2009 (dots twice, or before the @)

CARRIER_ADDRESSES = ["taro..yamada@docomo.ne.jp", "hanako.@ezweb.ne.jp",
                     "Mama..Chan.@docomo.ne.jp"]


@pytest.mark.parametrize("address", CARRIER_ADDRESSES)
def test_an_old_carrier_address_is_accepted_as_typed(address):
    errors: dict = {}
    assert services.clean_email(address, "email", errors) == address.lower()
    assert errors == {}


@pytest.mark.parametrize("address", ["..@docomo.ne.jp", "taro..yamada@docomo",
                                     "taro yamada..@docomo.ne.jp", "taro..yamada@"])
def test_a_malformed_address_is_still_refused(address):
    errors: dict = {}
    services.clean_email(address, "email", errors)
    assert errors["email"]


def test_a_family_with_an_old_carrier_address_signs_up_and_gets_its_mails(
        client, make_event, smtp):  # noqa: F811 - the fixture
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup",
                    data=form_data(email="ｔａｒｏ..ｙａｍａｄａ＠docomo.ne.jp", phone=""))
    assert r.status_code == 302, r.get_data(as_text=True)
    token = manage_token(r)
    reg = db.session.scalar(sa.select(Registration))
    assert reg.email == "taro..yamada@docomo.ne.jp"
    [confirmation] = smtp.messages
    assert confirmation["To"] == "taro..yamada@docomo.ne.jp"
    # the lost-link page takes the same address and sends the link to it
    r = client.post("/r/lost", data={"email": "taro..yamada@docomo.ne.jp"})
    assert r.status_code == 302
    assert len(smtp.messages) == 2 and f"/r/{token}" in text_of(smtp.messages[1])


# ---------------------------------------------------------------------------------------
# A waiting party may not grow past the seats in all: it would wait for ever


def test_a_waiting_party_grown_past_the_seats_in_all_is_refused(make_event, signup, now):
    event = make_event(capacity=3, starts_at=now + timedelta(days=7))
    services.register(db.session, event, signup(family_name="佐藤", email="a@example.jp",
                                                phone=""), now=now)
    waiting = services.register(db.session, event, signup(), now=now).registration
    db.session.commit()
    assert waiting.status == "waitlisted" and waiting.party_size == 2
    people = [{"id": a.id, "category": a.fee_category.code} for a in waiting.active_attendees]
    grown = signup(attendees=[*people, *[{"category": "child"}] * 2])
    with pytest.raises(ValidationFailed) as exc:
        services.update_registration(db.session, waiting, grown, now=now)
    assert exc.value.code == "party_too_large" and "attendees" in exc.value.fields
    db.session.rollback()
    assert fresh(waiting).party_size == 2
    # up to the seats in all it may still grow, and a party kept as large as it was passes
    fits = signup(attendees=[*people, {"category": "child"}])
    services.update_registration(db.session, waiting, fits, now=now)
    db.session.commit()
    assert fresh(waiting).party_size == 3


def test_the_edit_form_says_a_grown_waiting_party_cannot_fit(client, make_event,
                                                             make_registration):
    event = make_event(capacity=3)
    make_registration(event, ["adult", "child", "child"], family_name="佐藤",
                      email="a@example.jp", phone="")
    reg, token = make_registration(event, ["adult", "child"], status="waitlisted")
    data = edit_data(reg, **{"attendees-2-category": "child", "attendees-3-category": "child"})
    r = client.post(f"/r/{token}/edit", data=data)
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="attendees-error"' in page and "席は全部で3席" in page
    assert fresh(reg).party_size == 2 and fresh(reg).status == "waitlisted"


# ---------------------------------------------------------------------------------------
# The fee in the mails, where it is paid at the door for those who come


def test_the_confirmation_mail_says_the_fee_paid_at_the_door(client, make_event,
                                                             smtp):  # noqa: F811
    event = make_event(capacity=10)  # fee_basis "attended", the default: nothing owed yet
    client.post(f"/events/{event.id}/signup", data=form_data())  # おとな 300円 + こども 0円
    [msg] = smtp.messages
    assert "参加費: 全員来た場合 300円。当日、来た人の分を受付で払います。" in text_of(msg).splitlines()
    html = msg.get_body(("html",)).get_content()
    assert "全員来た場合 300円" in html


def test_the_waiting_list_and_promotion_mails_say_the_fee(client, make_event,
                                                         smtp):  # noqa: F811
    event = make_event(capacity=2)
    first = client.post(f"/events/{event.id}/signup",
                        data=form_data(family_name="佐藤", email="a@example.jp", phone=""))
    client.post(f"/events/{event.id}/signup", data=form_data(idempotency_key="key-2"))
    waiting_mail = text_of(smtp.messages[1])
    assert "参加費: 席が空いて全員が来た場合 300円（当日、受付で払います）。" in waiting_mail
    client.post(f"/r/{manage_token(first)}/cancel", data={"whole": "1"})
    promoted = [m for m in smtp.messages if m["To"] == "hanako@example.jp"][-1]
    body = text_of(promoted)
    assert "キャンセル待ちから参加確定になりました" in body
    assert "参加費: 全員来た場合 300円。当日、来た人の分を受付で払います。" in body.splitlines()


def test_a_free_party_gets_no_fee_line(client, make_event, smtp):  # noqa: F811
    event = make_event(capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data(**{
        "attendees-0-category": "child"}))
    body = text_of(smtp.messages[0])
    assert "参加費" not in body
    assert re.search(r"^- こども$", body, re.M)


# ---------------------------------------------------------------------------------------
# The CSV's file name has the event's day in Japan


def test_the_csv_of_a_morning_event_is_named_after_its_day_in_japan(client, auth, make_user,
                                                                    make_event):
    day = (datetime.now(TOKYO) + timedelta(days=7)).date()
    # 08:00 in Tokyo is 23:00 the day before in UTC, as the event is stored
    event = make_event(capacity=10, starts_at=datetime.combine(day, time(8, 0), TOKYO))
    auth.login(make_user("organizer", branches=[event.branch]))
    r = client.get(f"/organizer/events/{event.id}/registrations.csv")
    assert f'filename="registrations-{event.id}-{day:%Y%m%d}.csv"' in (
        r.headers["Content-Disposition"])
