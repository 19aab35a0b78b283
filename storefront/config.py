"""Configuration: one class per environment plus values read from the environment.

The environment is read when the app is created (``environment_overrides``), not at import
time, so a test or a CLI wrapper can set variables before calling ``create_app``.
The class comes from ``STOREFRONT_CONFIG`` (or the conventional ``FLASK_ENV``):
``development`` (default), ``production`` or ``testing``.
"""
from __future__ import annotations

import os
from decimal import Decimal, InvalidOperation
from typing import Any

_TRUE = {"1", "true", "yes", "on"}
MIN_SECRET_KEY_LENGTH = 32


class Config:
    """Settings shared by every environment."""

    ENV_NAME = "base"
    SECRET_KEY: str | None = None
    # None means "a SQLite file in the instance folder", resolved by the app factory.
    SQLALCHEMY_DATABASE_URI: str | None = None
    # PostgreSQL: a pooled connection is tested only after this many idle seconds in the pool
    # (storefront.database.configure_pool_ping; pool_pre_ping tested it on every request)
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    POOL_PING_AFTER_IDLE_SECONDS = 5.0
    MODEL_DIR: str | None = None
    SQLITE_BUSY_TIMEOUT_MS = 15000  # under heavy load a writer may wait seconds; gunicorn allows 30

    # Bodies larger than this are refused with a 413 page while they are read (no form of the
    # shop comes near it; imports run from the CLI, not through the web).
    MAX_CONTENT_LENGTH = 1024 * 1024
    # While the database is unavailable, one warning per this many seconds with the count of 503s.
    OUTAGE_LOG_INTERVAL_SECONDS = 30.0

    WTF_CSRF_ENABLED = True
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session: no expiry on a long checkout

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # "Keep me logged in" (storefront.web.remember): the shop's own selector:validator cookie, stored
    # hashed and rotated on use; Flask-Login's remember_token cookie is never issued nor honoured.
    # The duration is absolute: using the cookie does not extend it.
    REMEMBER_ME_COOKIE_NAME = "sf_remember"
    REMEMBER_COOKIE_DURATION = 60 * 60 * 24 * 30  # seconds (30 days)

    # Account links sent by email (storefront.orders.account_links): how long they work.
    PASSWORD_RESET_MAX_AGE_SECONDS = 60 * 60
    REGISTRATION_LINK_MAX_AGE_SECONDS = 60 * 60 * 24
    # Outgoing mail (storefront.orders.mail): SMTP when MAIL_SERVER is set; otherwise development
    # and testing write each message to the log, production logs a warning without the message.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 25
    MAIL_USE_TLS = False  # STARTTLS after connecting (port 587 usually)
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    MAIL_FROM = "Storefront <no-reply@localhost>"
    MAIL_TIMEOUT_SECONDS = 10
    # Host names the shop answers to (Flask's own setting; TRUSTED_HOSTS in the environment,
    # comma-separated). Emailed links are built from the request's host: with the shop's domain
    # listed here, a forged Host header gets a 400, not a reset link pointing somewhere else.
    TRUSTED_HOSTS: list[str] | None = None

    VISITOR_COOKIE_NAME = "sf_visitor"
    VISITOR_COOKIE_MAX_AGE = 60 * 60 * 24 * 365 * 2  # two years: the visitor is the ML "user"
    VIEW_DEDUP_SECONDS = 10  # a reload within this many seconds is not a second view

    # Recommendations
    MODEL_CHECK_INTERVAL = 5.0  # seconds between cheap checks of the active model pointer
    # Where model versions live (storefront.modelstore; README "Scaling out"): "local" (the
    # embedded default: MODEL_DIR is the store and its ACTIVE file the pointer), "postgresql"
    # (large objects in the app's own database) or "s3" (MODEL_STORE_URL=s3://bucket/prefix; the
    # endpoint of a non-AWS service in MODEL_STORE_ENDPOINT_URL, credentials from the standard AWS
    # variables). Not local: the active pointer is a row in the database, and each node keeps
    # MODEL_DIR as its local cache, synced every MODEL_CHECK_INTERVAL.
    MODEL_STORE = "local"
    MODEL_STORE_URL: str | None = None
    MODEL_STORE_ENDPOINT_URL: str | None = None
    MODEL_SYNC_IN_BACKGROUND = True  # a node already serving fetches a new version off the request path
    # Seconds between a worker's checks of the catalog version (storefront.catalog.snapshot):
    # how long another worker's catalog change may take to show in this worker's widgets.
    CATALOG_CHECK_INTERVAL = float(os.environ.get("CATALOG_CHECK_INTERVAL", "2.0"))
    RECOMMENDATIONS_PER_WIDGET = 8
    RECOMMEND_PURCHASED = False  # may widgets suggest what the shopper already bought?
    MERCHANDISING_MAX_PINS = 3  # pinned products per widget (Admin -> Merchandising)
    FOLD_IN_EVENTS = 50  # most recent events of a visitor folded in at request time
    # Marketing's floor for "Suggested next" assets: the champion is the best hit rate among
    # the candidates whose business-unit hit rate@10 reaches it (ml.resources.champion).
    ASSET_MIN_BU_HIT_RATE = 0.6

    # Training job
    TRAINING_INTERVAL_SECONDS = 3600  # periodic retraining (flask ml scheduler)
    TRAINING_TIME_BUDGET_SECONDS = 60  # hyper-parameter search budget per run
    TRAINING_STALE_AFTER_SECONDS = 1800  # a running job silent this long is considered dead
    TRAINING_DEEP_MODELS = True  # the torch candidates (BPR-MF, NeuMF, LightGCN)
    TRAINING_TORCH_BUDGET_SECONDS = 20  # per torch model and run
    # "local", or "spark": the ALS candidate trains on Spark MLlib (pip install -r
    # requirements-spark.txt, Java 17+; README, "Training on Spark"), every other candidate as usual.
    # SPARK_MASTER: local[*], local[N], spark://host:7077 or yarn; SPARK_DRIVER_MEMORY: the
    # driver JVM's heap (in local mode the executors run inside it); SPARK_WORK_DIR: where the
    # Parquet files go (on a cluster: a folder every executor can read; default: /tmp).
    TRAINING_ENGINE = "local"
    SPARK_MASTER = "local[*]"
    SPARK_DRIVER_MEMORY = "2g"
    SPARK_WORK_DIR: str | None = None
    # The training processes (flask ml train, flask ml scheduler) run at this niceness, so web
    # workers on the same machine get the CPU first (storefront.training.priority); 0: unchanged.
    TRAINING_NICENESS = 10
    # and in Linux's SCHED_IDLE class: a CPU only when no web worker wants it (a shop that keeps
    # every core busy postpones its training until it is not); False: the niceness alone.
    TRAINING_IDLE_SCHEDULING = True
    MODEL_VERSIONS_KEPT = 5
    # Negative feedback (Admin -> Orders): how much strength a cancelled order line and a refunded
    # (returned) one take back from the shopper's interest in the product, subtracted from the
    # pair's summed strength and clipped at 0 (ml.data.interactions); 0 switches it off. A purchase
    # weighs 10 by default and the search may raise it to 20: at 20 and more a taken-back purchase
    # never stays a positive.
    CANCEL_EVENT_WEIGHT = 20.0
    RETURN_EVENT_WEIGHT = 25.0
    # Session models ("Inspired by your visit", storefront.training.sessions): a pause this long
    # ends a visit; the sessions started in the last SESSION_TEST_DAYS days are the test of the
    # session-rec protocol, on a seeded sample of at most SESSION_EVAL_MAX_SESSIONS of them;
    # SESSION_MODELS (comma-separated names, empty: all) narrows the candidates.
    SESSION_GAP_MINUTES = 30
    SESSION_TEST_DAYS = 1.0
    SESSION_EVAL_MAX_SESSIONS = 2000
    SESSION_MODELS = ""
    SESSION_NEW_ITEMS_ONLY = True  # pick on the widget's task: revisits are not predicted (it never offers them)

    # Click-through ranker (storefront.ctr.training / ctr_serving)
    CTR_ENABLED = True  # train LR, FM and xDeepFM with every run; publish xDeepFM if it beats LR
    CTR_BUDGET_SECONDS = 60  # training-time budget per click model and run
    CTR_MIN_IMPRESSIONS = 2000  # impression rows (items shown) needed before training one
    CTR_MIN_CLICKS = 50
    CTR_RERANK_SHARE = 0.5  # A/B: share of shoppers who see re-ranked lists / model-chosen banners
    CTR_CANDIDATES = 100  # retrieval candidates the click model orders

    PRODUCTS_PER_PAGE = 24
    MAX_CART_QUANTITY = 99
    # Shipping (storefront.orders.promotions; README "Promotions"): a flat fee per order, waived
    # when the goods after discounts reach FREE_SHIPPING_OVER ("" for never) or by a live
    # free-shipping campaign covering an item in the cart.
    SHIPPING_FEE = Decimal("4.95")
    FREE_SHIPPING_OVER: Decimal | None = Decimal("50.00")
    PASSWORD_HASH_METHOD = "scrypt"

    # Logging (storefront.web.hardening): level, and "text" or "json" (one JSON object per line)
    LOG_LEVEL = "INFO"
    LOG_FORMAT = "text"

    # Behind a reverse proxy: how many proxies set each X-Forwarded-* header (0: ignore it).
    # Only ever > 0 when a proxy in front overwrites/appends them, or clients could spoof them.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0

    # Security headers (storefront.web.hardening); HSTS is sent on HTTPS requests when > 0
    HSTS_SECONDS = 0
    HSTS_INCLUDE_SUBDOMAINS = False

    # Login/registration rate limits (storefront.web.rate_limits; "limits" notation, "," or ";" between).
    # The first counts per client address and email, the second per address whatever the email.
    RATELIMIT_ENABLED = True
    # Where every limit keeps its counts (logins, tracked actions, new visitors): "database" (the
    # shop's own database, shared by every worker), "redis://127.0.0.1:6379/0" (shared, cheaper
    # per request) or "memory://" (per process: refused in production with more than one worker).
    RATELIMIT_STORAGE_URI = "database"
    LOGIN_RATE_LIMIT = "5/minute, 30/hour"
    LOGIN_IP_RATE_LIMIT = "30/minute, 300/hour"
    # Per email whatever the address: a password guessed from many addresses. Generous enough that
    # a stranger cannot lock a customer out for long, tight enough to stop guessing at scale.
    LOGIN_ACCOUNT_RATE_LIMIT = "10/minute, 100/hour"

    # Tracking integrity (storefront.tracking.integrity; README "What counts as a real visitor").
    # Token buckets, same notation: beyond them a request still gets its page, nothing is logged.
    TRACKING_LIMITS_ENABLED = True
    TRACKING_VISITOR_LIMIT = "30/minute, 600/hour"  # tracked actions (page views, clicks, carts) per visitor
    TRACKING_ADDRESS_LIMIT = "300/minute, 5000/hour"  # per client address, every visitor behind it
    NEW_VISITOR_LIMIT = "10/hour, 50/day"  # new visitor rows per client address
    # Screening before popularity and training (storefront.tracking.screening): a visitor with
    # more tracked actions than this in one minute is left out, and so is a cohort: at least
    # COHORT_MIN_VISITORS new visitors touching one product within COHORT_WINDOW_MINUTES of each
    # other, from so few addresses that they average COHORT_VISITORS_PER_ADDRESS or more each.
    SCREEN_MAX_ACTIONS_PER_MINUTE = 20
    SCREEN_COHORT_MIN_VISITORS = 4
    SCREEN_COHORT_WINDOW_MINUTES = 60
    SCREEN_COHORT_VISITORS_PER_ADDRESS = 1.5
    # Dwell time: a product page's visible time, reported once by static/js/dwell.js.
    DWELL_MAX_SECONDS = 600  # longer reports are capped (a tab left open is not more interest)
    DWELL_TOKEN_MAX_AGE_SECONDS = 6 * 3600  # a view's token is accepted this long after the page
    # Training weighs views by dwell time with this curve (ml.data.dwell), "" for off; e.g.
    # "floor=0.5,ceiling=2,tau=30". Off by default: BENCHMARKS.md, "Dwell-time weighting".
    DWELL_WEIGHTING = ""


