"""Dwell time as a view's weight: a longer look is stronger evidence of interest than a bounce.

``DwellCurve`` maps the seconds a product page stayed visible to a multiplier of the view's
weight, saturating so a tab left open is not worth more than a careful read::

    multiplier(s) = floor + (ceiling - floor) * (1 - exp(-s / tau))

A view with no dwell report (no script, a crawler, an old browser) keeps the multiplier 1, so
it weighs what every view did before. Written ``"floor=0.5,ceiling=2,tau=30"`` in settings.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class DwellCurve:
    floor: float = 0.5
    ceiling: float = 2.0
    tau: float = 30.0  # seconds: by then a view has ~63% of the way from floor to ceiling

    def __post_init__(self) -> None:
        if not (0 <= self.floor <= self.ceiling) or not self.tau > 0:
            raise ValueError("a dwell curve needs 0 <= floor <= ceiling and tau > 0")

    @classmethod
    def parse(cls, text: str) -> DwellCurve:
        """``"floor=0.5,ceiling=2,tau=30"`` (any subset; the rest default)."""
        values: dict[str, float] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, _, number = part.partition("=")
            if name.strip() not in ("floor", "ceiling", "tau"):
                raise ValueError(f"unknown dwell curve parameter {name.strip()!r} (floor, ceiling, tau)")
            try:
                values[name.strip()] = float(number)
            except ValueError:
                raise ValueError(f"dwell curve parameter {name.strip()} needs a number, not {number!r}") from None
        return cls(**values)

    def multiplier(self, dwell_ms: np.ndarray) -> np.ndarray:
        """Per view, from milliseconds (NaN: no report, multiplier 1)."""
        seconds = np.asarray(dwell_ms, dtype=np.float64) / 1000.0
        weights = self.floor + (self.ceiling - self.floor) * (1.0 - np.exp(-np.clip(seconds, 0, None) / self.tau))
        return np.where(np.isnan(seconds), 1.0, weights)
