"""Security headers, ProxyFix, the structured request log and the production cookie flags."""
from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
from pathlib import Path

import pytest

from tests.helpers import BOT_UA, BROWSER_UA, MOBILE_UA, new_browser_client
from storefront import ROOT, create_app
from storefront.web import hardening
from storefront.extensions import db
from tests.storefront.support.shop import new_category, new_product

EXPECTED_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
}


def _client(app, user_agent: str = BROWSER_UA):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def world(app):
    category_id, slug = new_category(app, "Gadgets")
    return {"product_id": new_product(app, category_id, name="Gizmo"), "slug": slug}


@pytest.fixture
def capture_requests():
    """The JSON lines of ``storefront.request`` (pytest owns the root logger, so attach here)."""
    _enable_storefront_loggers()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(hardening.JsonFormatter())
    handler.addFilter(hardening.RequestIdFilter())
    logger = logging.getLogger("storefront")
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)
    logger.setLevel(previous)


def _enable_storefront_loggers() -> None:
    """Alembic's ``fileConfig`` (migrations/env.py, run by any test that migrates) disables every
    logger that existed then; a real worker never runs migrations in-process."""
    for name, logger in logging.root.manager.loggerDict.items():
        if name.startswith("storefront") and isinstance(logger, logging.Logger):
            logger.disabled = False


# --- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["html", "json", "404 page", "404 json", "405", "svg", "healthz"])
def test_security_headers_on_every_kind_of_response(app, client, world, kind):
    url, status = {
        "html": ("/", 200),
        "json": (f"/api/v1/recommendations/item/{world['product_id']}", 200),
        "404 page": ("/no/such/page", 404),
        "404 json": ("/api/v1/recommendations/item/999999", 404),
        "405": ("/account/logout", 405),
        "svg": (f"/c/{world['slug']}/image.svg", None),
        "healthz": ("/healthz", 200),
    }[kind]
    response = client.get(url)
    if status is not None:
        assert response.status_code == status
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers[name] == value, name
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert "Strict-Transport-Security" not in response.headers  # not production, not HTTPS


def test_security_headers_on_a_500_page(app, client):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("kaboom")

    response = client.get("/boom-for-test")
    assert response.status_code == 500
    assert response.headers["Content-Security-Policy"] == EXPECTED_HEADERS["Content-Security-Policy"]
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_templates_have_no_inline_script_style_or_handlers():
    """What the CSP would block: inline scripts (a JSON data block is not executed, so allowed),
    style attributes and elements, inline event handlers, javascript: URLs."""
    problems = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        html = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S | re.I):
            attributes, body = match.groups()
            if body.strip() and 'type="application/json"' not in attributes:
                problems.append(f"{path.name}: inline script")
        for pattern, what in [(r"\sstyle\s*=", "style attribute"), (r"<style\b", "style element"),
                              (r"\son[a-z]+\s*=", "event handler"), (r"javascript:", "javascript: URL")]:
            if re.search(pattern, html, re.I):
                problems.append(f"{path.name}: {what}")
    assert problems == []


def test_hsts_in_production_over_https_only(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    app = create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}",
                      "ALLOW_SQLITE_IN_PRODUCTION": True, "MODEL_DIR": str(tmp_path / "models")})
    client = _client(app)
    plain = client.get("/healthz")
    assert "Strict-Transport-Security" not in plain.headers
    behind_tls = client.get("/healthz", headers={"X-Forwarded-Proto": "https"})  # nginx terminated TLS
    assert behind_tls.headers["Strict-Transport-Security"] == "max-age=63072000"
    assert client.get("/healthz", base_url="https://localhost").headers["Strict-Transport-Security"]
    with app.app_context():
        db.engine.dispose()


# --- ProxyFix -----------------------------------------------------------------------------------


def _where(app):
    @app.get("/where-for-test")
    def where():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return _client(app).get("/where-for-test", headers={
        "X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example.com",
    }, environ_base={"REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": BROWSER_UA}).get_json()


def test_forwarded_headers_ignored_without_proxy_settings(app):
    assert _where(app) == {"addr": "127.0.0.1", "scheme": "http", "host": "localhost"}


