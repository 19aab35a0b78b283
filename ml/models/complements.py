""""Frequently bought together" as complements: what goes *with* an item, not what replaces it.

Lift between items ("also bought") and view-similarity ("similar items") both reward substitutes:
a shopper compares three headphones in one visit and sometimes carts two. A merchandiser's
"frequently bought together" row holds the case, the cable, the stand. This model ranks the
partners ``j`` of an item ``i`` by how much more often ``j`` is in ``i``'s baskets than its
popularity explains, then pushes substitutes down.

**Evidence.** Baskets (orders, and the carts of visits that did not check out: see
:mod:`ml.training.baskets`), optionally with what each basket's visit viewed without carting at
``view_weight`` (the shopper who carts a laptop and then looks at a bag). ``co(i, j)`` sums
``j``'s weight over the baskets that hold ``i``; ``P(j)`` is ``j``'s mean weight per basket.

**Estimate.** ``P(j | i) = (co(i, j) + alpha * prior_i(j)) / (supp(i) + alpha)``: an item in few
baskets leans on its prior instead of on one or two coincidences. The prior is ``P(j)`` (chance)
unless the catalogue gives categories; then, for ``j`` in a *complement category* ``B`` of
``i``'s category ``A`` (baskets with an ``A`` item hold a ``B`` item more often than ``B``'s
popularity explains, in at least two baskets), it is ``P(B | A) x share(j)``: ``j``'s share of
the interest (``interest``, e.g. distinct users) in ``B``, mixed with its share among ``B``'s
items of ``i``'s brand by the brand affinity ``rho`` that the baskets show (how much more often
partners across categories share a brand than their shares explain). So an item never bought
yet still gets the accessories its category and brand are bought with.

**Score.** The added value ``P(j | i) - P(j)``, kept when positive ("more than popularity
explains"); unlike lift it does not crown a rare item seen once with ``i``. Then each pair is
multiplied by ``1 - substitute_penalty * s``, ``s`` in [0, 1] saying how much ``j`` looks like
a replacement for ``i``: 1 in the same (leaf) category; across known categories,
``cross_category_view_weight`` x view-similarity x price-similarity (complements are viewed
together too, so by default categories decide); without categories, view-similarity (the
"similar items" cosine, saturating at ``view_scale``) x price-similarity (a Gaussian of the log
price ratio, ``price_sigma``; 1 when a price is unknown).

The fitted state: each item's ``max_neighbours`` best complements (sparse items x items), each
item's category code and the category x category added value, which serving uses to fall back
to complement categories for a product the model has not seen. Numpy/scipy only.
"""

from __future__ import annotations

from typing import Mapping, Self, Sequence

import numpy as np
import scipy.sparse as sp

from ml.models.also_bought import keep_top_per_row
from ml.models.base import Recommender, top_n
from ml.models.item_knn import scaled_row_sum, sparse_scores

Labels = Sequence[str | None] | np.ndarray | None


def _binary(matrix: sp.spmatrix) -> sp.csr_matrix:
    result = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    result.eliminate_zeros()
    result.data[:] = 1.0
    return result


def _one_hot(codes: np.ndarray, n_groups: int) -> sp.csr_matrix:
    """items x groups indicator (an item with code -1 is in no group)."""
    known = np.flatnonzero(codes >= 0)
    return sp.csr_matrix((np.ones(len(known)), (known, codes[known])), shape=(len(codes), n_groups))


