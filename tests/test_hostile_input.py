"""Hostile or odd input on any route: a client's mistake or probe is a 4xx, never a 500."""

from __future__ import annotations

import re

import pytest

DEEP = '{"x":' + "[" * 1000 + "]" * 1000 + "}"


def _json_writes(app) -> list[tuple[str, str]]:
    """Every JSON route that reads a body, as (method, rule)."""
    return sorted((method, rule.rule) for rule in app.url_map.iter_rules()
                  if rule.rule.startswith("/api/")
                  for method in rule.methods & {"POST", "PUT", "PATCH"})


def test_deeply_nested_json_is_malformed_on_every_json_route(app, client, api_token, make_user,
                                                             make_registration):
    reg, _ = make_registration()
    headers = dict(api_token(make_user("admin")), **{"Content-Type": "application/json"})
    ids = {"event_id": reg.event_id, "registration_id": reg.id}
    routes = _json_writes(app)
    assert ("POST", "/api/v1/checkins") in routes
    assert ("POST", "/api/v1/events/<int:event_id>/registrations") in routes
    for method, rule in routes:
        url = re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids[m[1]]), rule)
        response = client.open(url, method=method, data=DEEP, headers=headers)
        assert response.status_code == 400, (method, url, response.get_data(as_text=True))
        assert response.get_json()["error"]["code"] == "malformed_json", (method, url)


def _lang_switch(page: str) -> str:
    return page.split('class="lang-switch"')[1].split('href="')[1].split('"')[0]


@pytest.mark.parametrize("url, plain", [
    ("/events/{id}?event_id={other}", "/events/{id}"),
    ("/events/999999?event_id={id}", "/events/999999"),
    ("/branches/hokkaido?slug=nowhere", "/branches/hokkaido"),
    ("/branches/nowhere?slug=hokkaido", "/branches/nowhere"),
    ("/r/anything?token=x", "/r/anything"),
    ("/calendar?branch=hokkaido&endpoint=x", "/calendar?branch=hokkaido"),
    # url_for's own keywords are no path arguments either
    ("/?_scheme=javascript&_external=1&_anchor=x&_method=POST", "/"),
])
def test_a_query_argument_named_like_a_path_argument_changes_nothing(client, make_branch,
                                                                     make_event, url, plain):
    branch = make_branch(slug="hokkaido")
    event = make_event(branch, title="ほっかいどう子ども食堂")
    other = make_event(title="よその集まり")
    url, plain = (u.format(id=event.id, other=other.id) for u in (url, plain))
    expected = client.get(plain)
    response = client.get(url)
    assert response.status_code == expected.status_code, url
    page = response.get_data(as_text=True)
    if "/events/" in url and expected.status_code == 200:
        assert "ほっかいどう子ども食堂" in page and "よその集まり" not in page
    # the language switch stays on the page the path names
    switch = _lang_switch(page)
    assert switch.split("?")[0] == plain.split("?")[0], switch
    assert "lang=en" in switch
    assert client.get(switch.replace("&amp;", "&")).status_code == expected.status_code


def test_no_page_changes_when_its_query_repeats_its_path_arguments(app, client, auth, make_user,
                                                                    make_registration):
    """Every GET route with path arguments, for an admin (organizer and door pages too)."""
    reg, token = make_registration()
    auth.login(make_user("admin"))
    values = {"event_id": reg.event_id, "registration_id": reg.id, "token": token,
              "manage_token": token, "slug": reg.event.branch.slug, "kind": "kids_cafeteria",
              "series_id": 1, "receipt_id": 1, "filename": "css/site.css"}
    checked = 0
    for rule in app.url_map.iter_rules():
        # a feed's ?kind= adds a kind to its path's (calendar/views.py): not a repetition
        if "GET" not in rule.methods or not rule.arguments or rule.endpoint == "calendar.feed_kind":
            continue
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m[1]]), rule.rule)
        repeated = url + "?" + "&".join(f"{name}=zz" for name in sorted(rule.arguments))
        assert client.get(repeated).status_code == client.get(url).status_code, repeated
        checked += 1
    assert checked > 20


