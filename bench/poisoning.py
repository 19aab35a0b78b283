"""How many coordinated scripted sessions put a cold product into its category's top 10 (the
"Most popular" listing) and into "Trending in <category>"?

The scenario of tests/storefront/support/poisoning.py: a month of organic traffic, a cold
product, sessions of "view, add to cart" from new browsers, each from one of ``addresses``
client addresses (``0``: a new address per session, a botnet), then an hourly run's refresh and
retrain. For each spread of addresses, the smallest number of sessions that wins, found by
doubling up to ``--max`` and then bisecting; a fresh shop per trial. Run it on an older commit
(copy this file and the support module there) for the "before" numbers.

``PYTHONPATH=. .venv/bin/python bench/poisoning.py [--max 512] [--record BENCHMARKS.md]``
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

from bench.recording import record
from storefront import create_app
from storefront.extensions import db
from tests.storefront.support.poisoning import attack, organic_shop, refresh_and_retrain, standing

# The production defaults of the limits (the testing config turns them off; older code ignores them).
DEFENDED = {"TRACKING_LIMITS_ENABLED": True, "TRAINING_TIME_BUDGET_SECONDS": 1, "CTR_ENABLED": False}


def trial(sessions: int, addresses: int) -> tuple[bool, bool]:
    """(in the category's top 10, in "Trending in") after ``sessions`` sessions."""
    with tempfile.TemporaryDirectory() as folder:
        app = create_app({"ENV_NAME": "testing", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{Path(folder) / 'p.db'}",
                          "MODEL_DIR": str(Path(folder) / "models"), **DEFENDED})
        with app.app_context():
            db.create_all()
        shop = organic_shop(app)
        attack(app, shop.target, sessions, addresses or sessions)
        refresh_and_retrain(app)
        result = standing(app, shop)
        with app.app_context():
            db.engine.dispose()
        return result.in_category_top10, result.in_trending_in_category


def smallest(addresses: int, largest: int) -> dict[str, int | None]:
    """The fewest sessions that win, per target (None: not within ``largest``)."""
    found: dict[str, int | None] = {"top10": None, "trending": None}
    lower, n = 0, 1
    while n <= largest and None in found.values():
        top10, trending = trial(n, addresses)
        for name, won in (("top10", top10), ("trending", trending)):
            if won and found[name] is None:
                found[name] = _bisect(lower, n, addresses, 0 if name == "top10" else 1)
        lower, n = n, n * 2
    return found


def _bisect(lower: int, upper: int, addresses: int, which: int) -> int:
    """Smallest n in (lower, upper] that wins, given that ``upper`` wins."""
    while upper - lower > 1:
        middle = (lower + upper) // 2
        if trial(middle, addresses)[which]:
            upper = middle
        else:
            lower = middle
    return upper


def main() -> None:
    logging.disable(logging.INFO)  # a line per request and per training stage otherwise
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max", type=int, default=512)
    parser.add_argument("--label", default="")
    parser.add_argument("--record", metavar="FILE")
    args = parser.parse_args()
    lines = []
    for addresses, label in ((1, "one address"), (5, "five addresses"), (0, "a new address per session")):
        found = smallest(addresses, args.max)
        shown = {k: (str(v) if v is not None else f"not reached with {args.max}") for k, v in found.items()}
        lines.append(f"- {label}: category top 10 after **{shown['top10']}** sessions; "
                     f"\"Trending in\" after **{shown['trending']}**")
        print(lines[-1], flush=True)
    if args.record:
        record(Path(args.record), f"Coordinated sessions to poison a category{args.label}", lines)


if __name__ == "__main__":
    main()
