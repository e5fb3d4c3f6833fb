"""Door pages through the test client: who sees what, admissions, cash, walk-ins, lists."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict

from gathering.checkin.models import CheckIn
from gathering.extensions import db
from gathering.fees.models import Payment
from gathering.rsvp.models import Registration


def _text(response) -> str:
    return response.get_data(as_text=True)


class _Forms(HTMLParser):
    """The forms of a page: action, and their inputs and submit buttons in tree order."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action"), "controls": []})
        elif self.forms and tag == "input":
            self.forms[-1]["controls"].append(attrs)
        elif self.forms and tag == "button" and attrs.get("type", "submit") == "submit":
            self.forms[-1]["controls"].append(dict(attrs, button=True))


def _press_enter_in(page: str, field_id: str, value: str) -> tuple[str, list]:
    """What a browser sends when Enter is pressed in the field ``field_id`` after typing
    ``value``: its form's inputs and that form's first submit button (implicit submission),
    in tree order (HTML's form data set). Returns (action, [(name, value), ...])."""
    parser = _Forms()
    parser.feed(page)
    form = next(f for f in parser.forms if any(c.get("id") == field_id for c in f["controls"]))
    default = next(c for c in form["controls"] if c.get("button"))
    data = []
    for control in form["controls"]:
        if not control.get("name") or (control.get("button") and control is not default):
            continue
        data.append((control["name"], value if control.get("id") == field_id
                     else control.get("value", "")))
    return form["action"], data


def test_ticket_shows_nothing_personal_to_the_public(client, door, make_registration):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    page = client.get(f"/c/{reg.ticket_token}")
    assert page.status_code == 200
    body = _text(page)
    assert "山田" not in body and "ヤマダ" not in body and "5678" not in body
    assert "egg" not in body and "卵" not in body
    assert "受付" in body or "door" in body.lower()


def test_an_unknown_ticket_link_says_it_is_not_valid_and_how_to_get_it(client, door):
    """Before: 200 and 「受付でこの画面を見せてください。これはあなたのチケットです。」 with no
    event and no code, as if it were a ticket."""
    page = client.get("/c/not-a-real-token-at-all")
    body = _text(page)
    assert page.status_code == 404
    assert "このチケットのリンクは使えません" in body and "打ち間違い" in body
    assert 'href="/r/lost"' in body and "リンクをもう一度送ってもらう" in body
    assert "受付でこの画面を見せてください" not in body and "あなたのチケットです" not in body


def test_a_replaced_ticket_link_opened_by_the_resident_is_not_valid(client, door,
                                                                   make_registration):
    from gathering.checkin import services

    reg, _ = make_registration(door.event)
    old = reg.ticket_token
    services.replace_ticket(db.session, reg, user=door.organizer)
    db.session.commit()
    page = client.get(f"/c/{old}")
    assert page.status_code == 404 and "新しいチケットに替わった" in _text(page)
    assert 'href="/r/lost"' in _text(page) and "山田" not in _text(page)


def test_a_replaced_ticket_scanned_by_staff_names_the_party_and_leads_back(
        client, auth, door, make_event, make_registration):
    from gathering.checkin import services

    reg, _ = make_registration(door.event)
    old = reg.ticket_token
    services.replace_ticket(db.session, reg, user=door.organizer)
    db.session.commit()
    auth.login(door.volunteer)
    page = client.get(f"/c/{old}?event={door.event.id}")
    body = _text(page)
    assert page.status_code == 409 and 'data-code="revoked"' in body
    assert "新しいものに替わっています" in body and reg.full_name in body
    assert f'href="/door/events/{door.event.id}/scanner"' in body
    assert f'href="/door/events/{door.event.id}"' in body
    assert f'href="/c/{reg.ticket_token}?event={door.event.id}"' in body
    assert 'name="attendee"' not in body  # nothing to admit on the old code
    # staff of another group are told the code was replaced, not whose it was
    auth.logout()
    auth.login(door.outsider)
    body = _text(client.get(f"/c/{old}"))
    assert 'data-code="revoked"' in body and "山田" not in body
    assert reg.ticket_token not in body and 'href="/door/"' in body


