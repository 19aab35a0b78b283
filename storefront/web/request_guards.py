"""Checks every request passes before it reaches a view."""
from __future__ import annotations

from flask import Flask, abort, request


def _has_nul(values) -> bool:
    return any("\x00" in value for value in values)


def reject_nul_bytes() -> None:
    """A NUL byte is never legitimate in a URL or form, and PostgreSQL cannot store one in text:
    refuse it up front with a 400 instead of failing deep in a query."""
    if (
        "\x00" in request.path
        or _has_nul(request.args.values())
        or (request.method == "POST" and request.mimetype != "application/json" and _has_nul(request.form.values()))
    ):
        abort(400, "The request contains a NUL character.")


def reject_non_object_json_forms() -> None:
    """The shop's forms (Flask-WTF) also accept a JSON body, read as the form's fields: only a
    JSON object can be that. A list or a scalar would crash the form (a 500), so it is refused
    here with a 400; the JSON API reads its own bodies."""
    if request.method != "POST" or not request.is_json or request.path.startswith("/api/"):
        return
    if not isinstance(request.get_json(silent=True), dict):
        abort(400, "A form accepts a JSON object of its fields, nothing else.")


def register_request_guards(app: Flask) -> None:
    app.before_request(reject_nul_bytes)
    app.before_request(reject_non_object_json_forms)
