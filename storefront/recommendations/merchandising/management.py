"""Merchandising rules for the admin pages: the list (with the impressions each rule touched in
the last 7 days), create, edit, switch on or off, delete.

The rules a rule must satisfy are checked here (the form checks the same for messages next to
its fields, and the table's CHECK constraints are the last line); services flush, the view
commits. Every write moves the catalog version (the table's triggers), which is how the web
workers learn of it (``serving``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, true

from storefront.campaigns.management import category_choices
from storefront.extensions import db
from storefront.models import Campaign, Category, Impression, Product
from storefront.models.common import utcnow
from storefront.models.merchandising import (
    ALL_WIDGETS, BOOST, BRAND, BURY, CAMPAIGN, CATEGORY, PIN, PRODUCTS, RULE_KINDS, TARGET_KINDS,
    MerchandisingRule,
)
from storefront.recommendations import registry
from storefront.recommendations.merchandising.serving import max_pins, takes_rules

TOUCHED_DAYS = 7
MAX_FACTOR = 100.0  # x100 puts rank 100 first: anything stronger is a pin
ALL_WIDGETS_LABEL = "All widgets"


class RuleError(ValueError):
    """A check the values fail; ``field`` names the form field to show it on."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class RuleValues:
    """What an admin sets on a rule (the form's result)."""

    name: str
    widget: str
    kind: str
    target_kind: str
    brand: str | None
    category_id: int | None
    campaign_id: int | None
    product_ids: tuple[int, ...]
    positions: tuple[int, ...]
    factor: float | None
    starts_at: datetime
    ends_at: datetime | None
    is_active: bool


@dataclass(frozen=True)
class RuleRow:
    rule: MerchandisingRule
    status: str  # live, off (switched off), scheduled (not started), ended
    target: str
    touched: int  # impressions in the last TOUCHED_DAYS days that record the rule


# -- which widgets take rules ------------------------------------------------------------------


def steerable_widgets() -> list[registry.WidgetSpec]:
    """One spec per widget name, except memory aids ("Recently viewed", ``distinct_on_page``
    off): they list what the shopper did, and a pinned or boosted product would misstate that."""
    found: dict[str, registry.WidgetSpec] = {}
    for spec in registry.WIDGETS:
        if takes_rules(spec):
            found.setdefault(spec.name, spec)
    return list(found.values())


def widget_choices() -> list[tuple[str, str]]:
    return [(ALL_WIDGETS, ALL_WIDGETS_LABEL),
            *((s.name, f"{registry.WIDGET_TITLES[s.name]} ({s.name})") for s in steerable_widgets())]


def campaign_choices() -> list[tuple[int, str]]:
    return [(c.id, c.name) for c in db.session.scalars(select(Campaign).order_by(Campaign.name))]


# -- the list ----------------------------------------------------------------------------------


def touched_counts(since: datetime) -> dict[int, int]:
    """Rule id -> impressions since ``since`` that record it: one grouped query over the
    impressions' ``rules`` objects (``json_each`` exists in SQLite and PostgreSQL alike)."""
    keys = func.json_each(Impression.rules).table_valued("key", "value")
    rows = db.session.execute(
        select(keys.c.key, func.count())
        .select_from(Impression).join(keys, true())
        .where(Impression.created_at >= since, Impression.rules.is_not(None))
        .group_by(keys.c.key)
    ).all()
    counts: dict[int, int] = {}
    for key, count in rows:
        try:
            counts[int(key)] = int(count)
        except (TypeError, ValueError):  # not a rule id: nothing to show it against
            continue
    return counts


def status_of(rule: MerchandisingRule, now: datetime) -> str:
    if not rule.is_active:
        return "off"
    if now < rule.starts_at:
        return "scheduled"
    return "live" if rule.ends_at is None or now < rule.ends_at else "ended"


