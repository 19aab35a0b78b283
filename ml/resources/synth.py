"""Deterministic synthetic B2B asset library and form-submission log (demo and test data).

Returned in the reader's shape (:mod:`ml.datasets.b2b`), so the same pipeline runs on demo and
imported data; :func:`write_export` writes the two CSV files in the exact export format.

Simulation (one ``numpy.random.default_rng(seed)``):

* Library: 8 business units x 6 topics, ``assets_per_topic`` content assets per topic of
  distinct content types (ebook, webinar, whitepaper, analyst report, case study, solution
  brief, best practice, infographic); per product a pricing page, per unit one demo page (its
  first product), and generic ``Unspecified`` / ``None`` pages. 20 % of content assets also
  belong to a related unit; ~8 % of assets, generic pages first, are missing from the mapping.
  Each asset has a lognormal appeal.
* Visitors: a primary business unit (skewed shares), a related second interest for 35 %, and
  one or two favourite topics. Their number of distinct assets is long-tailed (Lomax: ~45 %
  submit two or more forms, ~6 % ten or more).
* Journeys: content first. A pricing or demo request is only possible after two content
  assets (probability 15 % per later step), and targets the product of a topic the visitor
  read about. Content is drawn 85 % from the visitor's units (favourite topics x4) and 15 %
  from the whole library. Submissions per asset are Zipf-distributed (mostly 1); generic
  pages get heavier repeats, like form automation in real exports.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ml.constants import SEED
from ml.datasets.b2b import ASSET_TYPE, COOKIE, PAGE, SUBMISSIONS, UNIT
from ml.resources.synth_text import COMPANIES, RELATED, SUMMARIES, TITLES, UNITS, Unit

CONTENT_TYPES: tuple[str, ...] = (
    "Gated Ebook Forms", "Gated Webinar Forms", "Gated Whitepaper Forms",
    "Gated Analyst Report Forms", "Gated Case Study Forms", "Gated Solution Brief Forms",
    "Gated Best Practice Form", "Gated Infographics Forms",
)
_CONTENT_SHARE = np.array([0.2, 0.2, 0.12, 0.1, 0.12, 0.1, 0.08, 0.08])
_UNIT_SHARE = np.array([0.2, 0.18, 0.15, 0.12, 0.11, 0.1, 0.08, 0.06])
PRICING, DEMO = "Gated Get Pricing", "Gated DemoNow Forms"
_EXPLORE = 0.15  # share of content steps drawn from the whole library
_APPEAL_SIGMA = 0.8  # lognormal spread of asset appeal (a few flagship assets)


@dataclass(frozen=True)
class SyntheticAssets:
    """``submissions`` and ``bu_mapping`` as the readers return them; ``assets`` (one row per
    asset: page_url, title, summary, gated_asset_type, business_units tuple, topic, product)
    and ``units`` (code, name) describe the library."""

    submissions: pd.DataFrame
    bu_mapping: pd.DataFrame
    assets: pd.DataFrame
    units: pd.DataFrame


_DOUBLED_ARTICLE = re.compile(r"\b(the)\s+the\b", re.IGNORECASE)


def _tidy(text: str) -> str:
    """"The {topic}" with a topic that starts with "the" would read "The the Modern Data Stack"."""
    return _DOUBLED_ARTICLE.sub(r"\1", text)


def _facts(rng: np.random.Generator) -> dict:
    """The invented company and figures one asset talks about."""
    return {"company": COMPANIES[rng.integers(len(COMPANIES))], "n": int(rng.choice([5, 7, 10, 12])),
            "pct": int(rng.integers(18, 47))}


def _asset(kind: str, unit: Unit, topic: int, product: int, rng: np.random.Generator) -> dict:
    template = TITLES[kind][rng.integers(len(TITLES[kind]))]
    topic_name, product_name = unit.topics[topic], unit.products[product]
    facts = _facts(rng)
    _facts(rng)  # drawn and unused: the summary once had its own company; the same draws keep every seed's data
    words = {"topic": topic_name, "product": product_name, "unit": unit.name, "year": 2026, **facts}
    return {
        # the title and the summary tell of the same company (a case study about one customer)
        "title": _tidy(template.format(**words)),
        "summary": _tidy(SUMMARIES[kind].format(**words)),
        ASSET_TYPE: kind, "unit": unit.code, "topic": topic_name, "product": product_name,
        "topic_index": topic, "appeal": float(rng.lognormal(0.0, _APPEAL_SIGMA)),
    }


def build_library(rng: np.random.Generator, assets_per_topic: int = 3, unmapped_share: float = 0.05) -> pd.DataFrame:
    """The asset catalogue (see the module doc); one row per asset, page ids unique.
    ``unmapped_share``: the share of non-generic assets left out of the mapping."""
    rows = []
    for unit in UNITS:
        for t in range(len(unit.topics)):
            kinds = rng.choice(
                len(CONTENT_TYPES), assets_per_topic, replace=False, p=_CONTENT_SHARE
            )
            rows += [_asset(CONTENT_TYPES[k], unit, t, t % len(unit.products), rng) for k in kinds]
        rows += [_asset(PRICING, unit, p, p, rng) for p in range(len(unit.products))]
        rows.append(_asset(DEMO, unit, 0, 0, rng))
        for generic in ("Unspecified", "None"):
            rows.append(_asset(generic, unit, int(rng.integers(len(unit.topics))), 0, rng))
    library = pd.DataFrame(rows)
    library["title"] = _unique(library["title"])
    library[PAGE] = [rng.bytes(32).hex() for _ in range(len(library))]
    content = library[ASSET_TYPE].isin(CONTENT_TYPES).to_numpy()
    second = content & (rng.random(len(library)) < 0.2)
    units = [(u,) for u in library["unit"]]
    for i in np.flatnonzero(second):
        units[i] = (units[i][0], str(rng.choice(RELATED[units[i][0]])))
    generic = ~content & ~library[ASSET_TYPE].isin((PRICING, DEMO)).to_numpy()
    unmapped = generic | (rng.random(len(library)) < unmapped_share)
    library["business_units"] = [() if gone else u for u, gone in zip(units, unmapped)]
    return library


def _unique(titles: pd.Series) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for title in titles:
        seen[title] = seen.get(title, 0) + 1
        result.append(title if seen[title] == 1 else f"{title} (Part {seen[title]})")
    return result


def _cookies(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct 38-digit cookie strings (too large for 64-bit integers, as in exports)."""
    cookies: list[str] = []
    seen: set[str] = set()
    while len(cookies) < n:
        digits = rng.integers(0, 10, size=37)
        cookie = str(rng.integers(1, 10)) + "".join(map(str, digits))
        if cookie not in seen:
            seen.add(cookie)
            cookies.append(cookie)
    return cookies