class DevelopmentConfig(Config):
    ENV_NAME = "development"
    # A fixed key is acceptable only here: sessions survive restarts on a laptop.
    SECRET_KEY = "dev-only-not-secret"


class TestingConfig(Config):
    ENV_NAME = "testing"
    TESTING = True
    MODEL_CHECK_INTERVAL = 0.0  # tests publish a version and expect the next request to see it
    CATALOG_CHECK_INTERVAL = 0.0  # and change the catalog between two requests
    TRAINING_TIME_BUDGET_SECONDS = 5
    TRAINING_DEEP_MODELS = False  # tests/ml covers them; the web-side tests need speed
    TRAINING_NICENESS = 0  # the CLI runner trains inside the pytest process: leave its priority alone
    TRAINING_IDLE_SCHEDULING = False
    CTR_BUDGET_SECONDS = 3
    SECRET_KEY = "testing-only-not-secret"
    WTF_CSRF_ENABLED = False
    PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"  # cheap hashing keeps the suite fast
    RATELIMIT_ENABLED = False  # tests log in many times; test_login_limits turns it on
    TRACKING_LIMITS_ENABLED = False  # tests browse fast from one address; tests/storefront/tracking turn it on


class ProductionConfig(Config):
    ENV_NAME = "production"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    LOG_FORMAT = "json"
    # Deployed behind one nginx (deploy/nginx/storefront.conf) that sets these three headers.
    PROXY_FIX_X_FOR = 1
    PROXY_FIX_X_PROTO = 1
    PROXY_FIX_X_HOST = 1
    HSTS_SECONDS = 63072000  # two years
    ALLOW_SQLITE_IN_PRODUCTION = False


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
    "LOG_FORMAT": "LOG_FORMAT",
    "RATELIMIT_STORAGE_URI": "RATELIMIT_STORAGE_URI",
    "LOGIN_RATE_LIMIT": "LOGIN_RATE_LIMIT",
    "LOGIN_IP_RATE_LIMIT": "LOGIN_IP_RATE_LIMIT",
    "LOGIN_ACCOUNT_RATE_LIMIT": "LOGIN_ACCOUNT_RATE_LIMIT",
    "TRACKING_VISITOR_LIMIT": "TRACKING_VISITOR_LIMIT",
    "TRACKING_ADDRESS_LIMIT": "TRACKING_ADDRESS_LIMIT",
    "NEW_VISITOR_LIMIT": "NEW_VISITOR_LIMIT",
    "DWELL_WEIGHTING": "DWELL_WEIGHTING",
    "TRAINING_LOG_DIR": "TRAINING_LOG_DIR",
    "ASSET_FILES_DIR": "ASSET_FILES_DIR",
    "PRODUCT_IMAGE_DIR": "PRODUCT_IMAGE_DIR",  # product pictures (storefront.catalog.image_files)
    "SHOP_CURRENCY": "SHOP_CURRENCY",  # what flask catalog import expects prices in (default USD)
    "MAIL_SERVER": "MAIL_SERVER",
    "MAIL_USERNAME": "MAIL_USERNAME",
    "MAIL_PASSWORD": "MAIL_PASSWORD",
    "MAIL_FROM": "MAIL_FROM",
    "SESSION_MODELS": "SESSION_MODELS",
    "MODEL_STORE": "MODEL_STORE",
    "MODEL_STORE_URL": "MODEL_STORE_URL",
    "MODEL_STORE_ENDPOINT_URL": "MODEL_STORE_ENDPOINT_URL",
}
_ENV_STRINGS.update({name: name for name in (
    "TRAINING_ENGINE", "SPARK_MASTER", "SPARK_DRIVER_MEMORY", "SPARK_WORK_DIR")})
