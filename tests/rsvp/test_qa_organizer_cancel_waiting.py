"""The organizer cancels a party on the waiting list from the sign-up list: it held no
seats, so neither the question nor the flash says its seats go to the waiting list."""

import re

from gathering.extensions import db
from gathering.rsvp.models import Registration

SEATS_GO_ON = "席はキャンセル待ちの人に回ります"


def _form_of(page: str, url: str) -> str:
    """The confirmation form that posts to ``url``."""
    found = re.search(rf'<form method="post" action="{re.escape(url)}">(.*?)</form>', page,
                      re.S)
    assert found is not None
    return found.group(1)


def test_cancelling_a_waiting_party_says_it_held_no_seats(client, auth, make_user, make_event,
                                                           make_registration):
    event = make_event(capacity=2)
    confirmed, _ = make_registration(event, people=("adult", "adult"))
    waiting, _ = make_registration(event, people=("adult",), status="waitlisted",
                                   family_name="鈴木")
    auth.login(make_user("organizer", branches=[event.branch]))
    base = f"/organizer/events/{event.id}/registrations"
    page = client.get(base).get_data(as_text=True)

    waiting_form = _form_of(page, f"{base}/{waiting.id}/cancel")
    assert SEATS_GO_ON not in waiting_form
    assert ("鈴木花子さんの申し込みをキャンセルしますか？キャンセル待ちなので席は取って"
            "いません。残りの席は変わりません。元に戻せません。") in waiting_form
    # a confirmed party's seats do go to the waiting list: its question is as before
    assert SEATS_GO_ON in _form_of(page, f"{base}/{confirmed.id}/cancel")

    response = client.post(f"{base}/{waiting.id}/cancel", follow_redirects=True)
    text = response.get_data(as_text=True)
    assert ("キャンセル待ちだった鈴木花子 さんの申し込みをキャンセルしました。席は取って"
            "いませんでした。") in text
    assert "繰り上が" not in text
    db.session.expire_all()
    assert db.session.get(Registration, waiting.id).status == "cancelled"
    assert db.session.get(Registration, confirmed.id).status == "confirmed"


def test_cancelling_a_confirmed_party_still_says_the_plain_flash(client, auth, make_user,
                                                                  make_event,
                                                                  make_registration):
    event = make_event(capacity=2)
    confirmed, _ = make_registration(event, people=("adult", "adult"))
    auth.login(make_user("organizer", branches=[event.branch]))
    response = client.post(
        f"/organizer/events/{event.id}/registrations/{confirmed.id}/cancel",
        follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "山田花子 さんの申し込みをキャンセルしました。" in text
    assert "キャンセル待ちだった" not in text
