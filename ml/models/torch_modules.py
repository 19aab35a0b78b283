"""The ``torch.nn.Module`` of each deep model (training only; serving scores with numpy).

Every module takes its initial weights as numpy arrays drawn by the model from the fit's seeded
generator (so initialisation does not depend on torch's RNG or version) and implements the two
methods the shared loop needs (:class:`ml.models.torch_common.RankingModule`): ``pair_scores``
for a batch of (user, positive, negative) triples and ``score_users`` for validation.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


def _param(array: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))


def normal(rng: np.random.Generator, shape: tuple[int, ...], std: float) -> np.ndarray:
    return (rng.standard_normal(shape) * std).astype(np.float32)


class MFModule(nn.Module):
    """Matrix factorisation with an item bias: ``s_ui = p_u . q_i + b_i``."""

    def __init__(self, users: np.ndarray, items: np.ndarray, bias: np.ndarray) -> None:
        super().__init__()
        self.users, self.items, self.bias = _param(users), _param(items), _param(bias)

    def pair_scores(self, users, pos, neg):
        p, qi, qj = self.users[users], self.items[pos], self.items[neg]
        bi, bj = self.bias[pos], self.bias[neg]
        squared = (p * p).sum(1) + (qi * qi).sum(1) + (qj * qj).sum(1) + bi * bi + bj * bj
        return (p * qi).sum(1) + bi, (p * qj).sum(1) + bj, squared

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        return self.users[users] @ self.items.T + self.bias


class NeuMFModule(nn.Module):
    """NeuMF (He et al. 2017): a GMF tower and an MLP tower on separate embeddings, fused by
    one linear layer, ``s_ui = h . [p_u * q_i, MLP([p'_u, q'_i])] + b``."""

    def __init__(
        self,
        gmf_users: np.ndarray,
        gmf_items: np.ndarray,
        mlp_users: np.ndarray,
        mlp_items: np.ndarray,
        layers: list[tuple[np.ndarray, np.ndarray]],
        predict: tuple[np.ndarray, np.ndarray],
    ) -> None:
        super().__init__()
        self.gmf_users, self.gmf_items = _param(gmf_users), _param(gmf_items)
        self.mlp_users, self.mlp_items = _param(mlp_users), _param(mlp_items)
        self.weights = nn.ParameterList([_param(w) for w, _ in layers])
        self.biases = nn.ParameterList([_param(b) for _, b in layers])
        self.predict_weight, self.predict_bias = _param(predict[0]), _param(predict[1])

    def _fuse(self, gmf: torch.Tensor, hidden: torch.Tensor) -> torch.Tensor:
        """Run the MLP from its first pre-activation and fuse it with the GMF product."""
        for index, (weight, bias) in enumerate(zip(self.weights, self.biases)):
            if index:
                hidden = hidden @ weight.T + bias
            hidden = torch.relu(hidden)
        n_gmf = self.gmf_users.shape[1]
        return (
            gmf @ self.predict_weight[:n_gmf]
            + hidden @ self.predict_weight[n_gmf:]
            + self.predict_bias
        )

    def _first_layer(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        n_mlp = self.mlp_users.shape[1]
        weight = self.weights[0]
        return users @ weight[:, :n_mlp].T + items @ weight[:, n_mlp:].T + self.biases[0]

    def pair_scores(self, users, pos, neg):
        gu, mu = self.gmf_users[users], self.mlp_users[users]
        scores, squared = [], (gu * gu).sum(1) + (mu * mu).sum(1)
        for items in (pos, neg):
            gi, mi = self.gmf_items[items], self.mlp_items[items]
            scores.append(self._fuse(gu * gi, self._first_layer(mu, mi)))
            squared = squared + (gi * gi).sum(1) + (mi * mi).sum(1)
        return scores[0], scores[1], squared

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        """All items at once: the first layer splits into a user part and an item part, so
        ``n_users x n_items`` concatenations are never built."""
        n_mlp = self.mlp_users.shape[1]
        weight = self.weights[0]
        user_part = self.mlp_users[users] @ weight[:, :n_mlp].T + self.biases[0]
        item_part = self.mlp_items @ weight[:, n_mlp:].T
        gmf = self.gmf_users[users][:, None, :] * self.gmf_items[None, :, :]
        return self._fuse(gmf, user_part[:, None, :] + item_part[None, :, :])


class _SymmetricSparseMM(torch.autograd.Function):
    """``A @ x`` for a symmetric sparse ``A``: the gradient ``A^T g`` is ``A @ g``.

    torch's generic sparse backward transposes ``A`` on every step; with the symmetric
    normalised adjacency this is redundant and about five times slower on CPU.
    """

    @staticmethod
    def forward(ctx, dense: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        ctx.adjacency = adjacency
        return torch.sparse.mm(adjacency, dense)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return torch.sparse.mm(ctx.adjacency, grad), None


def sparse_tensor(matrix: sp.csr_matrix) -> torch.Tensor:
    """A scipy CSR matrix as a torch sparse CSR tensor (float32)."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
    matrix.sort_indices()
    with warnings.catch_warnings():  # "sparse CSR support is in beta": it is what we test
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(matrix.indptr.astype(np.int64)),
            torch.from_numpy(matrix.indices.astype(np.int64)),
            torch.from_numpy(matrix.data),
            size=matrix.shape,
        )


class LightGCNModule(nn.Module):
    """LightGCN (He et al. 2020): ego embeddings of users and items, ``K`` parameter-free
    propagations ``E_{k+1} = A_hat E_k``, final embedding the mean of ``E_0 .. E_K``."""

    def __init__(
        self, ego: np.ndarray, adjacency: sp.csr_matrix, n_users: int, n_layers: int
    ) -> None:
        super().__init__()
        self.ego = _param(ego)
        self.adjacency = sparse_tensor(adjacency)  # not a parameter nor a buffer: fixed graph
        self.n_users, self.n_layers = n_users, n_layers

    def layers(self) -> list[torch.Tensor]:
        """``[E_0, E_1, ..., E_K]`` (users first, then items)."""
        out = [self.ego]
        for _ in range(self.n_layers):
            out.append(_SymmetricSparseMM.apply(out[-1], self.adjacency))
        return out

    def final(self) -> torch.Tensor:
        return torch.stack(self.layers()).mean(0)

    def pair_scores(self, users, pos, neg):
        final = self.final()
        u, i, j = final[users], final[self.n_users + pos], final[self.n_users + neg]
        ego_u, ego_i, ego_j = self.ego[users], self.ego[self.n_users + pos], self.ego[
            self.n_users + neg
        ]
        squared = (ego_u * ego_u).sum(1) + (ego_i * ego_i).sum(1) + (ego_j * ego_j).sum(1)
        return (u * i).sum(1), (u * j).sum(1), squared

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        final = self.final()
        return final[users] @ final[self.n_users :].T
