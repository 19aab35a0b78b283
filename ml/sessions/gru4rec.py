"""GRU4Rec (Hidasi et al. 2016; Hidasi & Karatzoglou 2018): a GRU reads the session, the next
item is scored from its last hidden state.

Scoring is numpy only (serving never imports torch; training lives in
:mod:`ml.sessions.gru4rec_training` and is imported inside :meth:`GRU4Rec._fit`). The forward
pass is torch's ``nn.GRU`` written out, gate order (r, z, n) as in torch's weights::

    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    h' = (1 - z) * n + z * h

then ``scores = h_last @ W_out.T + b_out`` over every item. With ``embedding=0`` (the
original's default) the first layer's input is the item's one-hot vector, so ``W_i. x`` is a row
of ``input_table`` (``n_items x 3H``: torch's ``weight_ih_l0`` transposed); with
``embedding > 0`` an ``embedding`` table (``n_items x d``) feeds ``w_ih_0`` (``3H x d``).
Further layers read the layer below's hidden state through their own ``w_ih_k``.

The recurrent part runs in float64 (a few small matrix-vector products per event); the output
layer, ``n_items x H``, is one float32 matrix-vector product (half the memory traffic of
float64: it is most of the latency on a large catalogue), added to the float64 bias.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Mapping, Sequence

import numpy as np

from ml.constants import SEED
from ml.sessions.base import SessionRecommender
from ml.sessions.data import SessionData

LOSSES = ("cross-entropy", "bpr-max")
REPORT_KEY = "training_report"


@dataclass
class GRU4RecReport:
    """What happened in ``fit`` (saved with the model as a JSON string)."""

    epochs_run: int = 0
    best_epoch: int = 0
    best_validation_mrr: float | None = None
    stopped_by: str = "max_epochs"  # "patience", "time_budget" or "max_epochs"
    seconds: float = 0.0
    events_trained: int = 0  # (item, next item) steps over all epochs
    validation_sessions: int = 0
    validation_mrr: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)

    def to_array(self) -> np.ndarray:
        return np.array(json.dumps(asdict(self)))

    @classmethod
    def from_array(cls, value: np.ndarray | None) -> "GRU4RecReport":
        return cls() if value is None else cls(**json.loads(str(value)))


def sigmoid(x: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-x))`` without overflow warnings."""
    return 0.5 * (1.0 + np.tanh(0.5 * x))


class GRU4RecWeights:
    """The trained arrays (float32, as saved) and the numpy forward pass."""

    def __init__(self, arrays: Mapping[str, np.ndarray]) -> None:
        def get(key: str) -> np.ndarray:
            return np.ascontiguousarray(arrays[key], dtype=np.float32)

        self.n_layers = sum(1 for key in arrays if key.startswith("w_hh_"))
        if self.n_layers == 0:
            raise KeyError("w_hh_0: a GRU4Rec model needs at least one layer")
        self.one_hot = "embedding" not in arrays
        self.table = get("input_table") if self.one_hot else get("embedding")
        first = 1 if self.one_hot else 0
        self.w_ih = {k: get(f"w_ih_{k}") for k in range(first, self.n_layers)}
        self.b_ih = [get(f"b_ih_{k}") for k in range(self.n_layers)]
        self.w_hh = [get(f"w_hh_{k}") for k in range(self.n_layers)]
        self.b_hh = [get(f"b_hh_{k}") for k in range(self.n_layers)]
        self.w_out, self.b_out = get("w_out"), get("b_out")
        # float64 copies of the recurrent weights (small) for scoring
        self._w_ih = {k: w.astype(np.float64) for k, w in self.w_ih.items()}
        self._b_ih = [b.astype(np.float64) for b in self.b_ih]
        self._w_hh = [w.astype(np.float64) for w in self.w_hh]
        self._b_hh = [b.astype(np.float64) for b in self.b_hh]
        self._b_out = self.b_out.astype(np.float64)

    def arrays(self) -> dict[str, np.ndarray]:
        out = {("input_table" if self.one_hot else "embedding"): self.table,
               "w_out": self.w_out, "b_out": self.b_out}
        for k in range(self.n_layers):
            if k in self.w_ih:
                out[f"w_ih_{k}"] = self.w_ih[k]
            out[f"b_ih_{k}"], out[f"w_hh_{k}"], out[f"b_hh_{k}"] = \
                self.b_ih[k], self.w_hh[k], self.b_hh[k]
        return out

    @property
    def n_items(self) -> int:
        return len(self.w_out)

    def hidden_states(self, items: np.ndarray) -> np.ndarray:
        """The top layer's hidden state after each event (``len(items) x H``), from zero."""
        below = self.table[np.asarray(items, dtype=np.int64)].astype(np.float64)
        for k in range(self.n_layers):
            gates_x = below @ self._w_ih[k].T if k in self._w_ih else below
            gates_x = gates_x + self._b_ih[k]
            w_hh, b_hh = self._w_hh[k], self._b_hh[k]
            size = len(b_hh) // 3
            h = np.zeros(size)
            out = np.empty((len(below), size))
            for t, gx in enumerate(gates_x):
                gh = w_hh @ h + b_hh
                rz = sigmoid(gx[:2 * size] + gh[:2 * size])
                n = np.tanh(gx[2 * size:] + rz[:size] * gh[2 * size:])
                z = rz[size:]
                h = (1.0 - z) * n + z * h
                out[t] = h
            below = out
        return below

    def scores(self, hidden: np.ndarray) -> np.ndarray:
        """Float64 scores of every item from one top-layer hidden state."""
        return (self.w_out @ hidden.astype(np.float32)).astype(np.float64) + self._b_out


