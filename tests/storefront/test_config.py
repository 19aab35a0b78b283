"""Configuration: production safety, environment variables, defaults, SQLite connection setup."""
from __future__ import annotations

import secrets
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from storefront import ROOT, create_app
from storefront.config import DevelopmentConfig, TestingConfig
from storefront.extensions import db

ENVIRONMENT = (
    "SECRET_KEY", "DATABASE_URL", "MODEL_DIR", "LOG_LEVEL", "STOREFRONT_CONFIG", "FLASK_ENV",
    "SQLITE_BUSY_TIMEOUT_MS", "VIEW_DEDUP_SECONDS", "SESSION_COOKIE_SECURE",
    "ALLOW_SQLITE_IN_PRODUCTION", "LOG_FORMAT", "PROXY_FIX_X_FOR", "RATELIMIT_STORAGE_URI",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'config.db'}"


def _dispose(app) -> None:
    with app.app_context():
        db.engine.dispose()


# --- production safety ------------------------------------------------------------------------


def test_production_refuses_to_start_without_a_secret_key(sqlite_file):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file})


def test_production_refuses_an_empty_secret_key(monkeypatch, sqlite_file):
    monkeypatch.setenv("SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file})


@pytest.mark.parametrize("known_key", [DevelopmentConfig.SECRET_KEY, TestingConfig.SECRET_KEY])
def test_production_refuses_the_development_keys(monkeypatch, sqlite_file, known_key):
    monkeypatch.setenv("SECRET_KEY", known_key)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file})
    monkeypatch.delenv("SECRET_KEY")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file, "SECRET_KEY": known_key})


def test_production_selected_by_environment_variable_is_checked_too(monkeypatch, sqlite_file):
    monkeypatch.setenv("STOREFRONT_CONFIG", "production")
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": sqlite_file})


def test_production_refuses_debug(monkeypatch, sqlite_file):
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    with pytest.raises(RuntimeError, match="DEBUG"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file, "DEBUG": True})


def test_production_starts_with_a_real_key(monkeypatch, sqlite_file):
    key = secrets.token_hex(32)
    monkeypatch.setenv("SECRET_KEY", key)
    app = create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": sqlite_file,
                      "ALLOW_SQLITE_IN_PRODUCTION": True})
    assert app.config["SECRET_KEY"] == key
    assert app.config["ENV_NAME"] == "production"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["WTF_CSRF_ENABLED"] is True
    assert not app.config.get("TESTING") and not app.debug
    _dispose(app)


def test_unknown_configuration_name_is_an_error(sqlite_file):
    with pytest.raises(RuntimeError, match="Unknown configuration"):
        create_app({"ENV_NAME": "staging", "SQLALCHEMY_DATABASE_URI": sqlite_file})


# --- environment variables and defaults -------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://shop:pw@db.internal:5432/shop", "postgresql+psycopg://shop:pw@db.internal:5432/shop"),
        ("postgres://shop:pw@db.internal/shop", "postgresql+psycopg://shop:pw@db.internal/shop"),
        ("postgresql+psycopg://shop@db.internal/shop", "postgresql+psycopg://shop@db.internal/shop"),
    ],
)
def test_database_url_from_the_environment(monkeypatch, given, expected):
    monkeypatch.setenv("DATABASE_URL", given)
    app = create_app({"ENV_NAME": "testing"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == expected
    with app.app_context():
        assert db.engine.dialect.name == "postgresql"
        assert db.engine.dialect.driver == "psycopg"
        assert db.engine.url.host == "db.internal"  # the engine uses it (no connection is made)
    _dispose(app)


def test_environment_variables_override_the_class(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "env-models"))
    monkeypatch.setenv("VIEW_DEDUP_SECONDS", "42")
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "yes")
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["SECRET_KEY"] == "from-the-environment"
    assert app.config["MODEL_DIR"] == str(tmp_path / "env-models")
    assert app.config["VIEW_DEDUP_SECONDS"] == 42
    assert app.config["SESSION_COOKIE_SECURE"] is True and app.config["REMEMBER_COOKIE_SECURE"] is True
    _dispose(app)


