"""Event rules called directly: validation, writing, permissions, sign-up and seat states."""

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gathering.events import services
from gathering.events.models import Event
from gathering.extensions import db
from gathering.timeutil import TOKYO


def valid(**overrides):
    start = datetime(2026, 12, 12, 11, tzinfo=TOKYO)
    data = {"title": "子ども食堂", "kind": "kids_cafeteria", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=3)).isoformat(), "capacity": 40,
            "fees": [{"code": "child", "label": "こども", "amount": 0},
                     {"code": "adult", "label": "おとな", "amount": 300}],
            "venue": {"name": "公民館", "postal_code": "〒０７０ー００３１", "address": "旭川市"}}
    data.update(overrides)
    return data


def test_clean_event_data_normalises():
    out = services.clean_event_data(valid(title="  ＡＢＣ子ども食堂 ", starts_at="2026-12-12T11:00"))
    assert out["title"] == "ABC子ども食堂"
    assert out["starts_at"] == datetime(2026, 12, 12, 11, tzinfo=TOKYO)  # naive = Tokyo time
    assert out["venue"]["postal_code"] == "0700031"
    assert out["fees"][1] == {"code": "adult", "label": "おとな", "amount": 300}


def test_single_line_fields_fold_line_breaks_and_multi_line_fields_keep_them():
    venue = {"name": "公民館\r\n2階", "address": "旭川市\n1条通", "postal_code": "070\n0031",
             "access_notes": "駅から徒歩5分\nバス停すぐ", "map_url": "https://example.org/\n"}
    out = services.clean_event_data(valid(
        title="冬の\n子ども食堂\t\u2028特別回\x00\x1b", description="一行目\n二行目",
        venue=venue, fees=[{"code": "adult", "label": "お と な\n(中学生以上)", "amount": 300}]))
    assert out["title"] == "冬の 子ども食堂 特別回"
    assert out["venue"]["name"] == "公民館 2階"
    assert out["venue"]["address"] == "旭川市 1条通"
    assert out["venue"]["map_url"] == "https://example.org/"
    assert out["fees"][0]["label"] == "お と な (中学生以上)"
    # what is written as paragraphs keeps them
    assert out["description"] == "一行目\n二行目"
    assert out["venue"]["access_notes"] == "駅から徒歩5分\nバス停すぐ"
    # a title of nothing but line breaks is no title
    with pytest.raises(ValidationFailed) as exc:
        services.clean_event_data(valid(title="\n\t\r\n"))
    assert "title" in exc.value.fields


HUGE = "あ" * 10_240


@pytest.mark.parametrize("changes, field", [
    ({"title": ""}, "title"),
    ({"title": None}, "title"),
    ({"title": HUGE}, "title"),
    ({"title": 12}, "title"),
    ({"title": ["a"]}, "title"),
    ({"description": "x" * 20_001}, "description"),
    ({"kind": "party"}, "kind"),
    ({"kind": None}, "kind"),
    ({"kind": {"a": 1}}, "kind"),
    ({"starts_at": "2026-02-30T11:00"}, "starts_at"),
    ({"starts_at": "tomorrow"}, "starts_at"),
    ({"starts_at": 1700000000}, "starts_at"),
    ({"starts_at": "1800-01-01T00:00"}, "starts_at"),
    ({"ends_at": ""}, "ends_at"),
    ({"capacity": -1}, "capacity"),
    ({"capacity": "many"}, "capacity"),
    ({"capacity": True}, "capacity"),
    ({"capacity": 1.5}, "capacity"),
    ({"capacity": 10**12}, "capacity"),
    ({"fees": "free"}, "fees"),
    ({"fees": [1, 2]}, "fees"),
    ({"fees": [{"code": "a", "label": "x", "amount": "abc"}]}, "fees.0.amount"),
    ({"fees": [{"code": "a", "label": "x", "amount": -1}]}, "fees.0.amount"),
    ({"fees": [{"code": "子ども", "label": "x", "amount": 1}]}, "fees.0.code"),
    ({"fees": [{"code": "a", "label": "x", "amount": 1}, {"code": "a", "label": "y",
                                                          "amount": 2}]}, "fees.1.code"),
    ({"fees": [{"code": f"c{i}", "label": "x", "amount": 1} for i in range(21)]}, "fees"),
    ({"venue": "公民館"}, "venue"),
    ({"venue": {"name": ""}}, "venue.name"),
    ({"venue": {"name": "a", "postal_code": "123"}}, "venue.postal_code"),
    ({"venue": {"name": "a", "map_url": "javascript:alert(1)"}}, "venue.map_url"),
    ({"venue": {"name": "a", "latitude": "north"}}, "venue.latitude"),
    ({"venue": {"name": "a", "latitude": "nan"}}, "venue.latitude"),
    ({"venue": {"name": "a", "longitude": 500}}, "venue.longitude"),
    ({"status": "deleted"}, "status"),
    ({"status": ["published"]}, "status"),
    ({"fee_basis": "whoever"}, "fee_basis"),
    ({"fee_basis": []}, "fee_basis"),
    # two fees a parent could not tell apart (the same name, kana and width aside)
    ({"fees": [{"label": "おとな", "amount": 300}, {"label": "オトナ", "amount": 500}]},
     "fees.1.label"),
    ({"fees": [{"label": "Adult", "amount": 300}, {"label": "ａｄｕｌｔ", "amount": 500}]},
     "fees.1.label"),
])
def test_bad_event_input_is_refused_with_the_field(app, changes, field):
    with pytest.raises(ValidationFailed) as exc:
        services.clean_event_data(valid(**changes))
    assert field in exc.value.fields
    assert exc.value.status == 422


