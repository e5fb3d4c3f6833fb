"""Built feeds kept in memory by version, so that a busy feed is built once per change.

Building a feed of a thousand events with ``icalendar`` takes a second or two; fetching it
again while nothing changed should cost one aggregate query, and after one edit only the
edited VEVENT should be built again (the others' bytes are kept too). Each app process keeps its own
cache (bounded in bytes, least recently used out first); nothing is shared or persisted,
so a restart or a new worker simply builds again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from flask import current_app

EXTENSION_KEY = "tsudoi_feed_cache"


class FeedCache:
    """A least-recently-used map of feed bytes by ETag, at most ``max_bytes`` in all."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: str) -> bytes | None:
        with self._lock:
            body = self._items.get(key)
            if body is not None:
                self._items.move_to_end(key)
            return body

    def put(self, key: str, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= len(old)
            self._items[key] = body
            self._size += len(body)
            while self._size > self.max_bytes:
                _, dropped = self._items.popitem(last=False)
                self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._items)


def feed_cache(part: str = "feeds") -> FeedCache:
    """This app's cache of whole feeds (``"feeds"``), of the same gzip-compressed
    (``"gzip"``) or of single VEVENTs (``"vevents"``),
    FEED_CACHE_MB megabytes each; 0 turns caching off."""
    key = f"{EXTENSION_KEY}.{part}"
    cache = current_app.extensions.get(key)
    if cache is None:
        size = current_app.config.get("FEED_CACHE_MB", 64) * 1024 * 1024
        cache = current_app.extensions.setdefault(key, FeedCache(size))
    return cache
