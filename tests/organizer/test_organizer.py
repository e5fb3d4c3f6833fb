"""The organizer area through the client: permissions, forms, messages, the demo flow."""

import re
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.events.models import Event, Series
from gathering.extensions import db
from gathering.timeutil import TOKYO

# (method, url template, who may: "staff" = volunteers too, "manage" = organizers only,
#  "any" = any logged-in account)
PROTECTED = [
    ("GET", "/organizer/", "any"),
    ("GET", "/organizer/past", "any"),
    ("GET", "/organizer/events/{event}", "staff"),
    ("GET", "/organizer/events/{event}/edit", "manage"),
    ("POST", "/organizer/events/{event}/edit", "manage"),
    ("POST", "/organizer/events/{event}/publish", "manage"),
    ("GET", "/organizer/events/{event}/cancel", "manage"),
    ("POST", "/organizer/events/{event}/cancel", "manage"),
    ("GET", "/organizer/events/new", "organizer"),
    ("POST", "/organizer/events/new", "organizer"),
    ("GET", "/organizer/series/new", "organizer"),
    ("POST", "/organizer/series/new", "organizer"),
    ("GET", "/organizer/series/{series}", "manage"),
    ("GET", "/organizer/series/{series}/edit", "manage"),
    ("POST", "/organizer/series/{series}/edit", "manage"),
]


@pytest.fixture
def world(make_branch, make_user, make_event, now):
    from gathering.events import services
    from tests.events.conftest import series_data

    branch = make_branch()
    organizer = make_user("organizer", branches=[branch])
    cleaned = services.clean_series_data(series_data())
    series = services.create_series(db.session, organizer, branch, cleaned, now=now, months=2)
    db.session.commit()
    event = make_event(branch)
    return {"branch": branch, "organizer": organizer, "event": event, "series": series,
            "other": make_user("organizer"), "volunteer": make_user("volunteer", branches=[branch]),
            "admin": make_user("admin")}


def call(client, method, url, world):
    url = url.format(event=world["event"].id, series=world["series"].id)
    return client.open(url, method=method, data={})


@pytest.mark.parametrize("method, url, who", PROTECTED)
def test_who_may_open_each_organizer_url(client, auth, world, method, url, who):
    """Anonymous → login; another branch's organizer → 403 where the event or series is
    theirs; a volunteer only sees; the branch's organizer and the admin may."""
    response = call(client, method, url, world)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")

    auth.login(world["other"])
    expected = 403 if who in ("staff", "manage") else (200, 302)
    assert call(client, method, url, world).status_code in (expected if isinstance(
        expected, tuple) else (expected,))
    auth.logout()

    auth.login(world["volunteer"])
    assert call(client, method, url, world).status_code == (200 if who in ("any", "staff")
                                                            else 403)
    auth.logout()

    for user in ("organizer", "admin"):
        auth.login(world[user])
        assert call(client, method, url, world).status_code in (200, 302)
        auth.logout()


def test_refusals_do_not_change_anything(client, auth, world):
    auth.login(world["other"])
    client.post(f"/organizer/events/{world['event'].id}/cancel")
    client.post(f"/organizer/events/{world['event'].id}/edit", data={"title": "乗っ取り"})
    db.session.expire_all()
    assert world["event"].status == "published" and world["event"].title == "子ども食堂"


def test_dashboard_lists_only_own_branch(client, auth, world, make_event):
    theirs = make_event(title="よその会")
    auth.login(world["organizer"])
    page = client.get("/organizer/").get_data(as_text=True)
    assert "あさひかわ子ども食堂" in page and "よその会" not in page
    auth.logout()
    auth.login(world["admin"])
    assert theirs.title in client.get("/organizer/").get_data(as_text=True)


