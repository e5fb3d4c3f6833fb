"""A series whose dates end after midnight, made through the organizer's form: the feed's
recurring VEVENT ends each date on the next day, as the database does."""

from datetime import date, timedelta

import recurring_ical_events
import sqlalchemy as sa

from gathering.events.models import Series
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import series_form


def test_the_feed_ends_a_night_series_on_the_next_day(client, auth, h, make_branch,
                                                       make_user):
    branch = make_branch(slug="yoru")
    auth.login(make_user("organizer", branches=[branch]))
    first = date.today() + timedelta(days=3)
    response = client.post("/organizer/series/new", data=series_form(
        branch.id, first, pattern="weekly", weekdays=[str(first.weekday())], nths=[],
        start_time="22:00", end_time="02:00", title="夜の上映会"))
    assert response.status_code == 302
    series = db.session.scalar(sa.select(Series).where(Series.title == "夜の上映会"))

    cal = h.parse(client.get(f"/calendar/branches/{branch.slug}.ics").data)
    (master,) = h.vevents(cal)
    assert "RRULE" in master and str(master["UID"]) == series.uid
    begins, ends = master["DTSTART"].dt, master["DTEND"].dt
    assert (begins.date(), begins.hour) == (first, 22)
    assert (ends.date(), ends.hour) == (first + timedelta(days=1), 2)
    assert master["DTEND"].params["TZID"] == "Asia/Tokyo"

    # expanded as a calendar app does, every date ends at 2:00 the next day, as stored
    assert h.expand(cal, *h.WIDE) == h.db_occurrences()
    expanded = list(recurring_ical_events.of(cal).between(*h.WIDE))
    assert len(expanded) == len(series.events) >= 4
    for component in expanded:
        start = component["DTSTART"].dt.astimezone(TOKYO)
        end = component["DTEND"].dt.astimezone(TOKYO)
        assert end.date() == start.date() + timedelta(days=1) and end.hour == 2
