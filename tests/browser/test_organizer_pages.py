"""Every page an organizer or an admin opens, in a real Chromium on a 360×640 phone (many
organizers are volunteers on a phone, some with a screen reader): axe-core finds no
violations and nothing scrolls sideways, forms sent back with errors included (each error
tied to its field), and a new event can be created with JavaScript switched off."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from gathering.events import services as events
from gathering.events.models import Event
from gathering.extensions import db
from gathering.fees import services as fees
from gathering.timeutil import TOKYO, utcnow
from tests.browser.helpers import log_in
from tests.events.conftest import series_data

pytestmark = pytest.mark.browser


@dataclass
class Office:
    organizer_email: str
    admin_email: str
    event: int
    draft: int
    past: int
    series: int
    registration: int
    receipt: int


@pytest.fixture
def office(make_branch, make_event, make_registration, make_user) -> Office:
    """A group with an upcoming event (people signed up, one paid with a receipt), a draft,
    one that took place last week and a monthly series."""
    branch = make_branch(slug="asahikawa", name="あさひかわ子ども食堂",
                         issuer_name="あさひかわ子ども食堂運営委員会",
                         issuer_address="北海道旭川市1条通8丁目")
    organizer = make_user("organizer", branches=[branch])
    admin = make_user("admin")
    event = make_event(branch, title="あさひかわ子ども食堂 12月", capacity=40)
    reg, _ = make_registration(event, people=("child", "adult"), allergens={0: ["egg"]})
    make_registration(event, family_name="佐藤", kana=("サトウ", "ジロウ"), people=("adult",))
    for person in reg.active_attendees:  # the fee is owed on attendance: they came
        person.checked_in_at = utcnow()
    fees.record_payment(db.session, reg, 300, "cash", user=organizer, cash_tendered=1000)
    receipt = fees.issue_receipt(db.session, reg, user=organizer)
    draft = make_event(branch, title="下書きの上映会", kind="film_screening", status="draft")
    past = make_event(branch, title="先週の子ども食堂",
                      starts_at=datetime.now(TOKYO).replace(microsecond=0, second=0, minute=0)
                      - timedelta(days=7))
    make_registration(past, people=("child",))
    start = datetime.now(TOKYO).replace(microsecond=0, second=0, minute=0, hour=11) \
        + timedelta(days=3)
    series = events.create_series(
        db.session, organizer, branch,
        events.clean_series_data(series_data(starts_at=start)), now=utcnow(), months=3)
    db.session.commit()
    built = Office(organizer.email, admin.email, event.id, draft.id, past.id, series.id,
                   reg.id, receipt.id)
    db.session.commit()  # hold no SQLite lock while the live server works
    return built


ORGANIZER_PAGES = {
    "dashboard": lambda o: "/organizer/",
    "new event form": lambda o: "/organizer/events/new",
    "event edit form": lambda o: f"/organizer/events/{o.event}/edit",
    "event page": lambda o: f"/organizer/events/{o.event}",
    "draft event page": lambda o: f"/organizer/events/{o.draft}",
    "past event page": lambda o: f"/organizer/events/{o.past}",
    "past events": lambda o: "/organizer/past",
    "cancel page": lambda o: f"/organizer/events/{o.event}/cancel",
    "cancel page of a draft (refused)": lambda o: f"/organizer/events/{o.draft}/cancel",
    "new series form": lambda o: "/organizer/series/new",
    "series page": lambda o: f"/organizer/series/{o.series}",
    "series edit form": lambda o: f"/organizer/series/{o.series}/edit",
    "money of an event": lambda o: f"/organizer/events/{o.event}/money",
    "money of a month": lambda o: "/organizer/money",
    "money of a fiscal year": lambda o: "/organizer/money?year=2026",
    "issuing a receipt": lambda o: f"/organizer/registrations/{o.registration}/receipt",
    "a receipt": lambda o: f"/organizer/receipts/{o.receipt}",
    "a receipt on a 58 mm roll": lambda o: f"/organizer/receipts/{o.receipt}?paper=58",
}

ADMIN_PAGES = {
    "admin: dashboard": lambda o: "/organizer/",
    "admin: new event form": lambda o: "/organizer/events/new",
    "admin: new series form": lambda o: "/organizer/series/new",
    "admin: money of a month": lambda o: "/organizer/money",
}


def _problems(check) -> list[str]:
    overflow = check.horizontal_overflow()
    return ([f"scrolls sideways by {overflow}px at 360px"] if overflow else []) \
        + check.axe_violations()


def _assert_quality(check, name: str) -> None:
    problems = _problems(check)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def _open(check, url: str, status: int = 200) -> None:
    response = check.open(url)
    assert response is not None and response.status == status, (url, response and
                                                                 response.status)
    assert "/login" not in check.page.url, url


@pytest.mark.parametrize("name", list(ORGANIZER_PAGES))
def test_organizer_page_is_accessible_and_fits_a_phone(name, live_server, quality, office):
    check = quality()
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + ORGANIZER_PAGES[name](office))
    _assert_quality(check, name)


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_admin_page_is_accessible_and_fits_a_phone(name, live_server, quality, office):
    check = quality()
    log_in(check, live_server.url, office.admin_email)
    _open(check, live_server.url + ADMIN_PAGES[name](office))
    _assert_quality(check, name)


def test_login_sent_back_with_a_wrong_password_is_accessible(live_server, quality, office):
    check = quality()
    check.open(live_server.url + "/login")
    check.page.fill("input[name=email]", office.organizer_email)
    check.page.fill("input[name=password]", "not the password")
    check.page.click("form:has(input[name=password]) button[type=submit]")
    check.page.wait_for_load_state("load")
    assert "/login" in check.page.url
    _assert_quality(check, "login with a wrong password")


# ---------------------------------------------------------------------------------------
# Forms sent back with errors: each error is announced with its field

_UNTIED_ERRORS = """() => [...document.querySelectorAll('.error')].flatMap(error => {
    if (!error.id) return [`an error with no id: ${error.textContent.trim()}`];
    const fields = [...document.querySelectorAll('[aria-describedby]')].filter(
        f => f.getAttribute('aria-describedby').split(/\\s+/).includes(error.id));
    if (!fields.length) return [`no field is described by #${error.id}`];
    return fields.filter(f => f.getAttribute('aria-invalid') !== 'true')
                 .map(f => `${f.name} is not aria-invalid`);
})"""


def _assert_errors_tied(check, name: str) -> None:
    assert check.page.locator(".error").count() >= 1, f"{name}: no error shown"
    problems = check.page.evaluate(_UNTIED_ERRORS) + _problems(check)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def _submit(check) -> None:
    check.page.locator("form.stack button[type=submit].primary").click()
    check.page.wait_for_load_state("load")


def test_new_event_form_with_errors_ties_each_error_to_its_field(live_server, quality,
                                                                  office):
    check = quality()
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + "/organizer/events/new")
    page = check.page
    page.fill("input[name=title]", "")
    page.fill("input[name=capacity]", "-3")
    page.fill("input[name='fees-1-amount']", "abc")
    page.fill("input[name=venue_postal_code]", "12")
    page.check("input[name=publish]")
    _submit(check)
    assert page.locator("input[name=capacity]").input_value() == "-3"  # kept as typed
    _assert_errors_tied(check, "new event form with errors")
    # the summary at the top: a link to each, and a tap puts the cursor in the field
    links = page.locator(".error-summary .error-links a")
    hrefs = [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert {"#title", "#capacity", "#fees-1-amount", "#starts_at"} <= set(hrefs), hrefs
    links.nth(hrefs.index("#fees-1-amount")).click()
    assert page.evaluate("document.activeElement.id") == "fees-1-amount"
    assert 0 < page.evaluate("document.activeElement.getBoundingClientRect().top") < 640


def test_event_form_with_the_end_before_the_start_says_so_at_the_end(live_server, quality,
                                                                      office):
    check = quality()
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + f"/organizer/events/{office.event}/edit")
    page = check.page
    start = page.locator("input[name=starts_at]").input_value()
    page.fill("input[name=ends_at]", start)  # ends as it starts
    _submit(check)
    _assert_errors_tied(check, "event edit form with errors")


def test_series_form_with_errors_ties_each_error_to_its_field(live_server, quality, office):
    check = quality()
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + "/organizer/series/new")
    check.page.fill("input[name=title]", "")
    _submit(check)
    _assert_errors_tied(check, "series form with errors")


def test_receipt_form_with_errors_ties_each_error_to_its_field(live_server, quality, office):
    check = quality()
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + f"/organizer/registrations/{office.registration}/receipt")
    form = check.page.locator("form:has(input[name=addressee])")
    form.locator("input[name=addressee]").fill("")
    form.locator("button[type=submit]").click()
    check.page.wait_for_load_state("load")
    _assert_errors_tied(check, "receipt form with errors")


# ---------------------------------------------------------------------------------------
# Without JavaScript


def test_new_event_is_created_without_javascript(live_server, quality, office):
    check = quality(javascript=False)
    log_in(check, live_server.url, office.organizer_email)
    _open(check, live_server.url + "/organizer/events/new")
    page = check.page
    page.fill("input[name=title]", "ＪＳなしの学習会")
    page.select_option("select[name=kind]", "study_session")
    page.fill("input[name=venue_name]", "みどり公民館")
    page.fill("input[name=venue_postal_code]", "０７０－００３１")
    page.fill("input[name=venue_address]", "北海道旭川市2条通")
    page.fill("input[name=capacity]", "20")
    page.fill("input[name=starts_at]", "2030-03-09T10:00")
    page.fill("input[name=ends_at]", "2030-03-09T12:00")
    page.check("input[name=publish]")
    _submit(check)
    assert "/organizer/events/" in page.url and "/new" not in page.url, \
        page.locator(".error, .error-summary").all_inner_texts()
    db.session.remove()
    event = db.session.scalar(sa.select(Event).where(Event.title == "JSなしの学習会"))
    assert event is not None and event.is_published and event.capacity == 20
    assert event.venue.postal_code.replace("-", "") == "0700031"
    assert [(f.code, f.amount) for f in event.fees] == [("child", 0), ("adult", 300)]
    db.session.commit()
