"""What each arm of an experiment earned, counted in SQL, with 95% intervals on the lift.

**Counted.** The experiment's impressions (``Impression.experiment_id``), less those of visitors
flagged as scripted since (``storefront.tracking.screening``; crawlers never had any). Per arm:

- clicks: ``click`` events on those impressions (one per impression and position);
- add-to-carts and order lines **attributed** to an impression: by the same shopper (the
  visitor, or the customer on any of their browsers), of a product that impression showed,
  within ``ATTRIBUTION_WINDOW`` after it. Each add-to-cart or order line counts once, for the
  latest such impression (last touch), however many showed the product; revenue is the order
  line's price times quantity.

**Rates per impression**: the share of impressions with at least one click (CTR), add-to-cart,
order; and revenue per impression. The lift is challenger minus champion with a 95% interval:
two-proportion normal intervals for the rates, Welch's for revenue per impression (from each
arm's count, sum and sum of squares: ``ml.training.intervals``). Below ``min_clicks`` clicks in
either arm no lift is given, only how far each arm is.

Every figure comes from two grouped statements whatever the number of impressions: the
impressions' items are unnested in SQL (``json_each`` on SQLite, ``json_array_elements_text``
on PostgreSQL) and joined to the outcomes there.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import Float, Integer, and_, case, cast, func, literal_column, null, or_, select, true, union_all
from sqlalchemy.sql import ColumnElement

from ml.training.intervals import Interval, Moments, two_proportions, welch
from storefront.extensions import db
from storefront.models import ADD_TO_CART, CLICK, Event, Impression, Order, OrderLine, Visitor
from storefront.models.experiments import ARMS, CHALLENGER, CHAMPION, Experiment

ATTRIBUTION_WINDOW = timedelta(hours=24)
CART, ORDER_LINE = "cart", "order"


@dataclass(frozen=True)
class ArmNumbers:
    arm: str
    impressions: int = 0
    clicks: int = 0  # click events
    clicked: int = 0  # impressions with at least one click
    add_to_carts: int = 0
    carted: int = 0
    orders: int = 0  # distinct orders with an attributed line
    ordered: int = 0
    revenue: float = 0.0
    revenue_squares: float = 0.0  # sum over impressions of (its revenue)^2, for the interval

    def _per_impression(self, count: float) -> float | None:
        return count / self.impressions if self.impressions else None

    @property
    def ctr(self) -> float | None:
        return self._per_impression(self.clicked)

    @property
    def cart_rate(self) -> float | None:
        return self._per_impression(self.carted)

    @property
    def order_rate(self) -> float | None:
        return self._per_impression(self.ordered)

    @property
    def revenue_per_impression(self) -> float | None:
        return self._per_impression(self.revenue)


@dataclass(frozen=True)
class Lift:
    metric: str  # the label shown
    interval: Interval
    percent: bool  # a rate (shown in percentage points) or an amount per impression


@dataclass(frozen=True)
class Results:
    champion: ArmNumbers
    challenger: ArmNumbers
    min_clicks: int
    lifts: list[Lift] = field(default_factory=list)  # empty below the minimum sample

    @property
    def arms(self) -> tuple[ArmNumbers, ArmNumbers]:
        return self.champion, self.challenger

    @property
    def enough_data(self) -> bool:
        return all(arm.clicks >= self.min_clicks for arm in self.arms)

    def shortfalls(self) -> dict[str, str]:
        """arm -> "not enough data yet: 37 of 300 clicks", for each arm still short."""
        return {arm.arm: f"not enough data yet: {arm.clicks:,} of {self.min_clicks:,} clicks"
                for arm in self.arms if arm.clicks < self.min_clicks}

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``Experiment.results``); ``from_dict`` reads it back."""
        return {"min_clicks": self.min_clicks, "arms": {arm.arm: asdict(arm) for arm in self.arms}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Results:
        arms = {name: ArmNumbers(**values) for name, values in (data.get("arms") or {}).items()}
        return with_lifts(arms.get(CHAMPION, ArmNumbers(CHAMPION)), arms.get(CHALLENGER, ArmNumbers(CHALLENGER)),
                          int(data.get("min_clicks") or 1))


def with_lifts(champion: ArmNumbers, challenger: ArmNumbers, min_clicks: int) -> Results:
    """The two arms, and the lifts once both have ``min_clicks`` clicks."""
    results = Results(champion, challenger, min_clicks)
    if not results.enough_data:
        return results
    a, b = champion, challenger
    lifts = [
        Lift("CTR", two_proportions(a.clicked, a.impressions, b.clicked, b.impressions), True),
        Lift("Add-to-cart rate", two_proportions(a.carted, a.impressions, b.carted, b.impressions), True),
        Lift("Order rate", two_proportions(a.ordered, a.impressions, b.ordered, b.impressions), True),
        Lift("Revenue per impression",
             welch(Moments(a.impressions, a.revenue, a.revenue_squares),
                   Moments(b.impressions, b.revenue, b.revenue_squares)), False),
    ]
    return Results(champion, challenger, min_clicks, lifts)


# -- the statements --------------------------------------------------------------------------------


def _within_window(at: ColumnElement, shown_at: ColumnElement, dialect: str) -> ColumnElement[bool]:
    """``shown_at <= at <= shown_at + ATTRIBUTION_WINDOW`` in the engine's date arithmetic."""
    if dialect == "sqlite":  # timestamps are text there: compare as Julian days
        days = ATTRIBUTION_WINDOW.total_seconds() / 86400
        return and_(at >= shown_at, func.julianday(at) <= func.julianday(shown_at) + days)
    return and_(at >= shown_at, at <= shown_at + ATTRIBUTION_WINDOW)


def _items_of(items: ColumnElement, dialect: str):
    """A table-valued function over an impression's ``items`` (one row per product shown)."""
    unnest = func.json_array_elements_text if dialect == "postgresql" else func.json_each
    return unnest(items).table_valued("value", joins_implicitly=True).alias("shown_item")


def _counted(experiment: Experiment):
    """The experiment's impressions that count: none of a visitor flagged as scripted since."""
    return (
        select(Impression.id, Impression.arm, Impression.visitor_id, Impression.customer_id, Impression.created_at,
               Impression.items)
        .outerjoin(Visitor, Visitor.id == Impression.visitor_id)
        .where(Impression.experiment_id == experiment.id, Impression.arm.in_(ARMS), Visitor.flagged_at.is_(None))
        .cte("counted")
    )


def _outcomes(experiment: Experiment):
    """Add-to-carts and order lines since the experiment started, as one shape."""
    since = experiment.started_at
    # constants as SQL text, typed: a bound NULL or string in a UNION has no type on PostgreSQL
    carts = select(
        literal_column(f"'{CART}'").label("kind"), Event.id.label("ref"), Event.product_id, Event.visitor_id,
        Event.customer_id, Event.occurred_at.label("at"), cast(null(), Integer).label("order_id"),
        cast(literal_column("0.0"), Float).label("revenue"),
    ).where(Event.type == ADD_TO_CART, Event.occurred_at >= since)
    lines = select(
        literal_column(f"'{ORDER_LINE}'").label("kind"), OrderLine.id.label("ref"), OrderLine.product_id, Order.visitor_id,
        Order.customer_id, Order.created_at.label("at"), Order.id.label("order_id"),
        cast(OrderLine.unit_price * OrderLine.quantity, Float).label("revenue"),
    ).join(Order, Order.id == OrderLine.order_id).where(Order.created_at >= since)
    return union_all(carts, lines).cte("outcomes")


def _attributed(experiment: Experiment, counted, dialect: str):
    """Each outcome with the latest counted impression that showed its product to its shopper
    within the window (``touch`` = 1), or none."""
    outcomes = _outcomes(experiment)
    items = _items_of(counted.c["items"], dialect)  # (.c.items is the collection's method)
    shown = (select(counted.c.id, counted.c.visitor_id, counted.c.customer_id, counted.c.created_at,
                    cast(items.c.value, Integer).label("product_id"))
             .select_from(counted).join(items, true()).cte("shown"))
    latest = func.row_number().over(
        partition_by=(outcomes.c.kind, outcomes.c.ref), order_by=(shown.c.created_at.desc(), shown.c.id.desc()))
    touches = (
        select(outcomes.c.kind, outcomes.c.order_id, outcomes.c.revenue, shown.c.id.label("impression_id"),
               latest.label("touch"))
        .join(shown, and_(
            shown.c.product_id == outcomes.c.product_id,
            or_(shown.c.visitor_id == outcomes.c.visitor_id, shown.c.customer_id == outcomes.c.customer_id),
            _within_window(outcomes.c.at, shown.c.created_at, dialect),
        ))
        .cte("touches")
    )
    return select(touches).where(touches.c.touch == 1).cte("attributed")


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def measure(experiment: Experiment) -> Results:
    """The experiment's numbers now (two grouped statements)."""
    dialect = db.engine.dialect.name
    counted = _counted(experiment)
    attributed = _attributed(experiment, counted, dialect)
    clicks = (select(Event.impression_id.label("id"), func.count().label("clicks"))
              .join(counted, counted.c.id == Event.impression_id).where(Event.type == CLICK)
              .group_by(Event.impression_id).subquery("clicks"))
    earned = (select(attributed.c.impression_id.label("id"),
                     _count(attributed.c.kind == CART).label("carts"),
                     _count(attributed.c.kind == ORDER_LINE).label("lines"),
                     func.sum(attributed.c.revenue).label("revenue"))
              .group_by(attributed.c.impression_id).subquery("earned"))
    revenue = func.coalesce(earned.c.revenue, 0.0)
    per_arm = (
        select(counted.c.arm, func.count(), func.coalesce(func.sum(clicks.c.clicks), 0), _count(clicks.c.clicks > 0),
               func.coalesce(func.sum(earned.c.carts), 0), _count(earned.c.carts > 0), _count(earned.c.lines > 0),
               func.coalesce(func.sum(revenue), 0.0), func.coalesce(func.sum(revenue * revenue), 0.0))
        .select_from(counted)
        .outerjoin(clicks, clicks.c.id == counted.c.id)
        .outerjoin(earned, earned.c.id == counted.c.id)
        .group_by(counted.c.arm)
    )
    numbers: dict[str, dict[str, Any]] = {arm: {} for arm in ARMS}
    for arm, shown, n_clicks, clicked, carts, carted, ordered, total, squares in db.session.execute(per_arm):
        numbers[arm].update(impressions=int(shown), clicks=int(n_clicks), clicked=int(clicked),
                            add_to_carts=int(carts), carted=int(carted), ordered=int(ordered),
                            revenue=float(total), revenue_squares=float(squares))
    orders = (select(counted.c.arm, func.count(func.distinct(attributed.c.order_id)))
              .join(attributed, attributed.c.impression_id == counted.c.id)
              .where(attributed.c.kind == ORDER_LINE).group_by(counted.c.arm))
    for arm, n_orders in db.session.execute(orders):
        numbers[arm]["orders"] = int(n_orders)
    return with_lifts(ArmNumbers(CHAMPION, **numbers[CHAMPION]), ArmNumbers(CHALLENGER, **numbers[CHALLENGER]),
                      experiment.min_clicks)


def results_of(experiment: Experiment) -> Results:
    """A running experiment's numbers now; an ended one's as they were when it ended."""
    if not experiment.running and experiment.results:
        return Results.from_dict(experiment.results)
    return measure(experiment)


def finite(value: float | None) -> bool:
    """For the templates: a figure that can be shown (not None, not NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))