@dataclass(frozen=True)
class _Library:
    """The library's columns as arrays, computed once for all journeys."""

    units: np.ndarray
    products: np.ndarray
    topics: np.ndarray
    appeal: np.ndarray
    is_content: np.ndarray
    is_conversion: np.ndarray

    @classmethod
    def of(cls, library: pd.DataFrame) -> "_Library":
        kinds = library[ASSET_TYPE].to_numpy()
        return cls(
            library["unit"].to_numpy(), library["product"].to_numpy(),
            library["topic_index"].to_numpy(), library["appeal"].to_numpy(),
            np.isin(kinds, CONTENT_TYPES), np.isin(kinds, (PRICING, DEMO)),
        )


def _journey(rng: np.random.Generator, lib: _Library, n_steps: int) -> list[int]:
    """Distinct asset rows one visitor submits, in order (content before conversions)."""
    codes = [u.code for u in UNITS]
    primary = codes[rng.choice(len(codes), p=_UNIT_SHARE)]
    interests = [primary] + ([str(rng.choice(RELATED[primary]))] if rng.random() < 0.35 else [])
    favourites = rng.choice(6, size=int(rng.integers(1, 3)), replace=False)
    liked = np.where((lib.units == primary) & np.isin(lib.topics, favourites), 4.0, 1.0)
    chosen: list[int] = []
    for _ in range(n_steps):
        read = [i for i in chosen if lib.is_content[i]]
        if len(read) >= 2 and rng.random() < 0.15:
            source = read[rng.integers(len(read))]  # the product of a topic they read about
            weight = (lib.is_conversion & (lib.units == lib.units[source])
                      & (lib.products == lib.products[source])) * 1.0
        elif rng.random() < 1.0 - _EXPLORE:
            unit = interests[0] if len(interests) == 1 or rng.random() < 0.75 else interests[1]
            weight = (lib.is_content & (lib.units == unit)) * liked
        else:
            weight = ~lib.is_conversion * 1.0
        p = weight * lib.appeal
        p[chosen] = 0.0
        if p.sum() > 0:
            chosen.append(int(rng.choice(len(p), p=p / p.sum())))
    return chosen