def test_not_an_object_is_refused():
    for raw in ([], "x", None, 3):
        with pytest.raises(ValidationFailed):
            services.clean_event_data(raw)


def create(user, branch, **changes):
    return services.create_event(db.session, user, branch,
                                 services.clean_event_data(valid(**changes)))


@pytest.mark.parametrize("changes, field", [
    ({"ends_at": "2026-12-12T10:00+09:00"}, "ends_at"),
    ({"ends_at": "2026-12-12T11:00+09:00"}, "ends_at"),
    ({"ends_at": "2027-01-12T11:00+09:00"}, "ends_at"),
    ({"signup_opens_at": "2026-12-10T00:00+09:00",
      "signup_closes_at": "2026-12-09T00:00+09:00"}, "signup_closes_at"),
    ({"signup_closes_at": "2026-12-13T00:00+09:00"}, "signup_closes_at"),
])
def test_impossible_times_are_refused_and_nothing_stored(make_user, make_branch, changes, field):
    branch = make_branch()
    user = make_user("organizer", branches=[branch])
    with pytest.raises(ValidationFailed) as exc:
        create(user, branch, **changes)
    assert field in exc.value.fields
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_only_the_branchs_organizers_and_admins_create_and_edit(make_user, make_branch, now):
    branch, other = make_branch(), make_branch()
    organizer = make_user("organizer", branches=[branch])
    with pytest.raises(Forbidden):
        create(organizer, other)
    with pytest.raises(Forbidden):
        create(make_user("volunteer", branches=[branch]), branch)
    event = create(organizer, branch)
    stranger = make_user("organizer", branches=[other])
    for call in (lambda u: services.update_event(db.session, u, event, {"title": "x"}, now=now),
                 lambda u: services.cancel_event(db.session, u, event, now=now),
                 lambda u: services.publish_event(db.session, u, event),
                 lambda u: services.get_event_for_user(db.session, event.id, u)):
        with pytest.raises(Forbidden):
            call(stranger)
    admin = make_user("admin")
    assert services.get_event_for_user(db.session, event.id, admin) is event
    volunteer = make_user("volunteer", branches=[branch])
    assert services.get_event_for_user(db.session, event.id, volunteer, staff=True) is event
    with pytest.raises(Forbidden):
        services.get_event_for_user(db.session, event.id, volunteer)


def test_drafts_are_found_only_when_asked(make_event):
    draft = make_event(status="draft")
    with pytest.raises(NotFound):
        services.get_event(db.session, draft.id)
    assert services.get_event(db.session, draft.id, include_drafts=True) is draft
    with pytest.raises(NotFound):
        services.get_event(db.session, 999_999)


def test_publish_and_cancel(make_event, make_user, now):
    event = make_event(status="draft")
    admin = make_user("admin")
    services.publish_event(db.session, admin, event)
    assert event.status == "published" and event.sequence == 1
    services.cancel_event(db.session, admin, event, now=now)
    assert event.status == "cancelled" and event.cancelled_at == now and event.sequence == 2
    with pytest.raises(Conflict) as exc:
        services.publish_event(db.session, admin, event)
    assert exc.value.code == "event_cancelled"
    with pytest.raises(Conflict) as exc:
        services.update_event(db.session, admin, event, {"title": "x"}, now=now)
    assert exc.value.code == "event_cancelled"


def test_capacity_never_below_the_people_confirmed(make_registration, make_event, make_user, now):
    event = make_event(capacity=10)
    make_registration(event, people=("child", "adult", "adult"))
    admin = make_user("admin")
    with pytest.raises(Conflict) as exc:
        services.update_event(db.session, admin, event, {"capacity": 2}, now=now)
    assert exc.value.code == "capacity_below_confirmed"
    services.update_event(db.session, admin, event, {"capacity": 3}, now=now)
    assert event.capacity == 3


def test_a_fee_chosen_by_people_cannot_be_removed(make_registration, make_event, make_user, now):
    event = make_event()
    make_registration(event, people=("adult",))
    admin = make_user("admin")
    with pytest.raises(Conflict) as exc:
        services.update_event(db.session, admin, event,
                              {"fees": [{"code": "child", "label": "こども", "amount": 0}]},
                              now=now)
    assert exc.value.code == "fee_in_use"


def test_schedule_changes_raise_the_calendar_sequence(make_event, make_user, now):
    event = make_event()
    admin = make_user("admin")
    services.update_event(db.session, admin, event, {"title": "新しい名前"}, now=now)
    assert event.sequence == 0
    services.update_event(db.session, admin, event,
                          {"starts_at": event.starts_at + timedelta(hours=1),
                           "ends_at": event.ends_at + timedelta(hours=1)}, now=now)
    assert event.sequence == 1


