"""Probes for the process supervisor, the load balancer and monitoring.

``GET /healthz``: the process answers (liveness). No database, no session, no cookie: a busy or
broken database must not get healthy workers restarted.

``GET /readyz``: this worker can serve the shop (readiness):

- ``database``: a connection from the pool answers ``SELECT 1``;
- ``migrations``: the revision recorded in ``alembic_version`` is the head of
  ``migrations/versions`` (code deployed ahead of ``flask db upgrade`` would fail on the new
  columns);
- ``model``: the version this worker serves, and the one ``ACTIVE`` names. Informational only:
  without a model the widgets serve popularity fallbacks, so the shop is still ready.

200 with every check when ready, else 503 with ``failed`` naming the failing checks. Neither
probe is tracked as shopper activity (nothing here calls ``storefront.tracking.events``), both are
CSRF-exempt GETs and both log at DEBUG only (``storefront.web.hardening``).
"""
from __future__ import annotations

import logging
import time
from functools import lru_cache
from pathlib import Path

from alembic.script import ScriptDirectory
from flask import Blueprint, current_app, jsonify
from sqlalchemy import Connection, inspect, text

from ml.artifacts import read_active
from storefront.extensions import csrf, db

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)
csrf.exempt(bp)

NO_STORE = {"Cache-Control": "no-store"}
VERSION_TABLE = "alembic_version"  # Flask-Migrate's default; migrations/env.py does not change it


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok"), 200, NO_STORE


@bp.get("/readyz")
def readyz():
    checks: dict[str, dict] = {}
    checks["database"], revisions = _check_database()
    checks["migrations"] = _check_migrations(revisions)
    checks["model"] = _model_status()
    failed = [name for name, check in checks.items() if not check["ok"]]
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": checks}
    if failed:
        log.warning("not ready: %s", ", ".join(f"{name}: {checks[name].get('error')}" for name in failed))
    return jsonify(body), 503 if failed else 200, NO_STORE


def _check_database() -> tuple[dict, tuple[str, ...] | None]:
    """``SELECT 1`` and the revisions in ``alembic_version`` on one pooled connection."""
    started = time.perf_counter()
    try:
        with db.engine.connect() as connection:
            connection.execute(text("SELECT 1")).scalar_one()
            revisions = _applied_revisions(connection)
    except Exception as error:  # noqa: BLE001 - whatever the driver raises, the answer is "not ready"
        return {"ok": False, "error": _describe(error)}, None
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1000, 1)}, revisions


def _applied_revisions(connection: Connection) -> tuple[str, ...]:
    """What ``alembic_version`` holds (read directly: alembic's MigrationContext logs at INFO on
    every call, which a probe polled every few seconds must not)."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return ()
    return tuple(sorted(connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()))


def _check_migrations(revisions: tuple[str, ...] | None) -> dict:
    if revisions is None:
        return {"ok": False, "error": "database unavailable"}
    try:
        head = script_heads(str(current_app.extensions["migrate"].directory))
    except Exception as error:  # noqa: BLE001 - a broken migrations folder is a deploy error
        return {"ok": False, "error": _describe(error)}
    check = {"ok": revisions == head, "current": list(revisions), "head": list(head)}
    if not check["ok"]:
        check["error"] = ("no migration applied: run flask db upgrade" if not revisions
                          else "database schema is not at the code's head: run flask db upgrade")
    return check


@lru_cache(maxsize=4)
def script_heads(directory: str) -> tuple[str, ...]:
    """The head revision(s) of the migration scripts; read once per process (the scripts only
    change with a deploy, and a deploy restarts or reloads the workers)."""
    return tuple(sorted(ScriptDirectory(directory).get_heads()))


def _model_status() -> dict:
    """Which version is served and published; never a failure (the fallbacks serve without)."""
    from storefront.recommendations.widgets import current_version

    loaded = current_version()
    try:
        published = read_active(Path(current_app.config["MODEL_DIR"]))
    except Exception as error:  # noqa: BLE001 - reported, not fatal
        published, problem = None, _describe(error)
    else:
        problem = None
    status = {
        "ok": True,
        "serving": loaded.version if loaded is not None else None,
        "published": published,
        "fallback": loaded is None,
    }
    if problem:
        status["error"] = problem
    elif published and (loaded is None or loaded.version != published):
        status["note"] = "the published version is not loaded yet (or failed to load: see the worker log)"
    elif loaded is None:
        status["note"] = "no model version published: widgets serve popularity fallbacks"
    return status


def _describe(error: BaseException) -> str:
    first_line = (str(error).strip().splitlines() or [""])[0]
    return f"{type(error).__name__}: {first_line}"[:300]
