"""Categorical features -> global feature indices, the input of every CTR model.

Each field (a DataFrame column, read as text) gets a block of consecutive global indices:
``offset[f] + 0`` is the field's *unknown* slot (a value missing, rare at fit time or never
seen), ``offset[f] + 1 ...`` its known values in sorted order. So a model's embedding table has
``n_features`` rows and a row of ``transform`` holds one index per field.

Speed: at serve time ``transform`` of ~100 rows is one dict lookup per cell; on large frames
it switches to pandas' hashed ``get_indexer`` (vectorised). Both give the same indices. For 100
rows of 39 fields (bench/ctr_scoring.py, 2 cores): about 0.5 ms from a dict of lists, about
1 ms from a DataFrame of pandas string columns (pandas costs ~10 us per column to hand over
its values); a shop-sized 10 fields takes a quarter of that.

Numbers (price, popularity, a retrieval score) become categories with :func:`quantile_edges`
(fitted on training data) and :func:`bucketize`.

The encoder is saved as plain numpy arrays (unicode strings, no pickle): see
:meth:`FeatureEncoder.to_arrays`.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

#: Up to this many rows ``transform`` uses per-cell dict lookups (no pandas call per column).
_SMALL_FRAME_ROWS = 2_000
MISSING_LABEL = "missing"


def _all_text(column: pd.Series, values: np.ndarray) -> bool:
    """Whether every value of the column is a ``str`` (no null), checked cheaply."""
    if isinstance(column.dtype, pd.StringDtype):
        return not column.hasnans
    return column.dtype == object and pd.api.types.infer_dtype(values, skipna=False) == "string"


def _text(column: pd.Series) -> np.ndarray:
    """A column as an object array of ``str``, nulls as ``None`` (never the text ``"nan"``)."""
    values = column.to_numpy(dtype=object)
    if _all_text(column, values):
        return values
    missing = pd.isna(values)
    out = np.array([str(v) for v in values], dtype=object)
    out[missing] = None
    return out


class FeatureEncoder:
    """Maps the ``fields`` of a DataFrame to global int64 feature indices.

    ``min_count``: values seen fewer times than this at ``fit`` share the field's unknown slot
    (slot 0), as do missing values and values first seen at ``transform`` time.
    """

    def __init__(self, fields: Sequence[str], min_count: int = 1) -> None:
        if isinstance(fields, str) or len(fields) == 0:
            raise ValueError("fields must be a non-empty sequence of column names")
        if len(set(fields)) != len(fields):
            raise ValueError(f"fields are repeated: {list(fields)}")
        if int(min_count) < 1:
            raise ValueError("min_count must be >= 1")
        self.fields: tuple[str, ...] = tuple(str(f) for f in fields)
        self.min_count = int(min_count)
        self._vocab: list[np.ndarray] = []
        self._lookups: list[dict[str, int]] = []
        self._indexes: list[pd.Index] = []
        self.offsets = np.zeros(len(self.fields) + 1, dtype=np.int64)

    # -- fitting -------------------------------------------------------------------------
    def fit(self, frame: pd.DataFrame) -> "FeatureEncoder":
        self._check_columns(frame)
        vocab = []
        for field in self.fields:
            values = _text(frame[field])
            counts = pd.Series(values, dtype=object).value_counts(dropna=True)
            kept = counts.index[counts.to_numpy() >= self.min_count]
            vocab.append(np.array(sorted(str(v) for v in kept), dtype=object))
        self._set_vocab(vocab)
        return self

    def _set_vocab(self, vocab: list[np.ndarray]) -> None:
        self._vocab = vocab
        sizes = np.array([len(v) + 1 for v in vocab], dtype=np.int64)
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        self._lookups = [
            {value: int(offset) + slot for slot, value in enumerate(values, start=1)}
            for values, offset in zip(vocab, self.offsets[:-1])
        ]
        self._indexes = [pd.Index(values, dtype=object) for values in vocab]
        self._unknown = [int(offset) for offset in self.offsets[:-1]]

    @property
    def is_fitted(self) -> bool:
        return len(self._vocab) == len(self.fields)

    @property
    def n_features(self) -> int:
        """Rows of the embedding table: every field's known values plus its unknown slot."""
        return int(self.offsets[-1])

    @property
    def n_fields(self) -> int:
        return len(self.fields)

    def vocabulary(self, field: str) -> list[str]:
        """The known values of ``field`` in slot order (slot 1 first)."""
        return list(self._vocab[self.fields.index(field)])

    # -- transforming --------------------------------------------------------------------
    def transform(self, frame: pd.DataFrame | Mapping[str, Sequence]) -> np.ndarray:
        """int64 ``(rows, n_fields)`` of global indices (unknowns -> the field's slot 0).

        ``frame`` is a DataFrame with the fields as columns, or (fastest at serve time, no
        pandas at all) a mapping of each field to a sequence of values.
        """
        if not self.is_fitted:
            raise RuntimeError("FeatureEncoder.transform called before fit")
        if not isinstance(frame, pd.DataFrame):
            return self._lookup([list(frame[field]) for field in self.fields])
        self._check_columns(frame)
        if len(frame) <= _SMALL_FRAME_ROWS:
            columns = frame if tuple(frame.columns) == self.fields else frame[list(self.fields)]
            text = [isinstance(dtype, pd.StringDtype) for dtype in columns.dtypes]
            return self._lookup(columns.to_numpy(dtype=object).T.tolist(), text)
        out = np.empty((len(frame), len(self.fields)), dtype=np.int64)
        for column, field in enumerate(self.fields):
            unknown = int(self.offsets[column])
            codes = self._indexes[column].get_indexer(_text(frame[field]))
            out[:, column] = np.where(codes >= 0, codes + unknown + 1, unknown)
        return out

    def _lookup(self, columns: list[list], text: list[bool] | None = None) -> np.ndarray:
        """Per-cell dict lookups, one list per field (serving: no pandas call per column).

        ``text[j]``: field j holds only str or nulls (a pandas string column), so a miss is an
        unknown or missing value; otherwise misses are retried as ``str(value)`` (an int in an
        object column matches the text it was fitted as).
        """
        n_rows = {len(cells) for cells in columns}
        if len(n_rows) > 1:
            raise ValueError("the fields have different numbers of values")
        codes = [self._cell_codes(j, cells, bool(text and text[j])) for j, cells in enumerate(columns)]
        if not n_rows or 0 in n_rows:
            return np.zeros((0, len(self.fields)), dtype=np.int64)
        return np.ascontiguousarray(np.array(codes, dtype=np.int64).T)

    def _cell_codes(self, j: int, cells: list, text: bool) -> list[int]:
        lookup, unknown = self._lookups[j], self._unknown[j]
        get = lookup.get
        codes = [get(v, unknown) for v in cells]
        if not text and unknown in codes:
            for row in [r for r, code in enumerate(codes) if code == unknown]:
                if not _is_text_or_null(cells[row]):
                    codes[row] = get(str(cells[row]), unknown)
        return codes

    def field_codes(self, field: str, values: Sequence) -> np.ndarray:
        """The global indices of one field's ``values``: the column ``transform`` gives that
        field for the same values. Serving encodes what does not change per request (an item's
        fields, a widget's name) once with it and assembles the rows itself."""
        if not self.is_fitted:
            raise RuntimeError("FeatureEncoder.field_codes called before fit")
        if field not in self.fields:
            raise KeyError(f"the encoder has no field {field!r}")
        return np.array(self._cell_codes(self.fields.index(field), list(values), False), dtype=np.int64)

    def fit_transform(self, frame: pd.DataFrame) -> np.ndarray:
        return self.fit(frame).transform(frame)

    def _check_columns(self, frame: pd.DataFrame) -> None:
        columns = frame.columns
        missing = [f for f in self.fields if f not in columns]
        if missing:
            raise KeyError(f"the frame lacks the feature column(s) {missing}")

    # -- persistence ---------------------------------------------------------------------
    def to_arrays(self) -> dict[str, np.ndarray]:
        """Plain arrays (unicode strings and ints) that ``np.savez`` stores without pickle."""
        if not self.is_fitted:
            raise RuntimeError("cannot export an encoder that was not fitted")
        values = [v for vocab in self._vocab for v in vocab]
        return {
            "encoder_fields": np.array(self.fields, dtype=str),
            "encoder_min_count": np.array(self.min_count, dtype=np.int64),
            "encoder_sizes": np.array([len(v) for v in self._vocab], dtype=np.int64),
            "encoder_values": np.array(values, dtype=str) if values else np.zeros(0, "<U1"),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> "FeatureEncoder":
        fields = [str(f) for f in np.asarray(arrays["encoder_fields"]).tolist()]
        encoder = cls(fields, int(arrays["encoder_min_count"]))
        sizes = np.asarray(arrays["encoder_sizes"], dtype=np.int64)
        values = np.asarray(arrays["encoder_values"]).astype(object)
        if len(sizes) != len(fields) or int(sizes.sum()) != len(values):
            raise ValueError("inconsistent encoder arrays (field sizes do not match the values)")
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        encoder._set_vocab([values[a:b] for a, b in zip(bounds[:-1], bounds[1:])])
        return encoder

    def save(self, path) -> None:
        """One ``.npz`` at exactly ``path`` (no suffix added)."""
        with open(path, "wb") as handle:
            np.savez(handle, **self.to_arrays())

    @classmethod
    def load(cls, path) -> "FeatureEncoder":
        with np.load(path, allow_pickle=False) as data:
            return cls.from_arrays({key: data[key] for key in data.files})

    def __repr__(self) -> str:
        return f"FeatureEncoder({len(self.fields)} fields, {self.n_features} features)"


def _is_text_or_null(value) -> bool:
    return isinstance(value, str) or _is_null(value)


def _is_null(value) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


def quantile_edges(values, n_buckets: int) -> np.ndarray:
    """Inner bucket edges: observed values at the quantiles of the finite ``values`` (repeats
    removed; a value equal to an edge goes to the bucket above it).

    At most ``n_buckets - 1`` edges, so :func:`bucketize` yields at most ``n_buckets`` labels
    (fewer when the data has few distinct values).
    """
    if int(n_buckets) < 1:
        raise ValueError("n_buckets must be >= 1")
    array = np.asarray(values, dtype=np.float64).ravel()
    array = array[np.isfinite(array)]
    if array.size == 0 or n_buckets == 1:
        return np.zeros(0, dtype=np.float64)
    edges = np.quantile(array, np.linspace(0.0, 1.0, int(n_buckets) + 1)[1:-1], method="higher")
    edges = np.unique(edges)
    return edges[edges > array.min()]  # an edge at the minimum would leave bucket 0 empty


def bucketize(values, edges: np.ndarray, prefix: str = "") -> np.ndarray:
    """Labels ``f"{prefix}{i}"`` of the bucket of each value (``i`` = edges <= value; 0 below
    the first edge); NaN and infinities get ``f"{prefix}missing"``. A unicode array."""
    array = np.asarray(values, dtype=np.float64).ravel()
    edges = np.asarray(edges, dtype=np.float64)
    labels = np.array([f"{prefix}{i}" for i in range(len(edges) + 1)] + [prefix + MISSING_LABEL])
    bucket = np.searchsorted(edges, array, side="right")
    bucket[~np.isfinite(array)] = len(edges) + 1
    return labels[bucket]
