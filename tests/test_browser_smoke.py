import pytest

pytestmark = pytest.mark.browser


def test_home_page_renders_in_chromium(live_server, phone, make_event):
    make_event(title="あさひかわ子ども食堂")
    phone.goto(live_server.url + "/")
    assert phone.locator(".event-card .title").first.inner_text() == "あさひかわ子ども食堂"
