"""Node sync: keep a web node's local cache (``MODEL_DIR``) in step with the store and the pointer.

Each worker's :class:`SyncedHolder` wraps its ``ml.serving.ModelHolder``. At most every
``MODEL_CHECK_INTERVAL`` seconds (the same interval as the holder's own check) one request reads
the pointer (:func:`~storefront.modelstore.pointer.read_pointer`, one tiny query). When it names
a version missing from the cache, or a running experiment's challenger is missing, the version is
fetched (verified, renamed into ``<MODEL_DIR>/<version>/``), then the local ``ACTIVE`` file is
rewritten atomically (``ml.registry.write_atomic``) and the holder told to look at once. So
``ModelHolder``, the extras and the experiments keep reading the local folder exactly as in the
embedded case. The cache is pruned after a fetch (``MODEL_VERSIONS_KEPT``, never the active
version nor a challenger).

A worker already serving a version fetches the next one in a background thread (the request that
noticed goes on); a worker with nothing to serve yet fetches inline, like the holder's first load.
The workers of one node share the cache: a file lock lets one of them download while the others
wait and then find the version there. A version that fails to fetch (a checksum mismatch, the
store unreachable) is retried after :data:`RETRY_FAILED_SECONDS`, not on every check.
"""
from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from ml.artifacts import ACTIVE_FILE, read_active
from ml.registry import ModelRegistry, write_atomic
from storefront.modelstore.base import ModelStore, check_version, fetch_lock
from storefront.modelstore.pointer import read_pointer

log = logging.getLogger(__name__)

RETRY_FAILED_SECONDS = 300.0


class NodeSync:
    """One per app (worker): the pointer check, fetching into the local cache, pruning it."""

    def __init__(self, store: ModelStore, engine: Engine, model_dir: str | Path, check_interval: float,
                 keep: int, background: bool = True, clock: Callable[[], float] = time.monotonic) -> None:
        self.store, self.engine = store, engine
        self.model_dir = Path(model_dir)
        self.check_interval, self.keep, self.background = float(check_interval), int(keep), background
        self._clock = clock
        self._next_check = -math.inf
        self._failed: dict[str, float] = {}  # version -> when it may be tried again
        self._lock = threading.Lock()  # one check (and its fetches) at a time per worker
        self.last_error: str | None = None

    def ensure(self, version: str) -> Path:
        """``<MODEL_DIR>/<version>``, fetched from the store first when the cache lacks it."""
        target = self.model_dir / check_version(version)
        if target.is_dir():
            return target
        with fetch_lock(self.model_dir):
            if not target.is_dir():  # a neighbouring worker may have fetched it while we waited
                started = time.monotonic()
                self.store.fetch(version, self.model_dir)
                log.info("fetched model version %s from the %s store in %.2f s", version, self.store.name,
                         time.monotonic() - started)
        return target

    def check(self, challengers: Collection[str] = (), blocking: bool = False,
              on_switch: Callable[[], Any] = lambda: None) -> bool:
        """Read the pointer if the interval has passed; fetch what is missing and point the local
        ``ACTIVE`` at the pointer's version. Returns whether a check ran (or was started).
        ``blocking``: wait for a check in progress and fetch inline (nothing is served yet)."""
        if self._clock() < self._next_check:
            return False
        if not self._lock.acquire(blocking=blocking):
            return False
        handed_over = False
        try:
            if self._clock() < self._next_check:
                return False
            self._next_check = self._clock() + self.check_interval
            try:
                pointer = read_pointer(self.engine)
            except Exception as error:  # the database is down: keep serving the cache
                self._note_error(f"cannot read the model pointer: {error}")
                return True
            active = pointer.version if pointer is not None else None
            missing = [v for v in dict.fromkeys([active, *sorted(challengers)])
                       if v and not (self.model_dir / v).is_dir() and self._may_try(v)]
            if missing and self.background and not blocking:
                thread = threading.Thread(target=self._apply_and_release, args=(active, missing, set(challengers),
                                                                                on_switch),
                                          name="model-store-sync", daemon=True)
                thread.start()
                handed_over = True
                return True
            self._apply(active, missing, set(challengers), on_switch)
            return True
        finally:
            if not handed_over:
                self._lock.release()

    def check_now(self, challengers: Collection[str] = ()) -> None:
        """One check at once, whatever the interval, fetching inline (``flask modelstore sync``)."""
        self._next_check = -math.inf
        self._failed.clear()
        self.last_error = None
        self.check(challengers, blocking=True)

    def _apply_and_release(self, *args: Any) -> None:
        try:
            self._apply(*args)
        finally:
            self._lock.release()

    def _apply(self, active: str | None, missing: list[str], challengers: set[str],
               on_switch: Callable[[], Any]) -> None:
        fetched = []
        for version in missing:
            try:
                self.ensure(version)
                fetched.append(version)
                self._failed.pop(version, None)
            except Exception as error:
                self._failed[version] = self._clock() + RETRY_FAILED_SECONDS
                log.exception("cannot fetch model version %s; keeping what this node serves", version)
                self.last_error = f"cannot fetch {version}: {error}"
        if active and (self.model_dir / active).is_dir() and read_active(self.model_dir) != active:
            try:
                write_atomic(self.model_dir / ACTIVE_FILE, active + "\n")
            except OSError as error:
                self._note_error(f"cannot write {ACTIVE_FILE}: {error}")
                return
            log.info("local model cache now points at %s", active)
            on_switch()
        if fetched:
            self.prune(protect={*challengers, *([active] if active else [])})

    def prune(self, protect: Collection[str] = ()) -> list[str]:
        try:
            return ModelRegistry(self.model_dir).prune(keep=self.keep, protect=protect)
        except OSError:  # e.g. a neighbouring worker pruned the same directory at the same time
            log.warning("pruning the local model cache failed", exc_info=True)
            return []

    def _may_try(self, version: str) -> bool:
        retry_at = self._failed.get(version)
        return retry_at is None or self._clock() >= retry_at

    def _note_error(self, message: str) -> None:
        if message != self.last_error:
            log.error("%s", message)
        self.last_error = message


class SyncedHolder:
    """A ``ModelHolder`` whose ``get`` first gives the node sync its chance (same interface)."""

    def __init__(self, holder: Any, node: NodeSync, challengers: Callable[[], Collection[str]] = tuple) -> None:
        self.holder, self.node, self._challengers = holder, node, challengers

    def get(self):
        try:
            names = self._challengers()
        except Exception:  # no app context, or the experiments unknown: the active version alone
            names = ()
        try:
            self.node.check(names, blocking=self.holder.current is None, on_switch=self.holder.recheck)
        except Exception:  # the last line of defence: serving goes on from the cache
            log.exception("model store sync failed")
        return self.holder.get()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.holder, name)
