"""NeuMF's forward pass and user fold-in in numpy, so serving never needs torch.

The trained weights are plain arrays. Two facts make numpy scoring cheap:

- The first MLP layer acts on ``[p'_u, q'_i]``, so it splits into ``W_u p'_u + W_i q'_i``: the
  item half is computed once per model (``item_first``) and a user's scores need one broadcast
  add, not ``n_items`` concatenations.
- The GMF tower is linear in ``q_i``, so ``h_gmf * q_i`` is also precomputed (``item_gmf``).

Scoring runs in float64: float32 results would depend on how users are batched (BLAS blocking),
and a user's ranking must not change with the batch it is scored in.

Fold-in (a visitor unknown at training time, or one with new events): NeuMF has no closed-form
user solve, so we maximise the training objective for that one user with the items and the MLP
fixed, exactly as BPR's fold-in does: mean over (liked, other) pairs of ``log sigmoid(s_i - s_j)``
minus ``regularization / 2 * (|p_u|^2 + |p'_u|^2)``, with the analytic gradient (a backward pass
through the MLP written out below) and L-BFGS from scipy, starting at the average trained user.
Negatives are all other items, or a fixed-seed sample of them on large catalogues, so a given
row always gets the same answer.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
from scipy.optimize import minimize

from ml.constants import SEED

#: Values of one scoring block (users x items x widest layer) before it is split.
_BLOCK_VALUES = 1 << 22
#: Fold-in compares the liked items with at most this many other items.
MAX_FOLD_IN_NEGATIVES = 256
_FOLD_IN_ITERATIONS = 50


class NeuMFWeights:
    """The arrays of a trained NeuMF plus what scoring precomputes from them."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        def get(key: str) -> np.ndarray:
            return np.ascontiguousarray(arrays[key], dtype=np.float32)

        self.gmf_users, self.gmf_items = get("gmf_users"), get("gmf_items")
        self.mlp_users, self.mlp_items = get("mlp_users"), get("mlp_items")
        n_layers = sum(1 for key in arrays if key.startswith("mlp_weight_"))
        if n_layers == 0:
            raise KeyError("mlp_weight_0: a NeuMF model needs at least one MLP layer")
        self.weights = [get(f"mlp_weight_{k}") for k in range(n_layers)]
        self.biases = [get(f"mlp_bias_{k}") for k in range(n_layers)]
        self.predict_weight, self.predict_bias = get("predict_weight"), get("predict_bias")
        self.user_trained = np.asarray(arrays["user_trained"], dtype=bool)
        n_gmf, n_mlp = self.gmf_users.shape[1], self.mlp_users.shape[1]
        # float64 copies for scoring (see the module doc); the float32 originals are saved
        self._weights = [w.astype(np.float64) for w in self.weights]
        self._biases = [b.astype(np.float64) for b in self.biases]
        head = self.predict_weight.astype(np.float64)
        self.head_gmf, self.head_mlp = head[:n_gmf], head[n_gmf:]
        self.first_user = self._weights[0][:, :n_mlp]  # (width, n_mlp)
        self.item_gmf = self.gmf_items.astype(np.float64) * self.head_gmf
        self.item_first = self.mlp_items.astype(np.float64) @ self._weights[0][:, n_mlp:].T
        trained = self.user_trained if self.user_trained.any() else slice(None)
        self.mean_gmf_user = self.gmf_users[trained].mean(axis=0)
        self.mean_mlp_user = self.mlp_users[trained].mean(axis=0)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {
            "gmf_users": self.gmf_users, "gmf_items": self.gmf_items,
            "mlp_users": self.mlp_users, "mlp_items": self.mlp_items,
            "predict_weight": self.predict_weight, "predict_bias": self.predict_bias,
            "user_trained": self.user_trained,
        }
        for k, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            out[f"mlp_weight_{k}"], out[f"mlp_bias_{k}"] = weight, bias
        return out

    @property
    def width(self) -> int:
        return max(w.shape[0] for w in self.weights)

    def _mlp(self, first: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
        """The MLP output from the first pre-activation, and every pre-activation."""
        pre = [first]
        hidden = np.maximum(first, 0.0)
        for weight, bias in zip(self._weights[1:], self._biases[1:]):
            pre.append(hidden @ weight.T + bias)
            hidden = np.maximum(pre[-1], 0.0)
        return hidden, pre

    def score(self, gmf: np.ndarray, mlp: np.ndarray) -> np.ndarray:
        """Scores of every item (``len(gmf) x n_items``) for users given by their vectors."""
        item_gmf, item_first = self.item_gmf, self.item_first
        bias = float(self.predict_bias[0])
        gmf, mlp = np.asarray(gmf, np.float64), np.asarray(mlp, np.float64)
        user_first = mlp @ self.first_user.T + self._biases[0]
        out = np.empty((len(gmf), len(item_gmf)), dtype=np.float64)
        step = max(1, _BLOCK_VALUES // max(len(item_gmf) * self.width, 1))
        for start in range(0, len(gmf), step):
            part = slice(start, start + step)
            hidden, _ = self._mlp(user_first[part, None, :] + item_first[None, :, :])
            out[part] = gmf[part] @ item_gmf.T + hidden @ self.head_mlp + bias
        return out

    def fold_in_loss(
        self, x: np.ndarray, liked: np.ndarray, others: np.ndarray, regularization: float
    ) -> tuple[float, np.ndarray]:
        """Negated fold-in objective of the stacked user vector ``x = [p_u, p'_u]`` and its
        gradient (the MLP's backward pass for one user, items fixed): what L-BFGS minimises."""
        n_gmf, n_liked = len(self.mean_gmf_user), len(liked)
        items = np.concatenate([liked, others])
        item_gmf, item_first = self.item_gmf[items], self.item_first[items]
        n_pairs = n_liked * len(others)
        gmf, mlp = x[:n_gmf], x[n_gmf:]
        hidden, pre = self._mlp(item_first + (self.first_user @ mlp + self._biases[0]))
        scores = item_gmf @ gmf + hidden @ self.head_mlp
        diff = scores[:n_liked, None] - scores[None, n_liked:]
        pull = 0.5 * (1.0 - np.tanh(0.5 * diff))  # sigmoid(-diff), overflow-free
        value = -np.logaddexp(0.0, -diff).sum() / n_pairs - 0.5 * regularization * float(x @ x)
        upstream = np.concatenate([pull.sum(axis=1), -pull.sum(axis=0)]) / n_pairs
        delta = upstream[:, None] * self.head_mlp[None, :] * (pre[-1] > 0)
        for k in range(len(pre) - 1, 0, -1):
            delta = (delta @ self._weights[k]) * (pre[k - 1] > 0)
        gradient = np.concatenate([item_gmf.T @ upstream, self.first_user.T @ delta.sum(0)])
        return -value, -(gradient - regularization * x)

    def fold_in(
        self, liked: np.ndarray, regularization: float, seed: int = SEED
    ) -> tuple[np.ndarray, np.ndarray]:
        """The (GMF, MLP) user vectors that best rank ``liked`` above the other items."""
        is_other = np.ones(len(self.gmf_items), dtype=bool)
        is_other[liked] = False
        others = np.flatnonzero(is_other)
        if len(others) > MAX_FOLD_IN_NEGATIVES:
            rng = np.random.default_rng(seed)
            others = np.sort(rng.choice(others, MAX_FOLD_IN_NEGATIVES, replace=False))
        start = np.concatenate([self.mean_gmf_user, self.mean_mlp_user]).astype(np.float64)
        solved = minimize(
            self.fold_in_loss, start, args=(liked, others, regularization), jac=True,
            method="L-BFGS-B", options={"maxiter": _FOLD_IN_ITERATIONS},
        ).x
        n_gmf = len(self.mean_gmf_user)
        return solved[:n_gmf].astype(np.float32), solved[n_gmf:].astype(np.float32)

    def item_vectors(self) -> np.ndarray:
        """Each item's contribution to the two towers, ``[h_gmf * q_i, W_i q'_i]``."""
        return np.hstack([self.item_gmf, self.item_first])
