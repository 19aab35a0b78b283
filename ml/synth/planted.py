"""The complement pairs a demo shop was planted with, without simulating its events again.

:func:`ml.synth.shop.generate_shop` draws the catalogue (and with it the planted complements,
laptop -> laptop bag) from the first child stream of its seed before anything else, so the
catalogue alone can be rebuilt from the seed and the catalogue sizes: what ``flask ml
evaluate-baskets`` needs to check that "frequently bought together" finds the planted pairs.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ml.synth.catalog import Catalog, build_catalog
from ml.synth.shop import SynthConfig, _resolve_end


def _catalog(config: SynthConfig) -> Catalog:
    first_stream = np.random.default_rng(config.seed).spawn(1)[0]  # generate_shop's catalogue stream
    return build_catalog(first_stream, config.n_departments, config.n_categories, config.n_products,
                         _resolve_end(config.end))


def planted_complements(config: SynthConfig = SynthConfig()) -> pd.DataFrame:
    """(``sku``, ``complement_sku``) sorted by ``sku``, as ``generate_shop(config).complements``."""
    return _catalog(config).complements.sort_values("sku").astype("str").reset_index(drop=True)


def demo_catalog(config: SynthConfig = SynthConfig()) -> pd.DataFrame:
    """The demo catalogue's ``sku`` and ``name`` for ``config`` (to recognise a seeded shop)."""
    return _catalog(config).products[["sku", "name"]].astype("str").reset_index(drop=True)
