"""Locale choice: ?lang= first, then the lang cookie, then Accept-Language; Japanese by default."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, g, has_request_context, request
from flask_babel import force_locale

LANG_COOKIE = "lang"


def select_locale() -> str:
    if not has_request_context():  # CLI, cron, mail and feeds built outside a request
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    supported = current_app.config["LANGUAGES"]
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in supported:
            return candidate
    if request.path.startswith("/api/"):
        # The API answers Japanese unless English is asked for (API.md).
        return request.accept_languages.best_match(supported, default="ja")
    return request.accept_languages.best_match(supported, default="ja")


def remember_locale(response):
    """Keep a ?lang= choice in a cookie so the next page is in the same language."""
    if b"lang=" not in request.query_string:
        return response
    chosen = request.args.get("lang")
    if chosen in current_app.config["LANGUAGES"] and request.cookies.get(LANG_COOKIE) != chosen:
        response.set_cookie(
            LANG_COOKIE, chosen, max_age=365 * 24 * 3600, samesite="Lax", httponly=True
        )
    return response


def current_lang() -> str:
    """"ja" or "en" for this request: the locale Flask-Babel chose or was forced to, else
    our own choice (without building a babel Locale, a fifth of a cached page's time)."""
    cached = g.get("_lang")
    if cached is None:
        # chosen already, or forced by flask_babel.force_locale (a mail in the language of
        # the sign-up): Flask-Babel keeps it on g._flask_babel
        locale = getattr(g.get("_flask_babel"), "babel_locale", None)
        chosen = str(locale) if locale is not None else select_locale()
        cached = g._lang = "en" if chosen.startswith("en") else "ja"
    return cached


@contextmanager
def speaking(lang: str):
    """Render in ``lang`` for a while (a mail to someone who signed up in it): Flask-Babel's
    force_locale, with current_lang() (dates, yen) following it, then back."""
    saved = g.pop("_lang", None)
    try:
        with force_locale(lang):
            yield
    finally:
        g.pop("_lang", None)
        if saved is not None:
            g._lang = saved
