"""storefront: a Flask shop with recommendations built in.

``create_app`` reads like a table of contents: configuration, extensions, the recommender,
blueprints, error handlers, request hooks, CLI commands.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from storefront import config as config_module
from storefront.database import init_database, normalise_database_url, sqlite_url_for
from storefront.extensions import csrf, db, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent

# Single-threaded BLAS unless the environment says otherwise, set before anything imports numpy.
# A web worker folds a visitor's recent events into the model with one small solve per request;
# with OpenBLAS's default (a thread per core, in every one of gunicorn's 2 x cores + 1 workers)
# that solve measured 27 ms instead of 0.7 ms on a busy two-core host.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def create_app(config: str | type | Mapping[str, Any] | None = None) -> Flask:
    """Build the app.

    ``config`` is a config name (``"testing"``), a config class, or a mapping of settings laid
    over the class chosen by the environment (a mapping may name its base with ``ENV_NAME``).
    """
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure_app(app, config)
    register_hardening(app)
    register_extensions(app)
    register_recommender(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_request_hooks(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def configure_app(app: Flask, config: str | type | Mapping[str, Any] | None) -> None:
    overrides: dict[str, Any] = {}
    if isinstance(config, Mapping):
        overrides = dict(config)
        base = config_module.config_class(overrides.get("ENV_NAME"))
    elif isinstance(config, type):
        base = config
    else:
        base = config_module.config_class(config)
    app.config.from_object(base)
    app.config.update(config_module.environment_overrides())
    app.config.update(overrides)
    url = app.config.get("SQLALCHEMY_DATABASE_URI")
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(url) if url else sqlite_url_for(app.instance_path)
    if not app.config.get("MODEL_DIR"):
        app.config["MODEL_DIR"] = str(Path(app.instance_path) / "models")
    config_module.check_production(dict(app.config))


def register_hardening(app: Flask) -> None:
    """Logging, the proxy in front, security headers and the request log (``hardening``), and
    the login/registration rate limits (``rate_limits``)."""
    from storefront.web import hardening, rate_limits

    hardening.init_app(app)
    rate_limits.init_app(app)


def register_extensions(app: Flask) -> None:
    init_database(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "account.login"
    login_manager.login_message = "Please log in to continue."
    login_manager.login_message_category = "info"

    from storefront.orders.accounts import load_customer
    from storefront.web import auth

    login_manager.user_loader(load_customer)
    auth.init_app(app)  # the shop's remember-me cookie, before anything asks who is logged in


def register_recommender(app: Flask) -> None:
    """One model holder per app (``app.extensions["recommender"]``): it loads the active model
    version lazily and notices a newly activated one without a restart."""
    from storefront import modelstore
    from storefront.catalog import snapshot
    from storefront.experiments import serving as experiments
    from storefront.recommendations import diversity
    from storefront.recommendations.merchandising import serving as merchandising
    from storefront.recommendations.widgets import init_app

    modelstore.init_app(app)  # MODEL_STORE: the local folder, or a store every node syncs its cache from
    init_app(app)
    snapshot.init_app(app)  # the catalog per version, kept the same way (storefront.catalog.snapshot)
    experiments.init_app(app)  # running A/B tests per catalog version, and their challenger versions
    diversity.init_app(app)  # each widget's diversity level, per catalog version too
    merchandising.init_app(app)  # the merchandising rules, per catalog version too


def register_blueprints(app: Flask) -> None:
    from storefront.web.routing import IdConverter

    app.url_map.converters["id"] = IdConverter
    from storefront.account import bp as account_bp
    from storefront.admin import bp as admin_bp
    from storefront.api import bp as api_bp
    from storefront.resources import bp as resources_bp
    from storefront.web.ops import bp as ops_bp
    from storefront.shop import bp as shop_bp

    app.register_blueprint(ops_bp)
    app.register_blueprint(shop_bp)
    app.register_blueprint(resources_bp, url_prefix="/resources")
    app.register_blueprint(account_bp, url_prefix="/account")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(api_bp, url_prefix="/api/v1")


def register_errorhandlers(app: Flask) -> None:
    from storefront.web.errors import register_error_pages

    register_error_pages(app)


def register_request_hooks(app: Flask) -> None:
    """The guards before every view and the request context's visitor cookie after it."""
    from storefront.web.requests import register_request_hooks as register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from storefront.web.templating import register_template_helpers as register

    register(app)


def register_commands(app: Flask) -> None:
    from storefront.cli import register_cli

    register_cli(app)
