"""Numpy forward passes of the CTR models, so a web worker scores without torch.

:class:`CtrScorer` reproduces :mod:`ml.ctr.torch_models` exactly (same arrays, same formulas,
float32 like the training; the tests compare it with torch to 1e-5). The CIN is laid out
field-major, ``(fields, batch * dim)``, so each layer is one ``(H_k H_{k-1} x m) @
(m x batch D)`` matrix product, a Hadamard product and a sum (see
:class:`ml.ctr.torch_models.CompressedInteractionNetwork`): 100 candidates with 39 fields
score in about a millisecond.

Artifacts are one ``.npz`` per model: the arrays plus ``__params__``, the JSON of the
architecture (``kind``, ``n_features``, ``n_fields``, ``embed_dim``, ``cin_layers``,
``dnn_layers``, ``split_half``), loadable with ``allow_pickle=False``.

This module must never import torch (checked by a test).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping

import numpy as np

KINDS: tuple[str, ...] = ("lr", "fm", "xdeepfm")
PARAMS_KEY = "__params__"


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Overflow-free logistic function."""
    return 0.5 * (1.0 + np.tanh(0.5 * logits))


def cin_output_sizes(layer_sizes, split_half: bool) -> tuple[list[int], list[int]]:
    """(maps fed to the next layer, maps pooled to the output) of each CIN layer.

    With ``split_half`` every layer but the last is cut in two equal halves, so those sizes
    must be even; without it (and for the last layer) all maps go both ways.
    """
    sizes = [int(h) for h in layer_sizes]
    if any(h < 1 for h in sizes):
        raise ValueError(f"CIN layer sizes must be >= 1, got {sizes}")
    nexts, outs = [], []
    for k, h in enumerate(sizes):
        split = split_half and k < len(sizes) - 1
        if split and h % 2:
            raise ValueError(f"with split_half, CIN layer sizes but the last must be even: {sizes}")
        nexts.append(h // 2 if split else h)
        outs.append(h // 2 if split else h)
    return nexts, outs


class CtrScorer:
    """Click probabilities of encoded rows ``(n, n_fields)`` for a trained model."""

    def __init__(
        self, kind: str, arrays: Mapping[str, np.ndarray], params: Mapping[str, Any]
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown CTR model kind {kind!r} (known: {', '.join(KINDS)})")
        self.kind = kind
        self.params = {**dict(params), "kind": kind}
        self.arrays = {key: np.ascontiguousarray(value) for key, value in arrays.items()}

        def get(key: str) -> np.ndarray:
            if key not in self.arrays:
                raise KeyError(f"the {kind} model arrays lack {key!r}")
            return np.ascontiguousarray(self.arrays[key], dtype=np.float32)

        self.linear = get("linear_weight")
        self.bias = np.float32(get("bias").ravel()[0])
        self.n_features = len(self.linear)
        self.embedding = get("embedding") if kind != "lr" else None
        self.cin_weights: list[np.ndarray] = []
        self.cin_out = np.zeros(0, dtype=np.float32)
        self.dnn: list[tuple[np.ndarray, np.ndarray]] = []
        if kind == "xdeepfm":
            n_fields = int(self.params["n_fields"])
            layers = list(self.params.get("cin_layers", ()))
            self.split_half = bool(self.params.get("split_half", True))
            self.cin_next, _ = cin_output_sizes(layers, self.split_half)
            for k in range(len(layers)):
                weight = get(f"cin_weight_{k}")  # (H_k, H_{k-1}, m)
                self.cin_weights.append(weight)
                if weight.ndim != 3 or weight.shape[2] != n_fields:
                    raise ValueError(f"cin_weight_{k} has {weight.shape[2]} fields, not {n_fields}")
            if layers:
                self.cin_out = get("cin_out_weight").ravel()
            k = 0
            while f"dnn_weight_{k}" in self.arrays:
                self.dnn.append((get(f"dnn_weight_{k}").T.copy(), get(f"dnn_bias_{k}")))
                k += 1
            if not self.dnn:
                raise KeyError("the xdeepfm model arrays lack 'dnn_weight_0'")

    # -- scoring -------------------------------------------------------------------------
    def logits(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x)
        if x.ndim != 2:
            raise ValueError(f"x must be 2-d (rows, fields), got shape {x.shape}")
        if x.size and (x.min() < 0 or x.max() >= self.n_features):
            raise ValueError(f"feature indices must be in [0, {self.n_features})")
        out = self.linear[x].sum(axis=1, dtype=np.float32) + self.bias
        if self.kind == "lr":
            return out
        embedded = self.embedding[x]  # (n, m, D)
        if self.kind == "fm":
            total = embedded.sum(axis=1)
            pairwise = 0.5 * (total * total - (embedded * embedded).sum(axis=1)).sum(axis=1)
            return out + pairwise
        if self.cin_weights:
            out = out + self._cin(embedded) @ self.cin_out
        hidden = embedded.reshape(len(x), -1)
        for k, (weight, bias) in enumerate(self.dnn):
            hidden = hidden @ weight + bias
            if k < len(self.dnn) - 1:
                np.maximum(hidden, 0.0, out=hidden)
        return out + hidden[:, 0]

    def _cin(self, embedded: np.ndarray) -> np.ndarray:
        """Pooled CIN feature maps ``(n, output_dim)``, the torch module's order of sums."""
        n, m, d = embedded.shape
        base = np.ascontiguousarray(embedded.transpose(1, 0, 2)).reshape(m, n * d)
        hidden, pooled = base, []
        for weight, h_next in zip(self.cin_weights, self.cin_next):
            h_out, h_prev, _ = weight.shape
            mixed = (weight.reshape(h_out * h_prev, m) @ base).reshape(h_out, h_prev, -1)
            maps = np.einsum("hpn,pn->hn", mixed, hidden)  # (H_k, n * D)
            hidden, direct = (maps[:h_next], maps[h_next:]) if h_next != h_out else (maps, maps)
            pooled.append(direct.reshape(-1, n, d).sum(axis=2))
        return np.concatenate(pooled, axis=0).T

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Click probabilities ``(n,)`` (float32, like the torch model)."""
        return sigmoid(self.logits(x))

    # -- persistence ---------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """One ``.npz``: the arrays and ``__params__`` (a one-element JSON string array)."""
        params = np.array([json.dumps(self.params, sort_keys=True)])
        with open(path, "wb") as handle:  # np.savez would append ".npz" to a bare path
            np.savez(handle, **self.arrays, **{PARAMS_KEY: params})

    @classmethod
    def load(cls, path: str | Path) -> "CtrScorer":
        with np.load(path, allow_pickle=False) as data:
            if PARAMS_KEY not in data.files:
                raise ValueError(f"{path} is not a CTR model file (no {PARAMS_KEY})")
            params = json.loads(str(data[PARAMS_KEY][0]))
            arrays = {key: data[key] for key in data.files if key != PARAMS_KEY}
        return cls(params["kind"], arrays, params)

    def __repr__(self) -> str:
        return f"CtrScorer({self.kind!r}, {self.n_features} features)"
