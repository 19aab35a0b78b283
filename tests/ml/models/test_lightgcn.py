"""LightGCN's pieces against hand computations: the normalised adjacency, the propagation's
gradient, and the fold-in (the propagation rule applied to one more user)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ml.models import LightGCNRecommender
from ml.models.lightgcn import normalized_adjacency
from ml.models.torch_modules import LightGCNModule, _SymmetricSparseMM, normal, sparse_tensor

R = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=np.float32))


def test_normalized_adjacency_of_a_two_by_three_matrix():
    # nodes: users u0 u1, items i0 i1 i2; degrees u0=2 u1=2, i0=1 i1=2 i2=1
    a, b = 1 / np.sqrt(2 * 1), 1 / np.sqrt(2 * 2)
    expected = np.array([
        [0, 0, a, b, 0],
        [0, 0, 0, b, a],
        [a, 0, 0, 0, 0],
        [b, b, 0, 0, 0],
        [0, a, 0, 0, 0],
    ])
    adjacency = normalized_adjacency(R * 3.0)  # strengths do not matter: the graph is 0/1
    np.testing.assert_allclose(adjacency.toarray(), expected, rtol=1e-6)
    tensor = sparse_tensor(adjacency)
    assert tensor.layout == torch.sparse_csr
    np.testing.assert_allclose(tensor.to_dense().numpy(), expected, rtol=1e-6)


def test_isolated_nodes_get_zero_rows_not_nan():
    with_isolated = sp.csr_matrix(np.array([[1, 0, 0], [0, 0, 0]], dtype=np.float32))
    adjacency = normalized_adjacency(with_isolated).toarray()
    assert np.isfinite(adjacency).all()
    assert not adjacency[1].any() and not adjacency[:, 3].any()


def test_symmetric_propagation_has_the_true_gradient():
    adjacency = normalized_adjacency(R)
    dense = torch.randn(5, 3, dtype=torch.float32, generator=torch.Generator().manual_seed(0))
    ours = dense.clone().requires_grad_(True)
    reference = dense.clone().requires_grad_(True)
    weights = torch.arange(15, dtype=torch.float32).reshape(5, 3)
    (_SymmetricSparseMM.apply(ours, sparse_tensor(adjacency)) * weights).sum().backward()
    (torch.from_numpy(adjacency.toarray()) @ reference * weights).sum().backward()
    torch.testing.assert_close(ours.grad, reference.grad)


def test_fold_in_is_the_propagation_for_one_more_user(small_matrix):
    """For a user of the graph, the propagated part of the final embedding (everything but
    the ego term) is exactly what fold-in computes from the user's row."""
    n_users, n_items = small_matrix.shape
    n_layers = 3
    ego = normal(np.random.default_rng(0), (n_users + n_items, 8), 0.1)
    module = LightGCNModule(ego, normalized_adjacency(small_matrix), n_users, n_layers)
    with torch.no_grad():
        layers = [layer.numpy() for layer in module.layers()]
    model = LightGCNRecommender(factors=8, n_layers=n_layers)
    model.set_layers(layers, small_matrix)
    for user in range(n_users):
        propagated = model.user_factors[user] - ego[user] / (n_layers + 1)
        np.testing.assert_allclose(model.fold_in(small_matrix[user]), propagated, atol=1e-6)
    assert not model.fold_in(sp.csr_matrix((1, n_items))).any()
