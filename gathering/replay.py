"""Public answers replayed before Flask runs, for the URLs everyone opens alike.

Calendar apps poll every public feed every few minutes, from every subscriber, and a link
to the upcoming gatherings shared in a neighbourhood chat is opened by hundreds of phones
at once; until an edit, the answer is the same for all of them. A view opts an answer in
with ``replay_for(seconds, vary=..., anonymous=...)``; this WSGI middleware then keeps the
answer exactly as it left the app (status, every header, the bytes) and answers the same
request from memory for that many seconds: a 304 when the client's ETag or date is
current, the kept bytes otherwise, without a request context, a session or a query.

What may be kept is narrow on purpose: GET answers with status 200 whose view opted in and
that set no cookie, or whose cookies the view's ``PerVisitor`` makes anew for each visitor
(a kept event page: every new visitor gets a session and a CSRF token of their own). They
are keyed by scheme, host, path, query string, whether the client takes gzip, and the
request headers or cookies the view named in ``vary`` (the language choice of a page).
``anonymous=True`` answers are only replayed to requests that carry no other cookie (but
those a ``PerVisitor`` reads, which may still hand the request to the app): a visitor with
a session (logged in, or a message waiting) always reaches the app. Each process keeps its
own copy, bounded in bytes, least recently used out first.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import NamedTuple

from flask import request
from werkzeug.http import (
    is_resource_modified,
    parse_accept_header,
    parse_cookie,
    parse_date,
    remove_entity_headers,
)

ENVIRON_KEY = "tsudoi.replay_seconds"


#: URLs whose replay rules are remembered (the answers themselves are bounded in bytes)
MAX_URLS = 10_000


class PerVisitor(NamedTuple):
    """How a kept answer is made each visitor's own when it is replayed.

    ``body`` is the answer with slots where its first visitor's secrets were;
    ``fill(body, cookies)`` gives this visitor's bytes and the headers to add to the kept
    ones (the Set-Cookie of a session of their own), or None when the app must answer this
    request itself. ``cookies`` names the cookies ``fill`` reads and makes: the app's own
    answer may have set them (an answer setting any other is not kept), and a request
    carrying them is still replayed to (``fill`` sees them)."""

    body: bytes
    fill: Callable[[bytes, dict], tuple[bytes, list[tuple[str, str]]] | None]
    cookies: frozenset[str]


def replay_for(seconds: int, *, vary: tuple[str, ...] = (), anonymous: bool = False,
               per_visitor: PerVisitor | None = None) -> None:
    """Let this request's answer be replayed for ``seconds`` (only if it is a 200 that sets
    no cookie but those of ``per_visitor``). The view promises that the answer depends on
    nothing but the URL, whether the client takes gzip, and ``vary``: request header names
    (``"Accept-Language"``) or ``"cookie:<name>"``. ``anonymous``: replay only to requests
    with no other cookie. ``per_visitor``: replay ``per_visitor.body``, filled anew for
    each request, instead of the answer's own bytes."""
    if seconds > 0:
        request.environ[ENVIRON_KEY] = (seconds, tuple(vary), anonymous, per_visitor)


def _vary_values(environ, vary: tuple[str, ...], cookies: dict | None) -> tuple:
    values = []
    for name in vary:
        if name.startswith("cookie:"):
            values.append((cookies or {}).get(name[7:], ""))
        else:
            values.append(environ.get("HTTP_" + name.upper().replace("-", "_"), ""))
    return tuple(values)


def _takes_gzip(environ) -> bool:
    accepted = parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING"))
    return accepted["gzip"] > 0


def _key(environ) -> str:
    return "|".join((environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""),
                     environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""),
                     environ.get("QUERY_STRING", ""), "gz" if _takes_gzip(environ) else ""))


def _cookie_name(set_cookie: str) -> str:
    return set_cookie.split("=", 1)[0].strip()


class _Kept:
    __slots__ = ("expires", "status", "headers", "body", "fill", "etag", "modified")

    def __init__(self, expires, status, headers, body, fill=None):
        self.expires = expires
        self.status = status
        self.headers = headers
        self.body = body
        self.fill = fill
        found = {name.lower(): value for name, value in headers}
        self.etag = (found.get("etag") or "").strip('"') or None
        self.modified = parse_date(found.get("last-modified"))


