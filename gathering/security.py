"""Secrets in links and QR codes: unguessable, stored hashed where we can, compared in
constant time; and the CSRF check of the forms behind such links."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from flask import current_app
from flask_wtf.csrf import CSRFError

from gathering.extensions import csrf


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token (24 bytes = 192 bits by default; never under 128)."""
    return secrets.token_urlsafe(max(nbytes, 16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)


def csrf_failed() -> bool:
    """True when the POST's CSRF token is missing or stale (its session is gone: the phone's
    browser restarted, the page was open for days). Views exempt from the global check call
    this where a failure can show the page again with what was sent, instead of a bare 400.
    On the pages behind a secret link the token in the URL is what grants access; the CSRF
    token only shows the POST came from our page, so asking to press again is safe."""
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return False
    try:
        csrf.protect()
    except CSRFError:
        return True
    return False
