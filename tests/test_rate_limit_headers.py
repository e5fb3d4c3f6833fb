"""X-RateLimit-* headers where a route has several limits: they report the one nearest to
refusing the caller (gathering.extensions.Limiter), and Retry-After comes only with a 429."""

from __future__ import annotations

import time

import pytest

from gathering.extensions import db

SIGNUP = {
    "contact": {"family_name": "山田", "given_name": "花子", "family_name_kana": "やまだ",
                "given_name_kana": "はなこ", "phone": "090-1234-5678",
                "email": "hanako@example.jp"},
    "attendees": [{"category": "adult", "name": "", "allergens": [], "diets": [], "note": ""}],
    "consent": True, "message": "",
}


def _headers(response) -> tuple[int, int, int]:
    """(limit, remaining, seconds until reset) as the response states them."""
    h = response.headers
    return (int(h["X-RateLimit-Limit"]), int(h["X-RateLimit-Remaining"]),
            int(h["X-RateLimit-Reset"]) - int(time.time()))


@pytest.fixture
def signups(make_app, make_event):
    """signups(**settings) → post(address) signing up for one event from that address."""

    def _make(**settings):
        app = make_app(RATELIMIT_ENABLED=True, **settings)
        path = f"/api/v1/events/{make_event(capacity=100).id}/registrations"
        db.session.rollback()  # no transaction of ours in the way of the app's requests
        client = app.test_client()

        families = iter(range(1000))

        def post(address: str = "203.0.113.1"):
            # each post another family: the same party signs up for an event only once
            n = next(families)
            body = {**SIGNUP, "contact": {**SIGNUP["contact"], "phone": f"080-0000-{n:04d}",
                                          "email": f"family{n}@example.jp"}}
            return client.post(path, json=body, environ_base={"REMOTE_ADDR": address})

        return post

    return _make


def test_the_callers_address_limit_is_reported_when_it_is_the_tightest(signups):
    # before: the per-event limit (declared first) was reported, 1 left, then a 429
    post = signups(RATELIMIT_SIGNUP_PER_IP="3 per minute",
                   RATELIMIT_SIGNUP_PER_EVENT="4 per minute")
    answers = [post() for _ in range(4)]
    assert [r.status_code for r in answers] == [201, 201, 201, 429]
    assert [_headers(r)[:2] for r in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]


def test_the_events_limit_is_reported_when_others_used_it_up(signups):
    post = signups(RATELIMIT_SIGNUP_PER_IP="5 per minute",
                   RATELIMIT_SIGNUP_PER_EVENT="3 per minute")
    assert _headers(post("203.0.113.2"))[:2] == (3, 2)
    assert _headers(post("203.0.113.3"))[:2] == (3, 1)
    last = post("203.0.113.1")  # this address has 4 of its own left, the event none
    assert last.status_code == 201 and _headers(last)[:2] == (3, 0)
    assert post("203.0.113.1").status_code == 429


def test_an_hourly_limit_nearer_than_the_minute_one_is_reported(signups):
    post = signups(RATELIMIT_SIGNUP_PER_IP="5 per minute;2 per hour",
                   RATELIMIT_SIGNUP_PER_EVENT="100 per minute")
    first = post()
    limit, remaining, reset_in = _headers(first)
    assert (limit, remaining) == (2, 1) and 60 < reset_in <= 3601
    refused = [post(), post()][-1]
    assert refused.status_code == 429 and _headers(refused)[:2] == (2, 0)
    assert 60 < int(refused.headers["Retry-After"]) <= 3601


def test_a_refusal_waits_for_every_window_it_used_up(signups):
    # five a minute and five an hour, all spent: after the minute the hour still refuses
    post = signups(RATELIMIT_SIGNUP_PER_IP="5 per minute;5 per hour",
                   RATELIMIT_SIGNUP_PER_EVENT="100 per minute")
    answers = [post() for _ in range(6)]
    assert [r.status_code for r in answers] == [201] * 5 + [429]
    assert int(answers[-1].headers["Retry-After"]) > 61


def test_equal_remaining_reports_the_limit_that_frees_up_last(signups):
    post = signups(RATELIMIT_SIGNUP_PER_IP="2 per minute;2 per hour",
                   RATELIMIT_SIGNUP_PER_EVENT="100 per minute")
    limit, remaining, reset_in = _headers(post())
    assert (limit, remaining) == (2, 1) and reset_in > 60  # the hour, not the minute


def test_retry_after_comes_only_with_a_refusal(signups):
    post = signups(RATELIMIT_SIGNUP_PER_IP="1 per minute",
                   RATELIMIT_SIGNUP_PER_EVENT="5 per minute")
    admitted = post()
    assert admitted.status_code == 201 and "Retry-After" not in admitted.headers
    refused = post()
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert _headers(refused)[:2] == (1, 0) and 0 < int(refused.headers["Retry-After"]) <= 61


def test_the_sign_up_page_form_reports_the_same_budget(make_app, make_event):
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_SIGNUP_PER_IP="2 per minute",
                   RATELIMIT_SIGNUP_PER_EVENT="50 per minute", WTF_CSRF_ENABLED=False)
    event_id = make_event(capacity=100).id
    db.session.rollback()
    client = app.test_client()
    client.post(f"/api/v1/events/{event_id}/registrations", json=SIGNUP)
    page = client.post(f"/events/{event_id}/signup", data={})  # invalid: shown again
    assert _headers(page)[:2] == (2, 0) and "Retry-After" not in page.headers


def test_a_login_limit_of_two_windows_reports_the_nearer(make_app, make_user):
    email = make_user("organizer").email
    db.session.rollback()
    client = make_app(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN="10 per minute;2 per hour"
                      ).test_client()
    r = client.post("/login", data={"email": email, "password": "wrong"})
    assert _headers(r)[:2] == (2, 1) and "Retry-After" not in r.headers


def test_a_single_limit_is_reported_as_before(make_app, make_branch, make_user, make_event,
                                              api_token):
    branch = make_branch()
    app = make_app(RATELIMIT_ENABLED=True, RATELIMIT_CHECKIN="3 per minute")
    headers = api_token(make_user("volunteer", branches=[branch]))
    event_id = make_event(branch).id
    db.session.commit()
    client = app.test_client()
    answers = [client.post("/api/v1/checkins", json={"token": "x" * 20, "event_id": event_id},
                           headers=headers) for _ in range(4)]
    assert [r.status_code for r in answers] == [404, 404, 404, 429]
    assert [_headers(r)[:2] for r in answers] == [(3, 2), (3, 1), (3, 0), (3, 0)]
    assert "Retry-After" not in answers[0].headers and "Retry-After" in answers[-1].headers
