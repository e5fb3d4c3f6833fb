"""A feed's Last-Modified moves whenever its bytes change, also when an event leaves it:
a calendar app that asks If-Modified-Since (without an ETag) must not be told 304 and keep
a date that was taken back to draft or given another kind."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from gathering.calendar import services
from gathering.events import services as events
from gathering.events.models import Event, Series
from gathering.extensions import db
from gathering.timeutil import utcnow


@pytest.fixture
def branch(make_branch):
    return make_branch(slug="asahikawa")


def _backdate() -> None:
    """Every row edited a day ago, so that an edit now is in a later second."""
    day_ago = utcnow() - timedelta(days=1)
    for model in (Event, Series):
        db.session.execute(sa.update(model).values(updated_at=day_ago))
    db.session.commit()
    db.session.expire_all()


def _titles(response) -> list[str]:
    return [line.removeprefix("SUMMARY:") for line in response.get_data(as_text=True)
            .splitlines() if line.startswith("SUMMARY:")]


@pytest.mark.parametrize("url", ["/calendar/all.ics", "/calendar/branches/asahikawa.ics"])
def test_a_date_taken_back_to_draft_is_modified_since(client, branch, make_event, admin, url):
    make_event(branch, title="残る日")
    gone = make_event(branch, title="下書きに戻す日",
                      starts_at=utcnow() + timedelta(days=8))
    _backdate()
    first = client.get(url)
    assert _titles(first) == ["残る日", "下書きに戻す日"]
    since = {"If-Modified-Since": first.headers["Last-Modified"]}
    assert client.get(url, headers=since).status_code == 304

    events.update_event(db.session, admin, gone, {"status": "draft"})
    db.session.commit()
    later = client.get(url, headers=since)
    assert later.status_code == 200
    assert _titles(later) == ["残る日"]
    assert later.last_modified > first.last_modified


def test_a_kind_changed_leaves_the_kind_feed_modified_since(client, branch, make_event, admin):
    make_event(branch, title="食堂")
    moved = make_event(branch, title="上映会になる日", starts_at=utcnow() + timedelta(days=8))
    _backdate()
    url = "/calendar/kinds/kids_cafeteria.ics"
    first = client.get(url)
    events.update_event(db.session, admin, moved, {"kind": "film_screening"})
    db.session.commit()
    later = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert later.status_code == 200 and _titles(later) == ["食堂"]


def test_an_edit_of_a_draft_keeps_the_etag(client, branch, make_event, admin):
    """What feeds do not show does not change their bytes nor their ETag: apps that send
    If-None-Match still get 304."""
    make_event(branch, title="公開")
    draft = make_event(branch, title="下書き", status="draft")
    _backdate()
    first = client.get("/calendar/all.ics")
    events.update_event(db.session, admin, draft, {"title": "下書き2"})
    db.session.commit()
    again = client.get("/calendar/all.ics", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304


def test_another_groups_edit_does_not_move_a_group_feed(client, branch, make_branch,
                                                        make_event, admin):
    make_event(branch, title="旭川")
    other = make_event(make_branch(), title="よそ", status="draft")
    _backdate()
    url = "/calendar/branches/asahikawa.ics"
    first = client.get(url)
    events.update_event(db.session, admin, other, {"title": "よそ2"})
    db.session.commit()
    assert client.get(url, headers={
        "If-Modified-Since": first.headers["Last-Modified"]}).status_code == 304


def test_the_version_is_still_one_query(app, branch, make_event, now):
    make_event(branch)
    db.session.refresh(branch)  # loaded before counting
    statements = []
    engine = db.engine

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        services.feed_version(db.session, services.FeedFilter(branches=[branch]), now=now,
                              past_days=90, cancelled_days=30)
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1, statements
