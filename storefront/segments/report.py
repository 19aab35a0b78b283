"""What the admin Customers pages show: the served version's segments, the comparison of the
customer representations, and one customer's segment, neighbours and widget.

The numbers (segment table, silhouettes, comparison, timings) come from the training run that
published the served version (``run.params["extras"]["segments"]``): the record of what
training measured, readable without loading arrays. The map and the customer pages need the
artifact itself, loaded through the same per-version cache the widget uses. A version whose run
record is gone still shows its numbers, from the artifact's own summary.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from storefront.extensions import db
from storefront.models import Category, Customer, Order, OrderLine, Product, TrainingRun
from storefront.recommendations import widgets as recommendations
from storefront.recommendations.widgets import WidgetResult
from storefront.recommendations.widgets import current_version
from storefront.segments.serving import SEGMENTS_EXTRA, segments_for
from storefront.tracking.visitors import customer_key
from storefront.segments.training import summarise

if TYPE_CHECKING:
    from ml.segments import SegmentsResult

#: The comparison's neighbourhoods, in the order the page lists them.
METHODS = {
    "customer2vec": "Customer2Vec neighbours (cosine, similarity-weighted)",
    "kmeans": "k-means segment on RFM + spend shares",
    "kmeans_customer2vec": "k-means segment on the Customer2Vec embeddings",
    "popularity": "Popularity (no neighbours)",
}
COMPARISON_METRICS = {"hit_rate@10": "Hit rate@10", "precision@10": "Precision@10", "recall@10": "Recall@10"}
NEIGHBOURS_SHOWN = 10
TRAIN_FIRST = ("Train a model first: customer segments are computed by every training run "
               "(flask ml train, or Retrain on the Recommendations page).")


@dataclass(frozen=True)
class TopCustomer:
    customer_id: int
    name: str
    email: str
    segment: str
    orders: int
    revenue: float


@dataclass
class CustomersOverview:
    version: str | None
    run_id: int | None = None
    summary: dict[str, Any] | None = None  # the segments summary recorded by training
    segments: SegmentsResult | None = None  # the loaded artifact (map, customer pages)
    problem: str | None = None  # why there is nothing (or not everything) to show
    top: list[TopCustomer] = field(default_factory=list)  # biggest spenders, links to details

    @property
    def table(self) -> list[dict[str, Any]]:
        return (self.summary or {}).get("table") or []

    @property
    def comparison(self) -> dict[str, Any]:
        return (self.summary or {}).get("comparison") or {}

    def comparison_rows(self) -> list[tuple[str, dict[str, float]]]:
        methods = self.comparison.get("methods") or {}
        return [(label, methods[name]) for name, label in METHODS.items() if name in methods]


def _run_of(version: str) -> TrainingRun | None:
    query = select(TrainingRun).where(TrainingRun.version == version).order_by(TrainingRun.id.desc())
    return db.session.scalars(query.limit(1)).first()


def overview() -> CustomersOverview:
    """The served version's segments, numbers and artifact, or the reason there are none."""
    served = current_version()
    if served is None:
        return CustomersOverview(None, problem="No model version is served yet. " + TRAIN_FIRST)
    page = CustomersOverview(served.version, segments=segments_for(served))
    run = _run_of(served.version)
    record = ((run.params or {}).get("extras") or {}).get(SEGMENTS_EXTRA) if run else None
    page.run_id = run.id if run else None
    if record and record.get("status") == "ok":
        page.summary = record.get("summary")
    elif page.segments is not None:  # the run record is gone: the artifact's own summary
        page.summary = summarise(page.segments)
    if record and record.get("status") in ("failed", "skipped"):
        why = record.get("error") or record.get("reason") or "no reason recorded"
        outcome = "could not be built" if record["status"] == "failed" else "were skipped"
        page.problem = f"The customer segments of version {served.version} {outcome}: {why}"
    elif page.summary is None:
        page.problem = f"The served version {served.version} has no customer segments. " + TRAIN_FIRST
    elif page.segments is None:
        page.problem = (f"The segment files of version {served.version} cannot be loaded (see the "
                        "log): the map and the customer pages need them; retrain to rebuild them.")
    if page.segments is not None:
        page.top = top_customers(page.segments)
    return page


