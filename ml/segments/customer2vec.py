"""Customer2Vec: one Doc2Vec document per customer, so customers who buy alike get close vectors.

Corpus: each customer is a document tagged with their id; its words are the product ids of
their orders, orders in chronological order and each order's lines in basket order, all
concatenated (by default each product followed by a token of its category, see
:class:`Customer2VecParams`). Why one document per customer rather than one per order (the
same tag repeated):

- the signal worth learning is "what this customer buys across visits"; most orders hold one
  or two lines, so a window confined to one order would see almost no context, while a window
  running over consecutive orders of the same customer relates what they bought over time;
- PV-DBOW trains each document vector to predict each of its words, which is identical under
  both layouts, so nothing is lost for ``dm=0``.

Training uses gensim (only here); the fitted :class:`Customer2VecModel` keeps plain numpy
arrays (customer ids, L2-normalised vectors), so serving, ``nearest`` and ``load`` need
numpy alone, and artifacts are ``.npz`` (no pickle) plus a JSON of the parameters.

Determinism: with ``workers=1`` and a fixed ``seed`` gensim's training is reproducible. gensim
4 draws initial vectors from ``numpy.random.default_rng(seed)``; the only use of Python's
salted ``hash`` (``PYTHONHASHSEED``) is ``infer_vector``'s seeding, and we pass a stable
CRC32 ``hashfxn`` anyway, so results do not depend on ``PYTHONHASHSEED`` either.
"""

from __future__ import annotations

import json
import logging
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from ml.constants import SEED
from ml.segments.frames import CREATED_COL, CUSTOMER_COL, ORDER_COL, PRODUCT_COL

log = logging.getLogger(__name__)

#: Prefix of the category tokens added after each product (see :class:`Customer2VecParams`).
CATEGORY_PREFIX = "category:"

__all__ = ["Customer2VecModel", "Customer2VecParams", "build_documents", "fit"]


def _stable_hash(text: str) -> int:
    """A ``hash`` replacement that does not change between interpreter runs."""
    return zlib.crc32(text.encode("utf-8"))


@dataclass(frozen=True)
class Customer2VecParams:
    """Doc2Vec settings, chosen on the sparse demo shop (about 1.9 orders of 1.2 lines per
    buyer; the measurements are in the docstring of :mod:`ml.segments.comparison`):

    - ``dm=0, dbow_words=1``: PV-DBOW, with word vectors trained skip-gram style alongside, so
      customers who bought *related* products get close, not only those who bought the very
      same product (plain PV-DBOW and PV-DM predicted the next purchases less well);
    - ``category_tokens``: every product word is followed by ``category:<its category>``.
      With one or two purchases per customer, product ids alone rarely overlap between
      customers, and their vectors were *worse* than popularity at predicting the next purchase;
      the shared category tokens give the documents common words, which made the neighbours as
      taste-pure as the explicit spend-share features and the recommendations better;
    - ``min_count=1``: with so few orders nearly every product is rare, dropping them drops
      customers; ``sample=0``: no down-sampling of frequent words in a corpus this small;
    - ``epochs=40``: many passes make up for the tiny corpus (20 and 100 were a little worse).
    """

    vector_size: int = 32
    window: int = 5
    epochs: int = 40
    min_count: int = 1
    dm: int = 0
    dbow_words: int = 1
    negative: int = 5
    sample: float = 0.0
    category_tokens: bool = True
    seed: int = SEED

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


def build_documents(
    order_lines: pd.DataFrame, categories: Mapping[str, str] | None = None
) -> tuple[list[str], list[list[str]]]:
    """(customer ids sorted, their word lists) from joined order lines.

    ``order_lines`` needs ``customer_id, order_id, created_at, product_id`` (see
    :func:`ml.segments.frames.join_lines`); rows are ordered by (created_at, order_id) with a
    stable sort, so each order's lines keep their basket order. With ``categories`` (product id
    -> category), every product word is followed by the token ``category:<its category>``.
    """
    needed = (CUSTOMER_COL, ORDER_COL, CREATED_COL, PRODUCT_COL)
    missing = [c for c in needed if c not in order_lines]
    if missing:
        raise ValueError(f"order lines are missing the column(s): {', '.join(missing)}")
    frame = order_lines.sort_values([CREATED_COL, ORDER_COL], kind="stable")
    products = frame[PRODUCT_COL].astype(str)
    customers = frame[CUSTOMER_COL].astype(str)
    if categories is not None:
        tokens = CATEGORY_PREFIX + products.map(categories).fillna("unknown").astype(str)
        positions = np.arange(len(frame))
        products = pd.concat([products, tokens], ignore_index=True)
        customers = pd.concat([customers, customers], ignore_index=True)
        order = np.argsort(np.concatenate([2 * positions, 2 * positions + 1]), kind="stable")
        products, customers = products.iloc[order], customers.iloc[order]
    documents = products.groupby(customers, sort=True).agg(list)
    return [str(c) for c in documents.index], list(documents.to_numpy())


