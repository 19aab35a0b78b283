"""What a product page shows beyond the ``products`` row: its gallery and the feed's facts.

One call per page (``product_details(product)`` in the template): the stored pictures in order
(none: the page keeps the category's drawn picture, as the demo shop does) and, for a product
imported from a merchant feed, the regular price while a sale is charged, identifiers and
details (colour, size...).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from storefront.catalog.images import GalleryImage, gallery
from storefront.extensions import db
from storefront.models.product_details import ProductFeedEntry

DETAIL_LABELS = {"color": "Colour", "size": "Size", "material": "Material", "pattern": "Pattern",
                 "gender": "For", "age_group": "Age group"}
CONDITION_LABELS = {"refurbished": "Refurbished", "used": "Used"}  # "new" goes without saying


@dataclass(frozen=True)
class ProductDetails:
    images: list[GalleryImage] = field(default_factory=list)
    was_price: Decimal | None = None  # the regular price, shown struck out while the sale is charged
    facts: list[tuple[str, str]] = field(default_factory=list)  # (label, value) for the specs list


def details_of(product) -> ProductDetails:
    entry = db.session.get(ProductFeedEntry, product.id)
    images = gallery(product.id)
    if entry is None:
        return ProductDetails(images=images)
    # Only while the price charged is the feed's sale price: an admin's later price edit wins.
    on_sale = entry.sale_price is not None and product.price == entry.sale_price < entry.regular_price
    facts = [(DETAIL_LABELS[name], str(value)) for name, value in (entry.details or {}).items()
             if name in DETAIL_LABELS and value]
    if entry.condition in CONDITION_LABELS:
        facts.append(("Condition", CONDITION_LABELS[entry.condition]))
    if entry.gtin:
        facts.append(("GTIN", entry.gtin))
    if entry.mpn:
        facts.append(("MPN", entry.mpn))
    return ProductDetails(images=images, was_price=entry.regular_price if on_sale else None, facts=facts)
