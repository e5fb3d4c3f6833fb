"""Public pages kept for a few seconds for visitors who are not logged in.

A rush of residents opening the same page (a link shared in the neighbourhood's LINE group)
should cost one rendering every PAGE_CACHE_SECONDS, not one per visitor. What is kept is
what every anonymous visitor would be shown alike; what belongs to one visitor (the form's
CSRF token and its idempotency key) is cut out before the page is kept and put back for
each visitor (``keep_page`` / ``fill_page``). Logged-in staff and pages that carry a message
("logged out") always get a fresh rendering.

Flask-Caching stores the pages: in each process by default, in Redis with
``CACHE_TYPE=RedisCache`` (then every app server shares them). A page asked for with
``replay_vary`` is also answered before Flask runs (gathering/replay.py) to visitors who
have no session yet: the slots are filled there for each of them (``new_visitor_fill``),
with a session cookie holding a CSRF secret of their own, as Flask and Flask-WTF make it.
"""

from __future__ import annotations

import secrets

from flask import current_app, request, session
from flask_wtf.csrf import generate_csrf
from itsdangerous import Serializer, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from gathering.accounts.session import is_logged_in
from gathering.extensions import cache
from gathering.i18n import current_lang
from gathering.replay import PerVisitor, replay_for
from gathering.security import new_token

#: where a kept page had this visitor's CSRF token and the sign-up's idempotency key
CSRF_SLOT = "\x00csrf-token\x00"
KEY_SLOT = "\x00request-key\x00"


def timeout() -> int:
    return current_app.config["PAGE_CACHE_SECONDS"]


def shareable() -> bool:
    """Whether this request may be answered with (and fill) the shared copy of a page."""
    return timeout() > 0 and not is_logged_in() and not session.get("_flashes")


def page_key(prefix: str = "page") -> str:
    """The page's key: its path and query (in any order) and the visitor's language."""
    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)) if k != "lang")
    return f"{prefix}:{current_lang()}:{request.host}{request.path}?{query}"


def keep_page(html: str, *, idempotency_key: str | None = None) -> str:
    """The page with this visitor's secrets replaced by slots, ready to be kept."""
    if idempotency_key:
        html = html.replace(idempotency_key, KEY_SLOT)
    if "csrf_token" in html:
        html = html.replace(generate_csrf(), CSRF_SLOT)
    return html


def fill_page(kept: str) -> str:
    """A kept page for this visitor: a CSRF token of their own session and a fresh key
    (so that two visitors never share a sign-up's idempotency key)."""
    if CSRF_SLOT in kept:
        kept = kept.replace(CSRF_SLOT, generate_csrf())
    if KEY_SLOT in kept:
        kept = kept.replace(KEY_SLOT, new_token())
    return kept


def cached_page(key: str, render, *, replay_vary: tuple[str, ...] | None = None) -> str:
    """The shared copy of a page when there is one, else ``render()`` kept for the next
    visitors. ``render`` returns ``(html, idempotency_key or None)``. With ``replay_vary``
    (what the page varies on, see replay.replay_for), the next visitors without a session
    are answered before Flask runs, each with secrets of their own."""
    kept = cache.get(key)
    if kept is None:
        html, idempotency_key = render()
        kept = keep_page(html, idempotency_key=idempotency_key)
        cache.set(key, kept, timeout=timeout())
    if replay_vary is not None:
        per_visitor = None
        if CSRF_SLOT in kept or KEY_SLOT in kept:
            fill, cookies = new_visitor_fill(current_app._get_current_object())
            per_visitor = PerVisitor(kept.encode(), fill, cookies)
        replay_for(timeout(), vary=replay_vary, anonymous=True, per_visitor=per_visitor)
    return fill_page(kept)


class _TokenSigner(URLSafeTimedSerializer):
    """Flask-WTF's signer of CSRF tokens, without its attempt at zlib: 40 hex digits never
    come out shorter, and the attempt costs as much as the signature (loads is unchanged)."""

    def dump_payload(self, obj) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


def new_visitor_fill(app):
    """``(fill, cookies)`` for replay.PerVisitor: ``fill(page, cookies)`` puts a visitor's
    secrets into a kept page's slots. A visitor without a session gets a new one holding a
    CSRF secret (its Set-Cookie comes with the page); one whose session holds nothing but
    that secret gets a token of it; any other session (a login, a message, a cart of form
    data) is left to Flask (None). The secret and its token are made as Flask-WTF's
    ``generate_csrf`` makes them, so that its ``validate_csrf`` takes the form back (tested
    end to end)."""
    made = app.extensions.get("tsudoi.new_visitor")
    if made is not None:
        return made
    interface = app.session_interface
    name = interface.get_cookie_name(app)
    field = app.config.get("WTF_CSRF_FIELD_NAME") or "csrf_token"
    anonymous_keys = {field, "_fresh"}  # Flask-Login marks an anonymous session not fresh
    signer = _TokenSigner(app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key,
                          salt="wtf-csrf-token")
    csrf_slot, key_slot = CSRF_SLOT.encode(), KEY_SLOT.encode()

    def fill(page: bytes, cookies: dict) -> tuple[bytes, list[tuple[str, str]]] | None:
        added = []
        if csrf_slot in page:
            held = cookies.get(name)
            if held:
                data = interface.read_cookie(app, held)
                if not data or not data.keys() <= anonymous_keys or not isinstance(
                        data.get(field), str):
                    return None
                secret = data[field]
            else:
                secret = secrets.token_hex(20)  # 40 hex digits, as Flask-WTF's own
                added.append(("Set-Cookie", interface.new_cookie(app, {field: secret})))
            page = page.replace(csrf_slot, signer.dumps(secret).encode())
        elif name in cookies:
            return None
        if key_slot in page:
            page = page.replace(key_slot, new_token().encode())
        return page, added

    made = app.extensions["tsudoi.new_visitor"] = (fill, frozenset({name}))
    return made
