"""The whole sign-up on a phone-sized Chromium, in English and Japanese: form, waiting-list
warning, manage page with a QR code that decodes to the ticket URL, partial cancellation."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from gathering.extensions import db
from gathering.rsvp.models import Registration

pytestmark = pytest.mark.browser
SHOTS = os.environ.get("RSVP_SCREENSHOTS")  # a folder to keep screenshots in, for review


def shot(page, name):
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_family_signs_up_on_a_phone(phone, live_server, make_event, make_registration,
                                    lang, tmp_path):
    event = make_event(capacity=4)
    make_registration(event, people=("adult",))
    event_id = event.id
    db.session.commit()
    page = phone
    page.goto(f"{live_server.url}/events/{event_id}?lang={lang}")
    shot(page, f"{lang}-1-form")
    form = page.locator("form.signup-form")
    # the name boxes side by side line up on a 360 px phone, however the two labels wrap
    # ("Family name (姓)" over two lines, "Given name (名)" on one)
    page.set_viewport_size({"width": 360, "height": 640})
    for left, right in (("#family_name", "#given_name"), ("#family_name_kana", "#given_name_kana")):
        tops = [form.locator(sel).bounding_box()["y"] for sel in (left, right)]
        assert abs(tops[0] - tops[1]) < 1, (left, tops)
    page.set_viewport_size({"width": 390, "height": 844})
    form.locator("#family_name").fill("山田")
    form.locator("#given_name").fill("葵")
    form.locator("#family_name_kana").fill("やまだ")
    form.locator("#given_name_kana").fill("ｱｵｲ")
    form.locator("#phone").fill("０９０ー１２３４ー５６７８")
    form.locator("select[name='attendees-0-category']").select_option("adult")
    warning = "form.signup-form [data-seats-short]"
    assert not page.locator(warning).is_visible()
    for _ in range(3):  # JavaScript adds the rows on the page, no round trip
        page.locator("form.signup-form button[name=add_person]").click()
    form = page.locator("form.signup-form")
    assert form.locator("fieldset.person").count() == 4
    assert form.locator("select[name='attendees-3-category']").evaluate(
        "el => el === document.activeElement")
    # four people, three seats left: the form says so before it is sent
    assert page.locator(warning).is_visible()
    form.locator("button[name=remove_person][value='3']").click()  # posts back
    page.wait_for_load_state("load")
    form = page.locator("form.signup-form")
    assert form.locator("fieldset.person").count() == 3
    assert not page.locator(warning).is_visible()
    assert form.locator("#given_name_kana").input_value() == "ｱｵｲ"
    form.locator("select[name='attendees-1-category']").select_option("child")
    form.locator("select[name='attendees-2-category']").select_option("child")
    form.locator("input[name='attendees-1-allergens'][value=egg]").check()
    form.locator("input[name='attendees-1-allergens'][value=milk]").check()
    # forgot the consent: the message is next to the box, everything kept
    form.locator("button[type=submit].primary").click()
    page.wait_for_load_state("load")
    form = page.locator("form.signup-form")
    assert form.locator(".consent .error").count() == 1
    assert form.locator("input[name='attendees-1-allergens'][value=milk]").is_checked()
    shot(page, f"{lang}-2-errors")
    form.locator("#consent").check()
    form.locator("button[type=submit].primary").click()
    page.wait_for_load_state("load")
    assert "/r/" in page.url
    shot(page, f"{lang}-3-manage")
    text = page.locator("main").inner_text()
    assert ("You are signed up" in text) if lang == "en" else ("参加が確定" in text)
    assert ("Egg" in text) if lang == "en" else ("卵" in text)

    db.session.remove()
    reg = db.session.scalar(sa.select(Registration).where(Registration.given_name == "葵"))
    assert reg.given_name_kana == "アオイ" and reg.phone == "09012345678"
    assert reg.status == "confirmed" and reg.party_size == 3
    ticket = reg.ticket_token
    db.session.commit()

    # the QR code on the page decodes to the ticket URL
    png = tmp_path / "qr.png"
    page.locator(".ticket img").screenshot(path=str(png))
    assert zxingcpp.read_barcode(Image.open(png)).text == f"{live_server.url}/c/{ticket}"

    # one child cannot come after all
    page.locator("input[name=attendee_ids]").nth(2).check()
    page.locator("form:has(input[name=attendee_ids]) button[type=submit]").click()
    page.wait_for_load_state("load")
    db.session.remove()
    reg = db.session.scalar(sa.select(Registration).where(Registration.given_name == "葵"))
    assert reg.party_size == 2 and reg.event.seats_taken == 3
    db.session.commit()
    assert page.locator(".people > li").count() == 2
    shot(page, f"{lang}-4-after-cancel")


def test_kitchen_summary_prints_on_one_a4_page(browser, live_server, make_event, make_user,
                                                make_registration, tmp_path):
    import io

    from pypdf import PdfReader

    from tests.conftest import PASSWORD

    event = make_event(capacity=60)
    codes = ["egg", "milk", "wheat", "shrimp", "peanut", "soybean", "sesame", "buckwheat"]
    for i in range(12):  # a mixed set of families, as on a busy 子ども食堂 day
        make_registration(event, people=("adult", "child", "child"),
                          family_name=f"家族{i}", allergens={1: codes[i % 8: i % 8 + 2],
                                                             2: [codes[(i + 3) % 8]]},
                          diets={0: ["halal"] if i % 3 == 0 else []})
    organizer = make_user("organizer", branches=[event.branch])
    event_id, email = event.id, organizer.email
    db.session.commit()
    context = browser.new_context(locale="ja-JP")
    page = context.new_page()
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/organizer/events/{event_id}/kitchen")
    text = page.locator("main").inner_text()
    assert "卵" in text and "ハラール" in text and "家族0" in text
    pdf = page.pdf(format="A4", print_background=False)
    context.close()
    if SHOTS:
        (tmp_path / "kitchen.pdf").write_bytes(pdf)
        os.replace(tmp_path / "kitchen.pdf", os.path.join(SHOTS, "kitchen.pdf"))
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


AXE = os.path.join(os.path.dirname(__file__), "..", "..", "node_modules", "axe-core",
                   "axe.min.js")


def axe_violations(page) -> list[str]:
    page.add_script_tag(path=AXE)
    result = page.evaluate("async () => await axe.run(document)")
    return [f"{v['id']}: {[n['target'] for n in v['nodes'][:3]]}" for v in result["violations"]]


def test_sign_up_pages_pass_axe(phone, live_server, make_event, make_user, make_registration):
    from tests.conftest import PASSWORD

    event = make_event(capacity=3)
    _, token = make_registration(event, people=("adult", "child"), allergens={1: ["egg"]})
    make_registration(event, people=("adult", "adult"), status="waitlisted",
                      family_name="鈴木")
    organizer = make_user("organizer", branches=[event.branch])
    event_id, email = event.id, organizer.email
    db.session.commit()
    page = phone
    pages = [f"/r/{token}/edit", "/r/lost"]
    for path in pages:
        page.goto(live_server.url + path)
        assert axe_violations(page) == [], path
    page.goto(f"{live_server.url}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state("load")
    for path in (f"/organizer/events/{event_id}/registrations",
                 f"/organizer/events/{event_id}/kitchen"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert axe_violations(page) == [], path


def test_a_person_added_after_one_was_removed_is_signed_up(phone, live_server, make_event):
    """Remove (a round trip) leaves the rows' numbers with a gap; the row JavaScript adds
    next must not take the number of one still on the form, or its person is lost."""
    event = make_event(capacity=10)
    event_id = event.id
    db.session.commit()
    page = phone
    page.goto(f"{live_server.url}/events/{event_id}")
    form = page.locator("form.signup-form")
    form.locator("#family_name").fill("山田")
    form.locator("#given_name").fill("葵")
    form.locator("#family_name_kana").fill("ヤマダ")
    form.locator("#given_name_kana").fill("アオイ")
    form.locator("#phone").fill("090-1234-5678")
    for _ in range(2):
        form.locator("button[name=add_person]").click()
    form.locator("button[name=remove_person][value='1']").click()  # posts back
    page.wait_for_load_state("load")
    form = page.locator("form.signup-form")
    form.locator("button[name=add_person]").click()
    people = form.locator("fieldset.person")
    assert people.count() == 3
    for i, (category, name) in enumerate([("adult", "葵"), ("child", "陽"), ("child", "凛")]):
        people.nth(i).locator("select").select_option(category)
        people.nth(i).locator("input[name$='-name']").fill(name)
    people.nth(2).locator("input[value=egg]").check()
    form.locator("#consent").check()
    form.locator("button[type=submit].primary").click()
    page.wait_for_load_state("load")
    assert "/r/" in page.url
    db.session.remove()
    reg = db.session.scalar(sa.select(Registration).where(Registration.event_id == event_id))
    assert [(a.fee_category.code, a.name, a.allergens) for a in reg.active_attendees] == [
        ("adult", "葵", []), ("child", "陽", []), ("child", "凛", ["egg"])]
    db.session.commit()


def test_the_edit_form_starts_from_the_party_as_it_stands(phone, live_server, make_event,
                                                          make_registration):
    """Each active person with their category, nobody already cancelled: saved unchanged,
    the edit goes through and changes nothing."""
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult", "child", "child"),
                                   allergens={1: ["egg"]})
    reg.consent_at = reg.created_at  # as a sign-up with allergies leaves it
    gone = reg.attendees[2].id
    reg_id = reg.id
    db.session.commit()
    page = phone
    page.goto(f"{live_server.url}/r/{token}")
    page.locator(f"input[name=attendee_ids][value='{gone}']").check()
    page.locator("form:has(input[name=attendee_ids]) button[type=submit]").click()
    page.wait_for_load_state("load")
    page.goto(f"{live_server.url}/r/{token}/edit")
    people = page.locator("fieldset.person")
    assert people.count() == 2
    assert [people.nth(i).locator("select").input_value() for i in range(2)] == [
        "adult", "child"]
    assert people.nth(1).locator("input[value=egg]").is_checked()
    assert page.locator("#family_name").input_value() == "山田"
    page.locator("button[type=submit].primary").click()
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/r/{token}")
    assert page.locator(".flash-success").count() == 1
    db.session.remove()
    reg = db.session.get(Registration, reg_id)
    assert [(a.fee_category.code, a.allergens) for a in reg.active_attendees] == [
        ("adult", []), ("child", ["egg"])]
    assert reg.event.seats_taken == 2
    db.session.commit()
