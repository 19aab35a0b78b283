"""Commit, then render: the order every page that writes uses.

SQLite has one write lock for the whole database, taken by a transaction's first write and held
until its commit; the time between is what concurrent requests wait for (issue 15: a page held
it through its template, 4 of its 9 ms, and five workers queued behind it). So a page does its
reads first, its writes last (tracking, impressions), commits, and only then renders. The
commit leaves loaded objects as they are rather than expiring them: nothing the template reads
changed, and an expired object would be reloaded attribute by attribute while it renders.
"""
from __future__ import annotations

from flask import render_template

from storefront.extensions import db


def commit_then_render(template: str, status: int = 200, headers: dict | None = None, **context):
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True
    return render_template(template, **context), status, headers or {}
