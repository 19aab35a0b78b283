"""What production needs around every request: the proxy in front, security headers, logging.

- ``ProxyFix`` when ``PROXY_FIX_X_FOR`` / ``_PROTO`` / ``_HOST`` / ``_PORT`` / ``_PREFIX`` > 0:
  ``request.remote_addr``, the scheme and the host then follow nginx's ``X-Forwarded-*``
  headers (and only then: without a proxy that overwrites them, clients could spoof them).
- Security headers on every response (pages, JSON, errors): a CSP without inline scripts or
  styles, nosniff, no framing, a strict referrer policy, no powerful browser features, and HSTS
  on HTTPS requests when ``HSTS_SECONDS`` > 0 (production). A view may set its own value first.
- Logging configured from ``LOG_LEVEL`` and ``LOG_FORMAT`` (``text`` or ``json``: one JSON
  object per line), and one line per request (method, path, status, latency, request id,
  client address, user-agent class, worker pid) on the ``storefront.request`` logger. The
  request id comes from ``X-Request-ID`` (nginx sets it) or is generated, is sent back in the
  response header and is stamped on every log record of the request, exceptions included.
  Probes (``/healthz``, ``/readyz``) and static files log at DEBUG only.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from flask import Flask, current_app, g, has_request_context, request
from flask.wrappers import Response
from werkzeug.middleware.proxy_fix import ProxyFix

from storefront.web import uploads

request_log = logging.getLogger("storefront.request")

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "img-src 'self' data:",
    "style-src 'self'",
    "script-src 'self'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "base-uri 'self'",
])
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), "
    "payment=(), usb=()"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": PERMISSIONS_POLICY,
    "Cross-Origin-Opener-Policy": "same-origin",
}
REQUEST_ID_HEADER = "X-Request-ID"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")  # what nginx's $request_id and UUIDs look like
QUIET_PATHS = frozenset({"/healthz", "/readyz"})
PROXY_SETTINGS = {"x_for": "PROXY_FIX_X_FOR", "x_proto": "PROXY_FIX_X_PROTO", "x_host": "PROXY_FIX_X_HOST",
                  "x_port": "PROXY_FIX_X_PORT", "x_prefix": "PROXY_FIX_X_PREFIX"}


def init_app(app: Flask) -> None:
    configure_logging(app.config.get("LOG_LEVEL", "INFO"), app.config.get("LOG_FORMAT", "text"))
    install_proxy_fix(app)
    app.before_request(_start_request)
    uploads.init_app(app)  # first of all hooks: a view taking files gets its larger body limit
    app.after_request(_finish_request)


# --- proxy ------------------------------------------------------------------------------------


def install_proxy_fix(app: Flask) -> None:
    counts = {arg: int(app.config.get(key) or 0) for arg, key in PROXY_SETTINGS.items()}
    if any(counts.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **counts)  # type: ignore[method-assign]


# --- per request ------------------------------------------------------------------------------


def current_request_id() -> str | None:
    return g.get("request_id") if has_request_context() else None


def _start_request() -> None:
    g.request_started = time.perf_counter()
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex


def _finish_request(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    hsts = int(current_app.config.get("HSTS_SECONDS") or 0)
    if hsts > 0 and request.is_secure:
        value = f"max-age={hsts}" + ("; includeSubDomains" if current_app.config.get("HSTS_INCLUDE_SUBDOMAINS") else "")
        response.headers.setdefault("Strict-Transport-Security", value)
    request_id = g.get("request_id") or uuid.uuid4().hex
    response.headers[REQUEST_ID_HEADER] = request_id
    _log_request(response, request_id)
    return response


def _log_request(response: Response, request_id: str) -> None:
    path = request.path
    quiet = path in QUIET_PATHS or request.endpoint == "static"
    level = logging.WARNING if response.status_code >= 500 else logging.INFO
    if quiet and level < logging.WARNING:
        level = logging.DEBUG
    if not request_log.isEnabledFor(level):
        return
    started = g.get("request_started")
    duration_ms = round((time.perf_counter() - started) * 1000, 1) if started else None
    from storefront.tracking.events import classify_user_agent  # cached; imports the models

    fields = {
        "method": request.method,
        "path": path,
        "status": response.status_code,
        "duration_ms": duration_ms,
        "request_id": request_id,
        "remote_addr": request.remote_addr,
        "ua_class": classify_user_agent(request.headers.get("User-Agent", "")[:512]),
        "pid": os.getpid(),
    }
    request_log.log(level, "%s %s %s %sms", request.method, path, response.status_code, duration_ms,
                    extra={"http": fields})


# --- logging ----------------------------------------------------------------------------------


class RequestIdFilter(logging.Filter):
    """Stamps ``request_id`` on every record logged while a request is being handled."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, request fields,
    and the traceback of an exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None) or current_request_id()
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "http", None) or {})
        if "pid" not in entry:
            entry["pid"] = record.process
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(process)d]: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None) or current_request_id()
        return f"{text} rid={request_id}" if request_id and "\n" not in text else text


def make_formatter(log_format: str) -> logging.Formatter:
    name = (log_format or "text").strip().lower()
    if name not in {"text", "json"}:
        raise RuntimeError(f"LOG_FORMAT must be 'text' or 'json', not {log_format!r}")
    return JsonFormatter() if name == "json" else TextFormatter()


def configure_logging(level: str | int, log_format: str) -> None:
    """Root logger: ``level`` and one stderr handler with the chosen format (journald keeps
    stderr under systemd). Idempotent; leaves alone a root logger someone else configured
    (pytest's capture, a ``logging.config`` file), apart from the level."""
    formatter = make_formatter(log_format)
    root = logging.getLogger()
    ours = [h for h in root.handlers if getattr(h, "storefront", False)]
    if ours:
        handler = ours[0]
    elif root.handlers:
        handler = None
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.storefront = True  # type: ignore[attr-defined]
        handler.addFilter(RequestIdFilter())
        root.addHandler(handler)
    if handler is not None:
        handler.setFormatter(formatter)
    root.setLevel(level.upper() if isinstance(level, str) else level)