def test_walk_in_page_shows_the_date_of_the_event(client, auth, door, make_event):
    from datetime import datetime

    from gathering.timeutil import TOKYO

    event = make_event(door.branch, title="あさひかわ子ども食堂",
                       starts_at=datetime(2026, 12, 26, 11, 0, tzinfo=TOKYO))
    auth.login(door.volunteer)
    body = _text(client.get(f"/door/events/{event.id}/walk-in"))
    assert "あさひかわ子ども食堂 · 2026年12月26日(土) 11:00〜14:00" in body


def test_ticket_of_another_branch_shows_nothing_to_its_volunteer(client, auth, door,
                                                                 make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.outsider)
    body = _text(client.get(f"/c/{reg.ticket_token}"))
    assert "山田" not in body


def test_staff_sees_party_alerts_and_due(client, auth, door, make_registration):
    reg, _ = make_registration(door.event, allergens={0: ["egg"]})
    auth.login(door.volunteer)
    page = client.get(f"/c/{reg.ticket_token}")
    body = _text(page)
    assert page.status_code == 200
    assert "山田" in body and "ヤマダ" in body
    assert "alert-banner" in body and "⚠" in body
    assert 'name="attendee"' in body
    # the big button admits everyone whatever is ticked, and says so; ticks have their own
    assert "全員（2人）を受付" in body and "チェックした人を受付" in body


def test_unknown_ticket_for_staff_is_404(client, auth, door):
    auth.login(door.volunteer)
    assert client.get("/c/nope-nope-nope-nope").status_code == 404


def test_admit_all_then_undo_then_already(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    r = client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    assert r.status_code == 302 and f"/c/{reg.ticket_token}" in r.headers["Location"]
    db.session.expire_all()
    assert all(a.checked_in_at for a in db.session.get(Registration, reg.id).attendees)
    page = _text(client.get(r.headers["Location"]))
    assert "✔" in page
    # the same form posted twice: nothing new
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 2
    adult = reg.attendees[1].id
    client.post(f"/c/{reg.ticket_token}/undo", data={"attendee": str(adult), "nonce": "u1"})
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).attendees[1].checked_in_at is None
    r = client.post(f"/c/{reg.ticket_token}/admit",
                    data={"attendee": str(reg.attendees[0].id), "nonce": "n3"},
                    follow_redirects=True)
    assert "already" in _text(r).lower() or "受付済" in _text(r)