_ENV_INTS = {
    "SQLITE_BUSY_TIMEOUT_MS", "VIEW_DEDUP_SECONDS", "TRAINING_INTERVAL_SECONDS",
    "TRAINING_TIME_BUDGET_SECONDS", "TRAINING_STALE_AFTER_SECONDS", "TRAINING_TORCH_BUDGET_SECONDS",
    "TRAINING_THREADS", "TRAINING_NICENESS", "PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST", "PROXY_FIX_X_PORT",
    "PROXY_FIX_X_PREFIX", "HSTS_SECONDS", "CTR_BUDGET_SECONDS", "CTR_MIN_IMPRESSIONS", "CTR_MIN_CLICKS",
    "CTR_CANDIDATES", "SCREEN_MAX_ACTIONS_PER_MINUTE", "SCREEN_COHORT_MIN_VISITORS", "SCREEN_COHORT_WINDOW_MINUTES",
    "DWELL_MAX_SECONDS", "DWELL_TOKEN_MAX_AGE_SECONDS",
    "REMEMBER_COOKIE_DURATION", "PASSWORD_RESET_MAX_AGE_SECONDS", "REGISTRATION_LINK_MAX_AGE_SECONDS",
    "MAIL_PORT", "MAIL_TIMEOUT_SECONDS", "PRODUCT_IMAGE_MAX_BYTES",
}
_ENV_FLOATS = {"CTR_RERANK_SHARE", "SCREEN_COHORT_VISITORS_PER_ADDRESS", "ASSET_MIN_BU_HIT_RATE"}
_ENV_FLOATS |= {"CANCEL_EVENT_WEIGHT", "RETURN_EVENT_WEIGHT", "SESSION_GAP_MINUTES", "SESSION_TEST_DAYS"}
_ENV_INTS |= {"SESSION_EVAL_MAX_SESSIONS"}
_ENV_FLOATS |= {"MODEL_CHECK_INTERVAL", "POOL_PING_AFTER_IDLE_SECONDS"}  # seconds; web nodes of a scaled-out shop tune it (README "Scaling out")
_ENV_BOOLS = {"TRAINING_DEEP_MODELS", "CTR_ENABLED", "RATELIMIT_ENABLED", "TRACKING_LIMITS_ENABLED", "ALLOW_SQLITE_IN_PRODUCTION", "HSTS_INCLUDE_SUBDOMAINS"}
_ENV_BOOLS |= {"MAIL_USE_TLS", "SESSION_NEW_ITEMS_ONLY"}
_ENV_BOOLS |= {"MODEL_SYNC_IN_BACKGROUND", "TRAINING_IDLE_SCHEDULING"}


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
            try:
                values[var] = int(environ[var])
            except ValueError:
                raise RuntimeError(f"{var} must be a whole number, not {environ[var]!r}") from None
    for var in _ENV_FLOATS:
        if environ.get(var):
            try:
                values[var] = float(environ[var])
            except ValueError:
                raise RuntimeError(f"{var} must be a number, not {environ[var]!r}") from None
    for var in _ENV_BOOLS:
        if environ.get(var):
            values[var] = environ[var].strip().lower() in _TRUE
    for var in ("SHIPPING_FEE", "FREE_SHIPPING_OVER"):  # money: "none" turns the threshold off
        if environ.get(var):
            if var == "FREE_SHIPPING_OVER" and environ[var].strip().lower() == "none":
                values[var] = None
                continue
            try:
                values[var] = Decimal(environ[var].strip())
            except InvalidOperation:
                raise RuntimeError(f"{var} must be an amount such as 4.95, not {environ[var]!r}") from None
            if not values[var].is_finite() or values[var] < 0:
                raise RuntimeError(f"{var} must be an amount such as 4.95, not {environ[var]!r}")
    if environ.get("TRUSTED_HOSTS"):
        values["TRUSTED_HOSTS"] = [host.strip() for host in environ["TRUSTED_HOSTS"].split(",") if host.strip()]
    if environ.get("SESSION_COOKIE_SECURE"):
        secure = environ["SESSION_COOKIE_SECURE"].strip().lower() in _TRUE
        values["SESSION_COOKIE_SECURE"] = values["REMEMBER_COOKIE_SECURE"] = secure
    return values