def test_a_feed_with_an_unknown_extra_kind_is_404_not_500(client, make_event):
    make_event(kind="summit")
    # a feed's ?kind= adds to its path's kind (calendar/views.py): abc is an unknown kind
    assert client.get("/calendar/kinds/summit.ics?kind=abc").status_code == 404
    assert client.get("/calendar/kinds/summit.ics?kind=summit").status_code == 200


@pytest.mark.parametrize("path", ["/", "/branches/hokkaido"])
@pytest.mark.parametrize("month", ["0001-01", "9999-12", "1999-12", "2100-01",
                                   "99999999999999999999-01", "2026-99999999999999999999",
                                   "2026-13", "2026", "december", "2026-12-01-01"])
def test_a_month_out_of_range_or_unreadable_is_a_clear_400(client, make_branch, path, month):
    make_branch(slug="hokkaido")
    response = client.get(path, query_string={"month": month},
                          headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "Choose a month like 2026-12." in response.get_data(as_text=True)


def test_a_nul_character_in_any_json_text_is_refused_on_every_json_route(
        app, client, api_token, make_user, make_registration):
    # PostgreSQL cannot store it: without the check an idempotency key or nonce was a 500
    reg, _ = make_registration()
    headers = api_token(make_user("admin"))
    ids = {"event_id": reg.event_id, "registration_id": reg.id}
    for method, rule in _json_writes(app):
        url = re.sub(r"<(?:int:)?(\w+)>", lambda m: str(ids[m[1]]), rule)
        for body in ({"nonce": "a\x00b"}, {"attendees": [{"name": "\x00"}]}, {"k\x00": 1}):
            response = client.open(url, method=method, json=body, headers=headers)
            assert response.status_code == 400, (method, url, body)
            assert response.get_json()["error"]["code"] == "nul_character", (method, url)


@pytest.mark.parametrize("url", [
    "/api/v1/events?branch=%00", "/?kind=%00", "/events?q=a%00b", "/r/abc%00def",
    "/branches/hokkaido%00.ics",
])
def test_a_nul_character_in_a_path_or_query_is_a_400(client, make_branch, url):
    make_branch(slug="hokkaido")
    response = client.get(url)
    assert response.status_code == 400, url
    assert "NUL" in response.get_data(as_text=True)


def test_a_nul_character_in_a_sign_up_form_is_refused_and_nothing_is_stored(client,
                                                                            make_event):
    import sqlalchemy as sa

    from gathering.extensions import db
    from gathering.rsvp.models import Registration

    event = make_event(capacity=10)
    response = client.post(f"/events/{event.id}/signup", data={
        "family_name": "山田", "given_name": "花子", "phone": "090-1234-5678",
        "idempotency_key": "page\x00key", "attendees-0-category": "adult"})
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Registration.id))) == 0


def test_a_chunked_body_over_the_limit_is_too_large_not_malformed(app, client, make_event):
    import io
    import json

    event = make_event(capacity=10)
    body = json.dumps({"contact": {"family_name": "x" * app.config["MAX_CONTENT_LENGTH"]}})
    response = client.post(
        f"/api/v1/events/{event.id}/registrations", input_stream=io.BytesIO(body.encode()),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})  # as gunicorn says of chunked
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    small = client.post(
        f"/api/v1/events/{event.id}/registrations", input_stream=io.BytesIO(b'{"x": 1}'),
        headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True})
    assert small.status_code == 422  # read, and answered on its fields


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/events/2147483648/registrations"),  # was 405 "Allow: POST"
    ("POST", "/api/v1/events/2147483648/registrations"),
    ("GET", "/api/v1/events/99999999999"),
    ("GET", "/events/2147483648"),
])
def test_an_id_beyond_the_databases_integer_is_404(client, api_token, make_user, method,
                                                   path):
    response = client.open(path, method=method, json={},
                           headers=api_token(make_user("admin")))
    assert response.status_code == 404


def test_the_id_pattern_takes_exactly_the_databases_integers():
    import random

    from gathering import _up_to

    pattern = re.compile(_up_to(str(2**31 - 1)) + r"\Z")
    numbers = [0, 7, 10**9, 2**31 - 2, 2**31 - 1, 2**31, 2**31 + 9, 3 * 10**9, 10**10]
    numbers += [random.randrange(10**11) for _ in range(2000)]
    for n in numbers:
        assert bool(pattern.match(str(n))) == (n < 2**31), n