def target_label(rule: MerchandisingRule, categories: dict[int, str], campaigns: dict[int, str]) -> str:
    if rule.target_kind == BRAND:
        return f"brand {rule.brand}"
    if rule.target_kind == CATEGORY:
        return f"category {categories.get(rule.category_id, '(deleted)')} and below"
    if rule.target_kind == CAMPAIGN:
        return f"campaign {campaigns.get(rule.campaign_id, '(deleted)')}"
    ids = list(rule.product_ids or ())
    if rule.kind == PIN:
        return ", ".join(f"#{p} at {pos}" for p, pos in zip(ids, rule.positions or ()))
    return "products " + ", ".join(f"#{p}" for p in ids)


def rule_rows(now: datetime | None = None) -> list[RuleRow]:
    """Every rule (newest first) with its status, target and impressions touched lately: a
    handful of queries, however many impressions there are."""
    now = now or utcnow()
    rules = db.session.scalars(select(MerchandisingRule).order_by(MerchandisingRule.id.desc())).all()
    categories = dict(category_choices())
    campaigns = dict(campaign_choices())
    touched = touched_counts(now - timedelta(days=TOUCHED_DAYS)) if rules else {}
    return [RuleRow(r, status_of(r, now), target_label(r, categories, campaigns), touched.get(r.id, 0))
            for r in rules]


# -- checks and writes -------------------------------------------------------------------------


def _overlaps(rule: MerchandisingRule, values: RuleValues) -> bool:
    far = datetime.max
    return rule.starts_at < (values.ends_at or far) and values.starts_at < (rule.ends_at or far)


def _check_pins(values: RuleValues, rule_id: int | None) -> None:
    """At most ``max_pins`` pins per widget among the switched-on pin rules whose dates overlap
    this one's (a rule for all widgets counts in each)."""
    limit = max_pins()
    if len(values.product_ids) > limit:
        raise RuleError("product_ids", f"Pin at most {limit} products per widget.")
    if not values.is_active:
        return
    others = [r for r in db.session.scalars(select(MerchandisingRule).where(
        MerchandisingRule.kind == PIN, MerchandisingRule.is_active.is_(True)))
        if r.id != rule_id and _overlaps(r, values)]
    widgets = [s.name for s in steerable_widgets()] if values.widget == ALL_WIDGETS else [values.widget]
    for widget in widgets:
        pinned = sum(len(r.product_ids or ()) for r in others if r.widget in (widget, ALL_WIDGETS))
        if pinned + len(values.product_ids) > limit:
            raise RuleError("product_ids", f"{widget} already has {pinned} pinned product(s) in these dates; "
                                           f"at most {limit} per widget.")


def _check(values: RuleValues, rule_id: int | None) -> None:
    if not values.name.strip():
        raise RuleError("name", "Give the rule a name.")
    if values.widget != ALL_WIDGETS and values.widget not in {s.name for s in steerable_widgets()}:
        raise RuleError("widget", "Choose a widget from the list.")
    if values.kind not in RULE_KINDS:
        raise RuleError("kind", "Choose boost, bury, pin or exclude.")
    if values.target_kind not in TARGET_KINDS:
        raise RuleError("target_kind", "Choose a brand, a category, a campaign or products.")
    if values.kind == PIN and values.target_kind != PRODUCTS:
        raise RuleError("target_kind", "A pin places products: list them, with their positions.")
    if values.kind == BOOST and not (values.factor is not None and 1 < values.factor <= MAX_FACTOR):
        raise RuleError("factor", f"A boost multiplies by more than 1 (at most {MAX_FACTOR:g}), e.g. 1.5.")
    if values.kind == BURY and not (values.factor is not None and 0 < values.factor < 1):
        raise RuleError("factor", "A bury multiplies by more than 0 and less than 1, e.g. 0.5.")
    if values.target_kind == BRAND and not (values.brand or "").strip():
        raise RuleError("brand", "Name the brand.")
    if values.target_kind == CATEGORY and (values.category_id is None or db.session.get(Category, values.category_id) is None):
        raise RuleError("category_id", "Choose a category.")
    if values.target_kind == CAMPAIGN and (values.campaign_id is None or db.session.get(Campaign, values.campaign_id) is None):
        raise RuleError("campaign_id", "Choose a campaign.")
    if values.target_kind == PRODUCTS:
        _check_products(values)
    if values.kind == PIN:
        _check_pins(values, rule_id)
    if values.ends_at is not None and values.ends_at <= values.starts_at:
        raise RuleError("ends_at", "The rule must end after it starts.")