def test_forwarded_headers_followed_when_configured(app_config):
    app = create_app({**app_config, "PROXY_FIX_X_FOR": 1, "PROXY_FIX_X_PROTO": 1, "PROXY_FIX_X_HOST": 1})
    # One trusted proxy: the last address it appended, not what the client claimed before it.
    assert _where(app) == {"addr": "198.51.100.7", "scheme": "https", "host": "shop.example.com"}
    with app.app_context():
        db.engine.dispose()


def test_proxy_settings_from_the_environment(monkeypatch, app_config):
    monkeypatch.setenv("PROXY_FIX_X_FOR", "2")
    app = create_app(app_config)
    assert app.config["PROXY_FIX_X_FOR"] == 2
    assert _where(app)["addr"] == "203.0.113.9"
    with app.app_context():
        db.engine.dispose()


# --- request log --------------------------------------------------------------------------------


def test_one_json_line_per_request_with_the_request_id_echoed(app, world, capture_requests):
    client = _client(app, MOBILE_UA)
    response = client.get(f"/products/{world['product_id']}", headers={"X-Request-ID": "abc-123-def-456"})
    assert response.status_code == 200
    assert response.headers["X-Request-ID"] == "abc-123-def-456"
    (line,) = [entry for entry in capture_requests() if entry["logger"] == "storefront.request"]
    assert line["method"] == "GET" and line["path"] == f"/products/{world['product_id']}"
    assert line["status"] == 200 and line["level"] == "INFO"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == "abc-123-def-456"
    assert line["remote_addr"] == "127.0.0.1"
    assert line["ua_class"] == "mobile"
    assert line["pid"] == os.getpid()
    assert line["msg"].startswith(f"GET /products/{world['product_id']} 200 ")


def test_a_bad_or_missing_request_id_is_replaced(app, capture_requests):
    client = _client(app, BOT_UA)
    generated = client.get("/").headers["X-Request-ID"]
    hostile = client.get("/", headers={"X-Request-ID": "evil\" injected {json}"}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated) and re.fullmatch(r"[0-9a-f]{32}", hostile)
    lines = [entry for entry in capture_requests() if entry["logger"] == "storefront.request"]
    assert [entry["request_id"] for entry in lines] == [generated, hostile]
    assert {entry["ua_class"] for entry in lines} == {"bot"}


def test_probes_and_static_files_log_at_debug_only(app, capture_requests):
    client = _client(app)
    for url in ("/healthz", "/static/css/shop.css", "/readyz"):
        client.get(url)
    lines = [entry for entry in capture_requests() if entry["logger"] == "storefront.request"]
    # /readyz is 503 here (create_all, no migrations): a failure is worth a WARNING line
    assert [(entry["path"], entry["level"]) for entry in lines] == [
        ("/healthz", "DEBUG"), ("/static/css/shop.css", "DEBUG"), ("/readyz", "WARNING"),
    ]


def test_an_exception_is_logged_with_the_request_id(app, capture_requests):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("kaboom")

    response = _client(app).get("/boom-for-test", headers={"X-Request-ID": "req-0000-boom"})
    assert response.status_code == 500
    entries = capture_requests()
    (error,) = [entry for entry in entries if entry["level"] == "ERROR"]
    assert error["request_id"] == "req-0000-boom"
    assert "RuntimeError: kaboom" in error["exc"]
    (line,) = [entry for entry in entries if entry["logger"] == "storefront.request"]
    assert line["status"] == 500 and line["level"] == "WARNING" and line["request_id"] == "req-0000-boom"


def test_text_format_and_unknown_format():
    record = logging.LogRecord("storefront.x", logging.INFO, __file__, 1, "hello %s", ("world",), None)
    assert hardening.make_formatter("text").format(record).endswith("storefront.x [%d]: hello world" % os.getpid())
    assert json.loads(hardening.make_formatter("JSON").format(record))["msg"] == "hello world"
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        hardening.make_formatter("xml")


# --- cookies ------------------------------------------------------------------------------------


def _cookie_flags(response, name: str) -> str:
    (header,) = [value for value in response.headers.getlist("Set-Cookie") if value.startswith(name + "=")]
    return header


