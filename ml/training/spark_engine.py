"""The ``spark`` training engine: the ``als`` candidate trained by Spark MLlib.

With ``TrainingConfig(engine="spark")`` the ``als`` candidate keeps its name, default parameters
and search space (:data:`ml.training.candidates.CANDIDATES`), and the search, the holdout
evaluation and the refit all go through the same code; only its fit changes: the weighted
interaction matrix is written as Parquet (``user``, ``item``, ``strength``: matrix indices and
the summed, clipped strength), ``pyspark.ml.recommendation.ALS`` trains on it with
``implicitPrefs=True``, and the user and item factors come back (as Parquet again) into a plain
:class:`ml.models.ALSRecommender`. What is published is therefore the very artifact the local
engine publishes (model ``"als"``, two float32 factor arrays): web nodes load and fold in with
numpy, and nothing imports pyspark outside a Spark fit.

How our parameters become MLlib's (so that the same trial means the same model):

- confidence: implicit gives an observed pair of strength ``r`` the confidence ``alpha * r`` (an
  unobserved pair: 1); MLlib gives ``1 + alpha' * rating``. We pass ``rating = alpha * r - 1``
  and ``alpha' = 1``: the same confidence wherever ``alpha * r > 1``. Below that, where implicit
  would weigh an observed pair no more than an unobserved one, MLlib's floor is a rating just
  above 0 (it reads a rating <= 0 as a negative preference).
- regularisation: MLlib scales ``regParam`` by each row's number of ratings (ALS-WR), implicit
  uses one ``regularization`` for every row. ``regParam = regularization / n`` with ``n`` the
  mean number of interactions of the users and items that have any, so the total penalty
  matches at the average row.
- ``factors`` -> ``rank``, ``iterations`` -> ``maxIter``, ``random_state`` -> ``seed``;
  ``use_cg`` and ``num_threads`` do not apply (MLlib solves each row exactly; its parallelism is
  the master's cores).

On a planted 720 users x 240 items log, time split, the two engines' NDCG@10 at the same
parameters differ by 0.005 or less (implicit 0.1295 / Spark 0.1244 at the candidate's defaults,
0.1441 / 0.1474 at 32 factors, regularisation 10, alpha 2: ``tests/ml/training/
test_spark_engine.py``). Fold-in at serving is the local solve with ``regularization``, which is
what ``regParam`` was derived from. Every fit checkpoints the factors (``CHECKPOINT_INTERVAL``)
into the work folder: without it the lineage of 15 iterations overflows the JVM's stack.

One Spark session serves the whole process (startup costs 5-10 s); it is created on the first
fit, or reused when the caller already started one, and stopped at exit or by
:func:`stop_spark`.
"""

from __future__ import annotations

import atexit
import dataclasses
import importlib.util
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import scipy.sparse as sp

from ml.models.als import ALSRecommender
from ml.training.candidates import CANDIDATES, CandidateSpec, FitData

log = logging.getLogger(__name__)

SPARK_CANDIDATE = "als"
# MLlib reads a rating <= 0 as "not preferred": the floor of a pair implicit weighs <= 1
MIN_RATING = 1e-6
CHECKPOINT_INTERVAL = 5  # iterations between checkpoints of the factors (cuts the lineage)
_DEFAULT_CONF = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
}
INSTALL_HINT = "pip install -r requirements-spark.txt"

_session: Any = None  # the SparkSession this module started (None: none, or the caller's)


class SparkUnavailable(RuntimeError):
    """The Spark engine was asked for where pyspark or Java is missing."""


def _java() -> str | None:
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _has_pyspark() -> bool:
    return importlib.util.find_spec("pyspark") is not None


def spark_problem() -> str | None:
    """Why the Spark engine cannot run here (``None``: it can)."""
    missing = []
    if not _has_pyspark():
        missing.append(f"pyspark is not installed ({INSTALL_HINT})")
    elif importlib.util.find_spec("pyarrow") is None:
        missing.append(f"pyarrow is not installed ({INSTALL_HINT})")
    if _java() is None:
        missing.append("Java is not found (Spark needs Java 17 or newer: put `java` on the PATH or "
                       "set JAVA_HOME)")
    if not missing:
        return None
    return "the spark training engine cannot run here: " + "; ".join(missing)


def check_spark() -> None:
    """Raise :class:`SparkUnavailable` with what to install when Spark cannot run here."""
    problem = spark_problem()
    if problem is not None:
        raise SparkUnavailable(problem)


def spark_session(master: str = "local[*]", conf: Mapping[str, str] | None = None) -> Any:
    """The process's Spark session: an active one is reused (whatever its master), else one is
    started on ``master`` with ``conf`` over quiet defaults (no UI, no progress bars)."""
    global _session
    check_spark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    builder = SparkSession.builder.master(master).appName("storefront-training")
    for key, value in {**_DEFAULT_CONF, **dict(conf or {})}.items():
        builder = builder.config(key, str(value))
    _session = builder.getOrCreate()
    _session.sparkContext.setLogLevel("ERROR")
    log.info("spark session started on %s", master)
    return _session


