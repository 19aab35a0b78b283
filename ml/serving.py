"""Serving: load the active model version and score with numpy/scipy only (never implicit).

Web workers hold one :class:`ModelHolder`. Its :meth:`ModelHolder.get` checks the registry's
``ACTIVE`` pointer at most every ``check_interval`` seconds (one ``stat``, plus a read of a tiny
file when it changed), loads and fully validates a new version *before* swapping the reference
(so requests never see half a version), and keeps serving the version it has when a new one is
broken. ``None`` means nothing loadable was ever published: callers fall back to their own
popularity query.

:class:`LoadedVersion` answers with external (string) ids and filters the caller's ``exclude``
set; it never pads short lists, so the web layer's fallback chain can tell "the model has no
evidence" from "the model says so".
"""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import scipy.sparse as sp

from ml.artifacts import (
    ACTIVE_FILE,
    ALSO_BOUGHT,
    COMPLEMENTS,
    IDS_FILE,
    POPULAR,
    RECOMMENDER,
    SIMILAR,
    USER_ITEMS_FILE,
    VERSION_PATTERN,
    ArtifactError,
    load_id_map,
    load_user_items,
    read_active,
    verify_version,
)
from ml.bounded_cache import BoundedCache
from ml.data.idmap import IdMap
from ml.models import load_model
from ml.models.base import Recommender

log = logging.getLogger(__name__)

ScoredItems = list[tuple[str, float]]
_NONE = np.empty(0, dtype=np.int64)