def test_production_cookies_are_secure_httponly_lax(monkeypatch, tmp_path, world, app_config):
    monkeypatch.setenv("SECRET_KEY", secrets.token_hex(32))
    app = create_app({**app_config, "ENV_NAME": "production", "ALLOW_SQLITE_IN_PRODUCTION": True})
    client = _client(app)
    response = client.get(f"/products/{world['product_id']}", base_url="https://localhost")
    for name in ("sf_visitor", "session"):
        flags = _cookie_flags(response, name)
        assert "Secure" in flags and "HttpOnly" in flags and "SameSite=Lax" in flags, flags
    with app.app_context():
        db.engine.dispose()


def test_development_cookies_are_httponly_lax_but_not_secure(app, world):
    response = new_browser_client(app).get(f"/products/{world['product_id']}")  # a first visit: the cookie is set
    flags = _cookie_flags(response, "sf_visitor")
    assert "HttpOnly" in flags and "SameSite=Lax" in flags and "Secure" not in flags


def test_deploy_files_name_what_the_code_reads():
    """The env example sets only settings the config reads; the units run real commands."""
    from storefront.config import _ENV_BOOLS, _ENV_INTS, _ENV_STRINGS

    known = set(_ENV_STRINGS) | _ENV_INTS | _ENV_BOOLS | {
        "STOREFRONT_CONFIG", "SESSION_COOKIE_SECURE", "OPENBLAS_NUM_THREADS", "WEB_CONCURRENCY", "BIND",
        "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG", "TRUSTED_HOSTS",
    }
    example = (ROOT / "deploy" / "storefront.env.example").read_text()
    names = set(re.findall(r"^#?([A-Z][A-Z0-9_]+)=", example, re.M))
    assert names - known == set()
    gunicorn_conf = (ROOT / "gunicorn.conf.py").read_text()
    for name in ("WEB_CONCURRENCY", "BIND", "GUNICORN_TIMEOUT", "GUNICORN_ACCESS_LOG"):
        assert name in gunicorn_conf
    units = {path.name: path.read_text() for path in Path(ROOT / "deploy" / "systemd").glob("*.service")}
    assert "gunicorn --config gunicorn.conf.py wsgi:app" in units["storefront-web.service"]
    assert "flask --app wsgi ml scheduler" in units["storefront-scheduler.service"]
    assert "flask --app wsgi db upgrade" in units["storefront-migrate.service"]


# --- production refusals ------------------------------------------------------------------------


@pytest.fixture
def production_env(monkeypatch):
    for name in ("SECRET_KEY", "DATABASE_URL", "STOREFRONT_CONFIG", "FLASK_ENV", "ALLOW_SQLITE_IN_PRODUCTION"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("key", ["short-but-not-empty", "x" * 64, "abcabcabcabcabcabcabcabcabcabcabcabc"])
def test_production_refuses_a_weak_secret_key(production_env, tmp_path, key):
    production_env.setenv("SECRET_KEY", key)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set .* and it (has|repeats)"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": "postgresql://shop@db.internal/shop"})


def test_production_refuses_sqlite_with_a_clear_message(production_env, tmp_path):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    with pytest.raises(RuntimeError, match="Refusing to run production on SQLite: set DATABASE_URL=postgresql://"):
        create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    production_env.setenv("STOREFRONT_CONFIG", "production")  # no DATABASE_URL at all: the SQLite default
    with pytest.raises(RuntimeError, match="on SQLite"):
        create_app()


def test_production_on_sqlite_when_explicitly_allowed(production_env, tmp_path):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("ALLOW_SQLITE_IN_PRODUCTION", "1")
    app = create_app({"ENV_NAME": "production", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'p.db'}"})
    assert app.config["ALLOW_SQLITE_IN_PRODUCTION"] is True
    assert app.config["LOG_FORMAT"] == "json" and app.config["PROXY_FIX_X_FOR"] == 1
    with app.app_context():
        db.engine.dispose()


def test_production_on_postgresql_starts(production_env):
    production_env.setenv("SECRET_KEY", secrets.token_hex(32))
    production_env.setenv("DATABASE_URL", "postgresql://shop:pw@db.internal:5432/shop")
    app = create_app({"ENV_NAME": "production"})  # the engine does not connect yet
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["REMEMBER_COOKIE_SECURE"]
    assert app.config["RATELIMIT_ENABLED"] is True and app.config["HSTS_SECONDS"] > 0
