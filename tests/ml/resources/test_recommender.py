"""Asset interactions, the unit-popularity model, the pipeline, save/load and suggest_next."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml.resources import (
    ASSET_CANDIDATES,
    DEFAULT_TYPE_WEIGHTS,
    AssetConfig,
    UnitPopularityRecommender,
    hold_out_strongest,
    interaction_strength,
    load,
    prepare_assets,
    save,
    suggest_next,
    train_assets,
    type_weights,
)
from ml.resources.interactions import unit_matrix
from ml.resources.synth import generate_assets
from ml.datasets import ASSET_TYPES
from ml.models import Recommender

P = [f"{i:064x}" for i in range(6)]  # page hashes


def frame(rows: list[tuple[str, str, str, int]]) -> pd.DataFrame:
    columns = ["cookie", "gated_asset_type", "page_url", "form_submissions"]
    return pd.DataFrame(rows, columns=columns)


def mapping(rows: list[tuple[str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["business_unit", "page_url"])


# -- type weights and strength --------------------------------------------------------------
def test_default_type_weights_are_the_marketing_teams():
    assert set(DEFAULT_TYPE_WEIGHTS) == set(ASSET_TYPES)
    assert DEFAULT_TYPE_WEIGHTS["Gated Get Pricing"] == 3.0
    assert DEFAULT_TYPE_WEIGHTS["Gated DemoNow Forms"] == 2.5
    content = ("Analyst Report", "Ebook", "Webinar", "Case Study", "Solution Brief", "Whitepaper")
    for kind in content:
        assert DEFAULT_TYPE_WEIGHTS[f"Gated {kind} Forms"] == 2.0
    for kind in ("Gated Best Practice Form", "Gated Infographics Forms", "Unspecified", "None"):
        assert DEFAULT_TYPE_WEIGHTS[kind] == 1.0
    with pytest.raises(TypeError):
        DEFAULT_TYPE_WEIGHTS["None"] = 5.0  # type: ignore[index]


def test_weights_are_configurable_and_validated():
    weights = type_weights({"None": 0.0, "Gated Get Pricing": 5})
    assert weights["None"] == 0.0 and weights["Gated Get Pricing"] == 5.0
    assert weights["Gated Ebook Forms"] == 2.0 and DEFAULT_TYPE_WEIGHTS["None"] == 1.0
    with pytest.raises(ValueError, match="unknown asset type.*'Gated Pricing'.*known: Gated Get"):
        type_weights({"Gated Pricing": 3.0})
    for bad in (-1.0, float("nan"), "heavy"):
        with pytest.raises(ValueError, match="finite number >= 0"):
            type_weights({"None": bad})
    with pytest.raises(ValueError, match="unknown asset type"):
        AssetConfig(type_weights={"Pricing": 1.0})


def test_strength_is_weight_times_submissions():
    rows = frame([("1", "Gated Get Pricing", P[0], 2), ("1", "None", P[1], 302),
                  ("2", "Gated Webinar Forms", P[1], 3)])
    assert list(interaction_strength(rows)) == [6.0, 302.0, 6.0]
    assert list(interaction_strength(rows, {"None": 0.5})) == [6.0, 151.0, 6.0]


# -- interactions and holdout ---------------------------------------------------------------
def test_prepare_assets_sums_pairs_and_keeps_unmapped_assets():
    rows = frame([
        ("7", "Gated Ebook Forms", P[0], 1), ("7", "Gated Ebook Forms", P[0], 2),  # repeated pair
        ("7", "None", P[1], 1), ("8", "Gated Get Pricing", P[2], 1),
    ])
    data = prepare_assets(rows, mapping([("a", P[0]), ("b", P[0]), ("a", P[2]), ("z", P[5])]))
    assert list(data.id_map.user_ids) == ["7", "8"] and list(data.id_map.item_ids) == P[:3]
    np.testing.assert_allclose(data.matrix.toarray(), [[6.0, 1.0, 0.0], [0.0, 0.0, 3.0]])
    assert list(data.item_types) == ["Gated Ebook Forms", "None", "Gated Get Pricing"]
    assert data.item_units == (frozenset("ab"), frozenset(), frozenset("a"))
    assert data.unit_matrix.toarray().tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 0]]
    with pytest.raises(ValueError, match="no form submissions"):
        prepare_assets(rows.iloc[:0], mapping([]))


def test_holdout_hides_each_visitors_strongest_asset():
    events = pd.DataFrame({
        "user_id": ["u", "u", "u", "v", "w", "w"],
        "item_id": ["a", "b", "c", "a", "a", "b"],
        "weight": [2.0, 9.0, 1.0, 5.0, 4.0, 4.0],
    })
    train, test = hold_out_strongest(events, seed=1)
    assert sorted(zip(test["user_id"], test["item_id"]))[0] == ("u", "b")
    assert set(test["user_id"]) == {"u", "w"}  # v has one asset: nothing to hide
    assert len(train) + len(test) == len(events) and len(test) == 2
    assert hold_out_strongest(events, seed=1)[1].equals(test)  # ties: deterministic draw


# -- the unit-popularity model --------------------------------------------------------------
def unit_model(fill: bool = True) -> tuple[UnitPopularityRecommender, sp.csr_matrix]:
    # items 0-1 in unit a, 2 in b, 3 in a and b, 4 unknown; visitors: 4 (4), 0 and 2 (3), 3 (2), 1
    interactions = sp.csr_matrix(np.array([
        [1, 0, 1, 0, 1], [1, 0, 1, 1, 1], [0, 0, 1, 1, 1], [1, 1, 0, 0, 1], [0, 0, 0, 0, 0],
    ], dtype=np.float32))
    units = sp.csr_matrix(np.array([[1, 0], [1, 0], [0, 1], [1, 1], [0, 0]]))
    model = UnitPopularityRecommender(fill=fill).set_item_units(units, ["a", "b"])
    return model.fit(interactions), interactions


def test_unit_popularity_ranks_the_visitors_units_first():
    model, _ = unit_model()
    row = sp.csr_matrix(np.array([[0, 0, 1, 0, 0]], dtype=np.float32))  # consumed item 2 (b)
    ids, _ = model.recommend(0, row, N=4)
    assert list(ids) == [3, 4, 0, 1]  # 3 is the only other b asset, then popularity
    ids, _ = UnitPopularityRecommender(fill=False).set_item_units(
        model.item_units, ["a", "b"]).fit(unit_model()[1]).recommend(0, row, N=4)
    assert list(ids) == [3]
    assert list(model.similar_items(0, N=2)[0]) == [3, 1]


def test_unit_popularity_needs_its_mapping_and_saves_it(tmp_path):
    with pytest.raises(ValueError, match="set_item_units"):
        UnitPopularityRecommender().fit(sp.csr_matrix(np.ones((2, 3))))
    model, interactions = unit_model()
    model.save(tmp_path / "m.npz")
    loaded = Recommender.load(tmp_path / "m.npz")
    assert isinstance(loaded, UnitPopularityRecommender)
    assert list(loaded.unit_names) == ["a", "b"]
    for batch in (model, loaded):
        ids, _ = batch.recommend_batch([0, 1], interactions[[0, 1]], N=5)
        assert not any(set(row) & set(interactions[u].indices) for u, row in enumerate(ids))


# -- pipeline, save/load and serving -------------------------------------------------------
@pytest.fixture(scope="module")
def synthetic():
    return generate_assets(n_visitors=600, seed=5)


@pytest.fixture(scope="module")
def result(synthetic):
    return train_assets(synthetic.submissions, synthetic.bu_mapping, AssetConfig(num_threads=1))


def test_pipeline_reports_every_metric_for_every_candidate(result):
    k = "@10"
    names = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage", "novelty",
             "bu_hit_rate", "top_hit_rate")
    assert list(result.candidates) == list(ASSET_CANDIDATES)
    for candidate in result.candidates.values():
        assert candidate.status == "ok", candidate.error
        assert {f"{n}{k}" for n in names} <= set(candidate.metrics)
        assert candidate.metrics["n_users"] == result.data["test_visitors"] > 100
        assert all(0.0 <= candidate.metrics[f"{n}{k}"] <= 1.0 for n in names if n != "novelty")
        assert len(candidate.per_unit) == 8
        assert [row["bucket"] for row in candidate.breakdown] == ["2", "3", "4-5", "6-9", "10+"]
        assert sum(row["n_visitors"] for row in candidate.breakdown) == result.data["test_visitors"]
    assert result.candidates["unit_popularity"].metrics["bu_hit_rate@10"] > 0.95
    assert set(result.intra_type_similarity) <= set(ASSET_TYPES)


def test_champion_is_the_best_hit_rate_among_those_meeting_the_unit_floor(result, synthetic):
    floor = result.config.min_bu_hit_rate
    scores = {n: (c.metrics["hit_rate@10"], c.metrics["bu_hit_rate@10"]) for n, c in result.candidates.items()}
    meeting = [n for n, (_, bu) in scores.items() if bu >= floor]
    assert meeting  # on this library several candidates stay in the visitor's units
    assert result.champion == max(meeting, key=lambda n: scores[n])
    assert "among the" in result.selection and f">= {floor:g}" in result.selection
    assert result.model.name == ASSET_CANDIDATES[result.champion].model_cls.name
    assert result.model.n_items == result.id_map.n_items  # refitted on all assets
    # a floor nobody reaches: the highest business-unit hit rate serves
    strict = train_assets(synthetic.submissions, synthetic.bu_mapping, AssetConfig(
        candidates=("popularity", "ease"), min_bu_hit_rate=1.0, search=False))
    bu = {n: c.metrics["bu_hit_rate@10"] for n, c in strict.candidates.items()}
    assert max(bu.values()) < 1.0
    assert strict.champion == max(bu, key=bu.get) and "no candidate reaches" in strict.selection


def test_save_load_round_trip(result, tmp_path):
    names = save(result, tmp_path / "version")
    assert names == sorted(p.name for p in (tmp_path / "version").iterdir())
    assert all(name.startswith("assets_") for name in names)
    loaded = load(tmp_path / "version")
    assert loaded.summary == json.loads(json.dumps(result.summary()))
    assert loaded.champion == result.champion and loaded.type_weights == result.type_weights
    assert loaded.id_map == result.id_map and loaded.item_units == result.item_units
    assert list(loaded.item_types) == list(result.item_types)
    assert (loaded.user_items != result.user_items).nnz == 0
    for visitor in result.id_map.user_ids[:25]:
        assert suggest_next(loaded, visitor, n=10) == suggest_next(result, visitor, n=10)


def served_by(result, name: str):
    """The run with ``name`` (fitted on all data) as the model ``suggest_next`` serves."""
    spec = ASSET_CANDIDATES[name]
    model = spec.model_cls(**result.config.params(name))  # defaults, not the tuned setting
    if spec.needs_units:
        model.set_item_units(unit_matrix(result.item_units, result.unit_names), result.unit_names)
    return dataclasses.replace(result, model=model.fit(result.user_items))


@pytest.mark.parametrize("name", list(ASSET_CANDIDATES))
def test_suggest_next_never_suggests_a_submitted_asset(result, synthetic, name):
    served = served_by(result, name)
    submitted = synthetic.submissions.groupby("cookie")["page_url"].agg(set)
    for visitor in served.id_map.user_ids[:150]:
        suggestions = suggest_next(served, visitor, n=10)
        assert len(suggestions) == len(set(suggestions)) == 10
        assert not set(suggestions) & submitted[visitor]
    pages = list(served.id_map.item_ids)
    recent = [(pages[0], "Gated Ebook Forms", 2), (pages[1], "Odd type", 1), ("f" * 64, "None", 1)]
    for visitor in (served.id_map.user_ids[0], "1" * 38):  # a known and an unseen visitor
        suggestions = suggest_next(served, visitor, recent, n=20, exclude=[pages[2]])
        assert len(suggestions) == len(set(suggestions)) == 20
        banned = {pages[0], pages[1], pages[2]} | submitted.get(visitor, set())
        assert not set(suggestions) & banned
    assert suggest_next(served, "1" * 38, n=3) == suggest_next(served, "2" * 38, n=3)
    assert suggest_next(served, "1" * 38, n=0) == []
    everything = suggest_next(served, served.id_map.user_ids[0], n=10_000)
    assert len(everything) == served.id_map.n_items - len(submitted[served.id_map.user_ids[0]])