def _weak_secret(secret: str | None) -> str | None:
    """Why ``secret`` is not good enough for production, or None."""
    if not secret:
        return "it is not set"
    if secret in {DevelopmentConfig.SECRET_KEY, TestingConfig.SECRET_KEY}:
        return "it is the development/testing key"
    if len(secret) < MIN_SECRET_KEY_LENGTH:
        return f"it has {len(secret)} characters, fewer than {MIN_SECRET_KEY_LENGTH}"
    if len(set(secret)) < 8:
        return "it repeats a handful of characters"
    return None


def check_production(settings: dict[str, Any]) -> None:
    """Refuse to run production with a missing, development or weak secret, with debug on, or
    on SQLite (unless ``ALLOW_SQLITE_IN_PRODUCTION``)."""
    if settings.get("ENV_NAME") != "production":
        return
    problem = _weak_secret(settings.get("SECRET_KEY"))
    if problem:
        raise RuntimeError(
            f"SECRET_KEY must be set in the environment for production, and {problem}. Generate one with "
            'python3 -c "import secrets; print(secrets.token_hex(32))" and put it in the environment file.'
        )
    if settings.get("DEBUG"):
        raise RuntimeError("Refusing to run production with DEBUG on.")
    url = str(settings.get("SQLALCHEMY_DATABASE_URI") or "")
    if url.startswith("sqlite") and not settings.get("ALLOW_SQLITE_IN_PRODUCTION"):
        raise RuntimeError(
            "Refusing to run production on SQLite: set DATABASE_URL=postgresql://user:password@host/db "
            "(or ALLOW_SQLITE_IN_PRODUCTION=1 for a single-host trial)."
        )
    store = str(settings.get("RATELIMIT_STORAGE_URI") or "database")
    workers = int(os.environ.get("WEB_CONCURRENCY") or 1)  # gunicorn.conf.py checks its real count too
    if store.startswith("memory") and workers > 1:
        raise RuntimeError(
            f"RATELIMIT_STORAGE_URI={store} counts per process, and {workers} workers would each allow the "
            "full limit: use RATELIMIT_STORAGE_URI=database (the default) or redis://host:6379/0."
        )
