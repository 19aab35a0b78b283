"""Catalog queries: listings and the popularity score behind sorting (the menu and the category
tree come from the catalog snapshot, ``storefront.catalog.snapshot``; search is
``storefront.search``)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import Select, bindparam, case, func, select, update

from storefront.extensions import db
from storefront.models import ADD_TO_CART, TRANSACTION, VIEW, Category, Event, Product, Visitor
from storefront.models.common import utcnow

SORTS = {
    "popular": "Most popular",
    "newest": "Newest",
    "price_asc": "Price: low to high",
    "price_desc": "Price: high to low",
}
DEFAULT_SORT = "popular"
# How strongly each action signals interest when ranking by popularity.
POPULARITY_WEIGHTS = {VIEW: 1.0, ADD_TO_CART: 4.0, TRANSACTION: 10.0}
POPULARITY_WINDOW_DAYS = 30


def active_product(product_id: int) -> Product | None:
    """The product, if it exists and is on sale (else its page is a 404)."""
    product = db.session.scalar(_PRODUCT_BY_ID, {"product_id": product_id})
    return product if product is not None and product.active else None


# Built once: ``session.get`` constructs its statement per call (half of its 0.3 ms on SQLite),
# and every product page, add to cart and order line asks this.
_PRODUCT_BY_ID = select(Product).where(Product.id == bindparam("product_id"))


def _sorted(query: Select, sort: str) -> Select:
    order = {
        "popular": (Product.popularity.desc(), Product.id),
        "newest": (Product.created_at.desc(), Product.id.desc()),
        "price_asc": (Product.price.asc(), Product.id),
        "price_desc": (Product.price.desc(), Product.id),
    }.get(sort, (Product.popularity.desc(), Product.id))
    return query.order_by(*order)


def listing(category_ids: Collection[int], sort: str, page: int, per_page: int):
    """One page of the active products of ``category_ids`` (a category and its descendants:
    ``CatalogSnapshot.descendants``)."""
    query = select(Product).where(Product.active.is_(True), Product.category_id.in_(sorted(category_ids)))
    return db.paginate(_sorted(query, sort), page=page, per_page=per_page, error_out=False)


def refresh_popularity(now=None, window_days: int = POPULARITY_WINDOW_DAYS) -> None:
    """Recompute every product's popularity from the last ``window_days`` of events.

    Robust to a few heavy visitors: each visitor counts once per product and day, with the
    strongest thing they did (a purchase 10, an add to cart 4, a view 1), so a hundred views or
    add-to-cart cycles weigh what one does; visitors flagged by the screening
    (:mod:`storefront.tracking.screening`) are left out.

    "Last" is relative to the newest product event, not the wall clock: on a live shop that is
    the same, and an imported historical log (or a seed that ends in the past) still ranks.
    Other events (form submissions imported today, say) do not move the window.
    """
    if now is None:
        newest = select(func.max(Event.occurred_at)).where(Event.product_id.isnot(None))
        now = db.session.scalar(newest) or utcnow()
    since = now - timedelta(days=window_days)
    weight = case(
        *((Event.type == kind, w) for kind, w in POPULARITY_WEIGHTS.items()), else_=0.0
    )
    per_visitor_day = (
        select(Event.product_id, func.max(weight).label("weight"))
        .join(Visitor, Visitor.id == Event.visitor_id)
        .where(Event.product_id.isnot(None), Event.occurred_at >= since, Visitor.flagged_at.is_(None),
               Event.type.in_(list(POPULARITY_WEIGHTS)))
        .group_by(Event.product_id, Event.visitor_id, func.date(Event.occurred_at))
        .subquery()
    )
    scores = db.session.execute(
        select(per_visitor_day.c.product_id, func.sum(per_visitor_day.c.weight)).group_by(per_visitor_day.c.product_id)
    ).all()
    db.session.execute(update(Product).values(popularity=0.0))
    if scores:
        db.session.execute(
            update(Product.__table__).where(Product.__table__.c.id == bindparam("pid"))
            .values(popularity=bindparam("score")),
            [{"pid": product_id, "score": float(score)} for product_id, score in scores],
        )
    db.session.flush()


def departments_of_categories(none: str = "none") -> dict[int, str]:
    """category id -> slug of its top-level category (its department); ``none`` for a category
    whose department cannot be found."""
    parents = dict(db.session.execute(select(Category.id, Category.parent_id)).all())
    slugs = dict(db.session.execute(select(Category.id, Category.slug)).all())

    def root(category_id: int) -> str:
        seen = set()
        while parents.get(category_id) is not None and category_id not in seen:
            seen.add(category_id)
            category_id = parents[category_id]
        return slugs.get(category_id, none)

    return {category_id: root(category_id) for category_id in parents}
