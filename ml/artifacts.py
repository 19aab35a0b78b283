"""The artifact format, at the bottom of ``ml``: what a published model version is on disk.

Training names the models it hands back by the roles below, :mod:`ml.registry` writes versions
in this format and :mod:`ml.serving` reads them; all three import the names from here, so
serving never imports :mod:`ml.training`. This module depends only on numpy, scipy and
:class:`~ml.data.IdMap`.

Layout of ``model_dir``::

    ACTIVE                      the active version's name (replaced atomically, never edited)
    training.lock               present while a training job runs (:mod:`ml.training.lock`)
    20260115T103000123456Z-3fa2c1/
        manifest.json           the run's record + every file's sha256
        recommender.npz  similar.npz  also_bought.npz  complements.npz  popular.npz
                                (one per model role)
        ids.npz                 the IdMap (user and item ids, unicode arrays)
        user_items.npz          the users x items matrix serving folds recent events into

Every file is ``.npz`` loaded with ``allow_pickle=False``: artifacts are data, not code. Version
names sort by time (UTC timestamp first), so "newest" needs no clock but the name.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from ml.data.idmap import IdMap

#: Roles of the published models (each saved as :func:`role_file`, ``<role>.npz``).
RECOMMENDER, SIMILAR, ALSO_BOUGHT, POPULAR = "recommender", "similar", "also_bought", "popular"
#: "Frequently bought together" (:class:`ml.models.complements.ComplementsRecommender`); versions
#: published before it existed lack it, and serving answers ``[]`` for them.
COMPLEMENTS = "complements"

ACTIVE_FILE = "ACTIVE"
LOCK_FILE = "training.lock"
MANIFEST_FILE = "manifest.json"
IDS_FILE = "ids.npz"
USER_ITEMS_FILE = "user_items.npz"
MANIFEST_FORMAT = 1
VERSION_PATTERN = re.compile(r"^\d{8}T\d{12}Z-[0-9a-f]{6}$")


class ArtifactError(Exception):
    """A version is missing, incomplete or corrupted (a file absent or its sha256 wrong)."""


def role_file(role: str) -> str:
    """The file name of the model published under ``role``."""
    return f"{role}.npz"


def new_version(now: datetime | None = None) -> str:
    """``YYYYMMDDTHHMMSSffffffZ-xxxxxx``: sortable by time, unique by the random suffix."""
    now = now or datetime.now(timezone.utc)
    return f"{now.strftime('%Y%m%dT%H%M%S%f')}Z-{secrets.token_hex(3)}"


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_active(model_dir: Path) -> str | None:
    """The active version's name, or None when nothing was ever activated."""
    try:
        name = (Path(model_dir) / ACTIVE_FILE).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def verify_version(version_dir: Path) -> dict[str, Any]:
    """Return the manifest once every listed file exists with its recorded sha256.

    Raises :class:`ArtifactError` otherwise, naming what is wrong.
    """
    version_dir = Path(version_dir)
    try:
        manifest = json.loads((version_dir / MANIFEST_FILE).read_text(encoding="utf-8"))
        files = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{version_dir}: unreadable manifest ({exc})") from exc
    for name, info in files.items():
        path = version_dir / name
        if not path.is_file():
            raise ArtifactError(f"{version_dir}: file {name} is missing")
        if sha256_file(path) != info.get("sha256"):
            raise ArtifactError(f"{version_dir}: file {name} does not match its sha256")
    return manifest


def save_user_items(path: Path, matrix: sp.csr_matrix) -> None:
    m = sp.csr_matrix(matrix, dtype=np.float32)
    with open(path, "wb") as handle:
        np.savez(handle, data=m.data, indices=m.indices, indptr=m.indptr,
                 shape=np.asarray(m.shape, dtype=np.int64))


def load_user_items(path: Path) -> sp.csr_matrix:
    with np.load(path, allow_pickle=False) as f:
        shape = tuple(int(n) for n in f["shape"])
        return sp.csr_matrix((f["data"], f["indices"], f["indptr"]), shape=shape)


def save_id_map(path: Path, id_map: IdMap) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **id_map.to_arrays())


def load_id_map(path: Path) -> IdMap:
    with np.load(path, allow_pickle=False) as f:
        return IdMap.from_arrays(f)
