"""Helpers shared by the gated-content tests (not a test module; no fixtures here).

Rows are written through the models in short app contexts (see ``storefront_support``), and
export files are written by hand in the exact export format: an unnamed index column first,
38-digit cookies, type names verbatim.
"""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from tests.helpers import BROWSER_UA, give_visitor_cookie
from storefront.models import Asset, BusinessUnit, Event, Lead
from storefront.models.common import utcnow
from tests.storefront.support.shop import ctx

VALID_FORM = {"name": "Grace Hopper", "email": "Grace@Example.com", "company": "Navy Labs", "consent": "y"}
COOKIE_A = "20239734541707312813871963623233721188"
COOKIE_B = "85701705200385349318705500153914757907"
COOKIE_C = "12345678901234567890123456789012345678"
_CARD = re.compile(r'<article class="card asset-card[^"]*">\s*<a href="/resources/(\d+)"')
_SHELF = re.compile(r'<section class="shelf widget asset-shelf"[^>]*data-strategy="([^"]*)"\s+'
                    r'data-model-version="([^"]*)".*?</section>', flags=re.S)


def page(n: int) -> str:
    """A distinct 64-hex-digit page hash."""
    return f"{n:064x}"


def write_csv(path: Path, header: str, lines: list[str]) -> Path:
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return path


def new_units(app, *codes: str) -> dict[str, int]:
    with ctx(app) as session:
        units = [BusinessUnit(code=code, name=f"Unit {code.upper()}") for code in codes]
        session.add_all(units)
        session.commit()
        return {unit.code: unit.id for unit in units}


def new_asset(app, title: str = "Cloud Cost Control Guide", *, type_: str = "Gated Ebook Forms",
              units: tuple[str, ...] = (), active: bool = True, body: str = "Chapter one.\n\nChapter two.",
              age_days: float = 0.0, file_path: str | None = None) -> int:
    with ctx(app) as session:
        found = list(session.scalars(select(BusinessUnit).where(BusinessUnit.code.in_(units))))
        asset = Asset(title=title, summary=f"About {title}.", type=type_, body=body, active=active,
                      file_path=file_path, created_at=utcnow() - timedelta(days=age_days), units=found)
        session.add(asset)
        session.commit()
        return asset.id


def browser(app, address: str = "10.0.0.1"):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    client.environ_base["REMOTE_ADDR"] = address
    give_visitor_cookie(client, app)  # a returning browser: its first request is logged
    return client


def submit(client, asset_id: int, **overrides):
    return client.post(f"/resources/{asset_id}", data={**VALID_FORM, **overrides})


def count(app, model, *where) -> int:
    with ctx(app) as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def leads_and_events(app) -> tuple[int, int]:
    return count(app, Lead), count(app, Event)


def card_ids(response) -> list[int]:
    """Asset ids of the library grid and shelves, in page order."""
    return [int(i) for i in _CARD.findall(response.get_data(as_text=True))]


def shelf(response) -> tuple[str, str, list[int]] | None:
    """The "Suggested next" shelf: (strategy, model version, asset ids), or None."""
    match = _SHELF.search(response.get_data(as_text=True))
    if match is None:
        return None
    ids = [int(i) for i in re.findall(r'<a href="/resources/(\d+)" class="card-link">', match.group(0))]
    return match.group(1), match.group(2), ids