def test_admit_refused_for_cancelled_shows_reason(client, auth, door, make_registration):
    reg, _ = make_registration(door.event, status="cancelled")
    auth.login(door.volunteer)
    page = _text(client.get(f"/c/{reg.ticket_token}"))
    assert 'data-code="cancelled"' in page and 'name="attendee"' not in page
    r = client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "x"})
    assert r.status_code == 302
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_wrong_event_from_the_door_of_another_event(client, auth, door, make_event,
                                                    make_registration):
    other = make_event(door.branch, title="上映会")
    reg, _ = make_registration(other)
    auth.login(door.volunteer)
    page = _text(client.get(f"/c/{reg.ticket_token}?event={door.event.id}"))
    assert 'data-code="wrong_event"' in page and "上映会" in page
    assert f"受付: {door.event.title} · " in page  # the date of the door it was scanned at
    client.post(f"/c/{reg.ticket_token}/admit?event={door.event.id}", data={"all": "1"})
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_posts_need_login_and_the_branch(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    r = client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1"})
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    auth.login(door.outsider)
    assert client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1"}).status_code == 403
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_cash_shows_change(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": "1000", "nonce": "c1"},
                    follow_redirects=True)
    assert "700" in _text(r)
    client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": "1000", "nonce": "c1"})
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_enter_in_the_other_amount_records_the_typed_amount(client, auth, door,
                                                            make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    page = _text(client.get(f"/c/{reg.ticket_token}?event={door.event.id}"))
    action, data = _press_enter_in(page, "tendered-other", "2000")
    r = client.post(action, data=MultiDict(data), follow_redirects=True)
    assert "1,700" in _text(r)
    payment = db.session.scalar(sa.select(Payment))
    assert (payment.amount, payment.cash_tendered) == (300, 2000)


def test_two_different_amounts_record_nothing(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash",
                    data=MultiDict([("tendered", "300"), ("tendered", "2000"), ("nonce", "c1")]),
                    follow_redirects=True)
    assert "flash-error" in _text(r)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
    # a note tapped on a page whose other-amount field was left empty
    r = client.post(f"/c/{reg.ticket_token}/cash",
                    data=MultiDict([("tendered", "1000"), ("tendered", ""), ("nonce", "c2")]),
                    follow_redirects=True)
    assert "700" in _text(r)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 1


def test_undo_with_nobody_ticked_changes_nothing(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/undo", data={"nonce": "u1"}, follow_redirects=True)
    assert "この申し込みの人を選んでください" in _text(r)
    db.session.expire_all()
    assert all(a.checked_in_at for a in db.session.get(Registration, reg.id).attendees)
    assert [row.action for row in db.session.scalars(sa.select(CheckIn))] == ["in", "in"]


@pytest.mark.parametrize("tendered", ["", "abc", "-5", "100", "9" * 20, "<b>1</b>"])
def test_cash_bad_input_stores_nothing(client, auth, door, make_registration, tendered):
    reg, _ = make_registration(door.event)
    auth.login(door.volunteer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n1"})
    r = client.post(f"/c/{reg.ticket_token}/cash", data={"tendered": tendered},
                    follow_redirects=True)
    assert r.status_code == 200 and "flash-error" in _text(r)
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0


@pytest.mark.parametrize("path", ["", "/scanner", "/list", "/walk-in"])
def test_door_pages_need_staff_of_the_branch(client, auth, door, path):
    url = f"/door/events/{door.event.id}{path}"
    r = client.get(url)
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    auth.login(door.outsider)
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(door.volunteer)
    assert client.get(url).status_code == 200
    assert client.get(f"/door/events/999999{path}").status_code == 404


def test_search_page(client, auth, door, make_registration):
    make_registration(door.event, family_name="山田", kana=("ヤマダ", "ハナコ"))
    auth.login(door.volunteer)
    body = _text(client.get(f"/door/events/{door.event.id}?q=やまだ"))
    assert "山田" in body
    body = _text(client.get(f"/door/events/{door.event.id}?q=" + "<script>alert(1)</script>"))
    assert "<script>alert(1)" not in body


def test_door_list_is_in_aiueo_order(client, auth, door, make_registration):
    make_registration(door.event, family_name="山田", kana=("ヤマダ", "ハナコ"))
    make_registration(door.event, family_name="青木", kana=("アオキ", "タロウ"),
                      allergens={0: ["peanut"]})
    auth.login(door.volunteer)
    body = _text(client.get(f"/door/events/{door.event.id}/list"))
    assert body.index("青木") < body.index("山田")
    assert "⚠" in body and 'class="box"' in body


def test_walk_in_form(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_child": "2", "count_adult": "1", "family_name": "鈴木",
                          "family_name_kana": "すずき", "nonce": "w"})
    assert r.status_code == 302 and "/c/" in r.headers["Location"]
    reg = db.session.scalar(sa.select(Registration))
    assert reg.is_walk_in and reg.party_size == 3 and reg.family_name_kana == "スズキ"
    db.session.refresh(door.event)
    assert door.event.seats_taken == 3


def test_walk_in_form_asks_whose_allergy_it_is(client, auth, door):
    auth.login(door.volunteer)
    page = client.get(f"/door/events/{door.event.id}/walk-in").get_data(as_text=True)
    assert "アレルギーがあるのはどの人？" in page and 'name="p0_for"' in page
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_child": "1", "count_adult": "1", "family_name": "鈴木",
                          "p0_allergens": "egg", "p0_for": "adult", "nonce": "w"})
    assert r.status_code == 302
    reg = db.session.scalar(sa.select(Registration))
    assert {a.fee_category.code: a.allergens for a in reg.attendees} == {
        "child": [], "adult": ["egg"]}


@pytest.mark.parametrize("data", [
    {}, {"count_adult": "0", "family_name": "鈴木"}, {"count_adult": "x", "family_name": "a"},
    {"count_adult": "1"}, {"count_adult": "1", "family_name": "x" * 10_000},
])
def test_walk_in_bad_input_keeps_what_was_typed(client, auth, door, data):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data=data)
    if data.get("family_name", "").startswith("x"):
        # a very long name is cut, not refused: the party is admitted
        assert r.status_code == 302
        return
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    if "family_name" in data:
        assert data["family_name"] in _text(r)