def _naive_utc(value: object) -> datetime | None:
    """A datetime or ISO string as a naive UTC datetime (the database's convention); None for
    anything else."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


NEIGHBOURS_KEPT = 64  # neighbours cached per item: a shelf's 10 plus over-fetch and exclusions
POPULAR_KEPT = 1024  # the trending ranking cached per version (a category shelf asks for 500)
_POPULAR_KEY = ("popular", -1)
NEIGHBOUR_CACHE_ITEMS = 4096  # items whose neighbours a worker keeps (x 3 roles: about 6 MB at most)
# Visitors whose row (training row + recent events) a worker keeps: a page asks for it twice, for
# the recommendations and for their reasons ("Because you viewed ..."), with the same events.
VISITOR_ROWS_KEPT = 64


class LoadedVersion:
    """One published version in memory: its manifest, id map, users' rows and models."""

    def __init__(
        self,
        version: str,
        manifest: dict[str, Any],
        id_map: IdMap,
        user_items: sp.csr_matrix,
        models: dict[str, Recommender],
    ) -> None:
        self.version = version
        self.manifest = manifest
        self.id_map = id_map
        self.user_items = user_items
        self.models = models
        self.event_weights = {str(k): float(v) for k, v in manifest["event_weights"].items()}
        # The training rows were decayed towards the latest training event; a recent event is
        # decayed the same way (events after training count fully), so rows and fold-in agree.
        half_life = (manifest.get("config") or {}).get("recency_half_life_days")
        self.half_life_days = float(half_life) if half_life else None
        self.trained_until = _naive_utc(manifest.get("trained_until"))
        # An item's neighbours (similar, also bought, complements) are the same for every visitor
        # of this version: computed once per (role, item) and kept, most recently used first.
        self._neighbours = BoundedCache(NEIGHBOUR_CACHE_ITEMS)
        self._visitor_rows = BoundedCache(VISITOR_ROWS_KEPT)

    @classmethod
    def load(cls, version_dir: str | os.PathLike[str]) -> "LoadedVersion":
        """Load and check everything (sha256, shapes, a trial scoring) or raise ArtifactError."""
        version_dir = Path(version_dir)
        manifest = verify_version(version_dir)
        try:
            id_map = load_id_map(version_dir / IDS_FILE)
            user_items = load_user_items(version_dir / USER_ITEMS_FILE)
            roles = manifest["roles"].items()
            models = {role: load_model(version_dir / name) for role, name in roles}
            loaded = cls(manifest["version"], manifest, id_map, user_items, models)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ArtifactError(f"{version_dir}: cannot load ({exc})") from exc
        loaded._check(version_dir.name)
        return loaded

    def _check(self, dir_name: str) -> None:
        problems = []
        if self.version != dir_name:
            problems.append(f"manifest names version {self.version}")
        if RECOMMENDER not in self.models:
            problems.append("no recommender model")
        if self.user_items.shape != (self.id_map.n_users, self.id_map.n_items):
            problems.append(f"user_items shape {self.user_items.shape} != id map")
        for role, model in self.models.items():
            if model.n_items != self.id_map.n_items:
                problems.append(f"{role} has {model.n_items} items, id map {self.id_map.n_items}")
            n_users = getattr(model, "n_users", None)
            if n_users is not None and n_users != self.id_map.n_users:
                problems.append(f"{role} has {n_users} users, id map has {self.id_map.n_users}")
        # negative weights are negative feedback (ml.data.interactions); only non-numbers are broken
        if any(not math.isfinite(w) for w in self.event_weights.values()):
            problems.append("invalid event weights")
        if problems:
            raise ArtifactError(f"{dir_name}: " + "; ".join(problems))
        if self.id_map.n_items:  # exercise scoring once; also warms fold-in caches
            positive = [t for t, w in self.event_weights.items() if w > 0][:1]
            try:
                self.recommend_for_user(None, [(self.id_map.item_ids[0], t) for t in positive], 1)
            except Exception as exc:
                raise ArtifactError(f"{dir_name}: trial scoring failed ({exc!r})") from exc

    # -- id translation -------------------------------------------------------------------------
    def _banned(self, exclude: Iterable[str]) -> np.ndarray:
        exclude = list(exclude)
        if not exclude:
            return np.empty(0, dtype=np.int64)
        indices = self.id_map.item_indices(exclude)
        return indices[indices >= 0]

    def _external(
        self, ids: np.ndarray, scores: np.ndarray, banned: np.ndarray, n: int
    ) -> ScoredItems:
        keep = ids >= 0
        if len(banned):  # np.isin's fixed cost is most of a short list's: only when there is a ban
            keep &= ~np.isin(ids, banned)
        ids, scores = ids[keep][:n], scores[keep][:n]
        return list(zip(self.id_map.item_ids[ids].tolist(), scores.astype(np.float64).tolist()))

    def visitor_arrays(
        self, user_id: str | None, recent_items: Sequence[tuple[str, str]]
    ) -> tuple[int, np.ndarray, np.ndarray, bool]:
        """(model row or -1, the visitor's columns (unique), their weights, whether there are new
        events): the user's training row (if known) plus their recent events weighted with the
        version's event weights; unknown items and event types are ignored. Read straight from
        the CSR arrays: a web request's model call builds no sparse matrix. Kept per (user, events)
        for the next call with the same ones (read-only arrays: callers share them)."""
        try:
            key = (user_id, tuple(recent_items))
            kept = self._visitor_rows.get(key)
        except TypeError:  # unhashable events (lists): computed every time
            key, kept = None, None
        if kept is not None:
            return kept
        row = self._visitor_row(user_id, recent_items)
        for array in row[1:3]:
            array.flags.writeable = False
        if key is not None:
            self._visitor_rows.put(key, row)
        return row

    def _visitor_row(
        self, user_id: str | None, recent_items: Sequence[tuple[str, str]]
    ) -> tuple[int, np.ndarray, np.ndarray, bool]:
        index = int(self.id_map.user_indices([user_id])[0]) if user_id is not None else -1
        if index >= 0:
            start, end = self.user_items.indptr[index], self.user_items.indptr[index + 1]
            columns = self.user_items.indices[start:end].astype(np.int64)
            values = self.user_items.data[start:end].astype(np.float32)
        else:
            columns, values = np.empty(0, np.int64), np.empty(0, np.float32)
        if not recent_items:
            return index, columns, values, False
        new_columns = self.id_map.item_indices([event[0] for event in recent_items])
        weights = np.array([self.event_weights.get(str(event[1]), 0.0) for event in recent_items], dtype=np.float32)
        if self.half_life_days and self.trained_until is not None:
            weights *= self._decay(recent_items)
        keep = (new_columns >= 0) & (weights != 0)
        if not keep.any():
            return index, columns, values, False
        merged, where = np.unique(np.concatenate([columns, new_columns[keep]]), return_inverse=True)
        totals = np.bincount(where, weights=np.concatenate([values, weights[keep]])).astype(np.float32)
        if (weights[keep] < 0).any():
            # as training builds rows: negative feedback (a cancel, a return) subtracts from the
            # pair, a pair at or below 0 is no interaction (ml.data.interactions.clip_negative)
            positive = totals > 0
            merged, totals = merged[positive], totals[positive]
        return index, merged, totals, True

    def _decay(self, recent_items: Sequence[tuple]) -> np.ndarray:
        """``0.5 ** (days before the end of training / half-life)`` per event (1 for an event
        after training or one given without a time)."""
        ages = np.zeros(len(recent_items))
        for position, event in enumerate(recent_items):
            when = _naive_utc(event[2]) if len(event) > 2 else None
            if when is not None:
                ages[position] = max((self.trained_until - when).total_seconds(), 0.0) / 86_400.0
        return np.power(0.5, ages / self.half_life_days).astype(np.float32)

    # -- scoring ----------------------------------------------------------------------------------
    def recommend_for_user(
        self,
        user_id: str | None,
        recent_items: Sequence[tuple[str, str]] = (),
        n: int = 10,
        exclude: Iterable[str] = (),
        *,
        filter_seen: bool = True,
    ) -> ScoredItems:
        """Top ``n`` (item id, score) for a visitor, best first.

        ``recent_items`` are (item id, event type) or (item id, event type, time) since training
        (a time lets a version trained with a recency half-life decay older events); with any, factor models
        fold the visitor in from their whole row (numpy solve), item-based models score from
        the row as always, popularity ignores it. ``filter_seen`` drops items in that row.
        An unknown visitor without usable events gets ``[]`` from a personalised champion.
        """
        index, columns, values, fresh = self.visitor_arrays(user_id, recent_items)
        banned = self._banned(exclude)
        ids, scores = self.models[RECOMMENDER].recommend_arrays(
            index, columns, values, N=n, filter_already_liked_items=filter_seen, filter_items=banned,
            recalculate_user=fresh,
        )
        return self._external(ids, scores, _NONE, n)  # the model applied the ban already

    def _item_to_item(self, role: str, item_id: str, n: int, exclude: Iterable[str]) -> ScoredItems:
        model = self.models.get(role)
        if model is None or not self.id_map.has_item(item_id) or n <= 0:
            return []
        banned = self._banned(exclude)
        wanted = n + len(banned)
        index = self.id_map.item_index(item_id)
        key = (role, index)
        cached = self._neighbours.get(key)
        if cached is None or (len(cached[0]) < wanted and cached[2] < wanted):
            # the top NEIGHBOURS_KEPT at least, so later calls with other exclusions reuse it
            asked = max(wanted, NEIGHBOURS_KEPT)
            ids, scores = model.similar_items(index, N=asked)
            cached = (ids, scores, asked)
            self._neighbours.put(key, cached)
        ids, scores, _asked = cached
        return self._external(ids, scores, banned, n)

    def similar_items(self, item_id: str, n: int = 10, exclude: Iterable[str] = ()) -> ScoredItems:
        """Items most like ``item_id`` (item-kNN); ``[]`` for an item unknown to this version."""
        return self._item_to_item(SIMILAR, item_id, n, exclude)

    def also_bought(self, item_id: str, n: int = 10, exclude: Iterable[str] = ()) -> ScoredItems:
        """Items bought together with ``item_id`` (basket lift); ``[]`` without evidence."""
        return self._item_to_item(ALSO_BOUGHT, item_id, n, exclude)

    def complements(self, item_id: str, n: int = 10, exclude: Iterable[str] = ()) -> ScoredItems:
        """"Frequently bought together": what goes with ``item_id`` (substitutes pushed down);
        ``[]`` without evidence or in a version published before the role existed."""
        return self._item_to_item(COMPLEMENTS, item_id, n, exclude)

    def basket_complements(self, item_ids: Sequence[str], n: int = 10, exclude: Iterable[str] = ()) -> ScoredItems:
        """What goes with every item of a basket (a cart) together, never one of them."""
        model = self.models.get(COMPLEMENTS)
        if model is None or n <= 0 or not hasattr(model, "basket_complements"):
            return []
        indices = self.id_map.item_indices(list(item_ids))
        banned = self._banned(exclude)
        ids, scores = model.basket_complements(indices[indices >= 0], N=n, filter_items=banned)
        return self._external(ids, scores, _NONE, n)  # the model applied the ban already

    def complement_categories(self, category: str, n: int = 5) -> list[str]:
        """The categories bought with ``category`` (a label of the items frame the version was
        trained with) more than their popularity explains; ``[]`` when unknown."""
        model = self.models.get(COMPLEMENTS)
        if model is None or not hasattr(model, "complement_categories"):
            return []
        return model.complement_categories(category, n)

    def popular(self, n: int = 10, exclude: Iterable[str] = ()) -> ScoredItems:
        """Trending items (time-decayed popularity at training time)."""
        model = self.models.get(POPULAR)
        if model is None or n <= 0:
            return []
        banned = self._banned(exclude)
        wanted = n + len(banned)
        cached = self._neighbours.get(_POPULAR_KEY)
        if cached is None or (len(cached[0]) < wanted and cached[2] < wanted):
            # the same ranking for every visitor of this version: computed once, long enough
            # for a category's trending shelf to find its items in it, and filtered per call
            asked = max(wanted, POPULAR_KEPT)
            empty = sp.csr_matrix((1, self.id_map.n_items), dtype=np.float32)
            ids, scores = model.recommend(0, empty, N=asked, filter_already_liked_items=False)
            cached = (ids, scores, asked)
            self._neighbours.put(_POPULAR_KEY, cached)
        ids, scores, _asked = cached
        return self._external(ids, scores, banned, n)


