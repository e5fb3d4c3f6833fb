"""Public pages kept for a few seconds for visitors who are not logged in.

A rush of residents opening the same page (a link shared in the neighbourhood's LINE group)
should cost one rendering every PAGE_CACHE_SECONDS, not one per visitor. What is kept is
what every anonymous visitor would be shown alike; what belongs to one visitor (the form's
CSRF token and its idempotency key) is cut out before the page is kept and put back for
each visitor (``keep_page`` / ``fill_page``). Logged-in staff and pages that carry a message
("logged out") always get a fresh rendering.

Flask-Caching stores the pages: in each process by default, in Redis with
``CACHE_TYPE=RedisCache`` (then every app server shares them).
"""

from __future__ import annotations

from flask import current_app, request, session
from flask_wtf.csrf import generate_csrf

from gathering.accounts.session import is_logged_in
from gathering.extensions import cache
from gathering.i18n import current_lang
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


def cached_page(key: str, render) -> str:
    """The shared copy of a page when there is one, else ``render()`` kept for the next
    visitors. ``render`` returns ``(html, idempotency_key or None)``."""
    kept = cache.get(key)
    if kept is None:
        html, idempotency_key = render()
        kept = keep_page(html, idempotency_key=idempotency_key)
        cache.set(key, kept, timeout=timeout())
    return fill_page(kept)