def test_walk_in_furigana_in_latin_letters_is_asked_again_in_kana(client, auth, door):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_adult": "1", "family_name": "山田", "family_name_kana": "yamada"})
    assert r.status_code == 422
    assert "フリガナは、ひらがなかカタカナで書いてください。" in _text(r)
    assert 'aria-invalid="true"' in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    ok = client.post(f"/door/events/{door.event.id}/walk-in", data={
        "count_adult": "1", "family_name": "山田", "family_name_kana": "やまだ"})
    assert ok.status_code == 302
    assert db.session.scalar(sa.select(Registration.family_name_kana)) == "ヤマダ"


@pytest.mark.parametrize("allergens", [["nope"], ["egg", "bogus"]])
def test_walk_in_form_refuses_unknown_allergens(client, auth, door, allergens):
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_adult": "1", "family_name": "鈴木", "allergens": allergens})
    assert r.status_code == 422 and "選べない項目です" in _text(r)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


@pytest.mark.parametrize("kind,words", [
    ("cancelled", "このイベントは中止です。当日参加は受け付けられません。"),
    ("draft", "このイベントはまだ公開されていません"),
    ("over", "このイベントは終わりました"),
])
def test_walk_in_form_where_the_door_takes_none(client, auth, door, closed_event, kind, words):
    event = closed_event(kind)
    auth.login(door.organizer)
    page = client.get(f"/door/events/{event.id}/walk-in")
    assert page.status_code == 200 and words in _text(page)
    assert 'name="family_name"' not in _text(page)  # no form to type a party into
    r = client.post(f"/door/events/{event.id}/walk-in",
                    data={"count_adult": "2", "family_name": "鈴木", "overbook": "1",
                          "nonce": "w"})
    assert r.status_code == 409
    assert words in _text(r) and "記録" in _text(r) and 'role="alert"' in _text(r)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(CheckIn.id))) == 0


def test_walk_in_full_needs_organizer(client, auth, door, make_registration):
    make_registration(door.event, people=("adult",) * 10)
    auth.login(door.volunteer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_adult": "1", "family_name": "鈴木", "overbook": "1"},
                    follow_redirects=True)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id)).where(
        Registration.is_walk_in.is_(True))) == 0
    assert "flash-error" in _text(r)
    auth.logout()
    auth.login(door.organizer)
    r = client.post(f"/door/events/{door.event.id}/walk-in",
                    data={"count_adult": "1", "family_name": "鈴木", "overbook": "1"})
    assert r.status_code == 302


def test_organizer_event_page_shows_live_counts(client, auth, door, make_registration):
    reg, _ = make_registration(door.event)
    auth.login(door.organizer)
    client.post(f"/c/{reg.ticket_token}/admit", data={"all": "1", "nonce": "n"})
    body = _text(client.get(f"/organizer/events/{door.event.id}"))
    assert 'data-count="admitted">2<' in body
    assert f"/door/events/{door.event.id}/scanner" in body