class GRU4Rec(SessionRecommender):
    """GRU4Rec with session-parallel mini-batches and sampled output (see the training module).

    Architecture: ``layers`` (hidden sizes of the stacked GRUs), ``embedding`` (0: one-hot
    input, the original's default). Loss: ``"cross-entropy"`` (softmax over the batch's targets
    plus ``n_sample`` shared negatives) or ``"bpr-max"`` (with ``bpreg``, the score
    regularisation of the 2018 paper). Negatives: the other sessions' targets plus ``n_sample``
    items drawn with probability proportional to ``popularity ** sample_alpha``.
    Optimiser: the original's Adagrad with momentum (``learning_rate``, ``momentum``), applied
    row by row to the item tables so a step costs the same whatever the catalogue size.
    ``dropout_embed`` (only with ``embedding > 0``) and ``dropout_hidden`` (on every layer's
    output) regularise. Training stops after ``epochs``, after ``patience`` epochs without a
    better validation MRR@``validation_k`` (last items of a seeded ``validation_fraction`` of
    the sessions, at most ``max_validation_sessions``; 0 disables it and keeps the last
    weights), or after the batch that crosses ``time_budget_seconds``; the best weights are
    kept. ``num_threads`` torch threads (0: ``OMP_NUM_THREADS`` or 1), ``random_state`` seeds
    everything. An empty session scores ``-inf`` everywhere (no evidence).
    """

    name = "gru4rec"

    def __init__(
        self,
        layers: Sequence[int] = (100,),
        embedding: int = 0,
        loss: str = "cross-entropy",
        bpreg: float = 1.0,
        n_sample: int = 2048,
        sample_alpha: float = 0.5,
        batch_size: int = 64,
        learning_rate: float = 0.05,
        momentum: float = 0.0,
        dropout_embed: float = 0.0,
        dropout_hidden: float = 0.0,
        epochs: int = 10,
        patience: int = 3,
        validation_fraction: float = 0.1,
        max_validation_sessions: int = 1000,
        validation_k: int = 20,
        time_budget_seconds: float = 30.0,
        num_threads: int = 0,
        random_state: int = SEED,
    ) -> None:
        layers = [int(size) for size in ([layers] if isinstance(layers, int) else layers)]
        problems = []
        if not layers or min(layers) < 1:
            problems.append("layers must be a non-empty list of positive sizes")
        if loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}")
        for key, value in (("embedding", embedding), ("n_sample", n_sample)):
            if int(value) < 0:
                problems.append(f"{key} must be >= 0")
        for key, value in (("batch_size", batch_size), ("epochs", epochs), ("patience", patience),
                           ("max_validation_sessions", max_validation_sessions),
                           ("validation_k", validation_k)):
            if int(value) < 1:
                problems.append(f"{key} must be >= 1")
        if not learning_rate > 0:
            problems.append("learning_rate must be > 0")
        for key, value in (("momentum", momentum), ("dropout_embed", dropout_embed),
                           ("dropout_hidden", dropout_hidden),
                           ("validation_fraction", validation_fraction)):
            if not 0.0 <= value < 1.0:
                problems.append(f"{key} must be in [0, 1)")
        if not (bpreg >= 0 and sample_alpha >= 0):
            problems.append("bpreg and sample_alpha must be >= 0")
        if not (time_budget_seconds >= 0 and math.isfinite(time_budget_seconds)):
            problems.append("time_budget_seconds must be a finite number >= 0")
        if int(num_threads) < 0:
            problems.append("num_threads must be >= 0")
        if problems:
            raise ValueError("invalid GRU4Rec parameters: " + "; ".join(problems))
        super().__init__(
            layers=layers, embedding=int(embedding), loss=str(loss), bpreg=float(bpreg),
            n_sample=int(n_sample), sample_alpha=float(sample_alpha), batch_size=int(batch_size),
            learning_rate=float(learning_rate), momentum=float(momentum),
            dropout_embed=float(dropout_embed), dropout_hidden=float(dropout_hidden),
            epochs=int(epochs), patience=int(patience),
            validation_fraction=float(validation_fraction),
            max_validation_sessions=int(max_validation_sessions),
            validation_k=int(validation_k), time_budget_seconds=float(time_budget_seconds),
            num_threads=int(num_threads), random_state=int(random_state),
        )
        self.weights: GRU4RecWeights | None = None
        self.training_report = GRU4RecReport()

    def _fit(self, data: SessionData) -> None:
        from ml.sessions.gru4rec_training import train_gru4rec

        arrays, self.training_report = train_gru4rec(data, self.params)
        self.weights = GRU4RecWeights(arrays)

    def score(self, session_items: np.ndarray) -> np.ndarray:
        self._check_fitted()
        items = self._session_array(session_items)
        if len(items) == 0:
            return np.full(self.n_items, -np.inf)
        return self.weights.scores(self.weights.hidden_states(items)[-1])

    def _get_arrays(self) -> dict[str, np.ndarray]:
        return {**self.weights.arrays(), REPORT_KEY: self.training_report.to_array()}

    def _set_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        self.weights = GRU4RecWeights(arrays)
        self.training_report = GRU4RecReport.from_array(arrays.get(REPORT_KEY))
        if self.weights.n_items != self.n_items:
            raise ValueError("the weights do not match the item vocabulary")

