"""Impressions (what a widget showed) and clicks on them: the two halves of online CTR.

Every rendered widget becomes one ``Impression`` row; links in the widget carry its id and the
item's position (``?ri=<impression>&rp=<position>``), and the product page turns a *valid* pair
into a ``click`` event. Valid means: the impression exists, was shown to this shopper, and lists
this product at that position. The home banner (``banner_row``, recorded with the page's widgets) works the same way through
``/promo/<campaign>?ri=<impression>``: there the impression must name the campaign. Anything
else (a shared link, a forged or stale parameter, a reload of the same link) is ignored
silently: a click is evidence for a model, so it must not be possible to manufacture one, and a
bad query string must never cost the shopper the page.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert, select

from storefront.extensions import db
from storefront.models import CLICK, Event, Impression, Product
from storefront.models.common import utcnow
from storefront.tracking import events as tracking
from storefront.tracking import integrity
from storefront.tracking.visitors import RequestContext, Shopper
from storefront.tracking.visitors import shopper_of

_INSERT_IMPRESSION = insert(Impression.__table__)  # compiled once, like tracking's event insert
_INSERT_IMPRESSIONS_RETURNING = _INSERT_IMPRESSION.returning(Impression.__table__.c.id, Impression.__table__.c.widget)
MAX_IMPRESSION_ID = 2**63 - 1  # BIGINT: a larger id cannot exist and would overflow the query
MAX_POSITION = 999
# Strategy names embed a champion's name, which a training config may choose freely: clip to
# the column rather than let PostgreSQL refuse the insert (and the page) over a long name.
_STRATEGY_LENGTH = Impression.__table__.c.strategy.type.length
BANNER_WIDGET = "home_banner"  # the home page's promotion slot (storefront.campaigns.banner)


def record_widget(
    ctx: RequestContext, *, widget: str, strategy: str, items: Sequence[int], model_version: str | None = None,
    context_product_id: int | None = None, ranking: str | None = None, experiment_id: int | None = None,
    arm: str | None = None, rules: dict[str, list[int]] | None = None,
) -> int | None:
    """Store one impression for a widget about to be shown; its id, or None (an empty widget,
    or nothing is logged for this request: a bot, a first request, a visitor over a limit; or no
    browser: the admin's preview of a customer's widget records nothing).

    The visitor row is not created for it: visitors stay lazy (a one-page bounce writes only
    its impression). An anonymous browser's impression is tied to its browsing session instead,
    which is what ``record_click`` checks. ``ranking`` is which ordering an experiment showed
    (``retrieval`` / ``ctr``); ``experiment_id`` and ``arm``, the A/B test of model versions the
    widget was in and the shopper's side of it; ``rules``, the merchandising rules that touched
    it (rule id -> 0-based positions; an exclusion that removed a candidate has none).
    """
    if not items or not integrity.may_track(ctx):
        return None
    return _insert(ctx, widget=widget, strategy=strategy, items=list(items), model_version=model_version,
                   context_product_id=context_product_id, ranking=ranking, experiment_id=experiment_id, arm=arm,
                   rules=rules)


def record_widgets(ctx: RequestContext, widgets: Sequence[dict]) -> list[int | None]:
    """Store the impressions of every widget of a page in one statement; their ids in order
    (None for an empty widget, and for all when nothing is logged for this request, as in
    ``record_widget``). Each dict holds ``record_widget``'s keyword arguments."""
    ids: list[int | None] = [None] * len(widgets)
    # a banner (``campaign_id``, see ``banner_row``) shows no products and is recorded all the same
    shown = [index for index, widget in enumerate(widgets) if widget["items"] or widget.get("campaign_id")]
    if not shown or not integrity.may_track(ctx):
        return ids
    rows = [_row(ctx, **{**widgets[index], "items": list(widgets[index]["items"])}) for index in shown]
    names = [row["widget"] for row in rows]
    if len(set(names)) < len(names):  # not the case of any page; ids could not be told apart
        for index, row in zip(shown, rows):
            ids[index] = int(db.session.execute(_INSERT_IMPRESSION, row).inserted_primary_key[0])
        return ids
    # One multi-row INSERT: SQLAlchemy's "insertmanyvalues" turns this executemany of a statement
    # compiled once into a single INSERT ... VALUES (...), (...) RETURNING (building ``.values(rows)``
    # per request cost 6x more on SQLite). Neither engine promises RETURNING in VALUES order (and
    # the ordered variant sends SQLite one statement per row), so the ids come back with their
    # widget's name, which is unique on a page.
    returned = db.session.execute(_INSERT_IMPRESSIONS_RETURNING, rows)
    by_widget = {widget: int(impression_id) for impression_id, widget in returned}
    for index, name in zip(shown, names):
        ids[index] = by_widget[name]
    return ids


