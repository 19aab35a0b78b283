"""Session-neighbourhood models (SKNN, V-SKNN, STAN): the session-model contract, scores
computed by hand, a plain-Python reference on random sessions, what sets the three apart."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from ml.sessions.base import SessionRecommender
from ml.sessions.data import SessionData
from ml.sessions.knn import POSITION_WEIGHTS, STAN, STEP_WEIGHTS, VSKNN, SessionKNN
from tests.ml.support import run_in_fresh_interpreter

DAY = 86_400.0
FACTORIES = {
    "sknn": lambda: SessionKNN(k=5, sample_size=20),
    "sknn_jaccard": lambda: SessionKNN(k=5, sample_size=20, similarity="jaccard"),
    "vsknn": lambda: VSKNN(k=5, sample_size=20),
    "vsknn_idf_cosine": lambda: VSKNN(k=5, sample_size=20, weighting="log",
                                      weighting_score="quadratic", similarity="cosine",
                                      idf_weighting=2.0),
    "stan": lambda: STAN(k=5, sample_size=20),
}


def sessions(*rows: str, item_ids=None, start: float = 1_000.0, gap: float = 100.0) -> SessionData:
    """Sessions from strings of one-letter items, each session ending ``gap`` seconds after
    the one before (so later arguments are more recent)."""
    frame = pd.DataFrame(
        [(f"s{n:03d}", item, start + n * gap + position)
         for n, row in enumerate(rows) for position, item in enumerate(row)],
        columns=["session_id", "item_id", "timestamp"])
    return SessionData.from_frame(frame, item_ids=item_ids)


def ids(data: SessionData, letters: str) -> np.ndarray:
    index = {item: n for n, item in enumerate(data.item_ids)}
    return np.array([index[letter] for letter in letters], dtype=np.int64)


def random_sessions(n_sessions: int = 60, n_items: int = 15, seed: int = 3) -> SessionData:
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n_sessions):
        for position in range(int(rng.integers(1, 7))):
            rows.append((f"s{s:03d}", f"i{int(rng.zipf(1.6)) % n_items:02d}",
                         1_000.0 + 60.0 * s + position))
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    return SessionData.from_frame(frame, item_ids=[f"i{i:02d}" for i in range(n_items + 2)])


@pytest.fixture(scope="module")
def data() -> SessionData:
    return random_sessions()


@pytest.fixture(params=sorted(FACTORIES), scope="module")
def fitted(request, data):
    return request.param, FACTORIES[request.param]().fit(data)


# -- the contract --------------------------------------------------------------------------
def test_fit_returns_self_and_the_vocabulary(data):
    for factory in FACTORIES.values():
        model = factory()
        assert model.fit(data) is model
        assert model.n_items == data.n_items
        np.testing.assert_array_equal(model.item_ids, data.item_ids)


def test_score_shape_and_no_evidence_marks(fitted, data):
    _, model = fitted
    scores = model.score(data.session(0))
    assert scores.shape == (data.n_items,) and scores.dtype == np.float64
    assert np.all(np.isfinite(scores) | (scores == -np.inf))
    assert np.isfinite(scores).any()
    assert np.all(scores[-2:] == -np.inf)  # in the vocabulary, in no training session


def test_recommend_best_first_and_n_respected(fitted, data):
    _, model = fitted
    for s in range(0, data.n_sessions, 7):
        session = data.session(s)
        for n in (1, 3, 10):
            items, scores = model.recommend(session, N=n)
            assert len(items) == len(scores) <= n
            assert np.all(np.diff(scores) <= 0)
            assert len(set(items.tolist())) == len(items)
            full = model.score(session)
            assert np.all(np.isfinite(full[items]))
            assert len(items) == min(n, int(np.isfinite(full).sum()))


def test_filters_are_honoured(fitted, data):
    _, model = fitted
    session = data.session(4)
    first, _ = model.recommend(session, N=5)
    banned = first[:2].tolist() + [10_000]  # an index outside the vocabulary is ignored
    items, _ = model.recommend(session, N=5, filter_items=banned)
    assert not set(banned) & set(items.tolist())
    everything, _ = model.recommend(session, N=data.n_items)
    assert set(session.tolist()) <= set(everything.tolist())  # remind: own items are scored
    items, _ = model.recommend(session, N=data.n_items, filter_session_items=True)
    assert not set(session.tolist()) & set(items.tolist())
    assert set(items.tolist()) == set(everything.tolist()) - set(session.tolist())


def test_two_fits_give_identical_scores(data):
    for factory in FACTORIES.values():
        a, b = factory().fit(data), factory().fit(data)
        for s in range(0, data.n_sessions, 5):
            np.testing.assert_array_equal(a.score(data.session(s)), b.score(data.session(s)))


def test_save_load_round_trip_without_pickle(fitted, data, tmp_path):
    key, model = fitted
    path = tmp_path / f"{key}.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as saved:
        assert all(saved[name].dtype != object for name in saved.files)
    loaded = type(model).load(path)
    assert type(loaded) is type(model) and loaded.params == model.params
    assert type(SessionRecommender.load(path)) is type(model)
    np.testing.assert_array_equal(model.item_ids, loaded.item_ids)
    for s in range(data.n_sessions):
        np.testing.assert_array_equal(model.score(data.session(s)), loaded.score(data.session(s)))


def test_empty_and_unknown_sessions(fitted, data):
    _, model = fitted
    assert np.all(model.score(np.array([], dtype=np.int64)) == -np.inf)
    items, scores = model.recommend([], N=5)
    assert len(items) == len(scores) == 0
    assert np.all(model.score([data.n_items - 1]) == -np.inf)  # an item no session holds
    for bad, call in zip(([0, data.n_items], [-1]), (model.recommend, model.score)):
        with pytest.raises(IndexError):
            call(bad)


def test_unfitted_and_bad_parameters_are_refused():
    for factory in FACTORIES.values():
        with pytest.raises(RuntimeError, match="not fitted"):
            factory().recommend([0])
    with pytest.raises(ValueError, match="similarity"):
        SessionKNN(similarity="tanimoto")
    with pytest.raises(ValueError, match="weighting"):
        VSKNN(weighting="cubic")
    with pytest.raises(ValueError, match="weighting_score"):
        VSKNN(weighting_score="cubic")
    with pytest.raises(ValueError, match="lambda_snh"):
        STAN(lambda_snh=0)
    with pytest.raises(ValueError, match="sample_size"):
        STAN(sample_size=-1)


def test_serving_needs_neither_torch_nor_the_web_app(data, tmp_path):
    for key, factory in FACTORIES.items():
        factory().fit(data).save(tmp_path / f"{key}.npz")
    run_in_fresh_interpreter(f"""
        import sys
        for name in ("torch", "flask", "sqlalchemy", "storefront"):
            sys.modules[name] = None
        import glob
        from ml.sessions.base import SessionRecommender
        import ml.sessions.knn
        for path in sorted(glob.glob({str(tmp_path / "*.npz")!r})):
            assert SessionRecommender.load(path).recommend([0, 1], N=3)[0].ndim == 1
        print("ok")
    """)


# -- the index (its own parts: test_neighbourhood_index.py) -----------------------------
def test_empty_training_sessions_are_left_out():
    data = SessionData(np.array(["a", "b", "c"]), np.array([0, 2, 2, 3]),
                       np.array([0, 1, 1], dtype=np.int32), np.array([1.0, 2.0, 9.0]),
                       np.array(["x", "y"]))
    model = SessionKNN().fit(data)
    assert model.index.n_sessions == 2
    np.testing.assert_allclose(model.score([0]), [1 / math.sqrt(2), 1 / math.sqrt(2)])
    nothing = data.subset(np.zeros(3, dtype=bool))  # no events at all: no evidence anywhere
    for factory in FACTORIES.values():
        assert np.all(factory().fit(nothing).score([0, 1]) == -np.inf)


# -- hand-computed scores ------------------------------------------------------------------
def test_sknn_cosine_and_jaccard_by_hand():
    data = sessions("ABC", "BD", "ADE", "CE", item_ids="ABCDEF")
    query = ids(data, "AD")
    r6 = math.sqrt(6)
    # neighbours: ABC (1 shared of 3), BD (1 of 2), ADE (2 of 3); CE shares nothing
    expected = {"A": 3 / r6, "B": 1 / r6 + 0.5, "C": 1 / r6, "D": 0.5 + 2 / r6, "E": 2 / r6}
    scores = SessionKNN(k=10, sample_size=0).fit(data).score(query)
    np.testing.assert_allclose(scores[:5], [expected[c] for c in "ABCDE"])
    assert scores[5] == -np.inf
    jaccard = {"A": 1 / 4 + 2 / 3, "B": 1 / 4 + 1 / 3, "C": 1 / 4, "D": 1 / 3 + 2 / 3, "E": 2 / 3}
    scores = SessionKNN(k=10, sample_size=0, similarity="jaccard").fit(data).score(query)
    np.testing.assert_allclose(scores[:5], [jaccard[c] for c in "ABCDE"])


def test_jaccard_and_cosine_pick_different_neighbours():
    # query of 4 items: X = "A" (1 shared of 1) vs Y = "BCxyz" (2 shared of 5).
    # cosine: X 1/sqrt(4) = 0.5 > Y 2/sqrt(20) = 0.447; jaccard: X 1/4 < Y 2/7
    data = sessions("A", "BCxyz", item_ids="ABCDxyz")  # D: in the vocabulary, in no session
    query = ids(data, "ABCD")
    cosine, _ = SessionKNN(k=1, sample_size=0).fit(data).recommend(query)
    jaccard, _ = SessionKNN(k=1, sample_size=0, similarity="jaccard").fit(data).recommend(query)
    assert set(cosine.tolist()) == set(ids(data, "A").tolist())
    assert set(jaccard.tolist()) == set(ids(data, "BCxyz").tolist())


def test_neighbours_outside_the_most_recent_sample_are_ignored():
    data = sessions("ABC", "ADE", "xy")  # ABC is older than ADE
    query = ids(data, "A")
    everything = SessionKNN(k=10, sample_size=0).fit(data).score(query)
    recent = SessionKNN(k=10, sample_size=1).fit(data).score(query)
    assert np.all(np.isfinite(everything[ids(data, "ABCDE")]))
    assert np.all(np.isfinite(recent[ids(data, "ADE")]))
    assert np.all(recent[ids(data, "BC")] == -np.inf)
    for model in (VSKNN(k=10, sample_size=1), STAN(k=10, sample_size=1)):
        assert np.all(model.fit(data).score(query)[ids(data, "BC")] == -np.inf)


def test_ties_at_k_go_to_the_more_recent_neighbour():
    data = sessions("AB", "AC")  # same similarity to "A"; AC is more recent
    scores = SessionKNN(k=1).fit(data).score(ids(data, "A"))
    assert scores[ids(data, "B")[0]] == -np.inf and np.isfinite(scores[ids(data, "C")[0]])


def test_vsknn_by_hand_with_idf():
    data = sessions("ABC", "DAE", "EF")
    query = ids(data, "AD")  # L = 2; "div": A (position 1) weighs 1/2, D (position 2) 1
    model = VSKNN(k=10, sample_size=0, weighting="div", weighting_score="div", idf_weighting=1.0)
    scores = model.fit(data).score(query)
    # vec similarity: ABC 0.5 / 2 = 0.25, DAE (0.5 + 1) / 2 = 0.75, EF no neighbour;
    # step weights: ABC's latest shared item A is 2 steps back -> 1/2, DAE's is D -> 1
    idf = {c: math.log(3 / n) for c, n in zip("ABCDEF", (2, 1, 1, 1, 2, 1))}
    old, new = 0.25 * 0.5, 0.75
    expected = {"A": (old + new) * (1 + idf["A"]), "B": old * (1 + idf["B"]),
                "C": old * (1 + idf["C"]), "D": new * (1 + idf["D"]), "E": new * (1 + idf["E"])}
    np.testing.assert_allclose(scores[ids(data, "ABCDE")], [expected[c] for c in "ABCDE"])
    assert scores[ids(data, "F")[0]] == -np.inf
    np.testing.assert_allclose(model.idf[ids(data, "ABCDEF")], [idf[c] for c in "ABCDEF"])


def test_vsknn_weights_recent_positions_more_than_sknn():
    data = sessions("XP", "ZQ")
    query = ids(data, "XZ")  # Z is the last event
    sknn = SessionKNN(k=10).fit(data).score(query)
    assert sknn[ids(data, "P")[0]] == sknn[ids(data, "Q")[0]]
    vsknn = VSKNN(k=10).fit(data).score(query)
    # linear weights X 0.9, Z 1.0; vec similarity / 2; step weights ("div") X 1/2, Z 1
    np.testing.assert_allclose(vsknn[ids(data, "PQ")], [0.9 / 2 * 0.5, 1.0 / 2])
    # recency in the similarity alone ("same" step weights) already orders them
    only_similarity = VSKNN(k=10, weighting_score="same").fit(data).score(query)
    assert only_similarity[ids(data, "Q")[0]] > only_similarity[ids(data, "P")[0]]
    flat = VSKNN(k=10, weighting="same", weighting_score="same").fit(data).score(query)
    assert flat[ids(data, "Q")[0]] == flat[ids(data, "P")[0]]


def test_stan_by_hand():
    # ABC ends one day before DAE; lambdas of 1 make every factor a power of e
    data = sessions("ABC", "DAE", gap=DAY)
    model = STAN(k=10, sample_size=0, lambda_spw=1.0, lambda_snh=1.0, lambda_inh=1.0).fit(data)
    scores = model.score(ids(data, "AD"))
    e = math.e
    norm = math.sqrt(e**-2 + 1)  # weights: A (position 1 of 2) e^-1, D (2 of 2) 1
    old = e**-1 / (norm * math.sqrt(3)) * e**-1  # shares A; a day older: e^-1
    new = (e**-1 + 1) / (norm * math.sqrt(3))
    # in ABC the last shared item is A (position 1); in DAE it is A (position 2)
    expected = {"A": old + new, "B": old * e**-1, "C": old * e**-2, "D": new * e**-1,
                "E": new * e**-1}
    np.testing.assert_allclose(scores[ids(data, "ABCDE")], [expected[c] for c in "ABCDE"])


def test_stan_follows_the_order_of_the_session():
    data = sessions("AB", "XY")
    stan, sknn = STAN(k=10, sample_size=0).fit(data), SessionKNN(k=10, sample_size=0).fit(data)
    b, y = ids(data, "BY")
    ends_in_x, ends_in_a = stan.score(ids(data, "AX")), stan.score(ids(data, "XA"))
    assert ends_in_x[y] > ends_in_x[b]  # the last item matters more than the first
    assert ends_in_a[b] > ends_in_a[y]
    plain = sknn.score(ids(data, "AX"))
    assert plain[b] == plain[y]


def test_stan_prefers_items_next_to_the_shared_one():
    data = sessions("ABCDEFG")
    scores = STAN(lambda_inh=1.0).fit(data).score(ids(data, "D"))
    c, e, a, g = scores[ids(data, "CEAG")]
    assert c == e > a == g
    flat = STAN(lambda_inh=None).fit(data).score(ids(data, "D"))
    assert len(set(flat[ids(data, "ABCDEFG")].tolist())) == 1


def test_stan_prefers_recent_neighbours():
    data = sessions("AB", "AC", gap=30 * DAY)  # AC a month later
    recent = STAN(lambda_snh=10.0).fit(data).score(ids(data, "A"))
    b, c = ids(data, "BC")
    assert recent[c] > recent[b]
    np.testing.assert_allclose(recent[b] / recent[c], math.exp(-3.0))
    timeless = STAN(lambda_snh=None).fit(data).score(ids(data, "A"))
    assert timeless[b] == timeless[c]


# -- a plain-Python reference on random sessions -------------------------------------------
def reference_scores(model, data: SessionData, session: np.ndarray) -> np.ndarray:
    """session-rec's loops over sets and dicts, with this module's documented choices."""
    p = model.params
    live = [s for s in range(data.n_sessions) if data.lengths[s]]
    end = {s: data.end_times[s] for s in live}
    recency = {s: r for r, s in enumerate(sorted(live, key=lambda s: (end[s], s)))}
    last = {s: {int(i): n + 1 for n, i in enumerate(data.session(s))} for s in live}
    L = len(session)
    pos = {int(i): n + 1 for n, i in enumerate(session)}
    query = set(pos)
    candidates = sorted((s for s in live if query & set(last[s])), key=recency.get)
    if p["sample_size"]:
        candidates = candidates[-p["sample_size"]:]
    if isinstance(model, SessionKNN):
        weight = {i: 1.0 for i in query}
    elif isinstance(model, VSKNN):
        weight = {i: float(POSITION_WEIGHTS[p["weighting"]](np.array([pos[i]], float), L)[0])
                  for i in query}
    else:
        weight = {i: math.exp((pos[i] - L) / p["lambda_spw"]) for i in query}
    t_ref = max(end.values())
    sims = []
    for s in candidates:
        shared = query & set(last[s])
        n = len(last[s])
        if isinstance(model, SessionKNN):
            c, m = len(shared), len(query)
            sim = c / (m + n - c) if p["similarity"] == "jaccard" else c / math.sqrt(m * n)
        elif isinstance(model, VSKNN) and p["similarity"] == "vec":
            sim = sum(weight[i] for i in shared) / len(query)
        else:
            norm = math.sqrt(sum(w * w for w in weight.values()))
            sim = sum(weight[i] for i in shared) / (norm * math.sqrt(n))
            if isinstance(model, STAN):
                sim *= math.exp(-(t_ref - end[s]) / (p["lambda_snh"] * DAY))
        if sim > 0:
            sims.append((sim, recency[s], s))
    neighbours = sorted(sims, reverse=True)[:p["k"]]
    scores = np.full(data.n_items, -np.inf)
    for sim, _, s in neighbours:
        shared = query & set(last[s])
        star = max(last[s][i] for i in shared)
        for item, where in last[s].items():
            vote = sim
            if isinstance(model, VSKNN):
                step = L - max(pos[i] for i in shared) + 1
                vote *= float(STEP_WEIGHTS[p["weighting_score"]](np.array([float(step)]))[0])
                vote *= 1 + p["idf_weighting"] * model.idf[item]
            if isinstance(model, STAN):
                vote *= math.exp(-abs(where - star) / p["lambda_inh"])
            if vote > 0:
                scores[item] = vote + (scores[item] if scores[item] > -np.inf else 0.0)
    return scores


@pytest.mark.parametrize("key", sorted(FACTORIES))
def test_vectorised_scores_match_the_reference(key):
    data = random_sessions(n_sessions=80, n_items=12, seed=11)
    model = FACTORIES[key]().fit(data)
    rng = np.random.default_rng(5)
    for _ in range(25):
        session = rng.integers(0, 12, size=int(rng.integers(1, 8)))
        expected = reference_scores(model, data, session)
        got = model.score(session)
        np.testing.assert_array_equal(np.isfinite(got), np.isfinite(expected))
        np.testing.assert_allclose(got[np.isfinite(got)], expected[np.isfinite(expected)],
                                   rtol=1e-9)
