"""Re-ranking a model's candidate list after retrieval (no Flask, no database).

- :mod:`ml.ranking.diversity`: maximal marginal relevance over category and brand, the
  diversity levels a widget can be set to, and intra-list diversity.
- :mod:`ml.ranking.report`: the offline trade-off of each level, NDCG@k against ILD@k.
"""