def generate_assets(
    n_visitors: int = 3000, assets_per_topic: int = 3, seed: int = SEED, unmapped_share: float = 0.05
) -> SyntheticAssets:
    """The synthetic library and submissions (deterministic for a given ``seed``).

    ``unmapped_share`` is the share of content, pricing and demo pages missing from the
    mapping (generic pages always are): 0.6 gives the shape of a real export where most
    submitted pages have no business unit."""
    if n_visitors < 1 or not 1 <= assets_per_topic <= len(CONTENT_TYPES):
        raise ValueError("need n_visitors >= 1 and 1 <= assets_per_topic <= 8")
    if not 0.0 <= unmapped_share <= 1.0:
        raise ValueError("unmapped_share must be in [0, 1]")
    rng = np.random.default_rng(seed)
    library = build_library(rng, assets_per_topic, unmapped_share)
    cookies = _cookies(rng, n_visitors)
    steps = 1 + np.minimum((rng.pareto(1.3, n_visitors) * 1.2).astype(int), 24)
    lib = _Library.of(library)
    rows = []
    generic = ~library[ASSET_TYPE].isin(CONTENT_TYPES + (PRICING, DEMO)).to_numpy()
    for cookie, n_steps in zip(cookies, steps):
        for i in _journey(rng, lib, int(n_steps)):
            count = min(int(rng.zipf(1.8 if generic[i] else 2.6)), 400)
            rows.append((cookie, library.at[i, ASSET_TYPE], library.at[i, PAGE], count))
    submissions = pd.DataFrame(rows, columns=[COOKIE, ASSET_TYPE, PAGE, SUBMISSIONS])
    submissions = submissions.astype({COOKIE: "str", ASSET_TYPE: "str", PAGE: "str"})
    submissions[SUBMISSIONS] = submissions[SUBMISSIONS].astype(np.int64)
    mapping = pd.DataFrame(
        [(unit, page) for page, units in zip(library[PAGE], library["business_units"])
         for unit in units],
        columns=[UNIT, PAGE],
    ).astype("str")
    assets = library[[PAGE, "title", "summary", ASSET_TYPE, "business_units", "topic", "product"]]
    units = pd.DataFrame({"code": [u.code for u in UNITS], "name": [u.name for u in UNITS]})
    return SyntheticAssets(submissions, mapping, assets.reset_index(drop=True), units)


def write_export(
    submissions: pd.DataFrame, bu_mapping: pd.DataFrame, directory: str | Path
) -> tuple[Path, Path]:
    """Write ``submissions.csv`` and ``bu_mapping.csv`` exactly as the export does: a header
    starting with an unnamed index column, then one indexed line per row. Returns the paths."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = (directory / "submissions.csv", directory / "bu_mapping.csv")
    submissions[[COOKIE, ASSET_TYPE, PAGE, SUBMISSIONS]].to_csv(paths[0])
    bu_mapping[[UNIT, PAGE]].to_csv(paths[1])
    return paths
