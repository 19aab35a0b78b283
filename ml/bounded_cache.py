"""A small thread-safe least-recently-used cache for what a serving process keeps per model
version (an item's neighbours, a visitor's row)."""
from __future__ import annotations

import threading
from collections import OrderedDict


class BoundedCache:
    """A thread-safe dict that forgets its least recently used entry beyond ``size``."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
