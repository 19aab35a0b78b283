"""Model versions in an S3-compatible bucket through boto3 (``MODEL_STORE=s3``).

Layout under ``MODEL_STORE_URL=s3://bucket/prefix``::

    prefix/<version>/<file>          every file of the version directory (multipart for large ones)
    prefix/<version>/manifest.json   uploaded after all of them
    prefix/<version>/COMPLETE        written last: the manifest's sha256 (hex); its presence is
                                     what "published" means

A publish that fails half way leaves no ``COMPLETE`` (and deletes what it uploaded, best effort),
so the version is never listed, fetched or activated. A fetch reads ``COMPLETE`` first, checks
the manifest against it, downloads the files the manifest lists and verifies each against its
sha256 before the directory is renamed into the cache. Deleting removes ``COMPLETE`` first.

The endpoint is AWS unless ``MODEL_STORE_ENDPOINT_URL`` names another (MinIO, Ceph, R2...);
credentials and region come from boto3's usual chain (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_DEFAULT_REGION``, instance roles, ...).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from ml.artifacts import MANIFEST_FILE, VERSION_PATTERN, ArtifactError, sha256_file
from storefront.modelstore.base import (
    StoreError, check_version, fetched_into, read_manifest, sha256_bytes, upload_order,
)

COMPLETE = "COMPLETE"


def parse_url(url: str | None) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> (``bucket``, ``some/prefix/``)."""
    parsed = urlparse(url or "")
    if parsed.scheme != "s3" or not parsed.netloc:
        raise StoreError(f"MODEL_STORE=s3 needs MODEL_STORE_URL=s3://bucket/prefix, not {url!r}")
    prefix = parsed.path.strip("/")
    return parsed.netloc, f"{prefix}/" if prefix else ""


class S3Store:
    name = "s3"

    def __init__(self, url: str | None, endpoint_url: str | None = None, client: Any = None) -> None:
        self.bucket, self.prefix = parse_url(url)
        if client is None:
            import boto3

            client = boto3.client("s3", endpoint_url=endpoint_url or None)
        self.client = client

    def _key(self, version: str, name: str) -> str:
        return f"{self.prefix}{version}/{name}"

    def versions(self) -> list[str]:
        found = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix):
            for item in page.get("Contents", ()):
                parts = item["Key"][len(self.prefix):].split("/")
                if len(parts) == 2 and parts[1] == COMPLETE and VERSION_PATTERN.match(parts[0]):
                    found.append(parts[0])
        return sorted(found)

    def is_complete(self, version: str, connection: Any = None) -> bool:
        return self._marker(version) is not None

    def _marker(self, version: str) -> str | None:
        """The manifest sha256 recorded by ``COMPLETE``, or None when the version is not complete."""
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=self._key(check_version(version), COMPLETE))["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        return body.read().decode("ascii").strip()

    def publish(self, version_dir: Path) -> str:
        version_dir = Path(version_dir)
        version = check_version(version_dir.name)
        manifest, raw = read_manifest(version_dir)
        if self.is_complete(version):
            return version
        uploaded: list[str] = []
        try:
            for name in upload_order(manifest):
                path = version_dir / name
                if sha256_file(path) != manifest["files"][name]["sha256"]:
                    raise ArtifactError(f"{path}: does not match the sha256 of its manifest")
                uploaded.append(self._key(version, name))
                self.client.upload_file(str(path), self.bucket, uploaded[-1])
            uploaded.append(self._key(version, MANIFEST_FILE))
            self.client.put_object(Bucket=self.bucket, Key=uploaded[-1], Body=raw)
            self.client.put_object(Bucket=self.bucket, Key=self._key(version, COMPLETE),
                                   Body=sha256_bytes(raw).encode("ascii"))
        except BaseException:
            self._delete_keys(uploaded)
            raise
        return version

    def manifest(self, version: str) -> bytes:
        if self._marker(version) is None:
            raise StoreError(f"no complete version {version} in s3://{self.bucket}/{self.prefix}")
        return self.client.get_object(Bucket=self.bucket, Key=self._key(version, MANIFEST_FILE))["Body"].read()

    def fetch(self, version: str, model_dir: Path) -> Path:
        marker = self._marker(version)
        if marker is None:
            raise StoreError(f"no complete version {version} in s3://{self.bucket}/{self.prefix}")
        raw = self.client.get_object(Bucket=self.bucket, Key=self._key(version, MANIFEST_FILE))["Body"].read()
        recorded = {MANIFEST_FILE: marker}  # checked when the block ends: filled in below
        with fetched_into(version, Path(model_dir), recorded) as tmp:
            (tmp / MANIFEST_FILE).write_bytes(raw)
            manifest, _ = read_manifest(tmp)
            for name in upload_order(manifest):
                self.client.download_file(self.bucket, self._key(version, name), str(tmp / name))
            # the manifest is checked against COMPLETE, every file against the manifest
            recorded.update({name: info.get("sha256") for name, info in manifest["files"].items()})
        return Path(model_dir) / version

    def delete(self, version: str) -> None:
        check_version(version)
        self.client.delete_object(Bucket=self.bucket, Key=self._key(version, COMPLETE))  # unlisted first
        keys = []
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(version, "")):
            keys.extend(item["Key"] for item in page.get("Contents", ()))
        self._delete_keys(keys)

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = [{"Key": key} for key in keys[start:start + 1000]]
            try:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
            except Exception:  # best effort: an unlisted leftover costs space, never correctness
                pass

