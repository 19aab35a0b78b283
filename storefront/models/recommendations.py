"""What the recommendation widgets showed, so clicks can be counted against it (online CTR)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storefront.extensions import db
from storefront.models.common import BigIntId, utcnow


# The strategy of the impressions the demo seed's click simulation writes: simulated history,
# labelled as such wherever click-through is reported.
SIMULATED_STRATEGY = "seed"


class Impression(db.Model):
    """One render of one widget: which items, in which order, from which model version.

    A click on a recommended item is an ``Event`` of type ``click`` whose ``impression_id``
    points here and whose ``properties["position"]`` is the item's 0-based position.

    A home-page banner is an impression too (widget ``home_banner``, no items): ``campaign_id``
    names the campaign it showed, and a click on it is a ``click`` event without a product.
    ``ranking`` says which ordering produced what was shown when an experiment compares two:
    ``retrieval`` (the model's own order, the control group) or ``ctr`` (re-ranked by the
    click-through model); None when no such choice was made.

    ``experiment_id`` and ``arm`` (``champion`` / ``challenger``) say which A/B test of model
    versions the widget was in, and which version's side the shopper was assigned to
    (``storefront.experiments``); None outside an experiment.

    ``rules`` records the merchandising rules that touched the widget (issue 17,
    ``storefront.recommendations.merchandising``): rule id (a string, as JSON keys are) -> the
    0-based positions of the items it boosted, buried or pinned; an exclusion that removed a
    candidate is listed with no position. None when no rule touched it.
    """

    __tablename__ = "impressions"
    __table_args__ = (Index("ix_impressions_widget_time", "widget", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("visitors.id"), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"))
    widget: Mapped[str] = mapped_column(String(32))
    strategy: Mapped[str] = mapped_column(String(32))  # the model or fallback that filled it
    model_version: Mapped[str | None] = mapped_column(String(64), index=True)
    context_product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    items: Mapped[list[int]] = mapped_column(JSON)  # product ids, in display order
    device: Mapped[str] = mapped_column(String(16), default="desktop")
    session_id: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    ranking: Mapped[str | None] = mapped_column(String(16))
    experiment_id: Mapped[int | None] = mapped_column(ForeignKey("experiments.id"), index=True)
    arm: Mapped[str | None] = mapped_column(String(16))
    rules: Mapped[dict[str, list[int]] | None] = mapped_column(JSON(none_as_null=True))
