"""The home page's content: the banner, the personal shelf, the newest products.

Composed here rather than in the view because the banner and the shelf share what the page
knows about the shopper (their recent events, asked once: ``storefront.tracking.shopper_facts``)
and their impressions are written together, in one insert.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storefront.campaigns.banner import Banner, choose_banner
from storefront.catalog import snapshot
from storefront.catalog.snapshot import NEWEST, ProductCard
from storefront.recommendations import registry, widgets
from storefront.recommendations.widgets import WidgetResult
from storefront.tracking.visitors import RequestContext

NEWEST_SHOWN = 8


@dataclass(frozen=True)
class HomePage:
    banner: Banner | None
    widget: WidgetResult | None
    newest: list[ProductCard]
    more: tuple[WidgetResult, ...] = ()  # the shelves after the main one ("Buy it again")


def home_page(ctx: RequestContext, now: datetime | None = None) -> HomePage:
    chosen = choose_banner(ctx, now)
    results = widgets.fill_shelves(ctx, registry.HOME)
    others = widgets.record_all(ctx, results, [chosen.impression_row()] if chosen else [])
    catalog = snapshot.current(ctx.memo)
    return HomePage(
        banner=chosen.shown(others[0]) if chosen else None,
        widget=results[0] if results else None,
        newest=catalog.cards(catalog.ranked(NEWEST_SHOWN, (), order=NEWEST)),
        more=tuple(results[1:]),
    )