@dataclass(frozen=True, eq=False)
class Customer2VecModel:
    """Fitted customer vectors: ``vectors[i]`` (unit length, float32) belongs to
    ``customer_ids[i]`` (sorted unicode array)."""

    customer_ids: np.ndarray
    vectors: np.ndarray
    params: Customer2VecParams

    def __post_init__(self) -> None:
        ids = np.asarray(self.customer_ids).astype(str)
        vectors = np.asarray(self.vectors, dtype=np.float32)
        if vectors.ndim != 2 or len(ids) != vectors.shape[0]:
            raise ValueError("need one vector per customer id")
        object.__setattr__(self, "customer_ids", ids)
        object.__setattr__(self, "vectors", vectors)
        object.__setattr__(self, "_index", {c: i for i, c in enumerate(ids.tolist())})

    def __len__(self) -> int:
        return len(self.customer_ids)

    def index_of(self, customer_id: object) -> int:
        """Row of ``customer_id``, or -1 when the customer has no vector."""
        return self._index.get(str(customer_id), -1)  # type: ignore[attr-defined]

    def vector(self, customer_id: object) -> np.ndarray | None:
        row = self.index_of(customer_id)
        return None if row < 0 else self.vectors[row]

    def similarities(self, customer_id: object) -> np.ndarray | None:
        """Cosine similarity of ``customer_id`` to every customer (vectors are unit length)."""
        vector = self.vector(customer_id)
        return None if vector is None else self.vectors @ vector

    def nearest(self, customer_id: object, n: int = 10) -> list[tuple[str, float]]:
        """The ``n`` most similar other customers as (id, cosine), best first; ``[]`` when the
        customer is unknown. Ties break by row (customer id order), so results are stable."""
        sims = self.similarities(customer_id)
        if sims is None or n <= 0:
            return []
        sims = sims.astype(np.float64)
        sims[self.index_of(customer_id)] = -np.inf
        order = np.lexsort((np.arange(len(sims)), -sims))[: min(n, len(sims) - 1)]
        return [(str(self.customer_ids[i]), float(sims[i])) for i in order]

    def to_arrays(self, prefix: str = "") -> dict[str, np.ndarray]:
        return {f"{prefix}customer_ids": self.customer_ids, f"{prefix}vectors": self.vectors}

    @classmethod
    def from_arrays(
        cls, arrays: object, params: dict[str, float | int], prefix: str = ""
    ) -> "Customer2VecModel":
        get = arrays.__getitem__  # an NpzFile or a dict
        params_ = Customer2VecParams(**params)
        return cls(get(f"{prefix}customer_ids"), get(f"{prefix}vectors"), params_)

    def save(self, directory: str | Path, name: str = "customer2vec") -> list[str]:
        """Write ``<name>.npz`` (arrays) and ``<name>.json`` (params); return the file names."""
        directory = Path(directory)
        with open(directory / f"{name}.npz", "wb") as handle:
            np.savez(handle, **self.to_arrays())
        meta = json.dumps({"params": self.params.to_dict()}, indent=2, sort_keys=True)
        (directory / f"{name}.json").write_text(meta, encoding="utf-8")
        return [f"{name}.npz", f"{name}.json"]

    @classmethod
    def load(cls, directory: str | Path, name: str = "customer2vec") -> "Customer2VecModel":
        directory = Path(directory)
        meta = json.loads((directory / f"{name}.json").read_text(encoding="utf-8"))
        with np.load(directory / f"{name}.npz", allow_pickle=False) as arrays:
            return cls.from_arrays(arrays, meta["params"])


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32)


def fit(
    order_lines: pd.DataFrame,
    params: Customer2VecParams = Customer2VecParams(),
    categories: Mapping[str, str] | None = None,
) -> Customer2VecModel:
    """Train Doc2Vec on the customers' purchase documents (see the module docstring).

    ``categories`` (product id -> category) is used when ``params.category_tokens`` is set.

    Customers none of whose products reach ``min_count`` get no vector (gensim would leave them
    at their random initialisation, which is noise, not similarity).
    """
    from gensim.models.doc2vec import Doc2Vec, TaggedDocument  # training-only dependency

    use_categories = categories if params.category_tokens else None
    customers, documents = build_documents(order_lines, use_categories)
    if not customers:
        raise ValueError("there are no order lines to learn customer vectors from")
    counts = pd.Series([w for doc in documents for w in doc]).value_counts()
    kept = set(counts.index[counts >= params.min_count])
    has_words = np.array([any(w in kept for w in doc) for doc in documents])
    if not has_words.any():
        raise ValueError(f"no product occurs at least min_count={params.min_count} times")
    corpus = [TaggedDocument(doc, [cid]) for cid, doc in zip(customers, documents)]
    model = Doc2Vec(
        vector_size=params.vector_size, window=params.window, min_count=params.min_count,
        epochs=params.epochs, dm=params.dm, dbow_words=params.dbow_words,
        negative=params.negative, sample=params.sample, seed=params.seed, workers=1,
        hashfxn=_stable_hash,
    )
    model.build_vocab(corpus)
    model.train(corpus, total_examples=model.corpus_count, epochs=model.epochs)
    ids = np.asarray(customers)[has_words]
    vectors = np.vstack([model.dv[cid] for cid in ids.tolist()])
    log.info("customer2vec: %d customers, %d words, %d dims",
             len(ids), len(model.wv), params.vector_size)
    return Customer2VecModel(ids, _normalise(vectors), params)
