"""Each widget's diversity level (none/low/medium/high) and the re-ranking it asks for.

**The setting.** An admin sets a level per widget (Admin -> Diversity,
``storefront.admin.diversity``); it is a ``WidgetSetting`` row, and a widget without one shows
the model's own order (``none``). Every level costs some NDCG offline (README, "Diversity": the
table per level), so none is the default and diversity is the shop's choice per widget.

**At no cost per page.** A worker keeps the settings with the catalog version they were read at.
Saving one moves that version (``widget_settings`` has the catalog's triggers), and every page
reads the version anyway for its catalog snapshot, so a page asks nothing more; the first page
of each worker after a change reads the (few) rows once.

**Where it applies.** To what a model step proposes (``steps.reads_model``), in the filler
(``widgets.fill``), before the filler keeps the first ``missing``: the step fetched ``OVERFETCH``
times that many eligible candidates, and MMR (``ml.ranking.diversity``) picks the ``missing``
slots from them by rank relevance, each product's category and brand. Fallback steps (popular
in a category, trending, newest) keep their order: they are not a relevance ranking.
"""
from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from flask import Flask, current_app
from sqlalchemy import select

from ml.ranking.diversity import LEVELS, UNKNOWN, rerank_order
from storefront.catalog.snapshot import ProductCard
from storefront.extensions import db
from storefront.models.widget_settings import DIVERSITY_LEVELS, DIVERSITY_NONE, WidgetSetting
from storefront.recommendations import registry
from storefront.recommendations.steps import OVERFETCH

EXTENSION = "widget_settings"
LEVEL_LABELS = {
    "none": "None: the model's order",
    "low": "Low",
    "medium": "Medium",
    "high": "High: at most a few items per category",
}


class SettingError(ValueError):
    """An unknown widget or level (the form checks them too; a forged POST reaches here)."""


class SettingsCache:
    """One per app: widget -> diversity level as of a catalog version."""

    def __init__(self) -> None:
        # (catalog version, widget -> level): one attribute, swapped whole (no lock needed to read)
        self._known: tuple[int, dict[str, str]] | None = None
        self._lock = threading.Lock()

    def levels(self, catalog_version: int) -> dict[str, str]:
        known = self._known
        if known is not None and known[0] == catalog_version:
            return known[1]
        rows = db.session.execute(select(WidgetSetting.widget, WidgetSetting.diversity)).all()
        found = {row.widget: row.diversity for row in rows if row.diversity in LEVELS}
        with self._lock:
            self._known = (catalog_version, found)
        return found


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = SettingsCache()


def level_of(widget: str, catalog_version: int) -> str:
    """The diversity level of ``widget`` as of ``catalog_version`` (the request's snapshot's)."""
    cache = current_app.extensions.get(EXTENSION)
    if cache is None:
        return DIVERSITY_NONE
    return cache.levels(catalog_version).get(widget, DIVERSITY_NONE)


def _brand_codes(products: list[ProductCard]) -> np.ndarray:
    known: dict[str, int] = {}
    return np.array([known.setdefault(p.brand, len(known)) if p.brand else UNKNOWN for p in products],
                    dtype=np.int64)


def diversify(products: list[ProductCard], level: str, missing: int) -> list[ProductCard]:
    """``products`` (a model step's ranking) with the ``missing`` slots picked by MMR at
    ``level`` from the first ``missing * OVERFETCH``; the others follow in the model's order."""
    lam = LEVELS.get(level, 0.0)
    if lam == 0.0 or missing <= 0 or len(products) <= 1:
        return products
    pool = products[:missing * OVERFETCH]
    categories = np.array([p.category_id for p in pool], dtype=np.int64)
    order = rerank_order(len(pool), categories, _brand_codes(pool), lam, missing)
    return [pool[i] for i in order] + products[len(pool):]


# -- the admin's page --------------------------------------------------------------------------


@dataclass(frozen=True)
class WidgetRow:
    widget: str
    title: str
    placements: tuple[str, ...]
    level: str
    updated_at: datetime | None
    updated_by: str | None


def settable_widgets() -> list[registry.WidgetSpec]:
    """The widgets a model fills (one per name): only a relevance ranking can be diversified."""
    return registry.model_widgets()


def widget_rows() -> list[WidgetRow]:
    saved = {row.widget: row for row in db.session.scalars(select(WidgetSetting))}
    rows = []
    for spec in settable_widgets():
        row = saved.get(spec.name)
        placements = tuple(dict.fromkeys(s.placement for s in registry.WIDGETS if s.name == spec.name))
        rows.append(WidgetRow(spec.name, registry.WIDGET_TITLES[spec.name], placements,
                              row.diversity if row else DIVERSITY_NONE,
                              row.updated_at if row else None, row.updated_by if row else None))
    return rows


def set_levels(levels: Mapping[str, str], updated_by: str) -> list[str]:
    """Save each widget's level (flush; the caller commits); returns the widgets that changed.
    Unknown widgets or levels are refused whole (nothing is saved)."""
    names = {spec.name for spec in settable_widgets()}
    unknown = sorted(set(levels) - names)
    if unknown:
        raise SettingError(f"unknown widget(s): {', '.join(unknown)}")
    bad = sorted(w for w, level in levels.items() if level not in DIVERSITY_LEVELS)
    if bad:
        raise SettingError(f"unknown level for {', '.join(bad)} (none, low, medium or high)")
    saved = {row.widget: row for row in db.session.scalars(select(WidgetSetting))}
    changed = []
    for widget, level in levels.items():
        row = saved.get(widget)
        if (row.diversity if row else DIVERSITY_NONE) == level:
            continue  # an unchanged row is not rewritten: no needless catalog version move
        if row is None:
            db.session.add(WidgetSetting(widget=widget, diversity=level, updated_by=updated_by))
        else:
            row.diversity, row.updated_by = level, updated_by
        changed.append(widget)
    db.session.flush()
    return changed
