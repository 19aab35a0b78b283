"""What every model store does, and the fetch discipline they share.

A store holds published versions (the files of ``<MODEL_DIR>/<version>/``, flat, with their
``manifest.json``) where every web node can read them. Its contract:

- ``publish(version_dir)`` uploads every file, checking each against the manifest's sha256 as it
  reads it, then marks the version complete *in one step* (PostgreSQL: the commit of the
  transaction holding the row and the large objects; S3: the ``COMPLETE`` marker, written last).
  A publish that fails half way leaves nothing listed.
- ``versions()`` lists complete versions only, oldest first; ``is_complete(version)`` asks for one;
  ``manifest(version)`` reads a complete version's ``manifest.json`` alone.
- ``fetch(version, model_dir)`` downloads into a temporary directory next to the local cache
  (:func:`fetched_into`), verifies every file against the manifest and the store's own record,
  and only then renames it into ``<model_dir>/<version>/``. A mismatch raises
  :class:`ml.artifacts.ArtifactError` and renames nothing.
- ``delete(version)`` removes a version (pruning the store).
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import secrets
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Protocol

from ml.artifacts import MANIFEST_FILE, VERSION_PATTERN, ArtifactError, sha256_file, verify_version

CHUNK_BYTES = 8 * 1024 * 1024  # per read of a file, large object write or read
FETCH_PREFIX = ".tmp-fetch-"  # ModelRegistry.prune removes abandoned ".tmp-" entries after an hour
FETCH_LOCK = ".fetch.lock"


class StoreError(Exception):
    """The store cannot do what was asked (unreachable, misconfigured, no such version)."""


class ModelStore(Protocol):
    name: str

    def versions(self) -> list[str]: ...

    def is_complete(self, version: str) -> bool: ...

    def publish(self, version_dir: Path) -> str: ...

    def fetch(self, version: str, model_dir: Path) -> Path: ...

    def manifest(self, version: str) -> bytes: ...

    def delete(self, version: str) -> None: ...


def check_version(version: str) -> str:
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        raise ValueError(f"not a version name: {version!r}")
    return version


def read_manifest(version_dir: Path) -> tuple[dict[str, Any], bytes]:
    """The manifest of a local version directory and its raw bytes (ArtifactError if unreadable)."""
    try:
        raw = (version_dir / MANIFEST_FILE).read_bytes()
        manifest = json.loads(raw)
        files = manifest["files"]
        if not isinstance(files, dict):
            raise TypeError("files is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ArtifactError(f"{version_dir}: unreadable manifest ({exc})") from exc
    for name in files:
        if "/" in name or name in {"", ".", "..", MANIFEST_FILE}:
            raise ArtifactError(f"{version_dir}: the manifest lists a file named {name!r}")
    return manifest, raw


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_checked(path: Path, sha256: str) -> Iterator[bytes]:
    """The file's bytes in chunks; ArtifactError after the last one if they do not hash to ``sha256``
    (the upload it feeds is then abandoned, so a file changed since publish never gets listed)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(chunk)
            yield chunk
    if digest.hexdigest() != sha256:
        raise ArtifactError(f"{path}: does not match the sha256 of its manifest")


def upload_order(manifest: Mapping[str, Any]) -> list[str]:
    """The data files in a stable order (the manifest itself comes after them)."""
    return sorted(manifest["files"])


@contextlib.contextmanager
def fetch_lock(model_dir: Path) -> Iterator[None]:
    """One fetch at a time per local cache (the workers of a node share it): a worker that waits
    then finds the version its neighbour fetched."""
    model_dir.mkdir(parents=True, exist_ok=True)
    with open(model_dir / FETCH_LOCK, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


@contextlib.contextmanager
def fetched_into(version: str, model_dir: Path, recorded: Mapping[str, str]) -> Iterator[Path]:
    """A temporary directory next to the cache to download ``version`` into; on leaving the block
    every file is checked (the manifest's sha256 for each file it lists, ``recorded`` - the
    store's own name -> sha256, manifest included - for every file; read when the block ends, so
    the caller may fill it inside) and the directory renamed to ``<model_dir>/<version>``. Any
    failure removes the directory and renames nothing."""
    check_version(version)
    target = model_dir / version
    tmp = model_dir / f"{FETCH_PREFIX}{version}-{secrets.token_hex(4)}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
        verify_fetched(tmp, recorded)
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # someone else renamed it first: theirs is as good
                raise
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def verify_fetched(directory: Path, recorded: Mapping[str, str]) -> None:
    manifest = verify_version(directory)  # every file the manifest lists, against its sha256
    present = {path.name for path in directory.iterdir()}
    expected = set(manifest["files"]) | {MANIFEST_FILE}
    if present != expected or set(recorded) != expected:
        raise ArtifactError(f"{directory.name}: the files fetched ({sorted(present)}) are not those "
                            f"of the manifest ({sorted(expected)})")
    if sha256_file(directory / MANIFEST_FILE) != recorded[MANIFEST_FILE]:
        raise ArtifactError(f"{directory.name}: {MANIFEST_FILE} does not match the store's sha256")
    for name, info in manifest["files"].items():
        if info.get("sha256") != recorded[name]:
            raise ArtifactError(f"{directory.name}: {name} differs from the store's record")