def _check_products(values: RuleValues) -> None:
    ids = values.product_ids
    if not ids:
        raise RuleError("product_ids", "List the product ids, e.g. 12, 40.")
    if len(set(ids)) < len(ids):
        raise RuleError("product_ids", "List each product once.")
    known = set(db.session.scalars(select(Product.id).where(Product.id.in_(ids))))
    unknown = [str(p) for p in ids if p not in known]
    if unknown:
        raise RuleError("product_ids", f"No product has the id {', '.join(unknown)}.")
    if values.kind != PIN:
        if values.positions:
            raise RuleError("positions", "Only a pin has positions.")
        return
    slots = int(current_app.config.get("RECOMMENDATIONS_PER_WIDGET", 8))
    if len(values.positions) != len(ids):
        raise RuleError("positions", "Give one position per pinned product, in the same order.")
    if any(not 1 <= p <= slots for p in values.positions):
        raise RuleError("positions", f"Positions run from 1 to {slots} (the widget's slots).")
    if len(set(values.positions)) < len(values.positions):
        raise RuleError("positions", "Give each pinned product its own position.")


def save_rule(rule: MerchandisingRule | None, values: RuleValues, created_by: str) -> MerchandisingRule:
    """Create (``rule`` None) or update a rule; raises ``RuleError`` and writes nothing then;
    flushes. Only the target the rule's target kind names is kept (a form sends them all)."""
    _check(values, rule.id if rule is not None else None)
    if rule is None:
        rule = MerchandisingRule(created_by=created_by)
        db.session.add(rule)
    rule.name = values.name.strip()
    rule.widget, rule.kind, rule.target_kind = values.widget, values.kind, values.target_kind
    rule.brand = (values.brand or "").strip() if values.target_kind == BRAND else None
    rule.category_id = values.category_id if values.target_kind == CATEGORY else None
    rule.campaign_id = values.campaign_id if values.target_kind == CAMPAIGN else None
    rule.product_ids = list(values.product_ids) if values.target_kind == PRODUCTS else None
    rule.positions = list(values.positions) if values.kind == PIN else None
    rule.factor = values.factor if values.kind in (BOOST, BURY) else None
    rule.starts_at, rule.ends_at, rule.is_active = values.starts_at, values.ends_at, values.is_active
    db.session.flush()
    return rule


def set_active(rule: MerchandisingRule, active: bool) -> None:
    """Switching a pin rule back on checks the pin limit again (``RuleError``)."""
    if active and not rule.is_active and rule.kind == PIN:
        _check_pins(_values_of(rule, is_active=True), rule.id)
    rule.is_active = active
    db.session.flush()


def delete_rule(rule: MerchandisingRule) -> None:
    """Impressions keep the deleted rule's id (their record of what touched them stays true)."""
    db.session.delete(rule)
    db.session.flush()


def _values_of(rule: MerchandisingRule, **changes) -> RuleValues:
    values = dict(
        name=rule.name, widget=rule.widget, kind=rule.kind, target_kind=rule.target_kind, brand=rule.brand,
        category_id=rule.category_id, campaign_id=rule.campaign_id, product_ids=tuple(rule.product_ids or ()),
        positions=tuple(rule.positions or ()), factor=rule.factor, starts_at=rule.starts_at,
        ends_at=rule.ends_at, is_active=rule.is_active,
    )
    return RuleValues(**{**values, **changes})


def rule_values(rule: MerchandisingRule) -> RuleValues:
    return _values_of(rule)
