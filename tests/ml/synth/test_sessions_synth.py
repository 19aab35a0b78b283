"""The planted-chain session generator: seeded, sized, chains followed in order, visitors whose
30-minute cut gives back the sessions, and files the YOOCHOOSE and Retailrocket readers accept."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ml.sessions.data import sessionise
from ml.sessions.sources import read_retailrocket_sessions, read_yoochoose_sessions
from ml.synth.sessions import SessionSynthConfig, generate_sessions, write_retailrocket_events, write_yoochoose_clicks

SMALL = SessionSynthConfig(n_sessions=500, days=5, seed=9)


def test_seeded_and_sized():
    one, two = generate_sessions(SMALL), generate_sessions(SMALL)
    pd.testing.assert_frame_equal(one.events, two.events)
    assert one.events["session_id"].nunique() == 500
    assert not generate_sessions(SessionSynthConfig(n_sessions=500, days=5, seed=10)).events.equals(one.events)
    span = one.events["timestamp"].max() - one.events["timestamp"].min()
    assert span < 6 * 86_400
    with pytest.raises(ValueError):
        generate_sessions(SessionSynthConfig(chain_length=2))


def test_chain_clicks_follow_a_chain_in_order():
    planted = generate_sessions(SMALL)
    chains = planted.chains
    successors = {(a, b) for chain in chains for a, b in zip(chain[:-1], chain[1:])}
    steps = planted.events[~planted.events["noise"]]
    lengths = steps.groupby("session_id").size()
    assert lengths.min() >= 2
    pairs = [(a, b) for _, items in steps.groupby("session_id")["item_id"] for a, b in zip(items[:-1], items[1:])]
    assert all(pair in successors for pair in pairs)
    share = planted.events["noise"].mean()
    assert 0.05 < share < 0.15  # noise 0.1
    # the last item alone is ambiguous: pool items sit in several chains
    per_item = pd.Series(chains.ravel()).value_counts()
    assert per_item.mean() > 2


def test_visitors_cut_at_30_minutes_give_back_the_sessions():
    events = generate_sessions(SMALL).events
    cut = sessionise(events, "visitor_id")
    assert pd.crosstab(cut, events["session_id"]).gt(0).sum(axis=1).max() == 1
    assert cut.nunique() == events["session_id"].nunique()


def test_files_in_the_public_layouts_read_back(tmp_path):
    events = generate_sessions(SMALL).events
    yc = read_yoochoose_sessions(write_yoochoose_clicks(events, tmp_path / "clicks.dat"))
    rr = read_retailrocket_sessions(write_retailrocket_events(events, tmp_path / "events.csv"))
    for source in (yc, rr):
        assert source.data.n_sessions == 500 and source.data.n_events == len(events) and not len(source.skipped)
    assert sorted(map(tuple, (yc.data.item_ids[yc.data.session(s)] for s in range(500)))) == \
        sorted(map(tuple, (rr.data.item_ids[rr.data.session(s)] for s in range(500))))
    assert np.allclose(np.sort(yc.data.times), np.sort(events["timestamp"].to_numpy()), atol=1e-3)
