"""Recall@10 on a labelled query set generated from the demo catalogue (1,200 products, as
``flask shop seed`` makes by default; fewer events), on the test database's engine: >= 0.95 on
exact names, brand + category, plurals, partial words and one typo, >= 0.8 on two typos. The
table (recall and zero-result rate per class) is printed: run with ``-s`` to see it."""
from __future__ import annotations

import pytest

from storefront.extensions import db
from storefront.search import find
from tests.storefront.search import labelled

DEMO_CATALOGUE = ["shop", "seed", "--products", "1200", "--categories", "24", "--customers", "60",
                  "--anonymous", "40", "--events", "4000", "--days", "30", "--b2b-visitors", "0"]
TARGETS = {"exact": 0.95, "brand_category": 0.95, "plural": 0.95, "partial": 0.95, "typo1": 0.95, "typo2": 0.8}


@pytest.mark.slow
def test_recall_at_10_on_the_labelled_queries(app, runner):
    result = runner.invoke(args=DEMO_CATALOGUE)
    assert result.exit_code == 0, result.output
    with app.app_context():
        queries = labelled.build(db.session.connection())
        assert len(queries) >= 500 and set(q.kind for q in queries) == set(labelled.CLASSES)

        def search(text):
            found = find(text, limit=10)
            return found.product_ids, found.total

        evaluation = labelled.evaluate(queries, search)
        dialect = db.engine.dialect.name
    print(f"\nSearch relevance on {dialect}, {len(queries)} queries:\n{evaluation.table()}")
    for kind, target in TARGETS.items():
        assert evaluation.recall[kind] >= target, (kind, evaluation.recall[kind], evaluation.misses.get(kind))
    assert evaluation.zero_results["exact"] == 0 and evaluation.zero_results["typo1"] <= 0.02
