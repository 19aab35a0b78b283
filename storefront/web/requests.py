"""What every request goes through around its view: the guards before it, and the request context.

Guards refuse what no view can use (a control character or a lone surrogate anywhere in the
URL, a form or a JSON body; a JSON body that is not an object on a form route) with a 400
before any view runs.

:func:`request_context` reads the visitor cookie (minting a token for a new browser, sent back
by an ``after_request`` hook), the logged-in customer, the device from the User-Agent, the
browsing session from the signed session cookie and the client address, and hands services a
frozen :class:`~storefront.tracking.visitors.RequestContext`, once per request. Views pass it on;
services never look at the request themselves.
"""
from __future__ import annotations

import re
import secrets
import time

from flask import Flask, abort, current_app, g, request, session
from flask.wrappers import Response
from flask_login import current_user
from itsdangerous import BadSignature, URLSafeSerializer

from storefront.extensions import db
from storefront.tracking.events import classify_user_agent, record_pending
from storefront.tracking.visitors import RequestContext

# -- guards ------------------------------------------------------------------------------------------


# Characters no URL, form field or JSON string of this shop may carry: NUL (PostgreSQL cannot
# store it), the other C0 controls and DEL (tab, newline and carriage return stay: a textarea
# sends them), and lone UTF-16 surrogates (a JSON "\ud800" decodes to one; no database encodes it).
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def _bad_text(value: object) -> bool:
    """Whether a string, or any string inside a JSON value (keys included), is forbidden."""
    if isinstance(value, str):
        return _FORBIDDEN.search(value) is not None
    if isinstance(value, dict):
        return any(_bad_text(k) or _bad_text(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_bad_text(v) for v in value)
    return False


def _multidict_bad(values) -> bool:
    return any(_bad_text(key) or _bad_text(value) for key, value in values.items(multi=True))


def reject_forbidden_characters() -> None:
    """One guard for every request, whatever its content type: a control character or a lone
    surrogate in the path, the query string, a form or a JSON body is refused with a 400 up front,
    instead of failing deep in a query (a 500) after part of the work was done. A body over
    ``MAX_CONTENT_LENGTH`` is refused by Werkzeug while it is read (a 413 page)."""
    bad = _bad_text(request.path) or _multidict_bad(request.args)
    if not bad and request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.is_json:
            bad = _bad_text(request.get_json(silent=True))
        else:
            bad = _multidict_bad(request.form)
    if bad:
        abort(400, "The request contains a control character or an invalid character.")


def reject_non_object_json_forms() -> None:
    """The shop's forms (Flask-WTF) also accept a JSON body, read as the form's fields: only a
    JSON object can be that. A list or a scalar would crash the form (a 500), so it is refused
    here with a 400; the JSON API reads its own bodies."""
    if request.method != "POST" or not request.is_json or request.path.startswith("/api/"):
        return
    if not isinstance(request.get_json(silent=True), dict):
        abort(400, "A form accepts a JSON object of its fields, nothing else.")


# -- the request context -----------------------------------------------------------------------------

VISITOR_COOKIE_SALT = "storefront.visitor"
SESSION_IDLE_SECONDS = 30 * 60  # a new browsing session starts after 30 idle minutes


def request_context() -> RequestContext:
    """This request's context, built on first use and shared by every service call after."""
    ctx = g.get("request_context")
    if ctx is None:
        device = classify_user_agent(request.headers.get("User-Agent", "")[:512])
        token = _visitor_token()
        ctx = RequestContext(
            visitor_token=token,
            customer_id=current_user.id if current_user.is_authenticated else None,
            device=device,
            # Crawlers get no browsing session (nor a session cookie for one): they are not tracked.
            session_id="" if device == "bot" else browsing_session_id(),
            address=request.remote_addr or "unknown",
            browser_memory=session,
            confirmed=token != g.get("new_visitor_token"),
        )
        g.request_context = ctx
    return ctx


def forget_request_context() -> None:
    """After a login or logout, the customer changed: the next ``request_context`` rebuilds it."""
    g.pop("request_context", None)


def browsing_session_id() -> str:
    """A short-lived id grouping one visit's events; renewed after 30 idle minutes."""
    now = int(time.time())
    sid, last = session.get("sid"), session.get("sid_at", 0)
    if not sid or now - last > SESSION_IDLE_SECONDS:
        sid = secrets.token_hex(8)
        session["sid"] = sid
    if now - last > 60 or session.get("sid") != sid:  # avoid rewriting the cookie every request
        session["sid_at"] = now
    return sid


# -- the visitor cookie: a random token signed with the app secret (nobody can pose as another
# visitor by editing it); the Visitor row behind it is storefront.tracking.visitors' business.


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=VISITOR_COOKIE_SALT)


def _read_token() -> str | None:
    raw = request.cookies.get(current_app.config["VISITOR_COOKIE_NAME"])
    if not raw:
        return None
    try:
        token = _serializer().loads(raw)
    except BadSignature:
        return None
    return token if isinstance(token, str) and 16 <= len(token) <= 64 else None


def _visitor_token() -> str:
    """This browser's token; a new one (sent back as a cookie) if it had none."""
    token = _read_token()
    if token is None:
        token = secrets.token_hex(16)
        g.new_visitor_token = token
    return token


def issue_new_visitor_cookie() -> None:
    """Give this browser a new visitor token (sent with the response). On logout: whoever uses
    the browser next is a new anonymous visitor, not the customer who just left (their visitor
    row, linked to the account, keeps the customer's history). The caller forgets this request's
    context, which still names the old token (``forget_request_context``)."""
    g.new_visitor_token = secrets.token_hex(16)


def _set_visitor_cookie(response: Response) -> Response:
    token = g.get("new_visitor_token")
    if token:
        config = current_app.config
        response.set_cookie(
            config["VISITOR_COOKIE_NAME"],
            _serializer().dumps(token),
            max_age=config["VISITOR_COOKIE_MAX_AGE"],
            httponly=True,
            samesite="Lax",
            secure=bool(config.get("SESSION_COOKIE_SECURE")),
        )
    return response


def record_pending_views() -> None:
    """A browser's first page view waited in its session for the cookies to come back
    (storefront.tracking.integrity): this request brought them, so write it now, in its own
    commit (the request itself may write nothing)."""
    if "pending" not in session or request.endpoint == "static":
        return
    if record_pending(request_context()):
        db.session.commit()


def register_request_hooks(app: Flask) -> None:
    app.before_request(reject_forbidden_characters)
    app.before_request(reject_non_object_json_forms)
    app.before_request(record_pending_views)
    app.after_request(_set_visitor_cookie)
