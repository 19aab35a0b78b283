"""Constants shared by the whole ``ml`` package, kept in one place.

Following the recommenders project, defaults that several modules (data preparation, models,
evaluation, training) must agree on live here rather than being repeated as literals, so that a
change of, say, the default cut-off or the seed is one edit and cannot drift between modules.
"""

from __future__ import annotations

#: Seed for every random choice (splits, model initialisation) so runs are reproducible.
SEED: int = 42

#: Default length of a recommendation list and cut-off of the ranking metrics.
DEFAULT_K: int = 10

#: Default strength of one event of each type when building the interaction matrix. A purchase
#: says much more about a visitor's taste than a view; removing from the cart says nothing
#: positive (it is kept as a known type with weight 0 so it is not rejected as unknown).
#: ``cancel`` and ``return`` are negative feedback: subtracted from the pair's summed strength,
#: clipped at 0 (``ml.data.interactions``). Their size is at least the largest purchase weight the
#: search may pick (``weight.transaction`` up to 20 in ``ml.training.candidates``), so a purchase
#: that was taken back never stays a positive whatever weights the search settles on; at the
#: default weights both also take back the views and add-to-carts of the same product (1 + 4 +
#: 10 <= 20). A return weighs more: the shopper had the thing in hand and did not want it.
#: Callers override by passing their own mapping (e.g. ``{**DEFAULT_EVENT_WEIGHTS, ...}``);
#: nothing in ``ml`` mutates this dict, and nothing else should.
DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "view": 1.0,
    "addtocart": 4.0,
    "transaction": 10.0,
    "removefromcart": 0.0,
    "form_submission": 5.0,
    "cancel": -20.0,
    "return": -25.0,
}

# Column names of the events DataFrame that the storefront and the CSV readers hand to ``ml``.
USER_COL: str = "user_id"
ITEM_COL: str = "item_id"
EVENT_COL: str = "event"
TIME_COL: str = "timestamp"
WEIGHT_COL: str = "weight"
