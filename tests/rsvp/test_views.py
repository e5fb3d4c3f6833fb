"""The sign-up pages through the test client: form, manage page, QR, organizers' pages."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from gathering.extensions import db
from gathering.rsvp.models import Registration
from gathering.timeutil import TOKYO


def soon():
    return datetime.now(TOKYO).replace(microsecond=0, second=0, minute=0) + timedelta(days=7)


def form_data(**over):
    data = {"family_name": "山田", "given_name": "花子", "family_name_kana": "やまだ",
            "given_name_kana": "はなこ", "phone": "090-1234-5678",
            "email": "hanako@example.jp", "idempotency_key": "key-1",
            "attendees-0-category": "adult", "attendees-1-category": "child",
            "attendees-1-name": "太郎", "attendees-1-allergens": ["egg", "milk"],
            "consent": "y"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def count():
    return db.session.scalar(sa.select(sa.func.count(Registration.id)))


def manage_token(response):
    match = re.search(r"/r/([A-Za-z0-9_\-]+)$", response.headers["Location"])
    return match.group(1)


def test_event_page_shows_form(client, make_event):
    event = make_event(capacity=10)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert f'action="/events/{event.id}/signup' in page
    assert "卵" in page and "アーモンド" in page and 'name="idempotency_key"' in page
    assert 'name="consent"' in page and "checked" not in page.split('name="consent"')[1][:40]


def test_signup_flow_to_manage_page(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    assert r.status_code == 302 and "/r/" in r.headers["Location"]
    token = manage_token(r)
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "山田花子" in page and "卵" in page and "qr.svg" in page
    assert client.get(f"/r/{token}").headers["Cache-Control"] == "no-store"
    png = client.get(f"/r/{token}/qr.png")
    decoded = zxingcpp.read_barcode(Image.open(io.BytesIO(png.data))).text
    reg = db.session.scalar(sa.select(Registration))
    assert decoded.endswith(f"/c/{reg.ticket_token}") and decoded.startswith("http")
    assert token not in decoded
    svg = client.get(f"/r/{token}/qr.svg")
    assert svg.mimetype == "image/svg+xml" and b"<svg" in svg.data


def test_double_tap_creates_one(client, make_event):
    event = make_event(capacity=10)
    first = client.post(f"/events/{event.id}/signup", data=form_data())
    second = client.post(f"/events/{event.id}/signup", data=form_data())
    assert first.headers["Location"] == second.headers["Location"]
    assert count() == 1


def test_errors_next_to_fields_with_input_kept(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup",
                    data=form_data(phone="12", email="", family_name_kana="yamada",
                                   consent=None, given_name="<b>花子</b>"))
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert 'id="phone-error"' in page and 'id="family_name_kana-error"' in page
    assert 'class="error-summary" role="alert"' in page
    assert "&lt;b&gt;花子&lt;/b&gt;" in page and "<b>花子" not in page
    assert 'value="12"' in page
    assert count() == 0


def _summary_links(page: str) -> list[tuple[str, str]]:
    box = re.search(r'<div class="error-summary" role="alert">(.*?)</div>', page, re.S)
    assert box, "no error summary"
    return [(href, re.sub(r"\s+", " ", text).strip())
            for href, text in re.findall(r'<a href="#([^"]+)">(.*?)</a>', box.group(1), re.S)]


def test_error_summary_links_to_each_wrong_field_in_page_order(client, make_event):
    """A long form on a phone: the summary at the top names every mistake, in the order of
    the page, and each link lands on its field (the red text may be screens below)."""
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup",
                    data=form_data(phone="12", family_name_kana="yamada", consent=None,
                                   **{"attendees-0-note": "ごまは少しなら大丈夫",
                                      "attendees-1-category": "",
                                      "attendees-1-allergens": ["egg", "no-such-food"]}))
    assert r.status_code == 422 and count() == 0
    page = r.get_data(as_text=True)
    links = _summary_links(page)
    assert [href for href, _ in links] == [
        "family_name_kana", "phone", "attendees-1-category", "attendees-1-allergens-0",
        "consent"]
    for href, _text in links:  # every link has somewhere to land
        assert f'id="{href}"' in page
    texts = dict(links)
    assert texts["phone"].startswith("電話番号：")
    assert texts["attendees-1-category"] == "2人目の区分：区分を選んでください。"
    assert texts["attendees-1-allergens-0"].startswith("2人目の食物アレルギー：")


def test_error_summary_in_english_and_on_the_edit_page(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    token = manage_token(r)
    r = client.post(f"/r/{token}/edit?lang=en",
                    data=form_data(phone="12", **{"attendees-0-category": ""}))
    assert r.status_code == 422
    links = _summary_links(r.get_data(as_text=True))
    assert links[0] == ("phone", "Phone: Enter a Japanese phone number like 090-1234-5678.")
    assert links[1] == ("attendees-0-category", "Person 1, Category: Choose a category.")


def test_no_error_summary_when_nothing_is_wrong(client, make_event):
    event = make_event(capacity=10)
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "error-summary" not in page and "error-links" not in page


def test_errors_in_english(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup?lang=en", data=form_data(phone="12"))
    assert "Enter a Japanese phone number" in r.get_data(as_text=True)


def test_add_and_remove_person_without_js(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data(add_person="1"))
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and 'name="attendees-2-category"' in page
    assert re.search(r'<select autofocus[^>]*name="attendees-2-category"', page)
    assert count() == 0
    r = client.post(f"/events/{event.id}/signup", data=form_data(remove_person="1"))
    page = r.get_data(as_text=True)
    assert 'name="attendees-1-category"' not in page and 'value="山田"' in page


def test_seats_short_warned_before_sending(client, make_event, make_registration):
    event = make_event(capacity=3)
    make_registration(event, people=("adult", "adult"))
    r = client.post(f"/events/{event.id}/signup", data=form_data(add_person="1"))
    assert "waiting list" in r.get_data(as_text=True) or "キャンセル待ち" in r.get_data(
        as_text=True)


def test_full_event_waitlists(client, make_event, make_registration):
    event = make_event(capacity=2)
    make_registration(event, people=("adult", "adult"))
    r = client.post(f"/events/{event.id}/signup", data=form_data(phone="080-2222-3333"))
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    reg = db.session.scalar(sa.select(Registration).where(Registration.email != "hanako@example.org"))
    assert reg.status == "waitlisted" and "qr.svg" not in page


def test_honeypot(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data(homepage="http://spam"))
    assert r.status_code == 400 and count() == 0


def test_closed_window_has_no_form(client, make_event, now):
    event = make_event(capacity=10, signup_opens_at=datetime.now(TOKYO) + timedelta(days=2))
    page = client.get(f"/events/{event.id}").get_data(as_text=True)
    assert "/signup" not in page
    r = client.post(f"/events/{event.id}/signup", data=form_data())
    assert r.status_code == 302 and count() == 0


def test_too_large_request(client, make_event):
    event = make_event(capacity=10)
    r = client.post(f"/events/{event.id}/signup", data=form_data(message="x" * 100_000))
    assert r.status_code == 413 and count() == 0


def test_many_rows_bounded(client, make_event):
    event = make_event(capacity=40)
    data = form_data()
    for i in range(2, 30):
        data[f"attendees-{i}-category"] = "adult"
    r = client.post(f"/events/{event.id}/signup", data=data)
    assert r.status_code in (302, 422)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(
        sa.text("attendees"))) <= 10


def test_edit_and_cancel(client, make_event):
    event = make_event(capacity=10)
    token = manage_token(client.post(f"/events/{event.id}/signup", data=form_data()))
    page = client.get(f"/r/{token}/edit").get_data(as_text=True)
    assert 'value="山田"' in page and "checked" in page
    reg = db.session.scalar(sa.select(Registration))
    ids = [a.id for a in reg.active_attendees]
    r = client.post(f"/r/{token}/edit", data={
        "family_name": "山田", "given_name": "花子", "family_name_kana": "ヤマダ",
        "given_name_kana": "ハナコ", "phone": "09012345678", "email": "",
        "attendees-0-id": str(ids[1]), "attendees-0-category": "child",
        "attendees-0-allergens": ["wheat"], "consent": "y"})
    assert r.status_code == 302
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.party_size == 1 and reg.active_attendees[0].allergens == ["wheat"]
    assert reg.event.seats_taken == 1
    r = client.post(f"/r/{token}/cancel", data={"whole": "1"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "cancelled"
    assert "qr.svg" not in client.get(f"/r/{token}").get_data(as_text=True)
    assert client.get(f"/r/{token}/qr.png").status_code == 404


def test_bad_tokens_404(client):
    for path in ("/r/nope", "/r/nope/qr.png", "/r/nope/qr.svg", "/r/nope/edit",
                 "/r/" + "x" * 300):
        assert client.get(path).status_code == 404
    assert client.post("/r/nope/cancel").status_code == 404


@pytest.fixture
def signed_up(make_event, make_registration):
    event = make_event(capacity=10)
    make_registration(event, people=("child", "adult"), allergens={0: ["egg"]},
                      family_name="佐藤", kana=("サトウ", "イチロウ"))
    make_registration(event, people=("adult",), family_name="鈴木", kana=("スズキ", "ジロウ"))
    return event


def test_organizer_pages(client, auth, make_user, signed_up):
    event = signed_up
    auth.login(make_user("organizer", branches=[event.branch]))
    page = client.get(f"/organizer/events/{event.id}/registrations?q=さとう").get_data(
        as_text=True)
    assert "佐藤" in page and "鈴木" not in page
    for written in ("090-1234", "０９０１２３４", "090 1234 5678"):  # as the list shows it
        page = client.get(f"/organizer/events/{event.id}/registrations",
                          query_string={"q": written}).get_data(as_text=True)
        assert "佐藤" in page and "鈴木" in page, written
    kitchen = client.get(f"/organizer/events/{event.id}/kitchen").get_data(as_text=True)
    assert "卵" in kitchen and "佐藤" in kitchen
    csv = client.get(f"/organizer/events/{event.id}/registrations.csv")
    assert csv.data.startswith(b"\xef\xbb\xbf") and "佐藤".encode() in csv.data
    assert csv.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in csv.headers["Content-Disposition"]
    panel = client.get(f"/organizer/events/{event.id}").get_data(as_text=True)
    assert f"/organizer/events/{event.id}/kitchen" in panel


@pytest.mark.parametrize("path", ["registrations", "kitchen", "registrations.csv"])
def test_organizer_pages_permissions(client, auth, make_user, make_branch, signed_up, path):
    event = signed_up
    url = f"/organizer/events/{event.id}/{path}"
    assert client.get(url).status_code == 302  # to the login page
    auth.login(make_user("organizer", branches=[make_branch()]))
    assert client.get(url).status_code == 403
    auth.logout()
    auth.login(make_user("volunteer", branches=[event.branch]))
    assert client.get(url).status_code == 403  # volunteers do not see allergy data
    auth.logout()
    auth.login(make_user("admin"))
    assert client.get(url).status_code == 200
    assert client.get(f"/organizer/events/999999/{path}").status_code == 404


def test_lost_link_same_answer(client, make_event):
    event = make_event(capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data())
    a = client.post("/r/lost", data={"email": "hanako@example.jp"})
    b = client.post("/r/lost", data={"email": "nobody@example.jp"})
    assert a.status_code == b.status_code == 302
    assert client.get("/r/lost").status_code == 200


def test_edit_only_while_open(client, make_event, make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event)
    event.signup_closes_at = event.starts_at.replace(year=2020)
    db.session.commit()
    r = client.get(f"/r/{token}/edit")
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/r/{token}")
    assert client.post(f"/r/{token}/edit", data={}).status_code == 302


def test_back_button_and_another_family_is_a_new_signup(client, make_event):
    event = make_event(capacity=10)
    first = client.post(f"/events/{event.id}/signup", data=form_data())
    second = client.post(f"/events/{event.id}/signup",
                         data=form_data(family_name="佐藤", family_name_kana="さとう",
                                        email="sato@example.jp"))
    assert second.status_code == 302 and first.headers["Location"] != second.headers["Location"]
    assert count() == 2


def test_organizer_cancels_a_phoned_in_party(client, auth, make_user, make_event,
                                             make_registration, make_branch):
    event = make_event(capacity=2)
    reg, _ = make_registration(event, people=("adult", "adult"))
    waiting, _ = make_registration(event, people=("child",), status="waitlisted",
                                   family_name="鈴木")
    other_event = make_event(capacity=5)
    url = f"/organizer/events/{event.id}/registrations/{reg.id}/cancel"
    auth.login(make_user("organizer", branches=[make_branch()]))
    assert client.post(url).status_code == 403
    auth.logout()
    auth.login(make_user("organizer", branches=[event.branch]))
    assert client.post(
        f"/organizer/events/{other_event.id}/registrations/{reg.id}/cancel").status_code in (
        403, 404)
    page = client.get(f"/organizer/events/{event.id}/registrations").get_data(as_text=True)
    assert url in page
    # the button is behind a question: one stray tap gives the seats away
    confirm = page[page.index("<summary>キャンセルする（電話連絡など）"):page.index(url)]
    assert "</summary>" in confirm and "山田花子さんの申し込みをキャンセルしますか" in page
    r = client.post(url)
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Registration, reg.id).status == "cancelled"
    assert db.session.get(Registration, waiting.id).status == "confirmed"
    r = client.post(url, follow_redirects=True)
    assert "already cancelled" in r.get_data(as_text=True) or "もうキャンセル" in r.get_data(
        as_text=True)


def test_form_rate_limit_spares_post_backs(make_app, make_event):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_PER_IP="2 per minute")
    path = f"/events/{make_event(capacity=50).id}/signup"
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    client = app.test_client()
    for _ in range(3):
        assert client.post(path, data=form_data(add_person="1")).status_code == 200
    codes = [client.post(path, data=form_data(idempotency_key=f"k{i}", email=f"{i}@ex.jp",
                                              phone=f"080-0000-000{i}"))
             .status_code for i in range(3)]
    assert codes == [302, 302, 429]


def test_a_sign_up_over_the_rate_limit_comes_back_with_what_was_typed(make_app, make_event,
                                                                      signup):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_PER_IP="1 per minute")
    event_id = make_event(capacity=50).id
    path = f"/events/{event_id}/signup"
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    client = app.test_client()
    assert client.post(path, data=form_data()).status_code == 302
    refused = client.post(path, data=form_data(idempotency_key="key-2", given_name="葵",
                                               email="aoi@example.jp"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert "分ほど待ってから、もう一度「申し込む」を押してください" in page
    assert 'value="葵"' in page and 'value="aoi@example.jp"' in page and 'value="key-2"' in page
    assert re.search(r'<input checked[^>]*name="attendees-1-allergens"[^>]*value="egg"', page)
    assert count() == 1
    # the API shares the budget and keeps its JSON answer
    api = client.post(f"/api/v1/events/{event_id}/registrations", json=signup())
    assert api.status_code == 429 and api.get_json()["error"]["code"] == "rate_limited"


def test_cancelling_the_people_checked_with_nobody_checked_cancels_nobody(
        client, make_event, make_registration):
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult", "child"))
    r = client.post(f"/r/{token}/cancel", data={})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/r/{token}")
    assert "来られない人を選んでください" in client.get(f"/r/{token}").get_data(as_text=True)
    db.session.expire_all()
    reg = db.session.get(Registration, reg.id)
    assert reg.status == "confirmed" and reg.party_size == 2 and reg.event.seats_taken == 2


def test_the_form_sent_without_its_session_comes_back_with_what_was_typed(make_app,
                                                                          make_event):
    """The phone's browser restarted before the form was sent: no session, so no valid
    CSRF token. The form comes back filled in, with a new token that works."""
    app = make_app(WTF_CSRF_ENABLED=True)
    path = f"/events/{make_event(capacity=10).id}/signup"
    db.session.rollback()  # no transaction of ours in the way of the other app's requests
    client = app.test_client()
    stale = client.post(path, data=form_data(csrf_token="from-a-session-long-gone"))
    page = stale.get_data(as_text=True)
    assert stale.status_code == 400 and "もう一度送ってください" in page
    assert 'value="山田"' in page and 'value="090-1234-5678"' in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    again = client.post(path, data=form_data(csrf_token=token.group(1)))
    assert again.status_code == 302 and "/r/" in again.headers["Location"]
    assert count() == 1


def test_the_form_url_opened_again_goes_to_the_event_page(client, make_event):
    """A failed sign-up's page has the form's URL: reloading it, or its English link."""
    event = make_event(capacity=10)
    r = client.get(f"/events/{event.id}/signup?lang=en")
    assert r.status_code == 302
    assert r.headers["Location"] == f"/events/{event.id}?lang=en#signup"
    assert client.get(f"/events/{event.id}/signup").headers["Location"] == (
        f"/events/{event.id}#signup")


def test_a_double_tap_says_signed_up_once(client, make_event):
    event = make_event(capacity=10)
    client.post(f"/events/{event.id}/signup", data=form_data())
    second = client.post(f"/events/{event.id}/signup", data=form_data())
    page = client.get(second.headers["Location"]).get_data(as_text=True)
    assert page.count("flash-success") == 1


def test_opening_the_lost_link_page_spends_no_request(app, make_app):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOST_LINK="2 per minute")
    db.session.rollback()
    client = app.test_client()
    assert [client.get("/r/lost").status_code for _ in range(5)] == [200] * 5
    codes = [client.post("/r/lost", data={"email": f"{i}@example.jp"}).status_code
             for i in range(3)]
    assert codes == [302, 302, 429]


def test_a_waiting_party_is_told_what_it_will_owe(client, make_event, make_registration):
    event = make_event(capacity=1)
    make_registration(event, people=("adult",))
    _, token = make_registration(event, people=("adult", "child"), status="waitlisted")
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "席が空いて全員が来た場合 300円" in page
    assert "無料" not in page


def test_a_cancelled_sign_up_no_longer_reads_like_a_booking(client, make_event,
                                                            make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event, people=("adult", "child"))
    client.post(f"/r/{token}/cancel", data={"whole": "1"})
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "この申し込みはキャンセルされています" in page
    for offer in ("参加する人", f"/events/{event.id}.ics", "/receipt", "/calendar/me/"):
        assert offer not in page, offer


def test_a_cancelled_event_is_not_also_confirmed(client, make_event, make_registration):
    event = make_event(capacity=10)
    _, token = make_registration(event, people=("adult",))
    event.status = "cancelled"
    db.session.commit()
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert "このイベントは中止です" in page and "参加が確定" not in page
