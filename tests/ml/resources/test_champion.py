"""Marketing's two goals: the business-unit blend, the champion rule, tuning and the Pareto table."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from ml.models import EASERecommender, Recommender
from ml.resources import AssetConfig, train_assets
from ml.resources.blend import UnitBlendRecommender
from ml.resources.champion import Point, pareto_front, rank_by_rule, why
from ml.resources.config import BLEND_WEIGHTS
from ml.resources.synth import generate_assets
from ml.resources.tuning import GRIDS

# 6 items: 0-2 in unit "a", 3-4 in unit "b", 5 without a unit
UNITS = sp.csr_matrix(np.array([[1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 0]], dtype=np.float32))
TRAIN = sp.csr_matrix(np.array([
    [1, 0, 0, 1, 1, 1],
    [1, 1, 0, 1, 1, 0],
    [0, 1, 1, 0, 0, 1],
    [1, 0, 0, 1, 0, 1],
    [0, 0, 1, 1, 1, 1],
], dtype=np.float32))


def test_rule_prefers_the_best_hit_rate_above_the_floor():
    points = [Point("ease", 0.54, 0.32), Point("blend", 0.52, 0.65), Point("unit_pop", 0.36, 1.0)]
    assert rank_by_rule(points, 0.6) == ["blend", "unit_pop", "ease"]
    assert "best hit rate@10 (0.520) among the 2 candidate(s)" in why(points, "blend", 0.6, 10)
    assert rank_by_rule(points, 0.0)[0] == "ease"  # no floor: hit rate alone


def test_rule_without_anyone_above_the_floor_takes_the_highest_unit_rate():
    points = [Point("ease", 0.54, 0.32), Point("als", 0.55, 0.34), Point("blend", 0.50, 0.58)]
    assert rank_by_rule(points, 0.6) == ["blend", "als", "ease"]
    assert "no candidate reaches" in why(points, "blend", 0.6, 10)
    tied = [Point("x", 0.2, 0.5), Point("y", 0.3, 0.5)]
    assert rank_by_rule(tied, 0.6)[0] == "y"  # equal unit rate: the better hit rate


def test_rule_without_any_known_unit_is_hit_rate():
    points = [Point("ease", 0.54, 0.0, False), Point("als", 0.55, 0.0, False)]
    assert rank_by_rule(points, 0.6) == ["als", "ease"]
    assert "no visitor has an asset of known business unit" in why(points, "als", 0.6, 10)


def test_pareto_front_keeps_only_the_undominated():
    points = [Point("a", 0.5, 0.3), Point("b", 0.4, 0.7), Point("c", 0.4, 0.6), Point("d", 0.3, 1.0),
              Point("e", 0.5, 0.3)]
    assert pareto_front(points) == {"a", "b", "d", "e"}  # c loses to b on BU, ties on hit rate


def _blend(weight: float) -> UnitBlendRecommender:
    model = UnitBlendRecommender("ease", {"regularization": 1.0}, weight)
    return model.set_item_units(UNITS, ["a", "b"]).fit(TRAIN)


def test_blend_at_zero_is_its_base_and_at_one_puts_the_visitors_units_first():
    base = EASERecommender(regularization=1.0).fit(TRAIN)
    visitor = sp.csr_matrix(np.array([[2, 0, 0, 0, 0, 0]], dtype=np.float32))  # unit a only
    base_ids, _ = base.recommend(0, visitor, N=5)
    ids, _ = _blend(0.0).recommend(0, visitor, N=5)
    assert list(ids) == list(base_ids)
    ids, _ = _blend(1.0).recommend(0, visitor, N=5)
    assert set(ids[:2]) == {1, 2}  # the other assets of unit a first, whatever EASE says
    # a visitor mostly in unit b, a little in a: b's assets score 1, a's the share 1/3
    affinity = _blend(1.0).affinity(sp.csr_matrix(np.array([[1, 0, 0, 3, 0, 0]], dtype=np.float32)))
    assert affinity[0].tolist() == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0, 1.0, 0.0])


def test_blend_saves_its_base_and_units(tmp_path):
    model = _blend(0.3)
    model.save(tmp_path / "blend.npz")
    loaded = Recommender.load(tmp_path / "blend.npz")
    assert isinstance(loaded, UnitBlendRecommender) and loaded.params == model.params
    rows = TRAIN[:3]
    assert np.array_equal(loaded.recommend_batch([0, 1, 2], rows, N=4)[0], model.recommend_batch([0, 1, 2], rows, N=4)[0])
    assert loaded.similar_items(0, N=3)[0].tolist() == model.similar_items(0, N=3)[0].tolist()
    with pytest.raises(ValueError, match="weight"):
        UnitBlendRecommender("ease", {}, 1.5)
    with pytest.raises(ValueError, match="base model"):
        UnitBlendRecommender("unit_blend", {}, 0.5)


@pytest.fixture(scope="module")
def export_like():
    """A library shaped like a real export: most submitted pages missing from the mapping."""
    data = generate_assets(n_visitors=999, assets_per_topic=8, seed=42, unmapped_share=0.6)
    return train_assets(data.submissions, data.bu_mapping, AssetConfig(num_threads=1))


def test_tuning_searches_on_validation_and_records_every_trial(export_like):
    search = export_like.search
    assert search["tuned"]["ease"] in GRIDS["ease"] and search["tuned"]["als"] in GRIDS["als"]
    assert search["tuned"]["ease_units"]["weight"] in BLEND_WEIGHTS
    assert search["tuned"]["ease_units"]["base_params"]["regularization"] == search["tuned"]["ease"]["regularization"]
    tried = [trial["candidate"] for trial in search["trials"]]
    assert tried.count("ease") == len(GRIDS["ease"]) and tried.count("ease_units") == len(BLEND_WEIGHTS)
    # validation visitors come from the training part only: fewer than the holdout's
    assert 0 < search["validation_visitors"] < export_like.data["test_visitors"]
    assert export_like.candidates["ease"].params["regularization"] == search["tuned"]["ease"]["regularization"]


def test_on_an_export_like_library_the_blend_serves_both_goals(export_like):
    metrics = export_like.metrics
    assert metrics["ease"]["bu_hit_rate@10"] < 0.4  # collaborative models wander out of the units
    assert metrics["unit_popularity"]["bu_hit_rate@10"] > 0.95
    champion = metrics[export_like.champion]
    assert export_like.champion in ("ease_units", "als_units")
    assert champion["bu_hit_rate@10"] >= 0.6
    # the blend keeps most of EASE's hit rate while reaching the unit floor
    assert champion["hit_rate@10"] > metrics["unit_popularity"]["hit_rate@10"] + 0.05


def test_pareto_table_has_every_blend_weight_and_marks_the_front(export_like):
    rows = export_like.pareto
    blend_rows = [row for row in rows if row["candidate"] == "ease_units"]
    assert [row["weight"] for row in blend_rows] == list(BLEND_WEIGHTS)
    assert sum(row["chosen"] for row in blend_rows) == 1
    chosen = next(row for row in blend_rows if row["chosen"])
    assert chosen["hit_rate"] == export_like.candidates["ease_units"].metrics["hit_rate@10"]
    points = [Point(str(i), r["hit_rate"], r["bu_hit_rate"]) for i, r in enumerate(rows)]
    front = pareto_front(points)
    assert [row["front"] for row in rows] == [str(i) in front for i in range(len(rows))]
    assert all(row["meets_minimum"] == (row["bu_hit_rate"] >= 0.6) for row in rows)
    assert export_like.summary()["pareto"] == rows
