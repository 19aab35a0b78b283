"""Serving: fold-in of a new visitor, the item-to-item helpers, exclusion, hot reload through
the ACTIVE pointer (keeping the old version when the new one is broken), and no implicit."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from ml.data import IdMap
from ml.models import (
    ALSRecommender,
    AlsoBoughtRecommender,
    BPRRecommender,
    ComplementsRecommender,
    EASERecommender,
    ItemKNNRecommender,
    PopularityRecommender,
)
from ml.registry import ModelRegistry
from ml.serving import LoadedVersion, ModelHolder
from ml.training import TrainingConfig, train
from tests.ml.support import run_in_fresh_interpreter

WEIGHTS = {"view": 1.0, "addtocart": 4.0, "transaction": 10.0}


@pytest.fixture(scope="module")
def id_map(planted) -> IdMap:
    n_users, n_items = planted.matrix.shape
    return IdMap([f"u{u}" for u in range(n_users)], [str(1000 + i) for i in range(n_items)])


def version_with(model, planted, id_map) -> LoadedVersion:
    """A LoadedVersion around ``model`` (fitted on the planted matrix) and helper models."""
    baskets = np.zeros((4, planted.matrix.shape[1]), dtype=np.float32)
    baskets[:2, 0] = baskets[:, 1] = 1.0  # item 1 is in every basket, with item 0 in half
    models = {
        "recommender": model.fit(planted.train),
        "similar": ItemKNNRecommender("cosine", K=20, num_threads=1).fit(planted.train),
        "also_bought": AlsoBoughtRecommender(min_support=1, min_lift=0.0).fit(
            sp.csr_matrix(baskets)
        ),
        "popular": PopularityRecommender().fit(planted.train),
    }
    loaded = LoadedVersion("v", {"event_weights": WEIGHTS}, id_map, planted.train, models)
    loaded._check("v")
    return loaded


CHAMPIONS = {
    "als": lambda: ALSRecommender(factors=16, regularization=0.05, alpha=10.0, num_threads=1),
    "bpr": lambda: BPRRecommender(factors=16, learning_rate=0.05, iterations=100, num_threads=1),
    "item_knn": lambda: ItemKNNRecommender("cosine", K=50, num_threads=1),
    "ease": lambda: EASERecommender(regularization=50.0),
}


@pytest.mark.parametrize("champion", sorted(CHAMPIONS))
def test_a_new_visitor_with_three_events_gets_their_group(planted, id_map, champion):
    loaded = version_with(CHAMPIONS[champion](), planted, id_map)
    shares = []
    for group in range(4):
        block = np.flatnonzero(planted.item_group == group)
        recent = [(id_map.item_ids[i], t) for i, t in zip(block[[0, 7, 14]],
                                                         ("view", "view", "addtocart"))]
        recs = loaded.recommend_for_user("never-seen", recent, n=10)
        assert len(recs) == 10 and not {i for i, _ in recs} & {i for i, _ in recent}
        shares.append(np.isin(id_map.item_indices([i for i, _ in recs]), block).mean())
    assert min(shares) >= 0.6 and np.mean(shares) >= 0.8, shares  # chance is 0.25


def test_known_users_exclusions_and_unusable_input(planted, id_map):
    loaded = version_with(CHAMPIONS["als"](), planted, id_map)
    recs = loaded.recommend_for_user("u0", [], n=5)
    assert len(recs) == 5 and all(isinstance(i, str) and isinstance(s, float) for i, s in recs)
    seen = set(id_map.item_ids[planted.train[0].indices])
    assert not seen & {i for i, _ in recs}
    top = recs[0][0]
    assert top not in {i for i, _ in loaded.recommend_for_user("u0", [], 5, exclude={top, "x"})}
    unseen = loaded.recommend_for_user("u0", [], 5, filter_seen=False)
    assert unseen != recs  # seen items may come back
    # unknown items and event types are ignored; nothing usable -> no personal recommendations
    assert loaded.recommend_for_user("nobody", [("nope", "view"), ("1000", "wink")], 5) == []


def test_item_to_item_and_popular(planted, id_map):
    loaded = version_with(CHAMPIONS["item_knn"](), planted, id_map)
    similar = loaded.similar_items("1000", n=5)
    assert len(similar) == 5 and "1000" not in {i for i, _ in similar}
    block = set(id_map.item_ids[planted.item_group == 0])
    assert sum(i in block for i, _ in similar) >= 4
    first = similar[0][0]
    assert first not in {i for i, _ in loaded.similar_items("1000", 5, exclude={first})}
    assert len(loaded.similar_items("1000", 5, exclude={first})) == 5
    assert [i for i, _ in loaded.also_bought("1000", n=3)] == ["1001"]
    assert loaded.also_bought("1000", 3, exclude={"1001"}) == []
    assert loaded.similar_items("unknown", 5) == [] == loaded.also_bought("unknown", 5)
    popular = loaded.popular(3)
    assert [s for _, s in popular] == sorted((s for _, s in popular), reverse=True)
    assert popular[0][0] not in {i for i, _ in loaded.popular(3, exclude={popular[0][0]})}


class CountingModel:
    """The item-kNN model, counting the neighbour lists asked of it."""

    def __init__(self, model):
        self.model, self.calls = model, []

    def __getattr__(self, name):
        return getattr(self.model, name)

    def similar_items(self, index, N):
        self.calls.append((index, N))
        return self.model.similar_items(index, N=N)


def test_an_items_neighbours_are_computed_once_per_version_whatever_is_excluded(planted, id_map):
    loaded = version_with(CHAMPIONS["item_knn"](), planted, id_map)
    direct = loaded.models["similar"]
    counting = loaded.models["similar"] = CountingModel(direct)
    first = loaded.similar_items("1000", n=5)
    expected_ids, _ = direct.similar_items(id_map.item_index("1000"), N=5)
    assert [i for i, _ in first] == id_map.item_ids[expected_ids].tolist()
    excluded = {item for item, _ in first[:3]}
    second = loaded.similar_items("1000", n=5, exclude=excluded)
    assert len(second) == 5 and not excluded & {i for i, _ in second}
    assert [i for i, _ in second][:2] == [i for i, _ in first][3:]  # the next ones move up
    assert len(counting.calls) == 1  # the second call was served from the first's list
    loaded.similar_items("1001", n=5)
    many = loaded.similar_items("1000", n=100)  # more than the cached list holds: asked again
    assert len(counting.calls) == 3 and counting.calls[-1][1] == 100
    direct_ids, _ = direct.similar_items(id_map.item_index("1000"), N=100)
    assert [i for i, _ in many] == id_map.item_ids[direct_ids[direct_ids >= 0]].tolist()


def test_the_trending_ranking_is_computed_once_per_version(planted, id_map):
    loaded = version_with(CHAMPIONS["item_knn"](), planted, id_map)
    model = loaded.models["popular"]
    calls = []
    original = model.recommend

    def counted(*args, **kwargs):
        calls.append(kwargs.get("N"))
        return original(*args, **kwargs)

    model.recommend = counted
    top = loaded.popular(5)
    assert [s for _, s in top] == sorted((s for _, s in top), reverse=True) and len(top) == 5
    without = loaded.popular(5, exclude={top[0][0], top[2][0]})
    assert [i for i, _ in without][:3] == [top[1][0], top[3][0], top[4][0]]
    assert len(calls) == 1  # the second call filtered the first one's ranking


def test_a_visitors_row_is_built_once_for_the_recommendations_and_their_reasons(planted, id_map):
    """A page asks for the row twice with the same events (the shelf, then "Because you
    viewed"): the second call is the first's arrays, read-only since both callers share them;
    other events or another user build their own row, and the results match a fresh version."""
    from ml.explain import evidence

    loaded = version_with(CHAMPIONS["als"](), planted, id_map)
    recent = [("1003", "view", None), ("1010", "addtocart", None)]
    first = loaded.visitor_arrays("u0", recent)
    again = loaded.visitor_arrays("u0", list(recent))
    assert again[1] is first[1] and again[2] is first[2]
    assert not first[1].flags.writeable and not first[2].flags.writeable
    with pytest.raises(ValueError):
        first[2][0] = 99.0
    other = loaded.visitor_arrays("u0", recent[:1])
    assert other[1] is not first[1] and len(other[1]) == len(first[1]) - 1
    assert loaded.visitor_arrays("u1", recent)[0] == id_map.user_index("u1")
    # the same fitted models and rows, no visitor rows kept yet
    fresh = LoadedVersion(loaded.version, loaded.manifest, loaded.id_map, loaded.user_items, loaded.models)
    recs = loaded.recommend_for_user("u0", recent, n=5)
    assert recs == fresh.recommend_for_user("u0", recent, n=5)
    items = [item for item, _ in recs]
    assert evidence(loaded, "u0", recent, items) == evidence(fresh, "u0", recent, items)
    unhashable = [["1003", "view"]]  # lists: not kept, still answered
    assert loaded.visitor_arrays(None, unhashable)[3] is True


def test_complements_of_an_item_of_a_cart_and_of_a_category(planted, id_map):
    loaded = version_with(CHAMPIONS["item_knn"](), planted, id_map)
    assert loaded.complements("1000", 3) == []  # a version published before the role: nothing
    n_items = planted.matrix.shape[1]
    rows, columns = [0, 0, 1, 1, 2, 2, 3, 4], [0, 2, 1, 3, 1, 2, 4, 5]  # phones 0, 1; a case 2; a cable 3
    baskets = sp.csr_matrix(([1.0] * len(rows), (rows, columns)), shape=(5, n_items))
    category = ["phones", "phones", "cases", "cables"] + ["other"] * (n_items - 4)
    loaded.models["complements"] = ComplementsRecommender(alpha=0.0).fit(baskets, category=category)
    assert [i for i, _ in loaded.complements("1000", 3)] == ["1002"]
    assert loaded.complements("1000", 3, exclude={"1002"}) == [] == loaded.complements("unknown", 3)
    cart = [i for i, _ in loaded.basket_complements(["1000", "1001", "nope"], 5)]
    assert set(cart) == {"1002", "1003"}
    assert [i for i, _ in loaded.basket_complements(["1000", "1001"], 5, exclude={"1003"})] == ["1002"]
    assert loaded.basket_complements([], 5) == []
    assert loaded.complement_categories("phones") == ["cases"]  # the cable: one basket, a coincidence
    assert loaded.complement_categories("nope") == []


@pytest.fixture(scope="module")
def result(planted):
    coo = planted.matrix.tocoo()
    seconds = np.random.default_rng(2).uniform(0, 30 * 86_400, coo.nnz)
    events = pd.DataFrame(
        {
            "user_id": [f"u{r}" for r in coo.row],
            "item_id": [str(1000 + c) for c in coo.col],
            "event": "view",
            "timestamp": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, "s"),
        }
    )
    return train(events, TrainingConfig(candidates=("popularity", "als"), search=False))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_holder_is_empty_without_a_published_version(tmp_path):
    assert ModelHolder(tmp_path).get() is None
    assert ModelHolder(tmp_path / "missing").get() is None


def test_holder_reloads_after_the_interval_and_keeps_serving_a_broken_update(
    result, tmp_path, caplog
):
    registry = ModelRegistry(tmp_path)
    first = registry.publish(result)
    clock = Clock()
    holder = ModelHolder(tmp_path, check_interval=5.0, clock=clock)
    assert holder.get().version == first
    assert holder.get().recommend_for_user("u1", [("1003", "view")], n=3)
    second = registry.publish(result)
    clock.now = 4.9
    assert holder.get().version == first  # not checked again yet
    clock.now = 5.0
    assert holder.get().version == second
    broken = registry.publish(result)
    path = tmp_path / broken / "recommender.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    clock.now = 10.0
    with caplog.at_level(logging.ERROR, logger="ml.serving"):
        assert holder.get().version == second
    assert any(r.exc_info and broken in str(r.exc_info[1]) for r in caplog.records)
    clock.now = 15.0
    assert holder.get().version == second  # the broken version is not retried
    registry.activate(first)
    clock.now = 20.0
    assert holder.get().version == first


def test_concurrent_readers_always_see_a_whole_version(result, tmp_path):
    registry = ModelRegistry(tmp_path)
    registry.publish(result)
    holder = ModelHolder(tmp_path, check_interval=0.0)
    seen, errors = [], []

    def read() -> None:
        try:
            for _ in range(30):
                loaded = holder.get()
                seen.append(loaded.version)
                loaded.recommend_for_user("u2", [], n=3)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    registry.publish(result)
    for thread in threads:
        thread.join()
    assert not errors and set(seen) <= set(registry.versions())


def test_serving_needs_neither_implicit_nor_the_web_app(result, tmp_path):
    ModelRegistry(tmp_path).publish(result)
    run_in_fresh_interpreter(
        f"""
        import sys
        sys.modules["implicit"] = None  # any import of implicit now fails
        from ml.serving import ModelHolder
        loaded = ModelHolder({str(tmp_path)!r}).get()
        assert loaded.models["recommender"].name == "als", loaded.models
        assert len(loaded.recommend_for_user(None, [("1001", "view"), ("1002", "view")], 5)) == 5
        assert loaded.similar_items("1001", 3) and loaded.popular(3)
        loaded.also_bought("1001", 3)
        leaked = [m for m in ("implicit.cpu", "flask", "sqlalchemy", "storefront")
                  if m in sys.modules]
        assert not leaked, leaked
        print("ok")
        """
    )
