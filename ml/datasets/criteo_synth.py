"""Synthetic click data in the Criteo layout, with interactions a linear model cannot see.

:func:`write_synthetic_criteo` writes a file readable by :func:`ml.datasets.criteo.read_criteo`
(CSV with a header, or the original tab-separated layout without one). Labels are drawn from a
logistic model with

- main effects: ``I1`` and ``I5`` (log counts), ``C1``, ``C5``, ``C9`` (one effect per value);
- planted pairwise interactions that are (close to) zero on average per value, so LR learns
  almost nothing from them while FM and xDeepFM can:
  ``C3 x C7`` (XOR of a random sign per value), ``I2 bucket x C11`` (sign of the log-count
  bucket of ``I2`` times a sign per ``C11`` value) and ``C14 x C20`` (a rank-2 dot product).

Categories are 8-hex-digit "hashes" drawn with Zipf-like frequencies, counts are log-normal with
missing values (and a few negatives in ``I2``, as in the real data). Deterministic for a seed.

:func:`planted_interaction_frame` is a small feature frame for unit tests whose label depends
mainly on an XOR between two fields.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ml.datasets.criteo import CATEGORICAL_COLUMNS, INTEGER_COLUMNS, LABEL

#: Distinct values of C1..C26 (before Zipf sampling; rare ones may not appear).
_VOCAB_SIZES = (
    20, 500, 40, 300, 10, 8, 60, 1000, 3, 200, 24, 2000, 150,
    30, 800, 1500, 5, 400, 100, 40, 3000, 6, 250, 700, 12, 90,
)
_MISSING_C = frozenset({"C19", "C20", "C21", "C22", "C25", "C26"})
_BASE_LOGIT = -1.4


def _zipf_codes(rng: np.random.Generator, size: int, n: int, exponent: float = 1.05) -> np.ndarray:
    weights = 1.0 / np.arange(1, size + 1) ** exponent
    return rng.choice(size, n, p=weights / weights.sum())


def _signs(rng: np.random.Generator, size: int) -> np.ndarray:
    return rng.choice(np.array([-1.0, 1.0]), size)


def synthetic_criteo_frame(n_rows: int, seed: int = 7) -> pd.DataFrame:
    """The rows :func:`write_synthetic_criteo` writes: ``label`` (int), ``I*`` (nullable Int64),
    ``C*`` (str, "" when missing)."""
    rng = np.random.default_rng(seed)
    n = int(n_rows)
    columns: dict[str, object] = {}
    counts = {}
    for k, name in enumerate(INTEGER_COLUMNS):
        values = np.floor(np.exp(rng.normal(1.0 + 0.25 * k, 1.2, n))).astype(np.int64)
        if name == "I2":
            values = np.where(rng.random(n) < 0.04, -rng.integers(1, 4, n), values)
        missing = rng.random(n) < (0.02 + 0.03 * (k % 5))
        counts[name] = (values, missing)
        columns[name] = pd.array(np.where(missing, 0, values), dtype="Int64")
        columns[name][missing] = pd.NA
    codes = {}
    for name, size in zip(CATEGORICAL_COLUMNS, _VOCAB_SIZES):
        hashes = np.array([f"{h:08x}" for h in rng.integers(0, 2**32, size)], dtype=object)
        code = _zipf_codes(rng, size, n)
        missing = (rng.random(n) < 0.3) if name in _MISSING_C else np.zeros(n, dtype=bool)
        codes[name] = np.where(missing, -1, code)
        columns[name] = np.where(missing, "", hashes[code])

    def effect(name: str, scale: float) -> np.ndarray:
        size = _VOCAB_SIZES[CATEGORICAL_COLUMNS.index(name)]
        table = np.append(rng.normal(0.0, scale, size), 0.0)
        return table[codes[name]]  # code -1 (missing) reads the appended 0

    def log_count(name: str) -> np.ndarray:
        values, missing = counts[name]
        return np.where(missing, 0.0, np.log1p(np.maximum(values, 0)))

    logit = _BASE_LOGIT + 0.25 * (log_count("I1") - 1.5) - 0.2 * (log_count("I5") - 2.0)
    logit += effect("C1", 0.5) + effect("C5", 0.4) + effect("C9", 0.6)
    # C3 x C7: XOR of per-value signs
    logit += 1.2 * _signs(rng, 40)[codes["C3"]] * _signs(rng, 60)[codes["C7"]]
    # I2 log-count bucket x C11
    i2, i2_missing = counts["I2"]
    log_bucket = 2 + np.minimum(np.log1p(np.maximum(i2, 0)), 5).astype(int)
    bucket = np.where(i2_missing, 0, np.where(i2 < 0, 1, log_bucket))
    logit += 0.9 * _signs(rng, 8)[bucket] * _signs(rng, 24)[codes["C11"]]
    # C14 x C20: a rank-2 dot product (C20 missing -> 0)
    left = rng.normal(0.0, 1.0, (30, 2))
    right = np.vstack([rng.normal(0.0, 1.0, (40, 2)), np.zeros((1, 2))])
    logit += 0.6 * np.einsum("nk,nk->n", left[codes["C14"]], right[codes["C20"]])
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({LABEL: label, **columns})


def write_synthetic_criteo(
    path: str | Path,
    n_rows: int = 200_000,
    seed: int = 7,
    header: bool = True,
    extra_columns: bool = False,
) -> Path:
    """Write ``n_rows`` synthetic rows; ``header=False`` gives the original tab-separated
    layout, ``extra_columns`` (header files only) adds a leading unnamed index column and
    ``Customer_Id``/``Campaign_id`` like campaign exports. Returns the path."""
    frame = synthetic_criteo_frame(n_rows, seed)
    path = Path(path)
    if header:
        if extra_columns:
            frame.insert(0, "Customer_Id", np.arange(len(frame)) % 997 + 10_000)
            frame.insert(1, "Campaign_id", np.arange(len(frame)) % 7 + 1)
        frame.to_csv(path, index=extra_columns, na_rep="")
    else:
        frame.to_csv(path, sep="\t", header=False, index=False, na_rep="")
    return path


def planted_interaction_frame(n_rows: int = 20_000, seed: int = 0) -> pd.DataFrame:
    """Fields ``a``, ``b`` (10 values), ``c`` (20), ``d`` (5, noise) and ``label`` (0/1).

    The logit is ``-0.5 + 1.5 * s_a * s_b + 0.3 * e_c`` with ``s`` the parity of the value as
    +-1 (an XOR between ``a`` and ``b``) and ``e_c`` a weak main effect: a linear model only
    gets the weak part, a model of pairwise interactions nearly all of it.
    """
    rng = np.random.default_rng(seed)
    n = int(n_rows)
    a, b = rng.integers(0, 10, n), rng.integers(0, 10, n)
    c, d = rng.integers(0, 20, n), rng.integers(0, 5, n)
    sign = lambda v: np.where(v % 2 == 0, 1.0, -1.0)  # noqa: E731
    logit = -0.5 + 1.5 * sign(a) * sign(b) + 0.3 * rng.normal(0.0, 1.0, 20)[c]
    label = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    return pd.DataFrame({
        "a": [f"a{v}" for v in a], "b": [f"b{v}" for v in b],
        "c": [f"c{v}" for v in c], "d": [f"d{v}" for v in d], "label": label,
    })