def banner_row(campaign_id: int, strategy: str, ranking: str | None = None) -> dict:
    """A ``home_banner`` impression for ``record_widgets`` (recorded with the page's widgets).
    A banner shows no products: ``items`` is empty, ``campaign_id`` says what."""
    return {"widget": BANNER_WIDGET, "strategy": strategy, "items": [], "campaign_id": campaign_id, "ranking": ranking}


def _row(ctx: RequestContext, *, widget: str, strategy: str, items: list[int], model_version: str | None = None,
         context_product_id: int | None = None, campaign_id: int | None = None,
         ranking: str | None = None, experiment_id: int | None = None, arm: str | None = None,
         rules: dict[str, list[int]] | None = None) -> dict:
    shopper = shopper_of(ctx)
    return {
        "visitor_id": shopper.visitor_id,
        "customer_id": shopper.customer_id,
        "widget": widget,
        "strategy": strategy[:_STRATEGY_LENGTH],
        "model_version": model_version,
        "context_product_id": context_product_id,
        "items": items,
        "device": ctx.device,
        "session_id": ctx.session_id,
        "created_at": utcnow(),
        "campaign_id": campaign_id,
        "ranking": ranking,
        "experiment_id": experiment_id,
        "arm": arm,
        "rules": rules or None,
    }


def _insert(ctx: RequestContext, **fields) -> int:
    inserted = db.session.execute(_INSERT_IMPRESSION, _row(ctx, **fields))
    return int(inserted.inserted_primary_key[0])


def _number(raw: str | None, largest: int) -> int | None:
    """A plain non-negative decimal within range, else None (no signs, spaces or non-ASCII
    digits, which ``int`` would otherwise accept)."""
    if not raw or len(raw) > len(str(largest)) or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= largest else None


def _shown_to(impression: Impression, shopper: Shopper) -> bool:
    if impression.visitor_id is not None and impression.visitor_id == shopper.visitor_id:
        return True
    if impression.customer_id is not None and impression.customer_id == shopper.customer_id:
        return True
    # Shown before this browser had a visitor row: the browsing session is the only link.
    return (
        impression.visitor_id is None
        and impression.customer_id is None
        and bool(impression.session_id)
        and impression.session_id == shopper.session_id
    )


def shown_impression(ctx: RequestContext, impression_param: str | None) -> Impression | None:
    """The impression a link's ``ri`` parameter names, if it is a valid one for this request:
    a well-formed id of an existing impression shown to this shopper, and not a bot asking."""
    impression_id = _number(impression_param, MAX_IMPRESSION_ID)
    if not impression_id or ctx.is_bot:
        return None
    impression = db.session.get(Impression, impression_id)
    if impression is None or not _shown_to(impression, shopper_of(ctx)):
        return None
    return impression


def _first_click(impression_id: int, product_id: int | None) -> bool:
    """Whether the impression's item (the banner: ``None``) has no click yet. One click per
    impression and position, whatever the browser remembers: a reload, the link followed again
    from the history, alternating two links or a script clearing its cookies each count once.
    (Products are unique within an impression, so the product stands for the position.)"""
    product = Event.product_id.is_(None) if product_id is None else Event.product_id == product_id
    query = select(Event.id).where(Event.impression_id == impression_id, Event.type == CLICK, product).limit(1)
    return db.session.scalar(query) is None


def record_click(ctx: RequestContext, product: Product, impression_param: str | None, position_param: str | None) -> bool:
    """Record a ``click`` on ``product`` from a widget link if the parameters are valid.

    Returns whether a click was recorded. Call it after the page's view was tracked, so the
    visitor row exists and the click carries it.
    """
    position = _number(position_param, MAX_POSITION)
    if position is None:
        return False
    impression = shown_impression(ctx, impression_param)
    if impression is None:
        return False
    items = impression.items if isinstance(impression.items, list) else []
    if position >= len(items) or items[position] != product.id:
        return False
    if not _first_click(impression.id, product.id):
        return False  # a reload of the page the link opened, or the same link again: not a second click
    return tracking.track(
        ctx, CLICK, product, impression_id=impression.id,
        properties={"position": position, "widget": impression.widget},
    )


def record_banner_click(ctx: RequestContext, campaign_id: int, impression_param: str | None) -> bool:
    """Record a ``click`` (no product) on a campaign's banner if ``ri`` names a banner
    impression of this campaign shown to this shopper, and this is not a repeat."""
    impression = shown_impression(ctx, impression_param)
    if impression is None or impression.widget != BANNER_WIDGET or impression.campaign_id != campaign_id:
        return False
    if not _first_click(impression.id, None):
        return False
    return tracking.track(
        ctx, CLICK, None, impression_id=impression.id,
        properties={"position": 0, "widget": BANNER_WIDGET, "campaign_id": campaign_id},
    )
