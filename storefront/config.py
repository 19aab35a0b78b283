"""Configuration: one class per environment plus values read from the environment.

The environment is read when the app is created (``apply_environment``), not at import time,
so a test or a CLI wrapper can set variables before calling ``create_app``.
The class comes from ``STOREFRONT_CONFIG`` (or the conventional ``FLASK_ENV``):
``development`` (default), ``production`` or ``testing``.
"""
from __future__ import annotations

import os
from typing import Any

_TRUE = {"1", "true", "yes", "on"}


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    # None means "a SQLite file in the instance folder", resolved by the app factory.
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    MODEL_DIR: str | None = None
    SQLITE_BUSY_TIMEOUT_MS = 5000

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: no expiry on a long checkout

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"

    VISITOR_COOKIE_NAME = "sf_visitor"
    VISITOR_COOKIE_MAX_AGE = 60 * 60 * 24 * 365 * 2  # two years: the visitor is the ML "user"
    VIEW_DEDUP_SECONDS = 10  # a reload within this many seconds is not a second view

    # Recommendations
    MODEL_CHECK_INTERVAL = 5.0  # seconds between cheap checks of the active model pointer
    RECOMMENDATIONS_PER_WIDGET = 8
    RECOMMEND_PURCHASED = False  # may widgets suggest what the shopper already bought?
    FOLD_IN_EVENTS = 50  # most recent events of a visitor folded in at request time

    # Training job
    TRAINING_INTERVAL_SECONDS = 3600  # periodic retraining (flask ml scheduler)
    TRAINING_TIME_BUDGET_SECONDS = 60  # hyper-parameter search budget per run
    TRAINING_STALE_AFTER_SECONDS = 1800  # a running job silent this long is considered dead
    TRAINING_DEEP_MODELS = True  # the torch candidates (BPR-MF, NeuMF, LightGCN)
    TRAINING_TORCH_BUDGET_SECONDS = 20  # per torch model and run
    MODEL_VERSIONS_KEPT = 5

    PRODUCTS_PER_PAGE = 24
    MAX_CART_QUANTITY = 99
    LOG_LEVEL = "INFO"
    PASSWORD_HASH_METHOD = "scrypt"


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # A fixed key is acceptable only here: sessions survive restarts on a laptop.
    SECRET_KEY = "dev-only-not-secret"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    MODEL_CHECK_INTERVAL = 0.0  # tests publish a version and expect the next request to see it
    TRAINING_TIME_BUDGET_SECONDS = 5
    TRAINING_DEEP_MODELS = False  # tests/ml covers them; the web-side tests need speed
    SECRET_KEY = "testing-only-not-secret"
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # cheap hashing keeps the suite fast


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}

# Environment variable -> config key, for plain string settings.
_ENV_STRINGS = {
    "SECRET_KEY": "SECRET_KEY",
    "DATABASE_URL": "SQLALCHEMY_DATABASE_URI",
    "MODEL_DIR": "MODEL_DIR",
    "LOG_LEVEL": "LOG_LEVEL",
}
_ENV_INTS = {
    "SQLITE_BUSY_TIMEOUT_MS", "VIEW_DEDUP_SECONDS", "TRAINING_INTERVAL_SECONDS",
    "TRAINING_TIME_BUDGET_SECONDS", "TRAINING_STALE_AFTER_SECONDS", "TRAINING_TORCH_BUDGET_SECONDS",
}


def config_class(name: str | None = None) -> type[Config]:
    """The config class for ``name`` or for the environment; an unknown name is an error."""
    name = name or os.environ.get("STOREFRONT_CONFIG") or os.environ.get("FLASK_ENV") or "development"
    try:
        return CONFIGS[name.strip().lower()]
    except KeyError:
        raise RuntimeError(
            f"Unknown configuration {name!r}: use one of {', '.join(sorted(CONFIGS))}"
        ) from None


def environment_overrides(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings taken from environment variables (empty values are ignored)."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for var, key in _ENV_STRINGS.items():
        if environ.get(var):
            values[key] = environ[var]
    for var in _ENV_INTS:
        if environ.get(var):
            values[var] = int(environ[var])
    if environ.get("TRAINING_DEEP_MODELS"):
        values["TRAINING_DEEP_MODELS"] = environ["TRAINING_DEEP_MODELS"].strip().lower() in _TRUE
    if environ.get("SESSION_COOKIE_SECURE"):
        secure = environ["SESSION_COOKIE_SECURE"].strip().lower() in _TRUE
        values["SESSION_COOKIE_SECURE"] = values["REMEMBER_COOKIE_SECURE"] = secure
    return values


def check_production(settings: dict[str, Any]) -> None:
    """Refuse to run production with a missing or development secret, or with debug on."""
    if settings.get("ENV_NAME") != "production":
        return
    secret = settings.get("SECRET_KEY")
    if not secret or secret in {DevelopmentConfig.SECRET_KEY, TestingConfig.SECRET_KEY}:
        raise RuntimeError(
            "SECRET_KEY must be set in the environment for production "
            '(e.g. python -c "import secrets; print(secrets.token_hex(32))").'
        )
    if settings.get("DEBUG"):
        raise RuntimeError("Refusing to run production with DEBUG on.")