def event_form(branch, **overrides):
    day = date.today() + timedelta(days=10)
    data = {
        "branch_id": branch, "title": "みんな食堂", "kind": "shared_meal",
        "description": "どなたでも", "capacity": "20", "fee_basis": "attended", "venue_id": "0",
        "venue_name": "地域ケアプラザ", "venue_postal_code": "２３１－００２３",
        "venue_address": "横浜市中区山下町", "venue_map_url": "",
        "starts_at": f"{day}T17:00", "ends_at": f"{day}T19:00",
        "fees-0-code": "child", "fees-0-label": "こども", "fees-0-amount": "100",
        "fees-1-code": "adult", "fees-1-label": "おとな", "fees-1-amount": "300",
        "publish": "y",
    }
    data.update(overrides)
    return data


def test_create_edit_publish_and_cancel_an_event_through_the_forms(client, auth, world):
    auth.login(world["organizer"])
    branch = world["branch"]
    response = client.post("/organizer/events/new", data=event_form(branch.id, publish=""))
    assert response.status_code == 302
    event = db.session.scalar(sa.select(Event).where(Event.title == "みんな食堂"))
    assert event.status == "draft" and event.venue.postal_code == "2310023"
    assert [(f.label, f.amount) for f in event.fees] == [("こども", 100), ("おとな", 300)]
    assert event.starts_at.astimezone(TOKYO).hour == 17
    assert "イベントを作りました。" in client.get(response.headers["Location"]).get_data(
        as_text=True)

    response = client.post(f"/organizer/events/{event.id}/edit",
                           data=event_form(branch.id, title="みんな食堂 よこはま", capacity="25",
                                           venue_id=str(event.venue_id), publish=""))
    assert response.status_code == 302
    db.session.expire_all()
    assert event.title == "みんな食堂 よこはま" and event.capacity == 25

    client.post(f"/organizer/events/{event.id}/publish")
    db.session.expire_all()
    assert event.status == "published"
    # The cancel button asks first; asking changes nothing.
    page = client.get(f"/organizer/events/{event.id}").get_data(as_text=True)
    assert f'href="/organizer/events/{event.id}/cancel"' in page
    confirm = client.get(f"/organizer/events/{event.id}/cancel").get_data(as_text=True)
    assert "このイベントを中止しますか？" in confirm and "0組" in confirm
    db.session.expire_all()
    assert event.status == "published"
    response = client.post(f"/organizer/events/{event.id}/cancel", follow_redirects=True)
    assert "イベントを中止にしました。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert event.status == "cancelled"
    response = client.post(f"/organizer/events/{event.id}/cancel", follow_redirects=True)
    assert "このイベントはすでに中止です。" in response.get_data(as_text=True)
    edit = client.get(f"/organizer/events/{event.id}/edit")  # nothing left to edit
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/events/{event.id}")
    assert "中止" in client.get(f"/events/{event.id}").get_data(as_text=True)


@pytest.mark.parametrize("overrides, message", [
    ({"title": ""}, "タイトルを入れてください。"),
    ({"title": "a" * 10_240}, ""),
    ({"kind": "party"}, ""),
    ({"starts_at": "2026-02-30T11:00"}, "日時は 2027-04-10 11:00 のように入れてください。"),
    ({"starts_at": ""}, "始まる日時を入れてください。"),
    ({"ends_at": "yesterday"}, "日時は 2027-04-10 11:00 のように入れてください。"),
    ({"capacity": "-3"}, ""),
    ({"capacity": "たくさん"}, "数字で入れてください（例: 40）。"),
    ({"fees-0-amount": "-100"}, "金額は円の整数で入力してください"),
    ({"fees-0-amount": "300.5"}, "金額は円の整数で入力してください"),
    ({"fees-0-amount": ""}, "金額を入れてください（無料なら0）"),
    ({"venue_postal_code": "12"}, "郵便番号は7けたです"),
    ({"venue_map_url": "javascript:alert(1)"}, "https:// で始まる"),
    ({"branch_id": "999999"}, ""),
    ({"venue_id": "999999"}, ""),
])
def test_bad_event_forms_keep_the_input_and_store_nothing(client, auth, world, overrides, message):
    auth.login(world["organizer"])
    before = db.session.scalar(sa.select(sa.func.count(Event.id)))
    response = client.post("/organizer/events/new", data=event_form(world["branch"].id,
                                                                    **overrides))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "地域ケアプラザ" in page  # what they typed is kept
    assert message in page
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == before


