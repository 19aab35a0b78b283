"""Reading facets back from a listing page, and a small catalogue to facet (not a test module)."""
from __future__ import annotations

import html as html_lib
import re

from tests.storefront.support.shop import card_titles, new_category, new_product

# name, subcategory, brand, price, stock
AUDIO = [
    ("Studio Headphones", "Headphones", "Sonora", "89.00", 5),
    ("Travel Headphones", "Headphones", "Sonora", "45.00", 0),
    ("Budget Headphones", "Headphones", "Acme", "19.99", 3),
    ("Reference Headphones", "Headphones", "Vexo", "299.00", 2),
    ("Desk Speaker", "Speakers", "Acme", "59.00", 4),
    ("Party Speaker", "Speakers", "Vexo", "149.00", 0),
]


def audio_shop(app) -> dict:
    """The Audio department (Headphones, Speakers) with six products; slugs and product ids."""
    department, slug = new_category(app, "Audio")
    children = {name: new_category(app, name, parent_id=department) for name in ("Headphones", "Speakers")}
    ids = {name: new_product(app, children[sub][0], name=name, brand=brand, price=price, stock=stock,
                             description=f"{name} by {brand}.")
           for name, sub, brand, price, stock in AUDIO}
    return {"audio": slug, "headphones": children["Headphones"][1], "speakers": children["Speakers"][1], "ids": ids}


def titles(response) -> list[str]:
    return [html_lib.unescape(t) for t in card_titles(response.get_data(as_text=True))]


def _section(html: str, facet: str) -> str:
    found = re.search(rf'<section class="facet" data-facet="{facet}">(.*?)</section>', html, flags=re.S)
    return found.group(1) if found else ""


def facet(response, name: str) -> dict[str, int]:
    """label -> count of one facet (``brand``, ``category``, ``price``, ``stock``) on the page."""
    html = response.get_data(as_text=True)
    pairs = re.findall(r'<span class="facet-label">(.*?)</span> <span class="facet-count">(\d+)</span>',
                       _section(html, name))
    return {html_lib.unescape(label): int(count) for label, count in pairs}


def selected(response, name: str) -> list[str]:
    html = _section(response.get_data(as_text=True), name)
    return [html_lib.unescape(label) for label in re.findall(
        r'class="facet-value selected"[^>]*>.*?<span class="facet-label">(.*?)</span>', html, flags=re.S)]


def facet_href(response, name: str, label: str) -> str:
    html = _section(response.get_data(as_text=True), name)
    for href, text in re.findall(r'<a href="([^"]*)" class="facet-value[^"]*".*?<span class="facet-label">(.*?)</span>',
                                 html, flags=re.S):
        if html_lib.unescape(text) == label:
            return html_lib.unescape(href)
    raise AssertionError(f"no {name} facet value {label!r}")