class ModelHolder:
    """The current :class:`LoadedVersion` of ``model_dir``, refreshed at most every
    ``check_interval`` seconds; thread-safe (one thread checks and loads, the others keep
    getting the current version meanwhile)."""

    def __init__(
        self,
        model_dir: str | os.PathLike[str],
        check_interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.model_dir = Path(model_dir)
        self.check_interval = float(check_interval)
        self._clock = clock
        self._current: LoadedVersion | None = None
        self._next_check = -math.inf
        # stat signature of ACTIVE when last read: os.replace gives every activation a new one,
        # so a broken version is tried once, not on every check, until ACTIVE changes again
        self._seen: tuple[int, int, int, int] | None = None
        self._lock = threading.Lock()

    @property
    def current(self) -> LoadedVersion | None:
        """The version loaded now, without checking anything."""
        return self._current

    def recheck(self) -> None:
        """Look at ``ACTIVE`` on the next :meth:`get`, whatever the interval (it was just rewritten)."""
        self._next_check = -math.inf

    def get(self) -> LoadedVersion | None:
        """The version to serve now (None: nothing loadable published). Until a first version
        is loaded, callers wait for a check in progress instead of getting None meanwhile."""
        blocking = self._current is None
        if self._clock() >= self._next_check and self._lock.acquire(blocking=blocking):
            try:
                if self._clock() >= self._next_check:
                    self._refresh()
                    self._next_check = self._clock() + self.check_interval
            finally:
                self._lock.release()
        return self._current

    def _refresh(self) -> None:
        try:
            stat = os.stat(self.model_dir / ACTIVE_FILE)
        except FileNotFoundError:
            return  # nothing published (or the pointer vanished): keep what we have
        except OSError:
            log.exception("cannot stat %s", self.model_dir / ACTIVE_FILE)
            return
        signature = (stat.st_ino, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size)
        if signature == self._seen:
            return
        self._seen = signature
        current = self._current.version if self._current else None
        try:
            name = read_active(self.model_dir)
            if name is None or name == current:
                return
            if not VERSION_PATTERN.match(name):
                raise ArtifactError(f"{ACTIVE_FILE} names no version: {name!r}")
            loaded = LoadedVersion.load(self.model_dir / name)
        except Exception:
            log.exception("cannot load the active model version; still serving %s", current)
            return
        self._current = loaded
        log.info("now serving model version %s (was %s)", name, current)