def test_service_worker_scope_covers_the_scanner(client):
    r = client.get("/door/sw.js")
    assert r.status_code == 200 and "javascript" in r.content_type
    assert r.headers["Service-Worker-Allowed"] == "/door/"


def test_party_screen_shows_an_offline_double_admission(client, auth, door, make_registration,
                                                        now):
    from gathering.checkin import services

    reg, _ = make_registration(door.event, people=("adult",))
    for nonce, device in (("a", "受付スマホA"), ("b", "受付スマホB")):
        services.check_in(db.session, door.event, reg.ticket_token, user=door.volunteer,
                          nonce=nonce, device=device, was_offline=True, now=now)
    db.session.commit()
    auth.login(door.organizer)
    body = _text(client.get(f"/c/{reg.ticket_token}"))
    assert "受付スマホB" in body and "notice" in body
    panel = _text(client.get(f"/organizer/events/{door.event.id}"))
    assert 'data-count="admitted">1<' in panel and 'data-count="conflicts">1<' in panel


def test_door_screen_in_english(client, auth, door, make_registration):
    reg, _ = make_registration(door.event, status="waitlisted")
    auth.login(door.volunteer)
    body = _text(client.get(f"/c/{reg.ticket_token}", headers={"Accept-Language": "en"}))
    assert "waiting list" in body


def test_door_index_lists_the_events_to_staff(client, auth, door, make_event):
    other = make_event(title="よその上映会")
    auth.login(door.volunteer)
    body = _text(client.get("/door/"))
    assert f"/door/events/{door.event.id}/scanner" in body
    assert "よその上映会" not in body and f"/door/events/{other.id}/" not in body
    auth.logout()
    assert "/login" in client.get("/door/").headers["Location"]


def test_the_resident_opening_their_ticket_sees_its_code(client, door, make_registration):
    """Opened on the resident's own phone (the QR image's link, a saved screenshot's link),
    the page says "show this screen": it shows the code to show, while it admits."""
    import base64
    import io

    import zxingcpp
    from PIL import Image

    reg, manage = make_registration(door.event)
    page = client.get(f"/c/{reg.ticket_token}").get_data(as_text=True)
    data = re.search(r'<img src="data:image/png;base64,([^"]+)"', page).group(1)
    decoded = zxingcpp.read_barcode(Image.open(io.BytesIO(base64.b64decode(data)))).text
    assert decoded.endswith(f"/c/{reg.ticket_token}") and decoded.startswith("http")
    client.post(f"/r/{manage}/cancel", data={"whole": "1"})
    page = client.get(f"/c/{reg.ticket_token}").get_data(as_text=True)
    assert "キャンセルされています" in page and "data:image/png" not in page
    assert "受付でこの画面を見せてください" not in page


def test_no_cash_is_taken_at_the_door_of_another_date(client, auth, door, make_event,
                                                      make_registration):
    """A ticket of another date (a family come on the wrong day) is refused, and its fee
    is not offered or taken here: it would be counted in the other date's till."""
    other = make_event(door.branch, fee_basis="registered")
    reg, _ = make_registration(other, people=("adult",))
    auth.login(door.volunteer)
    own = _text(client.get(f"/c/{reg.ticket_token}"))  # at its own date's door: offered
    assert f'/c/{reg.ticket_token}/cash' in own
    page = _text(client.get(f"/c/{reg.ticket_token}?event={door.event.id}"))
    assert 'data-code="wrong_event"' in page and "/cash" not in page
    response = client.post(f"/c/{reg.ticket_token}/cash?event={door.event.id}",
                           data={"tendered": "300", "nonce": "n1"})
    assert response.status_code == 302
    assert "このチケットは別の日（" in _text(client.get(response.headers["Location"]))
    assert db.session.scalar(sa.select(sa.func.count(Payment.id))) == 0
