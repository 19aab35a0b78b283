"""Which asset candidate serves: marketing's rule with a minimum business-unit hit rate.

The marketing team wants two things of "Suggested next": the asset the visitor asks for next
(hit rate) and suggestions inside the visitor's business units (business-unit hit rate). The
rule (``ASSET_MIN_BU_HIT_RATE``, default 0.6):

1. among the candidates whose BU hit rate is at least the minimum, the best hit rate
   (ties: the better BU hit rate, then the configured order);
2. if none meets it, the highest BU hit rate (ties: the better hit rate): the goal marketing
   states as a floor is the one to get closest to;
3. if no evaluated visitor has a profile with a known unit (a library without a mapping), BU hit
   rate says nothing and the best hit rate wins.

The same rule picks the blend weight on the validation split and the champion on the holdout.
:func:`pareto_front` marks the candidates no other beats on both goals (the table and plot the
admin model page and ``flask resources evaluate`` show).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence


@dataclass(frozen=True)
class Point:
    """One candidate (or one blend weight of a candidate) on the two goals."""

    name: str
    hit_rate: float
    bu_hit_rate: float
    bu_defined: bool = True  # False when no evaluated visitor had a known unit


def rank_by_rule(points: Sequence[Point], min_bu_hit_rate: float) -> list[str]:
    """Names best first under the rule in the module doc (the first is the champion; the rest
    are the fallbacks when refitting it fails)."""
    order = {point.name: position for position, point in enumerate(points)}
    if not any(point.bu_defined for point in points):
        return [p.name for p in sorted(points, key=lambda p: (-p.hit_rate, order[p.name]))]
    meeting = [p for p in points if p.bu_hit_rate >= min_bu_hit_rate]
    rest = [p for p in points if p.bu_hit_rate < min_bu_hit_rate]
    meeting.sort(key=lambda p: (-p.hit_rate, -p.bu_hit_rate, order[p.name]))
    rest.sort(key=lambda p: (-p.bu_hit_rate, -p.hit_rate, order[p.name]))
    return [p.name for p in meeting + rest]


def why(points: Sequence[Point], champion: str, min_bu_hit_rate: float, k: int) -> str:
    """One sentence saying why the rule chose ``champion``."""
    chosen = next(p for p in points if p.name == champion)
    if not any(p.bu_defined for p in points):
        return f"no visitor has an asset of known business unit: best hit rate@{k} ({chosen.hit_rate:.3f})"
    meeting = [p for p in points if p.bu_hit_rate >= min_bu_hit_rate]
    if meeting:
        return (f"best hit rate@{k} ({chosen.hit_rate:.3f}) among the {len(meeting)} candidate(s) with "
                f"business-unit hit rate@{k} >= {min_bu_hit_rate:g} (its own: {chosen.bu_hit_rate:.3f})")
    return (f"no candidate reaches business-unit hit rate@{k} {min_bu_hit_rate:g}: the highest one "
            f"({chosen.bu_hit_rate:.3f}, hit rate@{k} {chosen.hit_rate:.3f})")


def pareto_front(points: Sequence[Point]) -> set[str]:
    """Names of the points no other point beats on one goal without losing on the other."""
    front = set()
    for point in points:
        dominated = any(
            other.hit_rate >= point.hit_rate and other.bu_hit_rate >= point.bu_hit_rate
            and (other.hit_rate > point.hit_rate or other.bu_hit_rate > point.bu_hit_rate)
            for other in points
        )
        if not dominated:
            front.add(point.name)
    return front
