""""Suggested next" assets for one visitor, from a loaded (or freshly trained) asset run.

Scoring uses numpy and scipy only (no implicit, no torch), so web workers stay small. The
visitor's row is what training saw for them plus the submissions they made since (folded in
with the run's type weights and strength scale). Business rule, enforced here and not left to
the models: an asset the visitor already submitted is never suggested, whether it is in the
training data, in ``recent_assets`` or in the caller's ``exclude``.
"""

from __future__ import annotations

import logging
from typing import Iterable, Protocol, Sequence

import numpy as np
import scipy.sparse as sp

from ml.data.idmap import IdMap
from ml.models.base import Recommender
from ml.resources.interactions import scale_strength

log = logging.getLogger(__name__)

#: Weight used for a recent submission whose type the run does not know (logged).
UNKNOWN_TYPE_WEIGHT = 1.0

#: ``(asset id, gated asset type, form submissions)``, as in the export.
RecentAsset = tuple[str, str, int]


class ServesAssets(Protocol):
    """What :func:`suggest_next` needs: :class:`~ml.resources.result.LoadedAssets` or
    :class:`~ml.resources.result.AssetResult` both have it."""

    model: Recommender
    popular: Recommender
    id_map: IdMap
    user_items: sp.csr_matrix

    @property
    def type_weights(self) -> dict[str, float]: ...

    @property
    def scale(self) -> str: ...


def _recent_row(
    loaded: ServesAssets, recent_assets: Sequence[RecentAsset]
) -> tuple[sp.csr_matrix, set[str]]:
    """Scaled 1 x n_items row of the recent submissions, and every recent asset id."""
    weights = loaded.type_weights
    strength = np.zeros(loaded.id_map.n_items, dtype=np.float64)
    seen: set[str] = set()
    for asset_id, asset_type, submissions in recent_assets:
        seen.add(str(asset_id))
        column = loaded.id_map.item_indices([str(asset_id)])[0]
        if column < 0:
            continue  # an asset published after training: excluded, but cannot be scored
        weight = weights.get(str(asset_type))
        if weight is None:
            log.warning("unknown asset type %r; weighting it %.1f", asset_type, UNKNOWN_TYPE_WEIGHT)
            weight = UNKNOWN_TYPE_WEIGHT
        strength[column] += weight * max(int(submissions), 1)
    return scale_strength(sp.csr_matrix(strength), loaded.scale), seen


def _visitor_row(loaded: ServesAssets, user: int, recent: sp.csr_matrix) -> sp.csr_matrix:
    """Training row (already scaled) merged with the recent row, keeping the larger value.

    The maximum rather than the sum, so a caller passing a visitor's running totals (which
    include what training already counted) does not count those submissions twice.
    """
    if user < 0:
        return sp.csr_matrix(recent)
    return sp.csr_matrix(loaded.user_items[user]).maximum(recent)


def suggest_next(
    loaded: ServesAssets,
    visitor_id: str,
    recent_assets: Sequence[RecentAsset] = (),
    n: int = 10,
    exclude: Iterable[str] = (),
) -> list[str]:
    """Up to ``n`` asset ids to suggest next to ``visitor_id``, best first.

    ``recent_assets`` are the visitor's submissions since training, or their totals (per asset,
    the larger of the trained and the recent strength counts), or all of them for a visitor
    training never saw. The champion ranks first; when it has too little evidence
    (an unknown visitor with no submissions, an item model with no neighbours), global
    popularity fills the list. Never returned: assets in the visitor's training row, in
    ``recent_assets`` or in ``exclude``. Fewer than ``n`` come back only when the catalogue
    is exhausted.
    """
    if n <= 0:
        return []
    id_map = loaded.id_map
    user = id_map.user_indices([str(visitor_id)])[0]
    recent, recent_ids = _recent_row(loaded, recent_assets)
    row = _visitor_row(loaded, int(user), recent)
    banned_ids = set(map(str, exclude)) | recent_ids
    banned = id_map.item_indices(sorted(banned_ids)) if banned_ids else np.empty(0, np.int64)
    banned = np.union1d(banned[banned >= 0], row.indices).astype(np.int64)
    chosen: list[int] = []
    if row.nnz or 0 <= user < loaded.user_items.shape[0]:
        userid = int(user) if user >= 0 else id_map.n_users
        ids, _ = loaded.model.recommend(
            userid, row, N=n, filter_already_liked_items=True, filter_items=banned,
            recalculate_user=bool(len(recent_assets)) or user < 0,
        )
        chosen = [int(i) for i in ids]
    if len(chosen) < n:
        ids, _ = loaded.popular.recommend(
            0, row, N=n - len(chosen), filter_already_liked_items=True,
            filter_items=np.union1d(banned, np.asarray(chosen, dtype=np.int64)),
        )
        chosen += [int(i) for i in ids]
    return [str(id_map.item_ids[i]) for i in chosen]
