"""Reasons from the model's own evidence: contributions that add up to the score, and the
visitor's item that contributed most."""
from __future__ import annotations

import numpy as np
import pytest

from ml.data import IdMap
from ml.explain import evidence
from ml.models import ALSRecommender, EASERecommender, ItemKNNRecommender, PopularityRecommender
from tests.ml.test_serving import version_with

@pytest.fixture(scope="module")
def id_map(planted) -> IdMap:
    n_users, n_items = planted.matrix.shape  # the ids tests.ml.test_serving uses
    return IdMap([f"u{u}" for u in range(n_users)], [str(1000 + i) for i in range(n_items)])


MODELS = {
    "ease": lambda: EASERecommender(regularization=50.0, binary=False),
    "item_knn": lambda: ItemKNNRecommender("cosine", K=50, num_threads=1),
    "als": lambda: ALSRecommender(factors=16, regularization=0.05, alpha=10.0, num_threads=1),
}


@pytest.mark.parametrize("name", list(MODELS))
def test_contributions_add_up_to_the_folded_in_score(name, planted):
    model = MODELS[name]().fit(planted.train)
    row = planted.train[3]
    columns, values = row.indices.astype(np.int64), row.data.astype(np.float64)
    items = np.arange(model.n_items)
    table = model.contributions(columns, values, items)
    assert table.shape == (model.n_items, len(columns))
    # the score the shop serves a folded-in visitor with this row
    scores = np.asarray(model._score(-1, row, True), dtype=np.float64)
    finite = np.isfinite(scores)  # item-kNN: -inf where no neighbour of the row reaches
    assert finite.sum() > model.n_items // 2
    assert table.sum(axis=1)[finite] == pytest.approx(scores[finite], rel=1e-3, abs=1e-4)
    assert np.all(table[~finite] == 0)


def test_models_without_a_decomposition_say_so(planted):
    model = PopularityRecommender().fit(planted.train)
    assert model.contributions(np.array([0]), np.array([1.0]), np.array([1, 2])) is None


def test_evidence_names_the_visitors_item_that_added_most(planted, id_map):
    version = version_with(EASERecommender(regularization=50.0), planted, id_map)
    ease = version.models["recommender"]
    # a new visitor who viewed two items of different groups (items 0-24 group 0, 25-49 group 1)
    recent = [("1001", "view"), ("1030", "view")]
    targets = ["1005", "1040", "1003"]
    found = evidence(version, None, recent, targets)
    for target, reasons in zip(targets, found):
        column = int(target) - 1000
        expected = max((1, 30), key=lambda j: ease.weights[j, column])
        assert reasons[0] == str(1000 + expected)
        assert set(reasons) <= {"1001", "1030"}  # only what the visitor touched
    # an item the visitor viewed is never its own reason, and unknown items get none
    assert "1001" not in evidence(version, None, recent, ["1001"])[0]
    assert evidence(version, None, recent, ["nope"]) == [[]]
    assert evidence(version, None, [], ["1005"]) == [[]]  # nothing touched, nothing to name


def test_evidence_falls_back_to_the_similar_items_model(planted, id_map):
    version = version_with(PopularityRecommender(), planted, id_map)
    similar = version.models["similar"]
    targets = [int(similar.similar_items(1, N=1)[0][0]), int(similar.similar_items(30, N=1)[0][0])]
    found = evidence(version, None, [("1001", "view"), ("1030", "view")], [str(1000 + t) for t in targets])
    for target, reasons in zip(targets, found):
        assert reasons and reasons[0] == str(1000 + max((1, 30), key=lambda j: similar.similarity[j, target]))
