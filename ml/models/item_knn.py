"""Item-based nearest neighbours (cosine or BM25 weighted), similarity from implicit.

The model is a sparse item x item matrix ``S`` holding each item's ``K`` nearest neighbours; a
user's score for item ``j`` is ``sum_i r_ui * S[i, j]`` over the items ``i`` of the user's row.
Because the score comes straight from the row, new users and fresh events need no fold-in, which
makes this the natural "customers also viewed" and "based on your history" model.
"""

from __future__ import annotations

from typing import Literal, Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, top_n


def sparse_scores(product: sp.spmatrix) -> np.ndarray:
    """Densify a users x items score matrix, ``-inf`` where no stored entry (no evidence)."""
    product = sp.csr_matrix(product)
    dense = np.full(product.shape, -np.inf, dtype=np.float64)
    coo = product.tocoo()
    dense[coo.row, coo.col] = coo.data
    return dense


def scaled_row_sum(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The columns stored in any of ``rows`` (sorted) and the sum over those rows of each row
    scaled to its largest value (1), so every row counts alike; a row whose largest value is not
    positive adds 0. Straight from the CSR arrays: scipy's slicing, row maxima, diagonal product
    and CSC conversion cost ~1 ms of fixed overhead for a handful of rows (a cart, per page)."""
    indptr, indices, data = matrix.indptr, matrix.indices, matrix.data
    columns, values = [], []
    for start, end in zip(indptr[rows], indptr[np.asarray(rows) + 1]):
        if end > start:
            row = data[start:end].astype(np.float64)
            best = row.max()
            columns.append(indices[start:end])
            values.append(row / best if best > 0 else np.zeros_like(row))
    if not columns:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    found, where = np.unique(np.concatenate(columns), return_inverse=True)
    return found, np.bincount(where, weights=np.concatenate(values), minlength=len(found))


class ItemKNNRecommender(Recommender):
    """Item-item kNN: ``similarity="cosine"`` or ``"bm25"`` (down-weights heavy users).

    ``K`` is the number of neighbours kept per item, not counting the item itself (whose
    self-similarity is removed, so unfiltered recommendations and :meth:`similar_items` are
    driven by neighbours only).
    """

    name = "item_knn"

    def __init__(
        self,
        similarity: Literal["cosine", "bm25"] = "cosine",
        K: int = 50,
        K1: float = 1.2,
        B: float = 0.75,
        num_threads: int = 0,
    ) -> None:
        if similarity not in ("cosine", "bm25"):
            raise ValueError("similarity must be 'cosine' or 'bm25'")
        super().__init__(
            similarity=similarity, K=int(K), K1=float(K1), B=float(B), num_threads=int(num_threads)
        )
        self.similarity = sp.csr_matrix((0, 0), dtype=np.float32)

    @property
    def n_items(self) -> int:
        return self.similarity.shape[0]

    def fit(self, user_items: sp.csr_matrix) -> Self:
        # Weight as implicit's CosineRecommender / BM25Recommender do, but hand the neighbour
        # search a CSR matrix (their own fit passes COO and triggers a conversion warning).
        from implicit.nearest_neighbours import ItemItemRecommender, bm25_weight, normalize

        p = self.params
        counts = sp.csr_matrix(user_items, dtype=np.float32)
        if p["similarity"] == "bm25":
            weighted = bm25_weight(counts.T, p["K1"], p["B"]).T
        else:
            weighted = normalize(counts.T).T
        knn = ItemItemRecommender(K=p["K"] + 1, num_threads=p["num_threads"])
        knn.fit(sp.csr_matrix(weighted, dtype=np.float64), show_progress=False)
        similarity = sp.csr_matrix(knn.similarity, dtype=np.float32)
        similarity.setdiag(0)
        self._set_similarity(similarity)
        return self

    def _set_similarity(self, similarity: sp.csr_matrix) -> None:
        similarity.eliminate_zeros()
        similarity.sort_indices()
        self.similarity = similarity

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        return sparse_scores(sp.csr_matrix(user_items, dtype=np.float32) @ self.similarity)

    def contributions(self, columns, values, items):
        # a score is row @ S: item j of the row adds value_j * S[j, i] to item i
        block = self.similarity[np.asarray(columns, dtype=np.int64)][:, np.asarray(items, dtype=np.int64)]
        return (block.toarray().astype(np.float64) * np.asarray(values, dtype=np.float64)[:, None]).T

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        itemid = self._check_item(itemid)
        return top_n(sparse_scores(self.similarity[itemid])[0], N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        s = self.similarity
        return {
            "similarity_data": s.data,
            "similarity_indices": s.indices,
            "similarity_indptr": s.indptr,
            "similarity_shape": np.asarray(s.shape, dtype=np.int64),
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self._set_similarity(
            sp.csr_matrix(
                (
                    arrays["similarity_data"],
                    arrays["similarity_indices"],
                    arrays["similarity_indptr"],
                ),
                shape=tuple(int(n) for n in arrays["similarity_shape"]),
            )
        )
