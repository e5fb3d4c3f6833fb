"""After the day: the organizer's past events page and a series' past dates. An event stays
reachable (its sign-ups, who came, its money) however long ago it ended."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest

from gathering.accounts.models import Branch, User
from gathering.checkin.services import Attendance, attendance_counts
from gathering.events import services
from gathering.extensions import db
from gathering.timeutil import TOKYO, utcnow
from tests.events.conftest import CHILD_ADULT, series_data
from tests.test_query_counts import counting


def _ago(days: int) -> datetime:
    return (datetime.now(TOKYO) - timedelta(days=days)).replace(minute=0, second=0,
                                                                microsecond=0)


@pytest.fixture
def group(make_branch, make_user):
    branch = make_branch(slug="asahikawa", name="あさひかわ子ども食堂")
    return {"branch": branch, "organizer": make_user("organizer", branches=[branch]),
            "volunteer": make_user("volunteer", branches=[branch])}


def _came(reg, positions) -> None:
    for i, person in enumerate(reg.active_attendees):
        if i in positions:
            person.checked_in_at = utcnow()
    db.session.commit()


@pytest.fixture
def past_month(group, make_event, make_registration):
    """Three events of the group that ended 40, 10 and 2 days ago (two families at the
    middle one, 4 people signed up, 3 came, a walk-in of 2 came too), one upcoming, and one
    of another group."""
    branch = group["branch"]
    old = make_event(branch, title="十月の子ども食堂", starts_at=_ago(40))
    middle = make_event(branch, title="十一月の子ども食堂", starts_at=_ago(10))
    recent = make_event(branch, title="上映会「となりのトトロ」", starts_at=_ago(2))
    recent.status = "cancelled"
    upcoming = make_event(branch, title="来週の子ども食堂")
    elsewhere = make_event(title="よその会", starts_at=_ago(10))
    family, _ = make_registration(middle, people=("child", "child", "adult"))
    _came(family, {0, 1})
    other, _ = make_registration(middle, people=("adult",), family_name="佐藤")
    _came(other, {0})
    walk_in, _ = make_registration(middle, people=("child", "adult"), family_name="鈴木")
    walk_in.is_walk_in = True
    _came(walk_in, {0, 1})
    make_registration(middle, people=("adult",), status="waitlisted", family_name="田中")
    return {"old": old, "middle": middle, "recent": recent, "upcoming": upcoming,
            "elsewhere": elsewhere}


def test_past_events_service_lists_ended_events_latest_first(group, past_month):
    page = services.list_past_branch_events(db.session, group["organizer"], now=utcnow(),
                                            per_page=2)
    assert [e.title for e in page.items] == ["上映会「となりのトトロ」", "十一月の子ども食堂"]
    assert (page.total, page.pages, page.has_next) == (3, 2, True)
    page = services.list_past_branch_events(db.session, group["organizer"], now=utcnow(),
                                            page=2, per_page=2)
    assert [e.title for e in page.items] == ["十月の子ども食堂"]


def test_attendance_counts_as_the_door_does(past_month):
    middle = past_month["middle"]
    counts = attendance_counts(db.session, [middle.id, past_month["old"].id])
    # signed up beforehand: the family of 3 and one adult; came: 3 of them and 2 walk-ins
    assert counts[middle.id] == Attendance(expected=4, admitted=5, no_shows=1)
    assert past_month["old"].id not in counts  # nobody: Attendance() is its zero
    assert attendance_counts(db.session, []) == {}


def test_past_events_page(client, auth, group, past_month):
    auth.login(group["organizer"])
    dashboard = client.get("/organizer/").get_data(as_text=True)
    assert 'href="/organizer/past"' in dashboard and "終わったイベント" in dashboard
    assert "十月の子ども食堂" not in dashboard  # ended long ago: not on the dashboard

    html = client.get("/organizer/past").get_data(as_text=True)
    titles = re.findall(r'<a href="/organizer/events/\d+">([^<]+)</a>', html)
    assert titles == ["上映会「となりのトトロ」", "十一月の子ども食堂", "十月の子ども食堂"]
    assert "よその会" not in html and "来週の子ども食堂" not in html
    assert "中止" in html
    middle = past_month["middle"].id
    row = html[html.index(f'href="/organizer/events/{middle}"'):]
    row = row[:row.index("</tr>")]
    assert re.search(r"<td>5 / 4</td>\s*<td>1</td>", row), row  # came / signed up, no-shows
    assert f"/organizer/events/{middle}/registrations.csv" in row
    assert f"/organizer/events/{middle}/money" in row


def test_past_events_page_is_paginated(app, client, auth, group, past_month, monkeypatch):
    monkeypatch.setitem(app.config, "EVENTS_PER_PAGE", 2)
    auth.login(group["organizer"])
    first = client.get("/organizer/past").get_data(as_text=True)
    assert "十月の子ども食堂" not in first and "1 / 2 ページ" in first
    assert 'rel="next" href="/organizer/past?page=2"' in first
    second = client.get("/organizer/past?page=2").get_data(as_text=True)
    assert "十月の子ども食堂" in second and "十一月の子ども食堂" not in second
    assert client.get("/organizer/past?page=x").status_code == 400
    assert client.get("/organizer/past?page=0").status_code == 400


def test_past_events_page_for_a_volunteer_and_the_anonymous(client, auth, group, past_month):
    response = client.get("/organizer/past")
    assert response.status_code == 302 and "/login" in response.location
    auth.login(group["volunteer"])
    html = client.get("/organizer/past").get_data(as_text=True)
    assert "十一月の子ども食堂" in html
    assert "registrations.csv" not in html and "/money" not in html  # organizers only


def test_past_events_page_does_not_grow_with_the_events(client, auth, group,
                                                        make_registration):
    auth.login(group["organizer"])
    branch_id, user_id = group["branch"].id, group["organizer"].id

    def statements() -> int:
        client.get("/organizer/past")  # warm-up
        with counting() as seen:
            assert client.get("/organizer/past").status_code == 200
        return len(seen)

    def add(n: int, start: int) -> None:
        # counting() ended the session: objects of before are detached
        branch, user = db.session.get(Branch, branch_id), db.session.get(User, user_id)
        for i in range(n):
            begins = _ago(start + i + 1)
            event = services.create_event(db.session, user, branch, services.clean_event_data({
                "title": f"食堂{start + i}", "kind": "kids_cafeteria", "starts_at": begins,
                "ends_at": begins + timedelta(hours=3), "status": "published",
                "fees": CHILD_ADULT}))
            db.session.commit()
            reg, _ = make_registration(event, people=("child", "adult"))
            _came(reg, {0})

    add(2, 0)
    small = statements()
    add(25, 2)
    assert statements() == small <= 8, small


def test_series_page_shows_past_dates(client, auth, group, make_registration):
    start = _ago(60).replace(hour=11)
    cleaned = services.clean_series_data(series_data(starts_at=start))
    series = services.create_series(db.session, group["organizer"], group["branch"], cleaned,
                                    now=start, months=4)
    db.session.commit()
    past = [e for e in series.events if e.ends_at < utcnow()]
    assert len(past) >= 3
    reg, _ = make_registration(past[-1], people=("child", "adult"))
    _came(reg, {1})
    auth.login(group["organizer"])
    html = client.get(f"/organizer/series/{series.id}").get_data(as_text=True)
    assert f"<summary>終わった日（{len(past)}回）</summary>" in html
    details = html[html.index("<details"):html.index("</details>")]
    links = re.findall(r'href="/organizer/events/(\d+)"', details)
    assert links == [str(e.id) for e in reversed(past)]  # the latest first
    assert re.search(r"<td>1 / 2</td>\s*<td>1</td>", details)
    assert 'href="/organizer/past"' in details
    upcoming = html[:html.index("<details")]
    assert all(f'href="/organizer/events/{e.id}"' not in upcoming for e in past)
