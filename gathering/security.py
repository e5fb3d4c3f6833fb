"""Secrets in links and QR codes: unguessable, stored hashed where we can, compared in
constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets


def new_token(nbytes: int = 24) -> str:
    """A URL-safe random token (24 bytes = 192 bits by default; never under 128)."""
    return secrets.token_urlsafe(max(nbytes, 16))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    """Whether ``token`` hashes to ``stored_hash``, in constant time."""
    return hmac.compare_digest(token_hash(token), stored_hash)
