"""Admin -> Products: the filtered product list, and editing a product's price, stock and
whether it is on sale, each change logged (who, when, old -> new) in ``product_changes``.

What a shopper sees follows at once: the catalog version's triggers
(``storefront.models.catalog_version``) move on a change of price or activity and on stock
crossing zero, and every worker reloads its catalog snapshot (widgets, cards, menus) on its next
check. Functions flush; the view commits.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import joinedload

from storefront.extensions import db
from storefront.models import Category, Product
from storefront.models.product_changes import ProductChange

STOCK_IN, STOCK_OUT = "in", "out"
MAX_PRICE = Decimal("99999999.99")  # Numeric(10, 2)
MAX_STOCK = 1_000_000
MAX_QUERY = 100
HISTORY_SHOWN = 50


class ProductError(ValueError):
    """A change the service refuses; ``field`` names the form field the message belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ProductFilters:
    q: str = ""  # words of the name, SKU or brand
    category_id: int | None = None  # the category and every category below it
    active: bool | None = None
    stock: str | None = None  # STOCK_IN, STOCK_OUT or None for both


@dataclass(frozen=True)
class ProductEdit:
    price: Decimal
    stock: int
    active: bool
    # The stock the admin's form showed: a different stock now means an order (or another admin)
    # changed it meanwhile, and a typed absolute number would silently undo that sale.
    stock_seen: int


def category_choices() -> list[tuple[int, str]]:
    """Every category as "Department › Category" (departments alone), sorted by that label."""
    nodes = db.session.scalars(select(Category).options(joinedload(Category.parent))).all()
    labels = [(c.id, f"{c.parent.name} › {c.name}" if c.parent else c.name) for c in nodes]
    return sorted(labels, key=lambda pair: pair[1].lower())


def _with_descendants(category_id: int) -> list[int]:
    """The category and every category below it (the tree is small: one query, walked here)."""
    children: dict[int | None, list[int]] = {}
    for node_id, parent_id in db.session.execute(select(Category.id, Category.parent_id)):
        children.setdefault(parent_id, []).append(node_id)
    found, frontier = [category_id], [category_id]
    while frontier:
        frontier = [child for node in frontier for child in children.get(node, ()) if child not in found]
        found.extend(frontier)
    return found


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def product_page(filters: ProductFilters, page: int, per_page: int):
    """One page of products matching ``filters``, by name; every word of ``q`` must match the
    name, SKU or brand (wildcards in it are plain text)."""
    query = select(Product).options(joinedload(Product.category))
    for word in filters.q[:MAX_QUERY].lower().split():
        pattern = _like(word)
        query = query.where(or_(*(func.lower(column).like(pattern, escape="\\")
                                  for column in (Product.name, Product.sku, Product.brand))))
    if filters.category_id is not None:
        query = query.where(Product.category_id.in_(_with_descendants(filters.category_id)))
    if filters.active is not None:
        query = query.where(Product.active.is_(filters.active))
    if filters.stock == STOCK_IN:
        query = query.where(Product.stock > 0)
    elif filters.stock == STOCK_OUT:
        query = query.where(Product.stock <= 0)
    return db.paginate(query.order_by(Product.name, Product.id), page=page, per_page=per_page, error_out=False)


def history(product_id: int, limit: int = HISTORY_SHOWN) -> list[ProductChange]:
    """The product's latest logged changes, newest first."""
    return list(db.session.scalars(
        select(ProductChange).where(ProductChange.product_id == product_id)
        .order_by(ProductChange.changed_at.desc(), ProductChange.id.desc()).limit(limit)
    ))


def _shown(value) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def _check(edit: ProductEdit) -> None:
    if not (Decimal("0.01") <= edit.price <= MAX_PRICE) or edit.price != edit.price.quantize(Decimal("0.01")):
        raise ProductError("price", f"Enter a price from 0.01 to {MAX_PRICE:,}, in cents at most.")
    if not 0 <= edit.stock <= MAX_STOCK:
        raise ProductError("stock", f"Enter a stock from 0 to {MAX_STOCK:,}.")


def update_product(product: Product, edit: ProductEdit, who: str) -> list[ProductChange]:
    """Apply ``edit`` and log each field that changed; raise :class:`ProductError` (nothing
    changed) on an invalid value or when the stock moved since the form was shown. Returns the
    log rows (empty: nothing changed)."""
    _check(edit)
    db.session.refresh(product)  # the values to compare with are the database's, not a cached row's
    changes: list[ProductChange] = []

    def log(field: str, old, new) -> None:
        changes.append(ProductChange(product_id=product.id, field=field, old_value=_shown(old),
                                     new_value=_shown(new), changed_by=who))

    if edit.stock != edit.stock_seen:
        # Conditional, like checkout's reservation: only if nothing sold (or restocked) meanwhile.
        moved = db.session.execute(
            update(Product).where(Product.id == product.id, Product.stock == edit.stock_seen)
            .values(stock=edit.stock).execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1:
            db.session.refresh(product)
            raise ProductError("stock", f"The stock changed to {product.stock} while you were editing (an order or "
                                        "another admin): check it and save again.")
        log("stock", edit.stock_seen, edit.stock)
    if edit.price != product.price:
        log("price", product.price, edit.price)
        product.price = edit.price
    if edit.active != product.active:
        log("active", product.active, edit.active)
        product.active = edit.active
    db.session.add_all(changes)
    db.session.flush()
    db.session.refresh(product)
    return changes
