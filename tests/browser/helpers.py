"""Steps the browser tests share."""

from __future__ import annotations

import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Attendee
from tests.conftest import PASSWORD


def login(page, base: str, email: str) -> None:
    """Log in through the form, as a volunteer would."""
    page.goto(base + "/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    page.wait_for_load_state()


def log_in(check, base: str, email: str) -> None:
    """Log in through the form in a page check (``quality()``), whose responses it records."""
    check.open(base + "/login")
    check.page.fill("input[name=email]", email)
    check.page.fill("input[name=password]", PASSWORD)
    check.page.click("form:has(input[name=password]) button[type=submit]")
    check.page.wait_for_load_state("load")
    assert "/login" not in check.page.url, "could not log in"


def checked_in_times(reg_id: int) -> list:
    """Each person's checked_in_at of the party, read fresh from the database."""
    db.session.expire_all()
    values = list(db.session.scalars(sa.select(Attendee.checked_in_at)
                                     .where(Attendee.registration_id == reg_id)))
    db.session.commit()  # never hold the SQLite write lock while the server works
    return values
