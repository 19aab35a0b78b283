"""Larger request bodies for the few views that take files.

``MAX_CONTENT_LENGTH`` (1 MB) guards every form of the shop, and the first guards that read a
form (CSRF, ``reject_forbidden_characters``) run before any view, so a view cannot raise it for
itself. A view marked :func:`accepts_files` gets its own limit here, in a hook that runs before
all the others; every other request keeps the small one.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app, request

FORM_OVERHEAD = 256 * 1024  # the multipart framing, the CSRF token and the other fields
_ATTRIBUTE = "upload_limit"


def accepts_files(limit: Callable[[], int], files: int = 1):
    """Mark a view as taking up to ``files`` files of ``limit()`` bytes each (read per request,
    so a configured limit applies)."""
    def mark(view):
        setattr(view, _ATTRIBUTE, (limit, files))
        return view
    return mark


def raise_body_limit() -> None:
    spec = getattr(current_app.view_functions.get(request.endpoint or ""), _ATTRIBUTE, None)
    if spec is not None:
        limit, files = spec
        request.max_content_length = limit() * files + FORM_OVERHEAD


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, raise_body_limit)
