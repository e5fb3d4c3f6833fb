"""A lost or over-shared ticket QR is replaced: the old code is refused as ``revoked``."""

import pytest

from gathering.checkin import services
from gathering.errors import Forbidden, GatheringError
from gathering.extensions import db


@pytest.fixture
def party(make_event, make_registration, make_user, make_branch):
    branch = make_branch()
    event = make_event(branch, capacity=20)
    reg, _ = make_registration(event)
    organizer = make_user("organizer", branches=[branch])
    volunteer = make_user("volunteer", branches=[branch])
    return {"event": event, "reg": reg, "organizer": organizer, "volunteer": volunteer}


def test_the_old_code_is_revoked_and_the_new_one_admits(party, now):
    reg, event = party["reg"], party["event"]
    old = reg.ticket_token
    new = services.replace_ticket(db.session, reg, user=party["organizer"])
    db.session.commit()
    assert new != old and len(new) >= 22
    with pytest.raises(GatheringError) as refused:
        services.check_in(db.session, event, old, user=party["volunteer"], nonce="n-old")
    assert refused.value.code == "revoked"
    db.session.rollback()
    result = services.check_in(db.session, event, new, user=party["volunteer"], nonce="n-new")
    assert sorted(result["admitted"]) == sorted(a.id for a in reg.active_attendees)


def test_only_organizers_of_the_branch_replace_tickets(party, make_user):
    for user in (party["volunteer"], make_user("organizer")):
        with pytest.raises(Forbidden):
            services.replace_ticket(db.session, party["reg"], user=user)


def test_organizer_replaces_a_ticket_from_the_list(client, auth, party):
    reg, event = party["reg"], party["event"]
    old = reg.ticket_token
    auth.login(party["organizer"])
    page = client.get(f"/organizer/events/{event.id}/registrations").get_data(as_text=True)
    assert "新しいチケット" in page
    response = client.post(
        f"/organizer/events/{event.id}/registrations/{reg.id}/ticket", follow_redirects=True)
    assert "古いQRコードは使えません" in response.get_data(as_text=True)
    db.session.expire_all()
    assert reg.ticket_token != old and reg.replaced_ticket_token == old
    # another event's id in the URL finds nothing
    assert client.post(f"/organizer/events/{event.id + 999}/registrations/{reg.id}/ticket"
                       ).status_code == 404


def test_volunteers_cannot_replace_tickets(client, auth, party):
    reg, event = party["reg"], party["event"]
    auth.login(party["volunteer"])
    assert client.post(f"/organizer/events/{event.id}/registrations/{reg.id}/ticket"
                       ).status_code == 403