def test_a_huge_form_is_refused_as_too_large(client, auth, world):
    auth.login(world["organizer"])
    response = client.post("/organizer/events/new",
                           data=event_form(world["branch"].id, description="あ" * 100_000))
    assert response.status_code == 413


def test_end_before_start_is_explained(client, auth, world):
    auth.login(world["organizer"])
    day = date.today() + timedelta(days=10)
    response = client.post("/organizer/events/new", data=event_form(
        world["branch"].id, starts_at=f"{day}T17:00", ends_at=f"{day}T16:00"))
    assert "終わりは始まりより後にしてください。" in response.get_data(as_text=True)


def test_an_organizer_cannot_create_for_another_branch(client, auth, world, make_branch):
    auth.login(world["organizer"])
    other = world["other"].branches[0]
    response = client.post("/organizer/events/new", data=event_form(other.id))
    assert response.status_code == 200  # not a choice of theirs: the form refuses it
    assert db.session.scalar(sa.select(Event).where(Event.branch_id == other.id)) is None


def series_form(branch_id, first: date, **overrides):
    data = {
        "branch_id": branch_id, "title": "あさひかわ子ども食堂", "kind": "kids_cafeteria",
        "description": "", "capacity": "40", "fee_basis": "attended", "venue_id": "0",
        "venue_name": "みんなの家", "venue_postal_code": "070-0031", "venue_address": "旭川市",
        "pattern": "monthly_nth", "weekdays": ["5"], "nths": ["2", "4"],
        "first_date": first.isoformat(), "start_time": "11:00", "end_time": "14:00",
        "signup_closes_hours_before": "48",
        "fees-0-code": "child", "fees-0-label": "こども", "fees-0-amount": "0",
        "fees-1-code": "adult", "fees-1-label": "おとな", "fees-1-amount": "300",
        "publish": "y",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize("overrides, field_text", [
    ({"weekdays": []}, "くり返しの設定を正しく選んでください。"),
    ({"nths": []}, "くり返しの設定を正しく選んでください。"),
    ({"pattern": "yearly"}, ""),
    ({"pattern": "monthly_day", "monthday": "32"}, ""),
    ({"end_time": "11:10"}, "1回の長さは15分以上にしてください（この時刻では10分です）。"),
    ({"first_date": "2026-02-30"}, ""),
    ({"weekdays": ["9"]}, ""),
    ({"signup_opens_days_before": "0", "signup_closes_hours_before": "48"},
     "申込の締切は受付開始より後にしてください。"),
])
def test_bad_series_forms_store_nothing(client, auth, world, overrides, field_text):
    auth.login(world["organizer"])
    before = db.session.scalar(sa.select(sa.func.count(Series.id)))
    response = client.post("/organizer/series/new",
                           data=series_form(world["branch"].id, date.today(), **overrides))
    assert response.status_code == 200
    assert field_text in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == before


def test_series_edit_asks_before_changing_booked_dates(client, auth, world, make_registration):
    series = world["series"]
    first_local = series.starts_at.astimezone(TOKYO).date()
    booked = series.events[0]
    make_registration(booked)
    auth.login(world["organizer"])
    form = series_form(world["branch"].id, first_local, title="新しい名前", venue_id="0",
                       venue_name="")
    response = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "すでに申込があります" in page and 'name="confirm"' in page
    db.session.expire_all()
    assert booked.title == "あさひかわ子ども食堂"
    response = client.post(f"/organizer/series/{series.id}/edit", data=dict(form, confirm="y"))
    assert response.status_code == 302
    db.session.expire_all()
    assert booked.title == "新しい名前"
    assert "くり返しイベントを保存しました" in client.get(response.headers["Location"]).get_data(
        as_text=True)


def test_demo_flow(client, auth, now):
    """Log in as the demo organizer, create a 第2・第4土曜 series, cancel one date."""
    from gathering.demo import DEMO_LOGINS, DEMO_PASSWORD, seed

    seed(db.session, now=now, months=6)
    db.session.commit()
    from gathering.accounts.models import Branch

    hokkaido = db.session.scalar(sa.select(Branch).where(Branch.slug == "hokkaido"))
    response = client.post("/login", data={"email": DEMO_LOGINS[0][1], "password": DEMO_PASSWORD},
                           follow_redirects=True)
    assert "ログインしました。" in response.get_data(as_text=True)

    first = date.today() + timedelta(days=1)
    response = client.post("/organizer/series/new",
                           data=series_form(hokkaido.id, first, title="すずらん子ども食堂"))
    assert response.status_code == 302, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "くり返しイベントを作りました" in page and "毎月第2・第4土曜" in page

    series = db.session.scalar(sa.select(Series).where(Series.title == "すずらん子ども食堂"))
    dates = [e.starts_at.astimezone(TOKYO) for e in series.events]
    assert len(dates) >= 10
    assert all(d.weekday() == 5 and (8 <= d.day <= 14 or 22 <= d.day <= 28) and d.hour == 11
               for d in dates)
    one = series.events[1]
    response = client.post(f"/organizer/events/{one.id}/cancel", follow_redirects=True)
    assert "イベントを中止にしました。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert one.status == "cancelled"
    assert all(e.status == "published" for e in series.events if e is not one)
    public = client.get(f"/events/{one.id}").get_data(as_text=True)
    assert "中止" in public and "このイベントは行いません。" in public
    assert "個別に変更" in client.get(f"/organizer/series/{series.id}").get_data(as_text=True)


def test_moving_one_date_through_the_form_detaches_it(client, auth, world):
    series = world["series"]
    event = series.events[0]
    auth.login(world["organizer"])
    local = event.starts_at.astimezone(TOKYO) + timedelta(days=1)
    form = event_form(world["branch"].id, title=event.title, kind=event.kind,
                      venue_id=str(event.venue_id), capacity="40",
                      starts_at=local.strftime("%Y-%m-%dT%H:%M"),
                      ends_at=(local + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"),
                      **{"fees-0-amount": "0"})
    page = client.get(f"/organizer/events/{event.id}/edit").get_data(as_text=True)
    assert "この日はくり返しイベントの1回です" in page
    assert client.post(f"/organizer/events/{event.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert event.is_detached and event.starts_at.astimezone(TOKYO) == local
    assert datetime(2000, 1, 1, tzinfo=TOKYO) < event.original_starts_at


def test_removing_a_fee_people_chose_is_explained(client, auth, world, make_registration):
    series = world["series"]
    make_registration(series.events[0], people=("adult",))
    auth.login(world["organizer"])
    form = series_form(world["branch"].id, series.starts_at.astimezone(TOKYO).date(),
                       venue_name="", confirm="y",
                       **{"fees-1-label": "", "fees-1-code": "adult"})
    response = client.post(f"/organizer/series/{series.id}/edit", data=form)
    assert response.status_code == 200
    assert "申込で選ばれているため、削除できません" in response.get_data(as_text=True)
    db.session.expire_all()
    assert [f.code for f in series.events[0].fees] == ["child", "adult"]


@pytest.mark.parametrize("kind", ["event", "series"])
def test_the_same_new_form_sent_twice_creates_once(client, auth, world, kind):
    """A double tap on 'create', or the form sent again from the back button."""
    auth.login(world["organizer"])
    new_url = "/organizer/events/new" if kind == "event" else "/organizer/series/new"
    page = client.get(new_url).get_data(as_text=True)
    key = re.search(r'name="form_key"[^>]*value="([^"]+)"', page).group(1)
    data = (event_form(world["branch"].id) if kind == "event"
            else series_form(world["branch"].id, date.today() + timedelta(days=3)))
    data["form_key"] = key
    model = Event if kind == "event" else Series
    before = db.session.scalar(sa.select(sa.func.count(model.id)))
    first = client.post(new_url, data=data)
    second = client.post(new_url, data=data)
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert db.session.scalar(sa.select(sa.func.count(model.id))) == before + 1
    # another form (a new key) is another event
    data["form_key"] = "another"
    third = client.post(new_url, data=data)
    assert third.headers["Location"] != first.headers["Location"]


def test_a_save_from_a_page_opened_before_anothers_save_undoes_nothing(client, auth, world):
    """Two tabs (or two organizers) open the edit form; the second save must not silently
    put back what the first changed."""
    auth.login(world["organizer"])
    client.post("/organizer/events/new", data=event_form(world["branch"].id))
    event = db.session.scalar(sa.select(Event).where(Event.title == "みんな食堂"))
    url = f"/organizer/events/{event.id}/edit"
    version = re.search(r'name="version"[^>]*value="([^"]+)"',
                        client.get(url).get_data(as_text=True)).group(1)
    tab_a = event_form(world["branch"].id, title="みんな食堂（会場変更）", version=version)
    tab_b = event_form(world["branch"].id, capacity="25", version=version)
    assert client.post(url, data=tab_a).status_code == 302
    stale = client.post(url, data=tab_b)
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "このページを開いたあとで、ほかの人がこのイベントを保存しました" in page
    assert 'value="25"' in page  # what they typed is still there to copy
    db.session.expire_all()
    assert (event.title, event.capacity) == ("みんな食堂(会場変更)", 20)


def test_an_event_created_in_the_past_is_kept_with_a_warning(client, auth, world):
    auth.login(world["organizer"])
    day = date.today() - timedelta(days=3)  # a report of last week's meal, or a typo
    response = client.post("/organizer/events/new", data=event_form(
        world["branch"].id, starts_at=f"{day}T17:00", ends_at=f"{day}T19:00"),
        follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "イベントを作りました。" in page
    assert "このイベントはすでに終わっています" in page
    future = client.post("/organizer/events/new", data=event_form(world["branch"].id),
                         follow_redirects=True).get_data(as_text=True)
    assert "すでに終わっています" not in future


def test_a_venue_of_another_of_ones_groups_is_named_as_such(client, auth, make_branch,
                                                            make_user):
    from gathering.events.models import Venue

    sapporo, kansai = make_branch(slug="sapporo", name="札幌"), make_branch(slug="kansai",
                                                                           name="関西")
    hall = Venue(branch_id=kansai.id, name="大阪の会館")
    db.session.add(hall)
    db.session.commit()
    auth.login(make_user("organizer", branches=[sapporo, kansai]))
    page = client.post("/organizer/events/new", data=event_form(
        sapporo.id, venue_id=str(hall.id), venue_name=""))
    assert page.status_code == 200
    assert "この会場は別の団体（関西）のものです" in page.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


@pytest.mark.parametrize("overrides, group", [
    ({"weekdays": []}, "weekdays"), ({"nths": []}, "nths"), ({"pattern": "yearly"}, "pattern"),
])
def test_a_group_of_choices_with_an_error_names_each_choice_invalid(client, auth, world,
                                                                      overrides, group):
    """A screen reader on a radio button or check box of the group reads its error."""
    auth.login(world["organizer"])
    page = client.post("/organizer/series/new", data=series_form(
        world["branch"].id, date.today(), **overrides)).get_data(as_text=True)
    assert f'<p class="error" id="{group}-error">' in page
    inputs = re.findall(rf'<input[^>]*name="{group}"[^>]*>', page)
    assert inputs and all(f'aria-describedby="{group}-error"' in i and
                          'aria-invalid="true"' in i for i in inputs)
