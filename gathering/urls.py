"""Absolute links to our pages, for mail, QR codes, feeds and API answers.

They are built on ``PUBLIC_BASE_URL`` when it is set (production requires it), never on the
Host header of the request that caused them: a visitor can send any Host, and a manage link
mailed to another family must not point at the visitor's server.
"""

from __future__ import annotations

from flask import current_app, url_for


def external_url(endpoint: str, **values) -> str:
    """``url_for(endpoint, **values)`` as an absolute URL on PUBLIC_BASE_URL, or on the
    request's host where none is configured (development)."""
    base = current_app.config.get("PUBLIC_BASE_URL", "").rstrip("/")
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
