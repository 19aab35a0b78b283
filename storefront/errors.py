"""Error pages in the shop's style (and JSON for API clients)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from storefront.extensions import db

log = logging.getLogger(__name__)

TITLES = {
    400: "Bad request",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    422: "Unprocessable request",
    429: "Too many requests",
    500: "Something went wrong",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def render_error(status: int, message: str):
    title = TITLES.get(status, "Error")
    if _wants_json():
        return jsonify(error=title, message=message, status=status), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_pages(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error: CSRFError):
        return render_error(400, "Your form expired or was sent from elsewhere. Please go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        return render_error(error.code or 500, error.description or "")

    @app.errorhandler(Exception)
    def unhandled_error(error: Exception):
        db.session.rollback()  # never leave a half-done unit of work behind
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500, "We hit an unexpected error. It has been logged; please try again.")
