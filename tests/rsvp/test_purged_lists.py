"""After purge-sensitive the kitchen summary and the sign-up list say the allergy and diet
notes were deleted: never 「アレルギーの申し出はありません。」, which the kitchen would read
as "nothing to avoid"."""

from __future__ import annotations

from datetime import timedelta

import pytest

from gathering.extensions import db
from gathering.rsvp import services
from gathering.timeutil import utcnow

NONE_REPORTED = "アレルギーの申し出はありません。"
NO_DIETS = "食事の配慮の申し出はありません。"
DELETED = "保存期間の決まりにより、2件の申し込みのアレルギー・食事の情報は、つどいの後に削除しました。"
MARK = "アレルギー・食事の情報は、つどいの後に削除済み"


@pytest.fixture
def purged(make_event, make_registration, make_user, auth):
    """An event of 40 days ago whose two families' allergies (egg, halal) were purged after
    30 days; its organizer logged in."""
    event = make_event(starts_at=utcnow() - timedelta(days=40), capacity=10)
    make_registration(event, people=("adult",), allergens={0: ["egg"]}, diets={0: ["halal"]})
    make_registration(event, people=("child",), family_name="佐藤", allergens={0: ["milk"]})
    assert services.purge_sensitive(db.session, now=utcnow(), days=30) == 2
    db.session.commit()
    auth.login(make_user("organizer", branches=[event.branch]))
    return event


def test_the_kitchen_summary_says_the_notes_were_deleted(client, purged):
    page = client.get(f"/organizer/events/{purged.id}/kitchen").get_data(as_text=True)
    assert DELETED in page
    assert NONE_REPORTED not in page and NO_DIETS not in page
    assert "つどいの後に情報を削除したため、わかりません。" in page


def test_the_kitchen_summary_of_a_party_after_the_purge_speaks_of_the_others(
        client, purged, make_registration):
    make_registration(purged, people=("adult",), family_name="鈴木")  # nothing to avoid
    page = client.get(f"/organizer/events/{purged.id}/kitchen").get_data(as_text=True)
    assert DELETED in page and f"<p>{NONE_REPORTED}" not in page
    assert "ほかの申し込みには、アレルギーの申し出はありません。" in page
    assert "ほかの申し込みには、食事の配慮の申し出はありません。" in page


def test_the_kitchen_summary_without_a_purge_still_says_none_reported(
        client, make_event, make_registration, make_user, auth):
    event = make_event(capacity=10)
    make_registration(event, people=("adult",))
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.get(f"/organizer/events/{event.id}/kitchen").get_data(as_text=True)
    assert NONE_REPORTED in page and "削除" not in page


def test_the_sign_up_list_counts_and_marks_the_purged_parties(client, purged,
                                                             make_registration):
    make_registration(purged, people=("adult",), family_name="鈴木")  # after the purge
    page = client.get(f"/organizer/events/{purged.id}/registrations").get_data(as_text=True)
    assert DELETED in page
    assert page.count(MARK) == 2


def test_kitchen_summary_and_counts_count_the_purged_parties(purged, make_registration):
    make_registration(purged, people=("adult",), family_name="鈴木")
    make_registration(purged, people=("adult",), family_name="高橋", status="waitlisted")
    regs = services.list_registrations(db.session, purged)
    summary = services.kitchen_summary(regs)
    assert (summary["parties"], summary["purged"], summary["allergens"]) == (3, 2, [])
    assert services.counts(regs)["purged"] == 2
