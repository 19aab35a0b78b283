"""LightGCN (He et al. 2020): graph propagation over the user-item graph, trained with BPR.

Training (torch, see :class:`ml.models.torch_modules.LightGCNModule`): the symmetric normalised
adjacency ``A_hat = D^-1/2 A D^-1/2`` of the bipartite graph ``A = [[0, R], [R^T, 0]]`` (``R`` the
0/1 users x items matrix without the validation interactions), ``K`` propagations of the ego
embeddings, the mean of the ``K + 1`` layers as final embedding, BPR on the final embeddings and
L2 on the batch's ego embeddings.

Serving (numpy): scores are dot products of the exported final embeddings. A user unknown to
the graph (or with new events) is folded in by running the propagation rule for one more node:
with the trained item layers fixed, the new user's layer ``k + 1`` is
``sum_{i in I_u} E_k[i] / sqrt(d_u d_i)``, so the final embedding is
``(0 + sum_{k<K} sum_i E_k[i] / sqrt(d_u d_i)) / (K + 1)``. The ego embedding is taken as 0, the
mean of its L2 (Gaussian) prior, because it was never trained; adding the node does not change
the items' degrees (first order). That is the model's own forward pass, not a new estimator, so
it needs no hyper-parameter, is deterministic, and costs ``|I_u| x factors`` per visitor; the
items' summed layers ``sum_{k<K} E_k`` are exported once for it.
"""

from __future__ import annotations

from typing import Any, Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.bpr_mf import untrained_rows
from ml.models.deep_settings import REPORT_KEY, TrainReport, TrainSettings
from ml.models.factorization import FactorizationRecommender

#: From sweeps on the demo shop's time holdout: NDCG@10 0.189-0.193 for 1-3 layers, 64 or 128
#: factors, regularisation 1e-4 or 1e-3, initial std 0.01 or 0.1 at learning rate 0.01; 0.197
#: at 0.005. Large batches make epochs cheaper (one propagation of the whole graph per batch).
_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.005,
    "regularization": 1e-3,
    "batch_size": 4096,
    "epochs": 200,
}


def normalized_adjacency(user_items: sp.spmatrix) -> sp.csr_matrix:
    """``D^-1/2 A D^-1/2`` of the bipartite graph of a 0/1 users x items matrix.

    Nodes are the users (first) and then the items; isolated nodes keep an all-zero row (their
    degree is 0, and ``0^-1/2`` is taken as 0 rather than inf).
    """
    r = sp.csr_matrix(user_items, dtype=np.float64)
    r.data = (r.data > 0).astype(np.float64)
    r.eliminate_zeros()
    adjacency = sp.bmat([[None, r], [r.T, None]], format="csr")
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    scale = np.zeros_like(degree)
    scale[degree > 0] = degree[degree > 0] ** -0.5
    diag = sp.diags(scale)
    return sp.csr_matrix(diag @ adjacency @ diag, dtype=np.float32)


class LightGCNRecommender(FactorizationRecommender):
    """LightGCN with ``factors``-dimensional embeddings and ``n_layers`` propagations.

    ``init_std`` is the standard deviation of the initial ego embeddings. The training knobs are
    those of :class:`~ml.models.deep_settings.TrainSettings` (keyword arguments).
    """

    name = "lightgcn"

    def __init__(
        self, factors: int = 64, n_layers: int = 2, init_std: float = 0.1, **training: Any
    ) -> None:
        if int(n_layers) < 1:
            raise ValueError("n_layers must be >= 1")
        settings = TrainSettings.build(_DEFAULTS, training)
        super().__init__(
            factors=int(factors), n_layers=int(n_layers), init_std=float(init_std),
            **settings.to_params(),
        )
        self.item_layer_sum = np.empty((0, 0), dtype=np.float32)
        self.item_degree = np.empty(0, dtype=np.float32)
        self.training_report = TrainReport()

    def fit(self, user_items: sp.csr_matrix) -> Self:
        import torch

        from ml.models import torch_common
        from ml.models.torch_modules import LightGCNModule, normal

        settings = TrainSettings.from_params(self.params)
        n_users, n_items = user_items.shape
        d, n_layers = self.params["factors"], self.params["n_layers"]
        with torch_common.torch_session(settings) as rng:
            fit, sampler, validation = torch_common.prepare_training(user_items, settings, rng)
            ego = normal(rng, (n_users + n_items, d), self.params["init_std"])
            module = LightGCNModule(ego, normalized_adjacency(fit), n_users, n_layers)
            self.training_report = torch_common.train_ranking_model(
                module, sampler, validation, settings, self.name
            )
            with torch.no_grad():
                layers = [layer.numpy() for layer in module.layers()]
        self.set_layers(layers, fit)
        return self

    def set_layers(self, layers: list[np.ndarray], graph: sp.csr_matrix) -> None:
        """Export the propagated embeddings ``[E_0 .. E_K]`` (users, then items) of ``graph``.

        Keeps the final embeddings for scoring, and for fold-in the items' ``sum_{k<K} E_k``
        and degrees. Users without an edge get a zero vector (no recommendations).
        """
        n_users = graph.shape[0]
        final = np.mean(layers, axis=0)
        users = final[:n_users].copy()
        users[untrained_rows(graph)] = 0.0
        self.item_layer_sum = np.sum([layer[n_users:] for layer in layers[:-1]], axis=0)
        self.item_degree = np.diff(sp.csc_matrix(graph > 0).indptr).astype(np.float32)
        self._set_factors(users, final[n_users:])

    def fold_in(self, user_row: sp.csr_matrix) -> np.ndarray:
        """The propagation rule for a new node with the row's items as edges (module doc)."""
        row = sp.csr_matrix(user_row)
        items = np.unique(row.indices[row.data > 0])
        items = items[self.item_degree[items] > 0]  # items without edges carry no signal
        if items.size == 0:
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        weights = 1.0 / np.sqrt(items.size * self.item_degree[items].astype(np.float64))
        user = weights @ self.item_layer_sum[items].astype(np.float64)
        return (user / (self.params["n_layers"] + 1)).astype(np.float32)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {
            **super()._get_arrays(),
            "item_layer_sum": self.item_layer_sum,
            "item_degree": self.item_degree,
            REPORT_KEY: self.training_report.to_array(),
        }

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.item_layer_sum = np.ascontiguousarray(arrays["item_layer_sum"], dtype=np.float32)
        self.item_degree = np.asarray(arrays["item_degree"], dtype=np.float32)
        self.training_report = TrainReport.from_array(arrays.get(REPORT_KEY))
