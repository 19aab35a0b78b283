"""Error pages in the shop's style (and JSON for API clients)."""
from __future__ import annotations

import logging
import threading
import time

from flask import Flask, current_app, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException, NotFound

from storefront.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    413: "Request too large",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}

#: The database is down, restarting, refusing connections, or (SQLite) locked for longer than the
#: busy timeout: not a bug in the request, so 503 + Retry-After rather than a 500.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError, DisconnectionError, PoolTimeoutError)
RETRY_AFTER_SECONDS = 5


class OutageLog:
    """One warning per interval while the database is unavailable, with how many 503s were
    answered since the last one, instead of a line or a traceback per request: an outage under
    load would otherwise write megabytes of identical log (18.5 MB in 12 s, measured)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reported_at: float | None = None
        self._suppressed = 0

    def report(self, interval: float, what: str) -> None:
        now = time.monotonic()
        with self._lock:
            if self._reported_at is not None and now - self._reported_at < interval:
                self._suppressed += 1
                return
            suppressed, self._suppressed, self._reported_at = self._suppressed, 0, now
        since = f"; {suppressed} more 503s since the last report" if suppressed else ""
        log.warning("Database unavailable, answering 503 (reported at most every %.0f s): %s%s", interval, what, since)


def _outage_log() -> OutageLog:
    return current_app.extensions.setdefault("outage_log", OutageLog())


def report_outage(what: str) -> None:
    _outage_log().report(float(current_app.config.get("OUTAGE_LOG_INTERVAL_SECONDS", 30)), what)


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str):
    title = TITLES.get(status, "Error")
    if request_ctx.url_adapter is None:  # a Host outside TRUSTED_HOSTS: no URL of the shop can be built
        return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title></head>"
                f"<body><h1>{title}</h1><p>{escape(message)}</p></body></html>"), status
    if _wants_json():
        return jsonify(error=title, message=message, status=status), status
    if status == 404:
        if message == NotFound.description:  # the framework's sentence: the shop's words instead
            message = NOT_FOUND_MESSAGE
        return render_template("errors/error.html", status=status, title=title, message=message,
                               trending=_trending()), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


NOT_FOUND_MESSAGE = ("We could not find that page. The link may be old, or the product may no longer be sold: "
                     "try a search, or have a look at what is popular right now.")
NOT_FOUND_TRENDING = 4


def _trending() -> list:
    """A few popular products for a dead end (none when the catalog cannot be read)."""
    from storefront.catalog import snapshot  # the web layer's error page: imported when needed

    try:
        catalog = snapshot.current()
        return catalog.cards(catalog.ranked(NOT_FOUND_TRENDING, (), popular_only=True))
    except Exception:  # noqa: BLE001 - an error page must render whatever else is broken
        _rollback_quietly()
        log.debug("no trending products for the 404 page", exc_info=True)
        return []


def _rollback_quietly() -> None:
    """Drop the request's unit of work; with the database gone even the rollback may fail."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection is already broken; the pool replaces it
        log.debug("rollback failed", exc_info=True)


def database_unavailable_response():
    """503 with Retry-After: JSON for the API, the shop's error page (or a bare one) otherwise."""
    message = "The shop is briefly unavailable. Please try again in a few seconds."
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS), "Cache-Control": "no-store"}
    if _wants_json():
        return jsonify(error=TITLES[503], message=message, status=503), 503, headers
    try:
        body = render_template("errors/error.html", status=503, title=TITLES[503], message=message)
    except Exception:  # noqa: BLE001 - the layout may need the database too (the logged-in user)
        _rollback_quietly()
        log.debug("the error page needs the database too; answering a bare page", exc_info=True)
        body = (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{TITLES[503]}</title>"
                f"</head><body><h1>{TITLES[503]}</h1><p>{escape(message)}</p></body></html>")
    return body, 503, headers


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "Your form expired or was sent from elsewhere. Please go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500, error.description or "")

    @app.errorhandler(OperationalError)
    @app.errorhandler(InterfaceError)
    @app.errorhandler(DisconnectionError)
    @app.errorhandler(PoolTimeoutError)
    def database_error(error: Exception):
        _rollback_quietly()
        first_line = (str(error).strip().splitlines() or [""])[0][:200]
        report_outage(f"{request.method} {request.path}: {type(error).__name__}: {first_line}")
        return database_unavailable_response()

    @app.errorhandler(Exception)
    def unhandled_error(error: Exception):
        db.session.rollback()  # never leave a half-done unit of work behind
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500, "We hit an unexpected error. It has been logged; please try again.")

