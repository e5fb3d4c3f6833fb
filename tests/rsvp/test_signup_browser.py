"""The sign-up form on a phone-sized Chromium where JavaScript matters: the form sent again
after Back, a person added and left empty, a party larger than the event."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gathering.extensions import db
from gathering.rsvp.models import Registration
from tests.rsvp.test_browser import axe_violations, shot

pytestmark = pytest.mark.browser


def fill_contact(form, family="山田", given="葵"):
    form.locator("#family_name").fill(family)
    form.locator("#given_name").fill(given)
    form.locator("#family_name_kana").fill("やまだ")
    form.locator("#given_name_kana").fill("あおい")
    form.locator("#phone").fill("090-1234-5678")


def open_form(page, base: str, event_id: int, *, adult: bool = True, given="葵"):
    """The event's page with the contact filled in (and the first person an adult)."""
    page.goto(f"{base}/events/{event_id}")
    form = page.locator("form.signup-form")
    fill_contact(form, given=given)
    if adult:
        form.locator("select[name='attendees-0-category']").select_option("adult")
    return form


def send(page):
    page.locator("form.signup-form button[type=submit].primary").click()
    page.wait_for_load_state("load")


def registrations(event_id) -> list[tuple[str, int]]:
    db.session.remove()
    regs = db.session.scalars(sa.select(Registration).where(Registration.event_id == event_id))
    found = [(r.status, r.party_size) for r in regs]
    db.session.commit()
    return found


def test_back_and_send_again_is_refused_with_what_was_typed(phone, live_server, make_event):
    """Chromium loads the page anew on Back (a new key) and puts back what was typed."""
    event = make_event(capacity=10)
    event_id = event.id
    db.session.commit()
    page = phone
    form = open_form(page, live_server.url, event_id)
    send(page)
    manage = page.url.split("#")[0]
    assert "/r/" in manage
    page.go_back()
    page.wait_for_load_state("load")
    form = page.locator("form.signup-form")
    assert form.locator("#family_name").input_value() == "山田"
    form.locator("button[name=add_person]").click()  # a child with an egg allergy
    form.locator("select[name='attendees-1-category']").select_option("child")
    form.locator("input[name='attendees-1-allergens'][value=egg]").check()
    form.locator("#consent").check()
    send(page)
    shot(page, "again-after-back")
    assert axe_violations(page) == []
    box = page.locator(".signup-conflict")
    assert "この名前と連絡先で、すでに申し込まれています。" in box.inner_text()
    assert manage.rsplit("/", 1)[1] not in page.content()  # the sign-up is not revealed
    form = page.locator("form.signup-form")
    assert form.locator("input[name='attendees-1-allergens'][value=egg]").is_checked()
    assert registrations(event_id) == [("confirmed", 1)]
    box.get_by_role("link", name="リンクをもう一度送ってもらう").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("/r/lost")


def test_a_kept_page_sent_again_with_changes_offers_the_sign_up(phone, live_server,
                                                                make_event):
    """The back/forward cache keeps the page as it was (the same key), as here where it
    was sent once from the page itself."""
    event = make_event(capacity=10)
    event_id = event.id
    db.session.commit()
    page = phone
    form = open_form(page, live_server.url, event_id)
    sent = page.evaluate("""async () => {
        const form = document.querySelector("form.signup-form");
        const r = await fetch(form.action, {method: "POST", body: new FormData(form)});
        return r.url;
    }""")
    assert "/r/" in sent
    form.locator("button[name=add_person]").click()  # then a child is added, sent again
    form.locator("select[name='attendees-1-category']").select_option("child")
    form.locator("input[name='attendees-1-allergens'][value=egg]").check()
    form.locator("#consent").check()
    send(page)
    shot(page, "again-kept-page")
    box = page.locator(".signup-conflict")
    assert "この申し込みはすでに送信され、受け付けています。" in box.inner_text()
    assert "あとから変えた内容は保存されていません。" in box.inner_text()
    form = page.locator("form.signup-form")
    assert form.locator("input[name='attendees-1-allergens'][value=egg]").is_checked()
    assert registrations(event_id) == [("confirmed", 1)]
    box.get_by_role("link", name="申し込みのページを開く").click()
    page.wait_for_load_state("load")
    assert page.url == sent
    assert page.get_by_role("link", name="人数やアレルギーを変更する").is_visible()


