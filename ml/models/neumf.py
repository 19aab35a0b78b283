"""Neural collaborative filtering, NeuMF (He et al. 2017), trained with BPR in torch.

A GMF tower (element-wise product of user and item embeddings) and an MLP tower (ReLU layers
over the concatenated user and item embeddings of its own) are fused by a linear output layer.
The paper trains it with log loss on sampled negatives; here the loss is BPR on (liked,
sampled) pairs like the other deep models, because the model is selected and used as a ranker
(NDCG@k), and one loss keeps the three comparable and lets fold-in solve the same objective.

All weights are exported as numpy arrays; scoring and fold-in are numpy
(:mod:`ml.models.neumf_numpy`), so serving never imports torch.
"""

from __future__ import annotations

from typing import Any, Mapping, Self, Sequence

import numpy as np
import scipy.sparse as sp

from ml.models.base import Recommender, cosine_neighbours
from ml.models.bpr_mf import untrained_rows
from ml.models.deep_settings import REPORT_KEY, TrainReport, TrainSettings
from ml.models.neumf_numpy import NeuMFWeights

#: From sweeps on the demo shop's time holdout (NDCG@10): a wide GMF tower and a narrow MLP
#: did best (0.17 for 64 + 16/(16,), 0.14-0.16 for 32 + 32/(32, 16) and 32 + 64/(64, 32)), as
#: Rendle et al. (2020) found: the dot product carries most of the signal.
_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.003,
    "regularization": 0.02,
    "batch_size": 2048,
    "epochs": 100,
}


class NeuMFRecommender(Recommender):
    """NeuMF with ``gmf_factors`` + ``mlp_factors`` embeddings and ReLU ``mlp_layers``.

    ``init_std`` is the standard deviation of the initial embeddings (MLP weights use He
    initialisation). The training knobs are those of
    :class:`~ml.models.deep_settings.TrainSettings` (keyword arguments). A user without
    training data, or scored with ``recalculate_user=True``, is folded in from their row.
    """

    name = "neumf"

    def __init__(
        self,
        gmf_factors: int = 64,
        mlp_factors: int = 16,
        mlp_layers: Sequence[int] = (16,),
        init_std: float = 0.1,
        **training: Any,
    ) -> None:
        layers = [int(width) for width in mlp_layers]
        if not layers or min(layers) < 1 or int(gmf_factors) < 1 or int(mlp_factors) < 1:
            raise ValueError("factors and mlp_layers must be positive (and mlp_layers non-empty)")
        settings = TrainSettings.build(_DEFAULTS, training)
        super().__init__(
            gmf_factors=int(gmf_factors), mlp_factors=int(mlp_factors), mlp_layers=layers,
            init_std=float(init_std), **settings.to_params(),
        )
        self.weights: NeuMFWeights | None = None
        self.training_report = TrainReport()

    @property
    def n_items(self) -> int:
        return 0 if self.weights is None else len(self.weights.gmf_items)

    @property
    def n_users(self) -> int:
        return 0 if self.weights is None else len(self.weights.gmf_users)

    def _initial_weights(self, rng: np.random.Generator, n_users: int, n_items: int):
        from ml.models.torch_modules import normal

        p, std = self.params, self.params["init_std"]
        embeddings = [
            normal(rng, (n, d), std)
            for n, d in ((n_users, p["gmf_factors"]), (n_items, p["gmf_factors"]),
                         (n_users, p["mlp_factors"]), (n_items, p["mlp_factors"]))
        ]
        layers, fan_in = [], 2 * p["mlp_factors"]
        for width in p["mlp_layers"]:
            layers.append((normal(rng, (width, fan_in), (2.0 / fan_in) ** 0.5),
                           np.zeros(width, np.float32)))
            fan_in = width
        fan_in += p["gmf_factors"]
        predict = (normal(rng, (fan_in,), fan_in**-0.5), np.zeros(1, np.float32))
        return embeddings, layers, predict

    def fit(self, user_items: sp.csr_matrix) -> Self:
        from ml.models import torch_common
        from ml.models.torch_modules import NeuMFModule

        settings = TrainSettings.from_params(self.params)
        n_users, n_items = user_items.shape
        with torch_common.torch_session(settings) as rng:
            _, sampler, validation = torch_common.prepare_training(user_items, settings, rng)
            embeddings, layers, predict = self._initial_weights(rng, n_users, n_items)
            module = NeuMFModule(*embeddings, layers, predict)
            self.training_report = torch_common.train_ranking_model(
                module, sampler, validation, settings, self.name
            )
            arrays = {key: value.detach().numpy().copy() for key, value in {
                "gmf_users": module.gmf_users, "gmf_items": module.gmf_items,
                "mlp_users": module.mlp_users, "mlp_items": module.mlp_items,
                "predict_weight": module.predict_weight, "predict_bias": module.predict_bias,
            }.items()}
            for k, (weight, bias) in enumerate(zip(module.weights, module.biases)):
                arrays[f"mlp_weight_{k}"] = weight.detach().numpy().copy()
                arrays[f"mlp_bias_{k}"] = bias.detach().numpy().copy()
        arrays["user_trained"] = ~untrained_rows(user_items)
        self.weights = NeuMFWeights(arrays)
        return self

    def fold_in(self, user_row: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray] | None:
        """(GMF, MLP) vectors of a user computed from their row; None for an empty row."""
        row = sp.csr_matrix(user_row)
        liked = np.unique(row.indices[row.data > 0])
        if liked.size == 0 or liked.size == self.n_items:
            return None
        return self.weights.fold_in(liked, self.params["regularization"])

    def _score(self, userid: int, user_row: sp.csr_matrix, recalculate_user: bool) -> np.ndarray:
        return self._score_batch(np.array([userid]), user_row, recalculate_user)[0]

    def _score_batch(self, userids, user_items, recalculate_user) -> np.ndarray:
        w = self.weights
        gmf = np.zeros((len(userids), w.gmf_users.shape[1]), np.float32)
        mlp = np.zeros((len(userids), w.mlp_users.shape[1]), np.float32)
        empty = np.zeros(len(userids), dtype=bool)
        for i, userid in enumerate(np.asarray(userids, dtype=np.int64)):
            if not recalculate_user and 0 <= userid < self.n_users and w.user_trained[userid]:
                gmf[i], mlp[i] = w.gmf_users[userid], w.mlp_users[userid]
                continue
            folded = self.fold_in(user_items[i])
            if folded is None:
                empty[i] = True
            else:
                gmf[i], mlp[i] = folded
        scores = w.score(gmf, mlp).astype(np.float64)
        scores[empty] = -np.inf
        return scores

    def similar_items(self, itemid: int, N: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Cosine similarity of the items' contributions to both towers."""
        return cosine_neighbours(self.weights.item_vectors(), self._check_item(itemid), N)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {**self.weights.arrays(), REPORT_KEY: self.training_report.to_array()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.weights = NeuMFWeights(arrays)
        self.training_report = TrainReport.from_array(arrays.get(REPORT_KEY))
