"""The organizer forms as a volunteer fills them in: numbers typed the way people write
them, fee tables longer than the form's first rows, a venue whose name was forgotten."""

from datetime import date, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa

from gathering.events.models import Event, Series, Venue
from gathering.extensions import db
from gathering.timeutil import TOKYO
from tests.organizer.test_organizer import event_form, series_form


class _Forms(HTMLParser):
    """What a browser sends for each POST form of a page, as (name, value) pairs."""

    def __init__(self):
        super().__init__()
        self.forms: list[list[tuple[str, str]]] = []
        self._pairs: list | None = None
        self._select = self._textarea = None
        self._text = ""

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form" and (a.get("method") or "").lower() == "post":
            self._pairs = []
            self.forms.append(self._pairs)
        if self._pairs is None:
            return
        if tag == "input" and a.get("name"):
            if a.get("type") in ("checkbox", "radio") and "checked" not in a:
                return
            default = "y" if a.get("type") == "checkbox" else ""
            self._pairs.append((a["name"], a.get("value") or default))
        elif tag == "select":
            self._select = a.get("name")
        elif tag == "option" and self._select and "selected" in a:
            self._pairs.append((self._select, a.get("value", "")))
        elif tag == "textarea":
            self._textarea, self._text = a.get("name"), ""

    def handle_data(self, data):
        if self._textarea:
            self._text += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._pairs = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea and self._pairs is not None:
            self._pairs.append((self._textarea, self._text.lstrip("\n")))
            self._textarea = None


def browser_form(page: str) -> dict:
    """The event or series form's fields as the browser sends them, as a dict of lists
    (several values: checkboxes)."""
    parser = _Forms()
    parser.feed(page)
    pairs = next(f for f in parser.forms if any(name == "title" for name, _ in f))
    out: dict[str, list[str]] = {}
    for name, value in pairs:
        out.setdefault(name, []).append(value)
    return out


@pytest.fixture
def organizer_of(make_branch, make_user, auth):
    def _login(branch=None):
        branch = branch or make_branch()
        auth.login(make_user("organizer", branches=[branch]))
        return branch

    return _login


# ---------------------------------------------------------------------------------------
# Numbers


@pytest.mark.parametrize("typed, amount", [
    ("1,000", 1000), ("300円", 300), ("¥500", 500), ("￥500", 500), ("３００円", 300),
    (" 200 ", 200), ("1,200円", 1200),
])
def test_a_fee_typed_as_people_write_it_is_read(client, organizer_of, typed, amount):
    branch = organizer_of()
    response = client.post("/organizer/events/new",
                           data=event_form(branch.id, **{"fees-1-amount": typed}))
    assert response.status_code == 302
    event = db.session.scalar(sa.select(Event))
    assert [(f.label, f.amount) for f in event.fees] == [("こども", 100), ("おとな", amount)]


@pytest.mark.parametrize("typed, seats", [("50名", 50), ("５０人", 50), ("1,000", 1000),
                                          ("３０", 30)])
def test_seats_typed_with_their_unit_are_read(client, organizer_of, typed, seats):
    branch = organizer_of()
    assert client.post("/organizer/events/new",
                       data=event_form(branch.id, capacity=typed)).status_code == 302
    assert db.session.scalar(sa.select(Event.capacity)) == seats


@pytest.mark.parametrize("typed", ["たくさん", "5O", "1,0,0", "--5", "1.5"])
def test_seats_that_are_no_number_get_one_message_not_the_range_ones(client, organizer_of,
                                                                     typed):
    """Before, 「50名」 or 「たくさん」 got three messages at once, two of them wrong:
    「定員は1人以上にしてください」 and 「最高でも 100000」."""
    branch = organizer_of()
    response = client.post("/organizer/events/new", data=event_form(branch.id, capacity=typed))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "数字で入れてください（例: 40）。" in page
    assert "定員は1人以上" not in page and "100000" not in page
    assert f'value="{typed}"' in page  # kept as typed
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0


def test_a_series_reads_days_and_hours_with_their_units(client, organizer_of):
    branch = organizer_of()
    first = date.today() + timedelta(days=3)
    response = client.post("/organizer/series/new", data=series_form(
        branch.id, first, signup_opens_days_before="１４日前", signup_closes_hours_before="48時間",
        capacity="40名"))
    assert response.status_code == 302
    series = db.session.scalar(sa.select(Series))
    assert (series.signup_opens_days_before, series.signup_closes_hours_before,
            series.capacity) == (14, 48, 40)


def test_number_fields_are_text_boxes_that_open_the_number_keypad(client, organizer_of):
    """An <input type="number"> in a novalidate form sends 「50名」 (Firefox, Safari) or
    「1,000」 as an empty value, silently: an empty 定員 is "no limit"."""
    organizer_of()
    for url in ("/organizer/events/new", "/organizer/series/new"):
        page = client.get(url).get_data(as_text=True)
        assert 'type="number"' not in page
        assert 'id="capacity" inputmode="numeric" name="capacity" type="text"' in page


# ---------------------------------------------------------------------------------------
# Fee tables longer than the form's first four rows


SUMMIT_FEES = [{"code": f"fee{i}", "label": label, "amount": amount} for i, (label, amount)
               in enumerate([("一般", 3000), ("会員", 2000), ("学生", 1000), ("こども", 0),
                             ("懇親会", 4000), ("資料代", 500)], start=1)]


