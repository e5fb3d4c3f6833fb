"""Rate limits of sign-ups, shared by the page form and the API (one budget for both).

Generous by default (mobile carriers put many phones behind one address); settings
RATELIMIT_SIGNUP_PER_IP and RATELIMIT_SIGNUP_PER_EVENT; RATELIMIT_ENABLED=false switches
them off (benchmarks)."""

from __future__ import annotations

from flask import current_app, request

from gathering.extensions import limiter


def _event_key() -> str:
    return f"event:{(request.view_args or {}).get('event_id')}"


def _form_post_back() -> bool:
    """"Add a person" and "remove" only re-render the form: they write nothing and do not
    count against the sign-up budget of everyone behind the same address."""
    return request.mimetype != "application/json" and (
        "add_person" in request.form or "remove_person" in request.form)


signup_per_ip = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_SIGNUP_PER_IP"], scope="signup-ip",
    exempt_when=_form_post_back)
signup_per_event = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_SIGNUP_PER_EVENT"], scope="signup-event",
    key_func=_event_key, exempt_when=_form_post_back)
#: only the POST that sends mail counts: reloading the form costs nobody their request
lost_link_per_ip = limiter.shared_limit(
    lambda: current_app.config["RATELIMIT_LOST_LINK"], scope="lost-link", methods=["POST"])