def test_a_person_added_and_left_empty_is_asked_for_not_dropped(phone, live_server,
                                                                make_event):
    several = make_event(capacity=10)
    one = make_event(capacity=10, fees=[{"code": "all", "label": "どなたでも", "amount": 300}])
    several_id, one_id = several.id, one.id
    db.session.commit()
    page = phone
    form = open_form(page, live_server.url, several_id)
    count = form.locator("[data-party-count]")
    assert count.inner_text() == "1人で申し込みます。"
    form.locator("button[name=add_person]").click()
    assert count.inner_text() == "2人で申し込みます。"
    send(page)
    shot(page, "empty-row-several")
    form = page.locator("form.signup-form")
    assert form.locator("#attendees-1-category-error").inner_text() == "区分を選んでください。"
    assert form.locator("#attendees-1-category").get_attribute("aria-invalid") == "true"
    assert registrations(several_id) == []
    form.locator("select[name='attendees-1-category']").select_option("child")
    send(page)
    assert "/r/" in page.url and "2人の申し込みを受け付けました" in page.inner_text("body")
    assert registrations(several_id) == [("confirmed", 2)]

    # one category: the row added has it already, and the page says two people
    form = open_form(page, live_server.url, one_id, adult=False, given="陽")
    form.locator("button[name=add_person]").click()
    assert form.locator("[data-party-count]").inner_text() == "2人で申し込みます。"
    assert form.locator("legend").filter(has_text="参加する人").inner_text() == "参加する人（2人）"
    send(page)
    assert "2人の申し込みを受け付けました" in page.inner_text("body")
    assert registrations(one_id) == [("confirmed", 2)]


def test_a_party_larger_than_the_event_is_told_so_before_and_after(phone, live_server,
                                                                    make_event):
    event = make_event(capacity=3)
    event_id = event.id
    db.session.commit()
    page = phone
    form = open_form(page, live_server.url, event_id)
    too_large, short = form.locator("[data-too-large]"), form.locator("[data-seats-short]")
    for i in range(1, 4):
        form.locator("button[name=add_person]").click()
        form.locator(f"select[name='attendees-{i}-category']").select_option("child")
    # four people, three seats in all: not the waiting list, a refusal, said before sending
    assert too_large.is_visible() and not short.is_visible()
    assert "3人までにするか" in too_large.inner_text()
    send(page)
    shot(page, "too-large")
    assert axe_violations(page) == []
    form = page.locator("form.signup-form")
    error = form.locator("fieldset.party > #attendees-error")
    assert error.is_visible() and "全部で3席なので" in error.inner_text()
    assert form.locator("fieldset.party").get_attribute("aria-describedby") == "attendees-error"
    assert not form.locator("[data-too-large]").is_visible()  # said once, by the people
    assert registrations(event_id) == []
    form.locator("button[name=remove_person][value='3']").click()  # posts back
    page.wait_for_load_state("load")
    send(page)
    assert "/r/" in page.url
    assert registrations(event_id) == [("confirmed", 3)]


# ---------------------------------------------------------------------------------------
# Enter in a text box (a phone keyboard's Go key): the form is sent as its main button does


@pytest.fixture(params=[True, False], ids=["js", "no-js"])
def any_phone(request, browser):
    """A phone-sized page with JavaScript on, then off: the form must not depend on it."""
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                  has_touch=True, locale="ja-JP",
                                  java_script_enabled=request.param)
    yield context.new_page()
    context.close()


def press_enter(page, field) -> None:
    with page.expect_navigation():
        field.press("Enter")
    page.wait_for_load_state("load")


def test_enter_in_a_name_field_signs_up_everyone(any_phone, live_server, make_event):
    """Before: Enter pressed the first submit button, "remove person 1" (hidden while one
    person is on the form), so the sign-up lost its first person or the form came back."""
    event = make_event(capacity=10)
    event_id = event.id
    db.session.commit()
    page = any_phone
    form = open_form(page, live_server.url, event_id)
    form.locator("input[name='attendees-0-name']").fill("葵")
    form.locator("button[name=add_person]").click()  # without JavaScript, a round trip
    page.wait_for_load_state("load")
    form = page.locator("form.signup-form")
    assert form.locator("fieldset.person").count() == 2
    form.locator("select[name='attendees-1-category']").select_option("child")
    form.locator("input[name='attendees-1-name']").fill("陽")
    press_enter(page, form.locator("input[name='attendees-1-name']"))
    assert "/r/" in page.url and "2人の申し込みを受け付けました" in page.inner_text("body")
    db.session.remove()
    reg = db.session.scalar(sa.select(Registration).where(Registration.event_id == event_id))
    assert [(a.fee_category.code, a.name) for a in reg.active_attendees] == [
        ("adult", "葵"), ("child", "陽")]
    db.session.commit()


def test_enter_on_the_edit_page_saves_and_keeps_person_1(any_phone, live_server, make_event,
                                                         make_registration):
    event = make_event(capacity=10)
    reg, token = make_registration(event, people=("adult", "child"))
    reg_id, first = reg.id, reg.active_attendees[0].id
    db.session.commit()
    page = any_phone
    page.goto(f"{live_server.url}/r/{token}/edit")
    page.locator("#given_name").fill("花江")
    press_enter(page, page.locator("#given_name"))
    assert page.url.endswith(f"/r/{token}")
    assert "変更を保存しました" in page.locator(".flash-success").inner_text()
    db.session.remove()
    reg = db.session.get(Registration, reg_id)
    assert reg.given_name == "花江"
    assert [(a.id, a.fee_category.code) for a in reg.active_attendees][0] == (first, "adult")
    assert [a.fee_category.code for a in reg.active_attendees] == ["adult", "child"]
    db.session.commit()