def top_customers(segments: SegmentsResult, n: int = NEIGHBOURS_SHOWN) -> list[TopCustomer]:
    """The ``n`` customers who spent most (as of training), with their names (one query)."""
    rfm = segments.rfm.sort_values(["monetary", "frequency"], ascending=False, kind="stable").head(n)
    ids = [int(c) for c in rfm.index if str(c).isdigit()]
    people = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    return [
        TopCustomer(int(c), people[int(c)].name, people[int(c)].email, str(row.segment),
                    int(row.frequency), float(row.monetary))
        for c, row in rfm.iterrows() if str(c).isdigit() and int(c) in people
    ]


@dataclass(frozen=True)
class Neighbour:
    customer_id: int
    name: str
    email: str
    similarity: float
    segment: str | None


@dataclass(frozen=True)
class Purchase:
    product_id: int
    name: str
    category: str
    bought_at: datetime


@dataclass
class CustomerDetail:
    customer: Customer
    orders: int  # in the database now (training may have seen fewer)
    version: str | None
    rfm: dict[str, Any] | None = None
    feature_cluster: int | None = None
    embedding_cluster: int | None = None
    has_vector: bool = False
    neighbours: list[Neighbour] = field(default_factory=list)
    purchases: list[Purchase] = field(default_factory=list)  # newest first, for judging the neighbours
    widget: WidgetResult | None = None
    problem: str | None = None


def _neighbours(segments: SegmentsResult, key: str) -> list[Neighbour]:
    found = segments.neighbours(key, NEIGHBOURS_SHOWN)
    ids = [int(c) for c, _ in found if c.isdigit()]
    people = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))}
    return [
        Neighbour(int(c), people[int(c)].name, people[int(c)].email, s, segments.segment_of(c))
        for c, s in found if c.isdigit() and int(c) in people
    ]


def _rfm(segments: SegmentsResult, key: str) -> dict[str, Any] | None:
    if segments.segment_of(key) is None:
        return None
    row = segments.rfm.loc[key]
    return {name: (row[name].item() if hasattr(row[name], "item") else row[name]) for name in row.index}


def _purchases(customer_id: int, limit: int = NEIGHBOURS_SHOWN) -> list[Purchase]:
    rows = db.session.execute(
        select(OrderLine.product_id, OrderLine.product_name, Category.name, Order.created_at)
        .join(Order, Order.id == OrderLine.order_id)
        .join(Product, Product.id == OrderLine.product_id)
        .join(Category, Category.id == Product.category_id)
        .where(Order.customer_id == customer_id)
        .order_by(Order.created_at.desc(), OrderLine.id)
        .limit(limit)
    )
    return [Purchase(*row) for row in rows]


def customer_detail(customer: Customer) -> CustomerDetail:
    """One customer as the segments see them, and what the widget would show them now (the
    widget is computed exactly as for their own page, but no impression is recorded)."""
    orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.customer_id == customer.id))
    served = current_version()
    segments = segments_for(served)
    detail = CustomerDetail(customer, int(orders or 0), served.version if served else None)
    detail.purchases = _purchases(customer.id)
    detail.widget = recommendations.customer_preview(customer.id)
    if segments is None:
        detail.problem = "The served version has no customer segments. " + TRAIN_FIRST
        return detail
    key = customer_key(customer.id)
    detail.rfm = _rfm(segments, key)
    detail.feature_cluster = segments.cluster_of(key)
    row = segments.embeddings.index_of(key)
    detail.has_vector = row >= 0
    if row >= 0:
        detail.embedding_cluster = int(segments.embedding_clusters.labels[row])
        detail.neighbours = _neighbours(segments, key)
    return detail