class _Rule:
    """How a URL's answers were kept: what they vary on, and whether only for visitors
    without cookies of their own."""

    __slots__ = ("vary", "anonymous", "allowed")

    def __init__(self, vary: tuple[str, ...], anonymous: bool, filled=frozenset()):
        self.vary = vary
        self.anonymous = anonymous
        #: the cookies an anonymous request may carry: those it varies on, those filled
        self.allowed = {v[7:] for v in vary if v.startswith("cookie:")} | filled


class ReplayMiddleware:
    """Wraps ``app.wsgi_app``: ``ReplayMiddleware(app.wsgi_app, max_bytes)``."""

    def __init__(self, wsgi_app, max_bytes: int):
        self.wsgi_app = wsgi_app
        self.max_bytes = max_bytes
        self._rules: dict[str, _Rule] = {}
        self._kept: OrderedDict[tuple, _Kept] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD") or self.max_bytes <= 0:
            return self.wsgi_app(environ, start_response)
        url = _key(environ)
        rule = self._rules.get(url)
        if rule is not None:
            key, cookies = self._variant(rule, url, environ)
            kept = self._get(key) if key is not None else None
            if kept is not None:
                answer = self._answer(kept, environ, cookies, start_response,
                                      head=method == "HEAD")
                if answer is not None:
                    return answer
        if method == "HEAD":
            return self.wsgi_app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return start_response(status, headers, exc_info)

        body = self.wsgi_app(environ, capture)
        opted = environ.get(ENVIRON_KEY)
        if not opted or not captured.get("status", "").startswith("200"):
            return body
        seconds, vary, anonymous, per_visitor = opted
        headers = list(captured["headers"])
        made = per_visitor.cookies if per_visitor else frozenset()
        if any(name.lower() == "set-cookie" and _cookie_name(value) not in made
               for name, value in headers):
            return body
        if per_visitor:  # its own cookies and length are added to each visitor's copy
            headers = [(name, value) for name, value in headers
                       if name.lower() not in ("set-cookie", "content-length")]
        rule = _Rule(vary, anonymous, made)
        key, _cookies = self._variant(rule, url, environ)
        if key is None:
            return body
        try:
            data = b"".join(body)
        finally:
            if hasattr(body, "close"):
                body.close()
        with self._lock:
            if len(self._rules) >= MAX_URLS and url not in self._rules:
                self._rules.clear()
            self._rules[url] = rule
        if per_visitor:
            kept = _Kept(time.monotonic() + seconds, captured["status"], headers,
                         per_visitor.body, per_visitor.fill)
        else:
            kept = _Kept(time.monotonic() + seconds, captured["status"], headers, data)
        self._put(key, kept)
        return [data]

    @staticmethod
    def _variant(rule: _Rule, url: str, environ) -> tuple[tuple | None, dict | None]:
        """The key of this request's variant (None when it may not be replayed) and the
        request's cookies (None when the rule needs none)."""
        cookies = None
        if rule.anonymous or rule.allowed:
            raw = environ.get("HTTP_COOKIE")
            cookies = parse_cookie(raw) if raw else {}
            if rule.anonymous and any(name not in rule.allowed for name in cookies):
                return None, cookies
        return (url, *_vary_values(environ, rule.vary, cookies)), cookies

    def _answer(self, kept: _Kept, environ, cookies, start_response, *, head: bool):
        """The kept answer for this request; None when its fill leaves it to the app."""
        if kept.fill is not None:  # never a 304: each visitor's copy is new
            filled = kept.fill(kept.body, cookies or {})
            if filled is None:
                return None
            body, added = filled
            start_response(kept.status, [*kept.headers, ("Content-Length", str(len(body))),
                                         *added])
            return [] if head else [body]
        if not is_resource_modified(environ, etag=kept.etag, last_modified=kept.modified):
            headers = list(kept.headers)
            remove_entity_headers(headers)  # as werkzeug's own 304 does
            start_response("304 NOT MODIFIED", headers)
            return []
        start_response(kept.status, kept.headers)
        return [] if head else [kept.body]

    def _get(self, key: tuple) -> _Kept | None:
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept.expires < time.monotonic():
                self._drop(key)
                return None
            self._kept.move_to_end(key)
            return kept

    def _put(self, key: tuple, kept: _Kept) -> None:
        if len(kept.body) > self.max_bytes:
            return
        with self._lock:
            if key in self._kept:
                self._drop(key)
            self._kept[key] = kept
            self._size += len(kept.body)
            while self._size > self.max_bytes:
                self._drop(next(iter(self._kept)))

    def _drop(self, key: tuple) -> None:
        self._size -= len(self._kept.pop(key).body)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._kept.clear()
            self._size = 0
