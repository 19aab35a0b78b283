"""Publishing versioned model artifacts: write a version, activate it atomically, prune.

The format itself (layout, file names, roles, verifying and reading a version) is
:mod:`ml.artifacts`: readers (the web app, serving) import it from there. The one-training-job-at-a-time lock is
:mod:`ml.training.lock`.

Why it is built this way: a version is written into a hidden temporary directory and renamed
into place only when complete, and ``ACTIVE`` changes only after that (temp file +
``os.replace``). So a failed or killed run can never change what is served, and a reader never
sees half a version.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Collection, Mapping, Protocol

import numpy as np
import scipy.sparse as sp

from ml.artifacts import (
    ACTIVE_FILE,
    IDS_FILE,
    MANIFEST_FILE,
    MANIFEST_FORMAT,
    USER_ITEMS_FILE,
    VERSION_PATTERN,
    ArtifactError,
    new_version,
    read_active,
    role_file,
    save_id_map,
    save_user_items,
    sha256_file,
    verify_version,
)
from ml.data.idmap import IdMap
from ml.models.base import Recommender

__all__ = ["ExtraWriter", "ModelRegistry", "Publishable", "write_atomic"]

log = logging.getLogger(__name__)

_TMP_PREFIX = ".tmp-"
_ABANDONED_TMP_SECONDS = 3600.0


ExtraWriter = Callable[[Path], "list[str]"]  # writes files into a directory, returns their names


class Publishable(Protocol):
    """What :meth:`ModelRegistry.publish` needs (``ml.training.TrainingResult`` has it)."""

    id_map: IdMap
    user_items: sp.csr_matrix
    models: Mapping[str, Recommender]

    def summary(self) -> dict[str, Any]: ...


def _fsync(path: Path) -> None:
    """Flush a file or directory to disk, so a crash cannot leave a renamed-but-empty file."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so readers see the old or the new content, never a mix."""
    tmp = path.with_name(f"{_TMP_PREFIX}{path.name}-{secrets.token_hex(4)}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    _fsync(path.parent)


class ModelRegistry:
    """Publish, list, activate and prune versions under ``model_dir``."""

    def __init__(self, model_dir: str | os.PathLike[str]) -> None:
        self.model_dir = Path(model_dir)
        self.model_dir.mkdir(parents=True, exist_ok=True)

    def path(self, version: str) -> Path:
        if not VERSION_PATTERN.match(version):
            raise ValueError(f"not a version name: {version!r}")
        return self.model_dir / version

    def versions(self) -> list[str]:
        """Complete versions, oldest first (temporary directories are never listed)."""
        return sorted(
            p.name for p in self.model_dir.iterdir() if p.is_dir() and VERSION_PATTERN.match(p.name)
        )

    def active_version(self) -> str | None:
        return read_active(self.model_dir)

    def manifest(self, version: str) -> dict[str, Any]:
        path = self.path(version) / MANIFEST_FILE
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ArtifactError(f"no version {version} in {self.model_dir}") from None

    def publish(
        self,
        result: Publishable,
        activate: bool = True,
        extras: Mapping[str, ExtraWriter] | None = None,
    ) -> str:
        """Write ``result`` as a new version (and make it active); return its name.

        ``extras`` publishes further artifacts in the same version, e.g. the customer segments or
        the asset recommender: each writer writes its files into the directory it is given and
        returns their names. Their files are hashed and verified like the rest, and listed in
        the manifest under ``extras``. Any failure removes the temporary directory and leaves
        ``ACTIVE`` untouched.
        """
        version = new_version()
        tmp = self.model_dir / f"{_TMP_PREFIX}{version}"
        tmp.mkdir()
        try:
            extra_files = {name: list(write(tmp)) for name, write in (extras or {}).items()}
            files = self._write_files(tmp, result)
            manifest = {
                "format": MANIFEST_FORMAT,
                "version": version,
                "created_at": datetime.now(timezone.utc).isoformat(),
                **result.summary(),
                "files": files,
                "roles": {role: role_file(role) for role in result.models},
                "extras": extra_files,
            }
            with open(tmp / MANIFEST_FILE, "w", encoding="utf-8") as handle:
                json.dump(manifest, handle, indent=2, sort_keys=True, default=_json_default)
                handle.flush()
                os.fsync(handle.fileno())
            _fsync(tmp)
            os.rename(tmp, self.model_dir / version)
            _fsync(self.model_dir)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        log.info("published model version %s", version)
        if activate:
            self.activate(version)
        return version

    @staticmethod
    def _write_files(directory: Path, result: Publishable) -> dict[str, dict[str, Any]]:
        save_id_map(directory / IDS_FILE, result.id_map)
        save_user_items(directory / USER_ITEMS_FILE, result.user_items)
        for role, model in result.models.items():
            model.save(directory / role_file(role))
        files = {}
        for path in sorted(directory.iterdir()):
            _fsync(path)
            files[path.name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
        return files

    def activate(self, version: str) -> None:
        """Point ``ACTIVE`` at ``version`` after checking every file (ArtifactError if bad)."""
        verify_version(self.path(version))
        write_atomic(self.model_dir / ACTIVE_FILE, version + "\n")
        log.info("activated model version %s", version)

    def prune(self, keep: int = 5, protect: Collection[str] = ()) -> list[str]:
        """Delete all but the ``keep`` newest versions, never the active one nor those in
        ``protect`` (e.g. the challengers of running online experiments); return the deleted
        names. Temporary files and directories of publishes abandoned over an hour ago are
        removed too."""
        if keep < 0:
            raise ValueError("keep must be >= 0")
        spared = {self.active_version(), *protect}
        versions = self.versions()
        doomed = [v for v in versions[: max(len(versions) - keep, 0)] if v not in spared]
        for version in doomed:
            shutil.rmtree(self.model_dir / version)
            log.info("pruned model version %s", version)
        cutoff = time.time() - _ABANDONED_TMP_SECONDS
        for path in self.model_dir.glob(f"{_TMP_PREFIX}*"):
            if path.lstat().st_mtime >= cutoff:
                continue
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
        return doomed


def _json_default(value: object) -> object:
    """numpy scalars (metrics, sizes) -> plain Python numbers for JSON."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
