"""The session cookie, and whether a request can belong to a logged-in user at all.

Every request opens and saves the session, and most public requests only need to know that
nobody is logged in: both are done here without the per-request work Flask and Flask-Login
would otherwise repeat (building the cookie signer, loading the user, hashing the client's
address for session protection).
"""

from __future__ import annotations

import hmac
import re

from flask import current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from flask_login.config import COOKIE_NAME as REMEMBER_COOKIE_NAME
from itsdangerous import BadSignature
from werkzeug.http import dump_cookie

from gathering.extensions import db


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with its signer built once per secret key, not once
    per request (about a tenth of a bare request's time each)."""

    def __init__(self) -> None:
        self._signer = None
        self._signer_keys = None

    def get_signing_serializer(self, app):
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        if keys != self._signer_keys:
            self._signer = super().get_signing_serializer(app)
            self._signer_keys = keys
        return self._signer

    def read_cookie(self, app, value: str) -> dict | None:
        """What a session cookie's value holds, as ``open_session`` reads it; None when
        this app did not sign it (or it is older than a session lives)."""
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            return self.get_signing_serializer(app).loads(value, max_age=max_age)
        except BadSignature:
            return None

    def new_cookie(self, app, data: dict) -> str:
        """The Set-Cookie value that ``save_session`` sends for a new session holding
        ``data``, made without a request or a response (a kept page handed to a new
        visitor, gathering/pagecache.py): the same cookie, attribute for attribute (tested
        against Flask's own), at a third of the cost."""
        session = self.session_class(data)
        return dump_cookie(
            self.get_cookie_name(app), self.get_signing_serializer(app).dumps(dict(session)),
            expires=self.get_expiration_time(app, session), path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app), secure=self.get_cookie_secure(app),
            httponly=self.get_cookie_httponly(app), samesite=self.get_cookie_samesite(app),
            partitioned=self.get_cookie_partitioned(app), max_size=app.config["MAX_COOKIE_SIZE"])


def is_logged_in() -> bool:
    """Whether a user is logged in on this request; cheap when the request carries neither
    a login in its session nor a "keep me logged in" cookie (every anonymous visitor)."""
    if "_login_user" not in g:
        cookie = current_app.config.get("REMEMBER_COOKIE_NAME", REMEMBER_COOKIE_NAME)
        if "_user_id" not in session and cookie not in request.cookies:
            return False
    return bool(current_user.is_authenticated)


#: what User.get_id() makes: a database id (up to PostgreSQL's integer) and a fingerprint
_LOGIN_ID_RE = re.compile(r"([1-9][0-9]{0,9}):([0-9a-f]{16})")
_MAX_ID = 2**31 - 1


def load_user(login_id: str):
    """Flask-Login's user loader: the active user whose ``get_id()`` is ``login_id``, or
    None (logged out). An id whose password fingerprint no longer matches (the password
    was set since that login), of an inactive account, or in any other shape (an id of
    before the fingerprint) is refused, never an error."""
    from gathering.accounts.models import User

    match = _LOGIN_ID_RE.fullmatch(login_id or "")
    if match is None or int(match[1]) > _MAX_ID:
        return None
    user = db.session.get(User, int(match[1]))
    if user is None or not user.is_active:
        return None
    if not hmac.compare_digest(user.login_fingerprint, match[2]):
        return None
    return user