def test_another_branchs_venue_cannot_be_used(make_event, make_user, make_branch, now):
    theirs = make_event()
    mine = make_branch()
    organizer = make_user("organizer", branches=[mine])
    with pytest.raises(ValidationFailed) as exc:
        services.create_event(db.session, organizer, mine,
                              services.clean_event_data(valid(venue=None,
                                                              venue_id=theirs.venue_id)))
    assert "venue_id" in exc.value.fields


def at(*args):
    return datetime(*args, tzinfo=TOKYO)


def test_signup_states(make_event, now):
    event = make_event(starts_at=at(2026, 12, 12, 11))
    assert services.signup_state(event, now) == "open"
    event.signup_opens_at = at(2026, 12, 1)
    assert services.signup_state(event, now) == "not_yet"
    event.signup_opens_at, event.signup_closes_at = None, at(2026, 11, 27, 9)
    assert services.signup_state(event, now) == "closed"
    event.signup_closes_at = None
    assert services.signup_state(event, at(2026, 12, 12, 11, 30)) == "closed"
    assert services.signup_state(event, at(2026, 12, 12, 15)) == "past"
    event.status = "draft"
    assert services.signup_state(event, now) == "draft"
    event.status = "cancelled"
    assert services.signup_state(event, now) == "cancelled"
    assert not services.is_signup_open(event, now)


def test_seat_states(make_event):
    event = make_event(capacity=10)
    assert services.seats_state(event, few=5) == "available"
    event.seats_taken = 6
    assert services.seats_state(event, few=5) == "few"
    event.seats_taken = 10
    assert services.seats_state(event, few=5) == "full"
    assert event.seats_left == 0
    event.capacity = None
    assert services.seats_state(event) == "unlimited" and event.seats_left is None


def test_take_and_release_seats_in_the_database(make_event):
    event = make_event(capacity=3)
    assert services.take_seats(db.session, event, 2)
    assert not services.take_seats(db.session, event, 2)
    assert event.seats_taken == 2
    assert services.take_seats(db.session, event, 2, allow_overbook=True)
    services.release_seats(db.session, event, 10)
    assert event.seats_taken == 0


def test_public_query_hides_drafts_and_filters(make_event, make_branch):
    a, b = make_branch(), make_branch()
    e1 = make_event(a, starts_at=at(2026, 12, 5, 11), kind="shared_meal")
    e2 = make_event(b, starts_at=at(2027, 1, 9, 11))
    make_event(a, starts_at=at(2026, 12, 6, 11), status="draft")
    everything = list(db.session.scalars(services.public_events_query()))
    assert everything == [e1, e2]
    assert list(db.session.scalars(services.public_events_query(branch=b))) == [e2]
    assert list(db.session.scalars(services.public_events_query(kind="shared_meal"))) == [e1]
    start, end = services.month_window("2027-01")
    assert list(db.session.scalars(services.public_events_query(start=start, end=end))) == [e2]
    page = services.paginate(db.session, services.public_events_query(), 2, 1)
    assert page.items == [e2] and page.total == 2 and page.pages == 2
    assert page.has_prev and not page.has_next


@pytest.mark.parametrize("month", ["2026", "2026-13", "2026-00", "abcd-ef", "1899-01", "9999-01",
                                   "2026-1-1", "0001-01", "1999-12", "2100-01", "",
                                   "99999999999999999999-01", "2026-" + "9" * 30, "2026年"])
def test_month_window_refuses_malformed_months(month):
    with pytest.raises(ValueError):
        services.month_window(month)


@pytest.mark.parametrize("month", ["2026-12", "2026/12", "2026.12", "2026年12月", "２０２６年１２月",
                                   "2026 / 12", "2026-12 "])
def test_month_window_reads_months_as_people_type_them(month):
    assert services.month_window(month) == (datetime(2026, 12, 1, tzinfo=TOKYO),
                                            datetime(2027, 1, 1, tzinfo=TOKYO))


def test_drafts_are_read_only_by_those_who_manage_their_branch(make_event, make_user):
    draft = make_event(status="draft")
    published = make_event(draft.branch)
    organizer = make_user("organizer", branches=[draft.branch])
    for reader in (organizer, make_user("admin")):
        assert services.get_event_for_reader(db.session, draft.id, reader) is draft
    for reader in (None, make_user("organizer"), make_user("volunteer", branches=[draft.branch])):
        with pytest.raises(NotFound):
            services.get_event_for_reader(db.session, draft.id, reader)
        assert services.get_event_for_reader(db.session, published.id, reader) is published


def test_an_event_with_sign_ups_cannot_go_back_to_draft(make_event, make_registration,
                                                        make_user, now):
    admin = make_user("admin")
    empty = make_event()
    services.update_event(db.session, admin, empty, {"status": "draft"}, now=now)
    assert empty.status == "draft"
    event = make_event()
    make_registration(event)
    with pytest.raises(Conflict) as exc:
        services.update_event(db.session, admin, event, {"status": "draft"}, now=now)
    assert exc.value.code == "has_registrations"
