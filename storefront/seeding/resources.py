"""Demo gated content for ``flask shop seed``: the library and B2B visitors of ``ml.resources.synth``.

The synthetic export (assets with titles, types and business units; visitors with unit
interests and form submissions) is written through the shop's tables in bulk (Core
executemany, like the shop seed) and in the caller's transaction:

- business units with their names, assets (``external_id`` = the synthetic page hash) with a
  readable body to deliver, and their unit links;
- a visitor per cookie (``b2b-<cookie>``, the token the importer uses, so importing the same
  export later adds nothing);
- per (visitor, asset) a ``form_submission`` event with ``count`` = its submissions, a lead
  (invented name, company, consent) and the asset views that led to it, plus views of other
  assets of the visitor's units that did not convert, so the admin's conversion rates mean
  something. Everything is timed inside the shop's history window, in journey order.

Deterministic: the same seed gives the same rows.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import insert, select

from ml.resources.synth import generate_assets
from ml.resources.synth_text import COMPANIES
from ml.datasets.b2b import ASSET_TYPE, COOKIE, PAGE, SUBMISSIONS
from storefront.extensions import db
from storefront.models import (
    ASSET_VIEW, FORM_SUBMISSION, TYPE_LABELS, Asset, BusinessUnit, Event, Lead, Visitor, asset_business_units,
)
from storefront.imports.marketing_export import visitor_token

FIRST_NAMES = ("Alex", "Priya", "Jordan", "Mei", "Samuel", "Fatima", "Lukas", "Ana", "Kwame", "Sofia",
               "Hiroshi", "Grace", "Mateo", "Olga", "Daniel", "Aisha")
LAST_NAMES = ("Kim", "Patel", "Nguyen", "Schmidt", "Okafor", "Garcia", "Rossi", "Novak", "Larsen",
              "Haddad", "Silva", "Brown", "Tanaka", "Dubois")
CHUNK = 20_000
#: Mean number of assets of their units a visitor views without submitting: B2B gated pages
#: convert a minority of their viewers, and the admin's conversion column should show it.
BROWSED_NOT_SUBMITTED = 5.0


@dataclass(frozen=True)
class AssetSeedReport:
    assets: int
    business_units: int
    visitors: int
    leads: int
    submissions: int
    views: int

    def summary(self) -> str:
        return (f"{self.assets} assets in {self.business_units} business units, {self.visitors:,} B2B "
                f"visitors, {self.leads:,} leads ({self.submissions:,} form submissions), "
                f"{self.views:,} asset views")


def _body(row) -> str:
    """Three short paragraphs to deliver after the form: enough for a believable demo."""
    if row.kind in ("Gated Get Pricing", "Gated DemoNow Forms"):
        what = "a tailored quote" if row.kind == "Gated Get Pricing" else "a 30-minute live demo"
        return "\n\n".join((
            row.summary,
            f"What happens next: a {row.product} specialist will contact you within one business "
            f"day to prepare {what} around your goals for {row.topic}.",
            "Before the call, it helps to know your team size, the systems you need to integrate "
            "with, and your timeline. Nothing is charged or committed until you say so.",
        ))
    label = TYPE_LABELS.get(row.kind, "resource").lower()
    if row.kind in ("Unspecified", "None"):
        label = "resource"
    return "\n\n".join((
        row.summary,
        f"This {label} covers {row.topic} end to end: where teams start, which decisions matter "
        f"most, and how {row.product} fits into an existing stack without a big-bang migration.",
        f"Inside: a maturity checklist for {row.topic}, three architecture patterns with their "
        f"trade-offs, and the questions to ask before you commit budget.",
    ))


def _insert_library(data, start: datetime, rng: np.random.Generator) -> dict[str, int]:
    db.session.execute(insert(BusinessUnit), [{"code": u.code, "name": u.name} for u in data.units.itertuples()])
    units = dict(db.session.execute(select(BusinessUnit.code, BusinessUnit.id)).all())
    ages = rng.uniform(0, 365, len(data.assets))
    library = data.assets.rename(columns={ASSET_TYPE: "kind"})
    db.session.execute(insert(Asset), [
        {"external_id": row.page_url, "title": row.title[:200], "summary": row.summary, "type": row.kind,
         "body": _body(row), "active": True, "created_at": start - timedelta(days=float(age))}
        for row, age in zip(library.itertuples(), ages)
    ])
    ids = dict(db.session.execute(select(Asset.external_id, Asset.id).where(Asset.external_id.is_not(None))).all())
    links = [{"asset_id": ids[page], "business_unit_id": units[code]}
             for page, codes in zip(library[PAGE], library["business_units"]) for code in codes]
    if links:
        db.session.execute(insert(asset_business_units), links)
    return ids


def _person(rng: np.random.Generator, n: int) -> tuple[str, str, str]:
    first, last = FIRST_NAMES[rng.integers(len(FIRST_NAMES))], LAST_NAMES[rng.integers(len(LAST_NAMES))]
    company = COMPANIES[rng.integers(len(COMPANIES))]
    domain = company.split()[0].lower()
    return f"{first} {last}", f"{first}.{last}{n}@{domain}.example".lower(), company


def _steps(rows, assets: dict[str, int], unit_of: dict[int, set[str]], by_unit: dict[str, list[int]],
           rng: np.random.Generator) -> list[tuple[float, str, int, int]]:
    """One visitor's journey as ``(seconds since its start, event type, asset, count)``: each
    submission after one or more views of its page, then views of other assets of the same
    units that did not convert."""
    steps: list[tuple[float, str, int, int]] = []
    clock = 0.0
    for page, count in zip(rows[PAGE], rows[SUBMISSIONS]):
        asset = assets[page]
        for _ in range(int(rng.geometric(0.6))):
            steps.append((clock, ASSET_VIEW, asset, 0))
            clock += float(rng.uniform(60, 1200))
        steps.append((clock, FORM_SUBMISSION, asset, int(count)))
        clock += float(rng.exponential(30 * 3600))
    seen = {asset for _, kind, asset, _ in steps if kind == FORM_SUBMISSION}
    pool = sorted({a for s in seen for code in unit_of[s] for a in by_unit.get(code, ())} - seen)
    browsed = min(len(pool), int(rng.poisson(BROWSED_NOT_SUBMITTED)))
    for asset in (rng.choice(pool, size=browsed, replace=False) if browsed else ()):
        steps.append((clock, ASSET_VIEW, int(asset), 0))
        clock += float(rng.uniform(60, 1800))
    return steps


def _journeys(data, assets: dict[str, int], visitors: dict[str, int], start: datetime, days: int,
              rng: np.random.Generator) -> tuple[list[dict], list[dict]]:
    """Events and leads of every visitor, each journey placed whole inside the history window
    (squeezed when longer than the window), so no date piles up on its last day."""
    span = days * 86400.0 - 1.0
    unit_of = {assets[p]: set(u) for p, u in zip(data.assets[PAGE], data.assets["business_units"])}
    by_unit: dict[str, list[int]] = {}
    for asset_id, codes in unit_of.items():
        for code in codes:
            by_unit.setdefault(code, []).append(asset_id)
    events, leads = [], []
    for cookie, rows in data.submissions.groupby(COOKIE, sort=False):
        visitor = visitors[cookie]
        name, email, company = _person(rng, visitor)
        steps = _steps(rows, assets, unit_of, by_unit, rng)
        length = steps[-1][0]
        squeeze = min(1.0, span / length) if length else 1.0
        first = start + timedelta(seconds=float(rng.uniform(0, span - length * squeeze)))
        for offset, kind, asset, count in steps:
            moment = first + timedelta(seconds=offset * squeeze)
            properties = {"count": count, "source": "seed"} if kind == FORM_SUBMISSION else None
            events.append(_event(visitor, asset, kind, moment, properties))
            if kind == FORM_SUBMISSION:  # the form requires consent: every lead has given it
                leads.append({"asset_id": asset, "visitor_id": visitor, "name": name, "email": email,
                              "company": company, "consent": True, "client_hash": "", "created_at": moment})
    return events, leads


def _event(visitor: int, asset: int, kind: str, moment: datetime, properties: dict | None) -> dict:
    return {"visitor_id": visitor, "asset_id": asset, "type": kind, "occurred_at": moment,
            "session_id": "", "device": "desktop", "properties": properties}


def seed_assets(seed: int, visitors: int, end: datetime, days: int) -> AssetSeedReport:
    """Insert the demo library and ``visitors`` B2B visitors (0: the library only); flushes."""
    data = generate_assets(n_visitors=max(visitors, 1), seed=seed)
    if visitors == 0:
        data = replace(data, submissions=data.submissions.iloc[0:0])
    rng = np.random.default_rng(seed + 1)
    start = end - timedelta(days=days)
    assets = _insert_library(data, start, rng)
    cookies = list(dict.fromkeys(data.submissions[COOKIE]))
    if cookies:
        db.session.execute(insert(Visitor), [{"token": visitor_token(c), "created_at": start} for c in cookies])
    tokens = dict(db.session.execute(select(Visitor.token, Visitor.id).where(Visitor.token.startswith("b2b-"))).all())
    visitor_ids = {c: tokens[visitor_token(c)] for c in cookies}
    events, leads = _journeys(data, assets, visitor_ids, start, days, rng)
    for first in range(0, len(events), CHUNK):
        db.session.execute(insert(Event.__table__), events[first:first + CHUNK])
    for first in range(0, len(leads), CHUNK):
        db.session.execute(insert(Lead.__table__), leads[first:first + CHUNK])
    db.session.flush()
    return AssetSeedReport(
        assets=len(assets), business_units=len(data.units), visitors=len(cookies), leads=len(leads),
        submissions=int(data.submissions[SUBMISSIONS].sum()),
        views=sum(1 for e in events if e["type"] == ASSET_VIEW),
    )
