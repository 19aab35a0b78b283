"""A published session model in a web worker (ml.sessions.serving): external ids in and out, the
visit's items and the caller's exclusions never proposed, unknown items ignored."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.sessions import SessionData
from ml.sessions.knn import SessionKNN
from ml.sessions.serving import SESSION_MODEL_FILE, SessionServer


@pytest.fixture
def server(tmp_path) -> SessionServer:
    # ids longer than 64 bits stay text: the vocabulary is the catalogue's ids as written
    big = "123456789012345678901234567890"
    rows = [("s1", "a", 1), ("s1", "b", 2), ("s1", "c", 3), ("s2", "a", 4), ("s2", "b", 5), ("s2", big, 6),
            ("s3", "b", 7), ("s3", "c", 8), ("s4", "x", 9), ("s4", "y", 10)]
    frame = pd.DataFrame(rows, columns=["session_id", "item_id", "timestamp"])
    SessionKNN(k=10, sample_size=10).fit(SessionData.from_frame(frame)).save(tmp_path / SESSION_MODEL_FILE)
    return SessionServer.load(tmp_path / SESSION_MODEL_FILE)


def test_next_items_answer_external_ids_without_the_visit(server):
    found = server.next_items(["a", "b"], n=5)
    ids = [item for item, _ in found]
    assert server.name == "sknn"
    assert "a" not in ids and "b" not in ids  # the visit's own items are not proposed
    assert set(ids) == {"c", "123456789012345678901234567890"}  # what the neighbours hold, nothing else
    scores = [score for _, score in found]
    assert scores == sorted(scores, reverse=True) and all(np.isfinite(scores))


def test_exclusions_unknown_items_and_empty_visits(server):
    assert [i for i, _ in server.next_items(["a", "b"], n=5, exclude=["c"])] == ["123456789012345678901234567890"]
    # an item the model never saw (a product added since training) is ignored, not an error
    assert server.next_items(["new-product", "x"], n=5) == [("y", pytest.approx(server.next_items(["x"], 1)[0][1]))]
    assert server.next_items(["new-product"], n=5) == []
    assert server.next_items([], n=5) == [] and server.next_items(["a"], n=0) == []