def stop_spark() -> None:
    """Stop the session this module started (one the caller started is the caller's to stop)."""
    global _session
    if _session is not None:
        _session.stop()
        _session = None


atexit.register(stop_spark)


def regularization_scale(matrix: sp.csr_matrix) -> float:
    """``regParam / regularization``: 1 / the mean number of interactions of the users and
    items that have any (see the module doc)."""
    rows = int((matrix.getnnz(axis=1) > 0).sum()) + int((matrix.getnnz(axis=0) > 0).sum())
    return rows / (2.0 * matrix.nnz) if matrix.nnz else 1.0


def spark_ratings(matrix: sp.csr_matrix, alpha: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(user, item, rating) of the stored positive strengths, rating as MLlib needs it for the
    confidence ``alpha * strength`` (its ``alpha`` set to 1)."""
    coo = sp.coo_matrix(matrix)
    kept = coo.data > 0
    ratings = np.maximum(alpha * coo.data[kept].astype(np.float64) - 1.0, MIN_RATING)
    return coo.row[kept].astype(np.int32), coo.col[kept].astype(np.int32), ratings.astype(np.float32)


def write_interactions(matrix: sp.csr_matrix, path: Path) -> None:
    """The matrix's stored positive entries as Parquet: ``user``, ``item`` (matrix indices,
    int32) and ``strength`` (float32)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    coo = sp.coo_matrix(matrix)
    kept = coo.data > 0
    table = pa.table({"user": coo.row[kept].astype(np.int32), "item": coo.col[kept].astype(np.int32),
                      "strength": coo.data[kept].astype(np.float32)})
    pq.write_table(table, path)


def read_factors(path: Path, rows: int, rank: int) -> np.ndarray:
    """MLlib's ``id``/``features`` factor table (Parquet) as a rows x rank float32 array; rows
    it never saw (no interactions) stay zero, which serving reads as "nothing to recommend"."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path)
    factors = np.zeros((rows, rank), dtype=np.float32)
    if table.num_rows:
        ids = table.column("id").to_numpy()
        values = pc.list_flatten(table.column("features")).to_numpy(zero_copy_only=False)
        factors[ids] = values.reshape(len(ids), rank)
    return factors


def spark_als_factors(session: Any, matrix: sp.csr_matrix, params: Mapping[str, Any],
                      work_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    """Train MLlib's implicit ALS on ``matrix`` with our ALS ``params``; returns the user and
    item factors as float32 arrays shaped like the matrix's rows and columns."""
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import functions as F

    matrix = sp.csr_matrix(matrix)
    rank, alpha = int(params["factors"]), float(params["alpha"])
    write_interactions(matrix, work_dir / "interactions.parquet")
    ratings = session.read.parquet(str(work_dir / "interactions.parquet")).withColumn(
        "rating", F.greatest(F.col("strength") * F.lit(alpha) - F.lit(1.0), F.lit(MIN_RATING)))
    blocks = max(1, int(session.sparkContext.defaultParallelism))
    # without checkpoints the lineage of 15 iterations overflows the JVM's stack (~200k events)
    session.sparkContext.setCheckpointDir(str(work_dir / "checkpoints"))
    als = ALS(checkpointInterval=CHECKPOINT_INTERVAL, rank=rank, maxIter=int(params["iterations"]),
              regParam=float(params["regularization"]) * regularization_scale(matrix),
              alpha=1.0, implicitPrefs=True, nonnegative=False, seed=int(params.get("random_state", 0)),
              userCol="user", itemCol="item", ratingCol="rating",
              numUserBlocks=blocks, numItemBlocks=blocks)
    model = als.fit(ratings)
    model.userFactors.write.mode("overwrite").parquet(str(work_dir / "users.parquet"))
    model.itemFactors.write.mode("overwrite").parquet(str(work_dir / "items.parquet"))
    return (read_factors(work_dir / "users.parquet", matrix.shape[0], rank),
            read_factors(work_dir / "items.parquet", matrix.shape[1], rank))


@dataclass(frozen=True)
class SparkALSFit:
    """The fit recipe of the Spark ``als`` candidate: the factors of :func:`spark_als_factors`
    set on the (plain) :class:`ALSRecommender` the spec built."""

    master: str = "local[*]"
    conf: Mapping[str, str] = field(default_factory=dict)
    work_dir: str | None = None  # where the Parquet files go (None: the system's temporary folder)

    def __call__(self, model: ALSRecommender, data: FitData) -> ALSRecommender:
        session = spark_session(self.master, self.conf)
        with tempfile.TemporaryDirectory(prefix="spark-als-", dir=self.work_dir) as work_dir:
            users, items = spark_als_factors(session, data.matrix, model.params, Path(work_dir))
        model._set_factors(users, items)
        return model


def spark_als_spec(master: str = "local[*]", conf: Mapping[str, str] | None = None,
                   work_dir: str | None = None) -> CandidateSpec:
    """The ``als`` candidate as the local engine knows it (parameters, search space), fitted by
    Spark MLlib."""
    fit = SparkALSFit(master, dict(conf or {}), work_dir)
    return dataclasses.replace(CANDIDATES[SPARK_CANDIDATE], fit=fit, engine="spark")
