"""Models must find planted structure that popularity cannot see.

Four user groups each like their own block of 25 items (plus a global popularity slope and
noise); 25% of the interactions are held out. Personalised models should rank a user's own block
first and beat popularity clearly on NDCG@10. Seeds are fixed, so the numbers are reproducible.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.evaluation import evaluate_model
from ml.models import (
    ALSRecommender,
    BPRRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
    Recommender,
)

K = 10


@pytest.fixture(scope="module")
def popularity_ndcg(planted) -> float:
    model = PopularityRecommender().fit(planted.train)
    return evaluate_model(model, planted.train, planted.test, k=K)[f"ndcg@{K}"]


@pytest.mark.parametrize(
    "model",
    [
        ALSRecommender(factors=16, regularization=0.05, alpha=10.0, iterations=15, num_threads=1),
        ItemKNNRecommender("cosine", K=50, num_threads=1),
        EASERecommender(regularization=50.0),
    ],
    ids=lambda model: model.name,
)
def test_personalised_models_beat_popularity(planted, popularity_ndcg, model: Recommender):
    ndcg = evaluate_model(model.fit(planted.train), planted.train, planted.test, k=K)[f"ndcg@{K}"]
    # observed with these seeds: popularity 0.093, ALS 0.228, item-kNN 0.271, EASE 0.244
    assert ndcg > 2 * popularity_ndcg
    assert ndcg - popularity_ndcg > 0.1


@pytest.mark.parametrize(
    "model",
    [
        ALSRecommender(factors=16, regularization=0.05, alpha=10.0, iterations=15, num_threads=1),
        BPRRecommender(factors=16, learning_rate=0.05, iterations=100, num_threads=1),
    ],
    ids=lambda model: model.name,
)
def test_fold_in_places_a_new_user_in_their_group(planted, model: Recommender):
    """A visitor unknown at training time, with a few items of one block, is folded in with
    numpy and gets that block's items."""
    model.fit(planted.train)
    n_items = planted.matrix.shape[1]
    shares = []
    for group in range(4):
        block = np.flatnonzero(planted.item_group == group)
        row = sp.csr_matrix(
            (np.ones(4, np.float32), (np.zeros(4, int), block[[0, 5, 10, 15]])), shape=(1, n_items)
        )
        ids, _ = model.recommend(planted.matrix.shape[0] + group, row, N=K)
        shares.append(np.isin(ids, block).mean())
    # chance level is 0.25; observed: ALS 1.0/0.8/1.0/0.8, BPR 0.7/1.0/1.0/1.0
    assert min(shares) >= 0.6 and np.mean(shares) >= 0.8, shares
