"""Matrix factorisation trained with BPR in torch (Rendle et al. 2009), on CPU.

Unlike :class:`ml.models.bpr.BPRRecommender` (implicit's lock-free SGD, fixed iterations), this
one trains with Adam on mini-batches, stops early on a validation split by NDCG@k, honours a
time budget and is bit-reproducible with several threads. It exports the same layout as implicit's
BPR (an item-bias column appended to the item factors, a constant 1 to the user factors), so
scoring is one dot product and fold-in reuses :func:`ml.models.bpr.bpr_fold_in`: its per-user
objective (mean over pairs of ``log sigmoid`` minus ``regularization / 2 * |u|^2``) is exactly the
training loss restricted to one user with the items fixed, with the same ``regularization``.
"""

from __future__ import annotations

from typing import Any, Mapping, Self

import numpy as np
import scipy.sparse as sp

from ml.models.bpr import bpr_fold_in
from ml.models.deep_settings import REPORT_KEY, TrainReport, TrainSettings
from ml.models.factorization import FactorizationRecommender

#: From sweeps on the demo shop's time holdout (NDCG@10): regularisation mattered most (0.149 at
#: 1e-3, 0.18-0.19 at 0.02-0.03, 0.12 at 0.1); a lower learning rate made the best epoch stabler.
_DEFAULTS: dict[str, Any] = {
    "learning_rate": 0.003,
    "regularization": 0.02,
    "batch_size": 2048,
    "epochs": 100,
}


#: Pairs compared by fold-in (a seeded sample of negatives beyond it): a visitor's fold-in runs
#: in a web request, where implicit-BPR's 100,000 pairs cost ~150 ms on the demo shop.
FOLD_IN_MAX_PAIRS = 20_000


def untrained_rows(user_items: sp.spmatrix) -> np.ndarray:
    """Users without a positive interaction: the model learnt nothing about them."""
    matrix = sp.csr_matrix(user_items)
    return np.asarray((matrix > 0).sum(axis=1)).ravel() == 0


class TorchBPRRecommender(FactorizationRecommender):
    """BPR matrix factorisation trained in torch; scored and folded in with numpy.

    ``factors`` is the embedding size; ``init_std`` the standard deviation of the initial
    embeddings. The training knobs are those of :class:`~ml.models.deep_settings.TrainSettings`
    (keyword arguments). Users with an empty training row get a zero vector, hence no
    recommendations (serving falls back), as with the other factor models.
    """

    name = "bpr_mf"

    def __init__(self, factors: int = 64, init_std: float = 0.1, **training: Any) -> None:
        settings = TrainSettings.build(_DEFAULTS, training)
        super().__init__(factors=int(factors), init_std=float(init_std), **settings.to_params())
        self.training_report = TrainReport()

    def fit(self, user_items: sp.csr_matrix) -> Self:
        from ml.models import torch_common
        from ml.models.torch_modules import MFModule, normal

        settings = TrainSettings.from_params(self.params)
        n_users, n_items = user_items.shape
        d, std = self.params["factors"], self.params["init_std"]
        with torch_common.torch_session(settings) as rng:
            _, sampler, validation = torch_common.prepare_training(user_items, settings, rng)
            module = MFModule(
                normal(rng, (n_users, d), std), normal(rng, (n_items, d), std),
                np.zeros(n_items, np.float32),
            )
            self.training_report = torch_common.train_ranking_model(
                module, sampler, validation, settings, self.name
            )
            users = module.users.detach().numpy()
            items = module.items.detach().numpy()
            bias = module.bias.detach().numpy()
        user_factors = np.hstack([users, np.ones((n_users, 1), np.float32)])
        user_factors[untrained_rows(user_items)] = 0.0
        self._set_factors(user_factors, np.hstack([items, bias[:, None]]))
        return self

    def fold_in(self, user_row: sp.csr_matrix) -> np.ndarray:
        row = sp.csr_matrix(user_row)
        row.eliminate_zeros()
        liked = np.unique(row.indices[row.data > 0])
        if liked.size == 0 or liked.size == self.n_items:
            return np.zeros(self.item_factors.shape[1], dtype=np.float32)
        user = bpr_fold_in(
            self.item_factors, liked, self.params["regularization"], FOLD_IN_MAX_PAIRS
        )
        return user.astype(np.float32)

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {**super()._get_arrays(), REPORT_KEY: self.training_report.to_array()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        super()._set_arrays(arrays)
        self.training_report = TrainReport.from_array(arrays.get(REPORT_KEY))