def test_the_page_load_bench_settings_reach_the_app(monkeypatch, tmp_path):
    """bench/page_load.py hands these to gunicorn's environment so its scripted clients count as
    shoppers; a name the app did not read would silently bring back the refused visitors' pages."""
    from bench.page_load import SHOPPER_SETTINGS

    for name, value in SHOPPER_SETTINGS.items():
        monkeypatch.setenv(name, value)
    app = create_app({"ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"})
    assert app.config["TRACKING_LIMITS_ENABLED"] is False
    assert app.config["SCREEN_MAX_ACTIONS_PER_MINUTE"] == 1_000_000
    assert app.config["SCREEN_COHORT_MIN_VISITORS"] == 1_000_000
    _dispose(app)


def test_default_database_is_a_sqlite_file_in_the_instance_folder():
    app = create_app({"ENV_NAME": "testing"})  # no URI anywhere; the engine does not connect yet
    instance = Path(app.instance_path)
    assert instance == ROOT / "instance"
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    assert url.get_backend_name() == "sqlite"
    assert Path(url.database) == instance / "storefront.db"
    assert instance.is_dir()
    _dispose(app)


def test_model_dir_defaults_to_the_instance_folder(sqlite_file):
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": sqlite_file})
    assert Path(app.config["MODEL_DIR"]) == Path(app.instance_path) / "models"
    _dispose(app)


def test_explicit_settings_win_over_the_environment(monkeypatch, tmp_path, sqlite_file):
    monkeypatch.setenv("DATABASE_URL", "postgresql://ignored@elsewhere/db")
    monkeypatch.setenv("MODEL_DIR", "/ignored")
    app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": sqlite_file, "MODEL_DIR": str(tmp_path)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == sqlite_file
    assert app.config["MODEL_DIR"] == str(tmp_path)
    _dispose(app)


# --- SQLite connection setup ------------------------------------------------------------------


def test_sqlite_connections_use_wal_busy_timeout_and_normal_sync(app_config):
    if make_url(app_config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("SQLite PRAGMAs; the suite runs on another database")
    app = create_app({**app_config, "SQLITE_BUSY_TIMEOUT_MS": 4321})
    with app.app_context():
        db.engine.dispose()
        for _ in range(2):  # every new connection, not just the first
            with db.engine.connect() as connection:
                pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
                assert pragma("journal_mode") == "wal"
                assert pragma("busy_timeout") == 4321
                assert pragma("synchronous") == 1  # NORMAL
                assert pragma("foreign_keys") == 1
            db.engine.dispose()


def test_sqlite_busy_timeout_from_the_environment(monkeypatch, app_config):
    if make_url(app_config["SQLALCHEMY_DATABASE_URI"]).get_backend_name() != "sqlite":
        pytest.skip("SQLite PRAGMAs; the suite runs on another database")
    monkeypatch.setenv("SQLITE_BUSY_TIMEOUT_MS", "2500")
    app = create_app(app_config)
    with app.app_context():
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 2500
        db.engine.dispose()


def test_mail_hosts_and_account_link_settings_from_the_environment():
    from storefront.config import environment_overrides

    values = environment_overrides({
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": "587", "MAIL_USE_TLS": "yes", "MAIL_USERNAME": "shop",
        "MAIL_PASSWORD": "secret", "MAIL_FROM": "shop@example.com", "TRUSTED_HOSTS": "shop.example.com, 127.0.0.1,",
        "PASSWORD_RESET_MAX_AGE_SECONDS": "600", "REGISTRATION_LINK_MAX_AGE_SECONDS": "7200",
        "REMEMBER_COOKIE_DURATION": "86400",
    })
    assert values == {
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587, "MAIL_USE_TLS": True, "MAIL_USERNAME": "shop",
        "MAIL_PASSWORD": "secret", "MAIL_FROM": "shop@example.com", "TRUSTED_HOSTS": ["shop.example.com", "127.0.0.1"],
        "PASSWORD_RESET_MAX_AGE_SECONDS": 600, "REGISTRATION_LINK_MAX_AGE_SECONDS": 7200,
        "REMEMBER_COOKIE_DURATION": 86400,
    }


def test_the_model_check_interval_from_the_environment():
    """Web nodes of a scaled-out shop tune how often they read the model pointer (issue 20)."""
    from storefront.config import environment_overrides

    assert environment_overrides({"MODEL_CHECK_INTERVAL": "1.5"}) == {"MODEL_CHECK_INTERVAL": 1.5}
    with pytest.raises(RuntimeError, match="MODEL_CHECK_INTERVAL must be a number"):
        environment_overrides({"MODEL_CHECK_INTERVAL": "soon"})