def _coo(rows: np.ndarray, cols: np.ndarray, values: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    return sp.csr_matrix((values, (rows, cols)), shape=shape)


class ComplementsRecommender(Recommender):
    """Item-to-item complements from baskets (see the module doc).

    ``fit(baskets)`` alone is association by added value; the keyword arguments add the views,
    the category/brand prior and the substitute demotion. :meth:`similar_items` answers an
    item's complements; ``recommend`` sums the complements of every item of a row (a cart: what
    goes with everything in it).
    """

    name = "complements"

    def __init__(
        self,
        alpha: float = 4.0,
        view_weight: float = 0.15,
        substitute_penalty: float = 0.9,
        price_sigma: float = 0.5,
        view_scale: float = 0.5,
        cross_category_view_weight: float = 0.0,
        complement_categories: int = 10,
        prior_neighbours: int = 100,
        max_neighbours: int = 50,
    ) -> None:
        if alpha < 0 or not 0 <= view_weight <= 1 or not 0 <= substitute_penalty <= 1:
            raise ValueError("alpha must be >= 0, view_weight and substitute_penalty in [0, 1]")
        if price_sigma <= 0 or view_scale <= 0 or min(complement_categories, prior_neighbours, max_neighbours) < 1:
            raise ValueError("price_sigma and view_scale must be > 0, the counts >= 1")
        super().__init__(
            alpha=float(alpha), view_weight=float(view_weight), substitute_penalty=float(substitute_penalty),
            price_sigma=float(price_sigma), view_scale=float(view_scale),
            cross_category_view_weight=float(cross_category_view_weight),
            complement_categories=int(complement_categories), prior_neighbours=int(prior_neighbours),
            max_neighbours=int(max_neighbours),
        )
        self.scores = sp.csr_matrix((0, 0), dtype=np.float32)
        self.item_category = np.empty(0, np.int64)
        self.category_labels = np.empty(0, dtype="<U1")
        self.category_scores = sp.csr_matrix((0, 0), dtype=np.float32)
        self.brand_affinity = 0.0  # rho of the last fit (for the record; not needed to serve)

    @property
    def n_items(self) -> int:
        return self.scores.shape[0]

    # -- fitting -----------------------------------------------------------------------------------
    def fit(
        self,
        user_items: sp.csr_matrix,
        *,
        viewed: sp.spmatrix | None = None,
        category: Labels = None,
        brand: Labels = None,
        price: Sequence[float] | np.ndarray | None = None,
        similarity: sp.spmatrix | None = None,
        interest: Sequence[float] | np.ndarray | None = None,
    ) -> Self:
        """``user_items``: baskets x items (any positive value = in the basket). The rest is
        optional, per item column: ``viewed`` (same rows: viewed in the basket's visit),
        ``category`` and ``brand`` labels (None or "" unknown), ``price`` (NaN unknown),
        ``similarity`` (items x items view-similarity) and ``interest`` (e.g. distinct users)."""
        carts = _binary(user_items)
        n_baskets, n_items = carts.shape
        context = carts
        if viewed is not None and self.params["view_weight"] > 0:
            context = carts.maximum(self.params["view_weight"] * _binary(viewed))
        cat_codes, labels = _codes(category, n_items)
        brand_codes, _ = _codes(brand, n_items)
        support = np.asarray(carts.sum(axis=0)).ravel()
        popularity = np.asarray(context.sum(axis=0)).ravel() / max(n_baskets, 1)
        co = sp.csr_matrix(carts.T @ context)
        co.setdiag(0)
        co.eliminate_zeros()
        share = _shares(interest, np.asarray(context.sum(axis=0)).ravel(), cat_codes, brand_codes)
        table, conditional = self._category_table(carts, context, cat_codes, len(labels))
        self.brand_affinity = _brand_affinity(sp.csr_matrix(carts.T @ carts), table, cat_codes, brand_codes,
                                              share[0])
        prior = self._prior(table, conditional, cat_codes, brand_codes, share, popularity)
        # P(j | i) - P(j) = (co + alpha * excess - supp * P(j)) / (supp + alpha), on the pairs
        # that have evidence or a prior (elsewhere it is <= 0)
        alpha = self.params["alpha"]
        coo = sp.csr_matrix(co + alpha * prior).tocoo()
        value = (coo.data - support[coo.row] * popularity[coo.col]) / (support[coo.row] + alpha)
        keep = (value > 0) & (coo.row != coo.col)
        rows, cols, value = coo.row[keep], coo.col[keep], value[keep]
        value = value * (1.0 - self.params["substitute_penalty"] * self._substitute(
            rows, cols, cat_codes, _prices(price, n_items), similarity))
        pairs = sp.coo_matrix((value, (rows, cols)), shape=(n_items, n_items))
        self._set_state(keep_top_per_row(pairs, self.params["max_neighbours"]), cat_codes, labels, table)
        return self

    def _category_table(self, carts: sp.csr_matrix, context: sp.csr_matrix, category: np.ndarray,
                        n_categories: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """(added value ``P(B | A) - P(B)``, the conditional ``P(B | A)``) over baskets, on the
        complement categories only: another category, at least two baskets, positive value."""
        empty = sp.csr_matrix((n_categories, n_categories))
        if n_categories == 0:
            return empty, empty
        groups = _one_hot(category, n_categories)
        has = _binary(carts @ groups)  # the basket holds an A item
        sees = _max_per_group(context, category, n_categories)  # B's weight in the basket
        support = np.asarray(has.sum(axis=0)).ravel()
        baseline = np.asarray(sees.sum(axis=0)).ravel() / max(carts.shape[0], 1)
        weighted, counted = (has.T @ sees).tocoo(), sp.csr_matrix(has.T @ _binary(sees))
        rows, cols = weighted.row, weighted.col
        if rows.size == 0:  # no basket holds two categories (e.g. views only): scipy's fancy
            return empty, empty  # indexing with empty arrays answers a sparse matrix, not an array
        conditional = weighted.data / support[rows]
        value = conditional - baseline[cols]
        keep = (rows != cols) & (np.asarray(counted[rows, cols]).ravel() >= 2) & (value > 0)
        shape = (n_categories, n_categories)
        table = keep_top_per_row(sp.coo_matrix((value[keep], (rows[keep], cols[keep])), shape=shape),
                                 self.params["complement_categories"])
        mask = sp.csr_matrix((np.ones(table.nnz), table.indices, table.indptr), shape=shape)
        return table, sp.csr_matrix(_coo(rows, cols, conditional, shape).multiply(mask))

    def _prior(self, table: sp.csr_matrix, conditional: sp.csr_matrix, category: np.ndarray,
               brand: np.ndarray, share: tuple[np.ndarray, np.ndarray], popularity: np.ndarray) -> sp.csr_matrix:
        """items x items: how much ``P(B | A) x share(j)`` exceeds ``P(j)``, per item's
        (category, brand) group, each group's best ``prior_neighbours`` (see the module doc)."""
        n_items = len(category)
        if table.nnz == 0:
            return sp.csr_matrix((n_items, n_items))
        n_brands = int(brand.max(initial=-1)) + 1
        keys = np.where(category >= 0, category * (n_brands + 1) + (brand + 1), -1)
        groups, group_of = np.unique(keys, return_inverse=True)
        group_of = np.where(keys >= 0, group_of.ravel(), -1)
        if groups[0] < 0:  # the unknown-category items form no group
            groups, group_of = groups[1:], np.where(group_of >= 0, group_of - 1, -1)
        group_cat, group_brand = groups // (n_brands + 1), groups % (n_brands + 1) - 1
        in_category, in_brand = share
        # (group, item) entries: P(B | A) of the group's category A for every item of B
        known = np.flatnonzero(category >= 0)
        members = _coo(category[known], known, np.ones(len(known)), (table.shape[0], n_items))
        entries = sp.csr_matrix(sp.csr_matrix(conditional[group_cat]) @ members).tocoo()
        rows, cols, given = entries.row, entries.col, entries.data
        same_brand = (group_brand[rows] >= 0) & (brand[cols] == group_brand[rows])
        rho = self.brand_affinity * _has_pairs(category, brand, group_brand[rows], category[cols])
        value = given * ((1 - rho) * in_category[cols] + rho * same_brand * in_brand[cols])
        excess = value - popularity[cols]
        good = excess > 0
        best = keep_top_per_row(sp.coo_matrix((excess[good], (rows[good], cols[good])),
                                              shape=(len(groups), n_items)), self.params["prior_neighbours"])
        return sp.csr_matrix(_one_hot(group_of, len(groups)) @ best)

    def _substitute(self, rows: np.ndarray, cols: np.ndarray, category: np.ndarray, prices: np.ndarray,
                    similarity: sp.spmatrix | None) -> np.ndarray:
        """How much each pair looks like two alternatives, in [0, 1] (see the module doc)."""
        p = self.params
        view = np.zeros(len(rows))
        if similarity is not None and len(rows):
            sim = sp.csr_matrix(similarity, dtype=np.float64)
            sim = sim.maximum(sim.T)  # kNN keeps each item's top K: either direction counts
            view = np.minimum(np.asarray(sim[rows, cols]).ravel() / p["view_scale"], 1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.log(prices[rows] / prices[cols])
        price = np.where(np.isfinite(ratio), np.exp(-0.5 * (ratio / p["price_sigma"]) ** 2), 1.0)
        known = (category[rows] >= 0) & (category[cols] >= 0)
        same = known & (category[rows] == category[cols])
        looks_alike = view * price
        return np.where(same, 1.0, np.where(known, p["cross_category_view_weight"] * looks_alike, looks_alike))

    def _set_state(self, scores: sp.spmatrix, item_category: np.ndarray, labels: np.ndarray,
                   category_scores: sp.spmatrix) -> None:
        scores = sp.csr_matrix(scores, dtype=np.float32)
        scores.eliminate_zeros()
        scores.sort_indices()
        self.scores = scores
        self.item_category = np.asarray(item_category, dtype=np.int64)
        self.category_labels = labels if len(labels) else np.empty(0, dtype="<U1")
        table = sp.csr_matrix(category_scores, dtype=np.float32)
        table.sort_indices()
        self.category_scores = table

    # -- scoring -----------------------------------------------------------------------------------
    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        return sparse_scores(_binary(user_items) @ self.scores)

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemid = self._check_item(itemid)
        return top_n(sparse_scores(self.scores[itemid])[0], N)

    def basket_complements(self, itemids: Sequence[int], N: int = 10,
                           filter_items: Sequence[int] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """What goes with a whole basket (a cart): each item's complements scaled to its best one,
        summed, so every line counts alike and what goes with several lines comes first; never
        an item of the basket or of ``filter_items``."""
        self._check_fitted()
        ids = np.asarray(itemids, dtype=np.int64).ravel()
        ids = np.unique(ids[(ids >= 0) & (ids < self.n_items)])
        if not len(ids):
            return np.empty(0, np.int64), np.empty(0, np.float32)
        candidates, totals = scaled_row_sum(self.scores, ids)
        keep = ~np.isin(candidates, ids)
        if filter_items is not None:
            keep &= ~np.isin(candidates, np.asarray(filter_items, dtype=np.int64).ravel())
        candidates, totals = candidates[keep], totals[keep]
        # candidates are sorted, so top_n's tie-break (the smaller position) is the smaller item id
        best_positions, best_scores = top_n(totals, N)
        return candidates[best_positions].astype(np.int64), best_scores

    def complement_categories(self, category: str, n: int = 5) -> list[str]:
        """The categories bought with ``category`` more than their popularity explains, best
        first (labels as given to ``fit``); ``[]`` for a category the model does not know."""
        found = np.flatnonzero(self.category_labels == str(category))
        if not len(found) or n <= 0:
            return []
        ids, _ = top_n(sparse_scores(self.category_scores[int(found[0])])[0], n)
        return [str(self.category_labels[i]) for i in ids]

    def category_of(self, itemid: int) -> str | None:
        """The category label the item was fitted with (None: unknown)."""
        code = int(self.item_category[self._check_item(itemid)]) if len(self.item_category) else -1
        return str(self.category_labels[code]) if code >= 0 else None

    # -- persistence -------------------------------------------------------------------------------
    def _get_arrays(self) -> dict[str, np.ndarray]:
        arrays = {}
        for prefix, m in (("scores", self.scores), ("category_scores", self.category_scores)):
            arrays.update({f"{prefix}_data": m.data, f"{prefix}_indices": m.indices,
                           f"{prefix}_indptr": m.indptr, f"{prefix}_shape": np.asarray(m.shape, np.int64)})
        return {**arrays, "item_category": self.item_category, "category_labels": self.category_labels}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        def matrix(prefix: str) -> sp.csr_matrix:
            return sp.csr_matrix(
                (arrays[f"{prefix}_data"], arrays[f"{prefix}_indices"], arrays[f"{prefix}_indptr"]),
                shape=tuple(int(n) for n in arrays[f"{prefix}_shape"]))
        self._set_state(matrix("scores"), arrays["item_category"], np.asarray(arrays["category_labels"]),
                        matrix("category_scores"))


def _max_per_group(context: sp.csr_matrix, category: np.ndarray, n_categories: int) -> sp.csr_matrix:
    """baskets x categories: the largest weight of the category's items in the basket."""
    coo = context.tocoo()
    cats = category[coo.col]
    known = cats >= 0
    frame = sp.coo_matrix((coo.data[known], (coo.row[known], cats[known])), shape=(context.shape[0], n_categories))
    # duplicates are summed by tocsr(): take the max instead, via the sorted maximum trick
    order = np.lexsort((frame.data, frame.col, frame.row))
    r, c, d = frame.row[order], frame.col[order], frame.data[order]
    last = np.ones(len(r), bool)
    last[:-1] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    return _coo(r[last], c[last], d[last], frame.shape)


def _shares(interest: Sequence[float] | np.ndarray | None, fallback: np.ndarray, category: np.ndarray,
            brand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each item's share of the interest in its category, and among its category's items of its
    brand (0 where unknown). Half a unit of interest each keeps unseen items possible."""
    raw = np.asarray(interest, dtype=np.float64).ravel() if interest is not None else fallback
    weight = np.maximum(np.nan_to_num(raw), 0.0) + 0.5  # net-negative interest (returns) is no interest
    if len(weight) != len(category):
        raise ValueError(f"got {len(weight)} interest values for {len(category)} items")
    known = category >= 0
    in_category = np.zeros(len(category))
    totals = np.bincount(category[known], weights=weight[known])
    in_category[known] = weight[known] / totals[category[known]]
    in_brand = np.zeros(len(category))
    both = known & (brand >= 0)
    if both.any():
        keys = category[both] * (int(brand.max()) + 1) + brand[both]
        _, where = np.unique(keys, return_inverse=True)
        in_brand[both] = weight[both] / np.bincount(where.ravel(), weights=weight[both])[where.ravel()]
    return in_category, in_brand


def _brand_affinity(co: sp.csr_matrix, table: sp.csr_matrix, category: np.ndarray, brand: np.ndarray,
                    in_category: np.ndarray) -> float:
    """How much more often items bought together from complement categories share a brand than
    chance, in [0, 1]: ``(observed - expected) / (1 - expected)`` of the same-brand share of the
    pairs in ``co`` (baskets in common), the expectation being the anchor brand's share of the
    interest in the partner's category."""
    coo = co.tocoo()
    i, j, w = coo.row, coo.col, coo.data
    ok = (category[i] >= 0) & (category[j] >= 0) & (brand[i] >= 0) & (brand[j] >= 0)
    if table.nnz and ok.any():  # complement categories only
        ok[ok] = np.asarray(table[category[i[ok]], category[j[ok]]]).ravel() > 0
    else:
        return 0.0
    if not ok.any() or w[ok].sum() <= 0:
        return 0.0
    i, j, w = i[ok], j[ok], w[ok]
    n_brands = int(brand.max()) + 1
    known = (category >= 0) & (brand >= 0)
    # the anchor brand's share of the interest in the partner's category
    brand_share = np.bincount(category[known] * n_brands + brand[known], weights=in_category[known],
                              minlength=(int(category.max()) + 1) * n_brands)
    expected_each = brand_share[category[j] * n_brands + brand[i]]
    observed = np.average(brand[i] == brand[j], weights=w)
    expected = np.average(expected_each, weights=w)
    return float(np.clip((observed - expected) / (1 - expected), 0.0, 1.0)) if expected < 1 else 0.0


def _has_pairs(category: np.ndarray, brand: np.ndarray, brands: np.ndarray, categories: np.ndarray) -> np.ndarray:
    """Whether the catalogue has an item of each (category, brand) pair (brand -1: never)."""
    n_brands = int(brand.max(initial=-1)) + 2
    present = np.unique(category[category >= 0] * n_brands + brand[category >= 0] + 1)
    return (brands >= 0) & np.isin(categories * n_brands + brands + 1, present)


def _codes(labels: Labels, n_items: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes per item (-1 unknown) and the sorted distinct labels (unicode array)."""
    if labels is None:
        return np.full(n_items, -1, np.int64), np.empty(0, dtype="<U1")
    values = np.array(["" if v is None or v != v else str(v) for v in labels], dtype=str)
    if len(values) != n_items:
        raise ValueError(f"got {len(values)} item labels for {n_items} items")
    distinct, codes = np.unique(values, return_inverse=True)
    codes = codes.ravel().astype(np.int64)
    if len(distinct) and distinct[0] == "":  # "" sorts first: the unknown label
        codes -= 1
        distinct = distinct[1:]
    return codes, distinct


def _prices(price: Sequence[float] | np.ndarray | None, n_items: int) -> np.ndarray:
    if price is None:
        return np.full(n_items, np.nan)
    values = np.asarray(price, dtype=np.float64).ravel()
    if len(values) != n_items:
        raise ValueError(f"got {len(values)} prices for {n_items} items")
    return np.where(values > 0, values, np.nan)  # a zero or negative price says nothing
