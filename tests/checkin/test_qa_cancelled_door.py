"""A cancelled event's door owes nothing: the printed door list and the scanner's offline
cache show no fee still to take (README: no 未収 remains at the door once it is cancelled)."""

from __future__ import annotations

from gathering.checkin import services
from gathering.events import services as events
from gathering.extensions import db


def _cancel(door):
    events.cancel_event(db.session, door.organizer, door.event)
    db.session.commit()


def test_door_list_of_a_cancelled_event_shows_nothing_due(client, auth, door,
                                                          make_registration):
    make_registration(door.event, people=("child", "adult"))
    assert [row["due"] for row in services.door_list(db.session, door.event)] == [300]
    _cancel(door)
    assert [row["due"] for row in services.door_list(db.session, door.event)] == [0]
    auth.login(door.volunteer)
    page = client.get(f"/door/events/{door.event.id}/list").get_data(as_text=True)
    assert "このイベントは中止です。" in page
    assert "300円" not in page.split("<tbody>")[1]


def test_offline_cache_of_a_cancelled_event_expects_no_fee(client, api_token, door,
                                                           make_registration):
    reg, _ = make_registration(door.event, people=("adult",))
    assert services.party_summary(db.session, reg)["expected_due"] == 300
    _cancel(door)
    items = client.get(f"/api/v1/events/{door.event.id}/checkin-list",
                       headers=api_token(door.volunteer)).get_json()["items"]
    assert [(i["amount_due"], i["expected_due"], i["balance"]) for i in items] == [(0, 0, 0)]
