"""The app's model store, built once per app from its settings (``init_app``).

``MODEL_STORE``: ``local`` (the default: no store, ``MODEL_DIR`` and its ``ACTIVE`` file are the
whole story), ``postgresql`` or ``s3``. A misconfiguration is refused when the app is created,
with a message saying what to set: an unknown store, ``postgresql`` on a database that is not
PostgreSQL, ``s3`` without ``MODEL_STORE_URL=s3://bucket/prefix`` or without boto3 installed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine

from storefront.modelstore.base import ModelStore, StoreError
from storefront.modelstore.sync import NodeSync

EXTENSION = "model_store"
STORES = ("local", "postgresql", "s3")
DEFAULT_VERSIONS_KEPT = 5


@dataclass
class StoreState:
    store: ModelStore | None  # None: local
    engine: Engine | None
    model_dir: Path
    keep: int
    sync: NodeSync | None


def store_kind(settings: dict[str, Any]) -> str:
    kind = str(settings.get("MODEL_STORE") or "local").strip().lower()
    if kind not in STORES:
        raise RuntimeError(f"MODEL_STORE={settings.get('MODEL_STORE')!r} is not a model store: use one of "
                           f"{', '.join(STORES)}")
    return kind


def check_settings(settings: dict[str, Any]) -> str:
    """The store kind, after refusing settings that cannot work (RuntimeError, with what to set)."""
    kind = store_kind(settings)
    url = str(settings.get("SQLALCHEMY_DATABASE_URI") or "")
    if kind == "postgresql" and not url.startswith("postgresql"):
        raise RuntimeError(
            "MODEL_STORE=postgresql keeps model versions as large objects in the app's database, which "
            f"must then be PostgreSQL (DATABASE_URL=postgresql://...), not {url.split(':', 1)[0] or 'unset'}. "
            "On one machine with SQLite, leave MODEL_STORE=local (the default).")
    if kind == "s3":
        from storefront.modelstore.s3 import parse_url

        try:
            parse_url(settings.get("MODEL_STORE_URL"))
        except StoreError as error:
            raise RuntimeError(str(error)) from None
        try:
            import boto3  # noqa: F401
        except ImportError:
            raise RuntimeError("MODEL_STORE=s3 needs boto3: pip install -r requirements.txt") from None
    return kind


def build_state(settings: dict[str, Any], engine: Engine) -> StoreState:
    kind = check_settings(settings)
    model_dir = Path(settings["MODEL_DIR"])
    keep = int(settings.get("MODEL_VERSIONS_KEPT", DEFAULT_VERSIONS_KEPT))
    if kind == "local":
        return StoreState(None, engine, model_dir, keep, None)
    if kind == "postgresql":
        from storefront.modelstore.postgresql import PostgresStore

        store: ModelStore = PostgresStore(engine)
    else:
        from storefront.modelstore.s3 import S3Store

        store = S3Store(settings.get("MODEL_STORE_URL"), settings.get("MODEL_STORE_ENDPOINT_URL"))
    sync = NodeSync(store, engine, model_dir, float(settings.get("MODEL_CHECK_INTERVAL", 5.0)), keep,
                    background=bool(settings.get("MODEL_SYNC_IN_BACKGROUND", True)))
    return StoreState(store, engine, model_dir, keep, sync)


def init_app(app: Flask) -> StoreState:
    from storefront.extensions import db

    with app.app_context():
        engine = db.engine
    app.extensions[EXTENSION] = built = build_state(dict(app.config), engine)
    return built


def state() -> StoreState:
    return current_app.extensions[EXTENSION]