def test_an_edit_shows_every_fee_and_saving_it_keeps_them_all(client, organizer_of,
                                                              make_event, make_registration):
    """An event made through the API with six fees: the edit form showed four rows, and
    saving it removed 懇親会 and 資料代 (or, once someone had chosen one, refused every
    edit of the event with 「申込で選ばれているため、削除できません」)."""
    branch = organizer_of()
    event = make_event(branch, fees=SUMMIT_FEES, capacity=50)
    make_registration(event, people=("fee5",))
    page = client.get(f"/organizer/events/{event.id}/edit").get_data(as_text=True)
    form = browser_form(page)
    assert [form[f"fees-{i}-label"] for i in range(6)] == [[f["label"]] for f in SUMMIT_FEES]
    assert form["fees-6-label"] == [""]  # a blank row for one more
    form["title"] = ["交流サミット"]
    response = client.post(f"/organizer/events/{event.id}/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    assert event.title == "交流サミット"
    assert [(f.code, f.label, f.amount) for f in event.fees] == [
        (f["code"], f["label"], f["amount"]) for f in SUMMIT_FEES]


def test_the_blank_row_adds_a_fee_beyond_the_fourth(client, organizer_of, make_event):
    branch = organizer_of()
    event = make_event(branch, fees=SUMMIT_FEES[:4])
    form = browser_form(client.get(f"/organizer/events/{event.id}/edit").get_data(
        as_text=True))
    assert form["fees-4-label"] == [""]
    form.update({"fees-4-label": ["懇親会"], "fees-4-amount": ["4,000円"]})
    assert client.post(f"/organizer/events/{event.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert [(f.label, f.amount) for f in event.fees][-1] == ("懇親会", 4000)
    assert len(event.fees) == 5


def test_a_series_edit_keeps_a_fee_table_of_five(client, organizer_of):
    branch = organizer_of()
    first = date.today() + timedelta(days=3)
    data = series_form(branch.id, first)
    for i, fee in enumerate(SUMMIT_FEES[:5]):
        data.update({f"fees-{i}-code": fee["code"], f"fees-{i}-label": fee["label"],
                     f"fees-{i}-amount": str(fee["amount"])})
    assert client.post("/organizer/series/new", data=data).status_code == 302
    series = db.session.scalar(sa.select(Series))
    form = browser_form(client.get(f"/organizer/series/{series.id}/edit").get_data(
        as_text=True))
    form["title"] = ["交流会"]
    assert client.post(f"/organizer/series/{series.id}/edit", data=form).status_code == 302
    db.session.expire_all()
    assert [f["label"] for f in series.fee_template] == [f["label"] for f in SUMMIT_FEES[:5]]
    assert all(len(e.fees) == 5 for e in series.events)


# ---------------------------------------------------------------------------------------
# A venue whose name was forgotten


def test_a_new_event_with_an_address_but_no_venue_name_asks_for_the_name(client,
                                                                         organizer_of):
    """Before, the event was saved without any place: residents saw no 場所 at all."""
    branch = organizer_of()
    response = client.post("/organizer/events/new", data=event_form(branch.id, venue_name=""))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="venue_name-error"' in page and "入力してください。" in page
    assert "横浜市中区山下町" in page  # the address typed is kept
    assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Venue.id))) == 0


def test_a_new_series_with_an_address_but_no_venue_name_asks_for_the_name(client,
                                                                          organizer_of):
    branch = organizer_of()
    response = client.post("/organizer/series/new", data=series_form(
        branch.id, date.today() + timedelta(days=3), venue_name=""))
    assert response.status_code == 200
    assert 'id="venue_name-error"' in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Series.id))) == 0


def test_no_venue_typed_is_still_an_event_without_a_place(client, organizer_of):
    branch = organizer_of()
    response = client.post("/organizer/events/new", data=event_form(
        branch.id, venue_name="", venue_postal_code="", venue_address=""))
    assert response.status_code == 302
    assert db.session.scalar(sa.select(Event)).venue is None


def test_an_edit_of_an_event_without_a_place_asks_for_the_name_too(client, organizer_of,
                                                                   make_event):
    branch = organizer_of()
    event = make_event(branch, venue=None)
    assert event.venue is None
    form = browser_form(client.get(f"/organizer/events/{event.id}/edit").get_data(
        as_text=True))
    form["venue_address"] = ["旭川市1条通8丁目"]
    response = client.post(f"/organizer/events/{event.id}/edit", data=form)
    assert response.status_code == 200
    assert 'id="venue_name-error"' in response.get_data(as_text=True)


def test_dates_typed_by_hand_with_slashes_or_a_space_are_read(client, organizer_of):
    """An old phone without a date picker shows a plain text box: 2027/04/10 11:00 is how
    people write it, and it is the same moment as the picker's 2027-04-10T11:00."""
    branch = organizer_of()
    day = date.today() + timedelta(days=20)
    response = client.post("/organizer/events/new", data=event_form(
        branch.id, starts_at=day.strftime("%Y/%m/%d") + " 11:00",
        ends_at=f"{day} 14:00"))
    assert response.status_code == 302
    event = db.session.scalar(sa.select(Event))
    starts, ends = event.starts_at.astimezone(TOKYO), event.ends_at.astimezone(TOKYO)
    assert (starts.date(), starts.hour, ends.hour) == (day, 11, 14)
    page = client.get(f"/organizer/events/{event.id}/edit").get_data(as_text=True)
    assert f'value="{day}T11:00"' in page  # the picker's own form again


def test_a_series_first_date_typed_with_slashes_is_read(client, organizer_of):
    branch = organizer_of()
    first = date.today() + timedelta(days=5)
    response = client.post("/organizer/series/new", data=series_form(
        branch.id, first, first_date=first.strftime("%Y/%m/%d"), pattern="weekly",
        weekdays=[str(first.weekday())], nths=[]))
    assert response.status_code == 302
    series = db.session.scalar(sa.select(Series))
    assert series is not None and series.starts_at.astimezone(TOKYO).date() == first
