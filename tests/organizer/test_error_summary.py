"""A refused event or series form is long (three or four phone screens): the summary at its
top names each field's mistake, in the form's order, as a link that lands on the field."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from gathering.events.models import Event, Series
from gathering.extensions import db
from tests.organizer.test_organizer import event_form, series_form


@pytest.fixture
def world(make_branch, make_user):
    branch = make_branch()
    return {"branch": branch, "organizer": make_user("organizer", branches=[branch])}


def _summary(page: str) -> list[tuple[str, str]]:
    box = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert box, "no error summary"
    return re.findall(r'<a href="#([^"]+)">(.*?)</a>', box.group(1), re.S)


def test_a_refused_event_form_links_each_mistake_to_its_field(client, auth, world):
    auth.login(world["organizer"])
    r = client.post("/organizer/events/new", data=event_form(
        world["branch"].id, title="", capacity="多い", starts_at="いつか",
        **{"fees-1-amount": "三百"}))
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
    links = _summary(page)
    targets = [target for target, _ in links]
    assert targets[0] == "title" and "capacity" in targets and "starts_at" in targets
    assert "fees-1-amount" in targets
    assert targets.index("capacity") < targets.index("fees-1-amount")  # the page's order
    for target in targets:
        assert f'id="{target}"' in page
    text = dict(links)
    assert text["title"].startswith("タイトル：")
    assert text["fees-1-amount"].startswith("2行目の")
    assert "csrf_token" not in targets and "form_key" not in targets


def test_a_refused_series_form_links_a_choice_group_to_its_first_choice(client, auth, world):
    auth.login(world["organizer"])
    r = client.post("/organizer/series/new?lang=en", data=series_form(
        world["branch"].id, date.today(), pattern="weekly",
        weekdays=[]))
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and db.session.scalar(sa.select(sa.func.count(Series.id))) == 0
    links = _summary(page)
    assert links and links[0][0] == "weekdays-0", links
    assert links[0][1].startswith("Weekday: ")


def test_no_summary_on_a_fresh_form(client, auth, world):
    auth.login(world["organizer"])
    page = client.get("/organizer/events/new").get_data(as_text=True)
    assert "error-summary" not in page
