"""Latency of recommendations on the demo shop: the service call and the model call alone.

Builds a throw-away demo shop (migrations, default seed, one training run without the torch
candidates), then, for a brand-new visitor who viewed three products, times in-process:
- "Recommended for you" through the service (recent-events query, fold-in, business rules,
  product load) in the retrieval order and re-ranked by the click model (xDeepFM over 100
  candidates, when the run published one), the re-ranking alone, the same plus the impression
  insert, and the model call alone;
- a raw numpy dot product + argpartition over the same item factors, as the floor to compare with;
- "Similar items" for a popular product through the service (product load, rules, product
  query), the item-kNN model call alone, and the floor: that product's row of the same
  item-kNN similarity matrix densified + argpartition;
- "Customers like you also bought" for the demo customer with the most orders (as the widget
  runs for them logged in: their purchases excluded), the segments call alone (Customer2Vec
  neighbours, their purchases weighted), and the floor: numpy dot of the same customer vectors
  + argpartition of the nearest neighbours.
Run: ``make bench`` or ``PYTHONPATH=. .venv/bin/python bench/recommendation_latency.py``.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from flask_migrate import upgrade  # noqa: E402

from bench.recording import latency_stats, record, time_alternately, time_calls  # noqa: E402
from ml.synth.shop import SynthConfig  # noqa: E402
from storefront import create_app  # noqa: E402
from storefront.extensions import db  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from storefront.models import Order, Product  # noqa: E402
from storefront.ctr import serving as ctr_serving  # noqa: E402
from storefront.catalog import snapshot  # noqa: E402
from storefront.tracking.shopper_facts import ShopperFacts  # noqa: E402
from storefront.recommendations import widgets as widgets  # noqa: E402
from storefront.recommendations import registry  # noqa: E402
from storefront.recommendations.widgets import customer_ask, fill, new_ask  # noqa: E402
from storefront.recommendations.widgets import current_version  # noqa: E402
from storefront.recommendations.rules import load_in_order  # noqa: E402
from storefront.recommendations.steps import fold_in_events  # noqa: E402
from storefront.seeding import shop as seeding  # noqa: E402
from storefront.segments.serving import segments_for  # noqa: E402
from storefront.tracking.visitors import customer_key  # noqa: E402
from storefront.tracking.visitors import Shopper  # noqa: E402
from storefront.tracking.visitors import ml_item_id  # noqa: E402
from storefront.training import job as training  # noqa: E402
from storefront.web.requests import request_context  # noqa: E402

FOR_YOU = registry.spec("api_user")
SIMILAR = registry.spec("api_similar")
LIKE_YOU = registry.spec("customers_like_you", registry.ACCOUNT)

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"


def build_shop(folder: Path):
    app = create_app({
        "ENV_NAME": "development", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
        "MODEL_DIR": str(folder / "models"), "TRAINING_DEEP_MODELS": False, "MODEL_CHECK_INTERVAL": 60.0,
        "TRAINING_LAUNCH": False,
    })
    with app.app_context():
        upgrade()
        seeding.seed_demo(SynthConfig())
        db.session.commit()
        run = training.run_training()
        assert run.status == "succeeded", run.error
    return app


def measure(app, rounds: int) -> list[str]:
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = UA
    for product_id in (101, 102, 103):
        assert client.get(f"/products/{product_id}").status_code == 200
    cookie = client.get_cookie(app.config["VISITOR_COOKIE_NAME"]).value
    headers = {"User-Agent": UA, "Cookie": f"{app.config['VISITOR_COOKIE_NAME']}={cookie}"}

    def timed(call) -> list[float]:
        samples = []
        for _ in range(rounds):
            with app.test_request_context("/", headers=headers):
                started = time.perf_counter()
                call()
                samples.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
        return samples

    with app.test_request_context("/", headers=headers):
        version = current_version()
        ask = new_ask(request_context())
        recent = fold_in_events(version, ask)
        exclude = [ml_item_id(p) for p in ask.skip]
    champion = version.manifest["champion"]
    timed(lambda: None)
    app.config["CTR_RERANK_SHARE"] = 0.0  # the retrieval order (the A/B control group)
    service = timed(lambda: fill(FOR_YOU, new_ask(request_context()), 10))
    lines_ctr = []
    with app.test_request_context("/", headers=headers):
        served = ctr_serving.ranker_for(version)
    if served is not None:
        app.config["CTR_RERANK_SHARE"] = 1.0
        reranked = timed(lambda: fill(FOR_YOU, new_ask(request_context()), 10))
        with app.test_request_context("/", headers=headers):
            candidates = load_in_order(
                snapshot.current(), [int(i) for i, _ in version.recommend_for_user(None, recent, n=100, exclude=exclude)], set())
        shopper = Shopper(None, None)
        score = timed(lambda: ctr_serving.rerank(served, shopper, ShopperFacts(), candidates, "bench"))
        # as pages call it: with the catalog snapshot, which keeps each product's encoded fields
        kept = timed(lambda: ctr_serving.rerank(served, shopper, ShopperFacts(), candidates, "bench",
                                                snapshot.current()))
        lines_ctr = [
            f"- service top-10 re-ranked by the click model ({served.ranker.kind}, 100 retrieval candidates): {latency_stats(reranked)}",
            f"- re-ranking {len(candidates)} candidates alone (features encoded per call + numpy {served.ranker.kind}): {latency_stats(score)}",
            f"- the same with the catalog snapshot's kept item codes, as pages call it: {latency_stats(kept)}",
        ]
        app.config["CTR_RERANK_SHARE"] = 0.0
    with_impression = timed(lambda: widgets.api_user(request_context(), 10))
    item_factors = getattr(version.models["recommender"], "item_factors", None)
    raw = None
    with app.test_request_context("/", headers=headers):
        model_call = lambda: version.recommend_for_user(None, recent, n=10, exclude=exclude)  # noqa: E731
        if item_factors is None:
            model = time_calls(model_call, rounds, warmup=20)
        else:  # the model call and its numpy floor in turn, so the ratio sees the same machine
            factors = np.asarray(item_factors)
            user = factors[:3].mean(axis=0)
            model, raw = time_alternately(
                [model_call, lambda: np.argpartition(-(factors @ user), 10)[:10]], rounds, warmup=20)
    lines = [
        f"- demo seed, champion `{champion}`, a new visitor with 3 recent views, {rounds} calls each",
        f"- service \"Recommended for you\" top-10 (query, fold-in, rules, products): {latency_stats(service)}",
        f"- the same plus the impression insert: {latency_stats(with_impression)}",
        *lines_ctr,
        f"- model call alone (top-10 with fold-in): {latency_stats(model)}",
    ]
    if raw is not None:
        lines.append(f"- raw numpy dot + argpartition over the same {len(item_factors)} item factors, timed "
                     f"alternately with the model call: {latency_stats(raw)}; model call / floor: "
                     f"**{np.median(model) / np.median(raw):.1f}x**")
    lines += similar_and_customers(app, version, headers, timed, rounds)
    return lines


def similar_and_customers(app, version, headers: dict, timed, rounds: int) -> list[str]:
    """"Similar items" and "Customers like you", each next to its numpy floor."""
    lines = []
    with app.test_request_context("/", headers=headers):
        product_id = db.session.scalar(
            select(Product.id).where(Product.active.is_(True), Product.stock > 0)
            .order_by(Product.popularity.desc()).limit(1))
        customer_id = db.session.execute(
            select(Order.customer_id).where(Order.customer_id.is_not(None))
            .group_by(Order.customer_id).order_by(func.count().desc()).limit(1)).scalar_one()
        orders = db.session.scalar(select(func.count()).select_from(Order).where(Order.customer_id == customer_id))
        segments = segments_for(version)
    service = timed(lambda: fill(SIMILAR, new_ask(request_context(), product=db.session.get(Product, product_id)), 10))
    item = ml_item_id(product_id)
    model = timed(lambda: version.similar_items(item, n=10))
    similar = version.models["similar"]
    row = version.id_map.item_index(item)
    matrix = similar.similarity.tocsr()

    def knn_floor():
        scores = matrix[row].toarray().ravel()
        np.argpartition(-scores, 10)[:10]

    lines += [
        f"- \"Similar items\" top-10 for the most popular product, service (product load, rules, products): {latency_stats(service)}",
        f"- similar-items model call alone (item-kNN, {similar.params.get('similarity')} K={similar.params.get('K')}): {latency_stats(model)}",
        f"- raw floor: the product's row of the same {matrix.shape[0]}x{matrix.shape[1]} kNN matrix "
        f"({matrix.nnz:,} stored) densified + argpartition: {latency_stats(time_calls(knn_floor, rounds))}",
    ]
    if segments is None:
        return lines + ["- \"Customers like you\": the version has no segments extra (skipped)"]
    key = customer_key(customer_id)
    service = timed(lambda: fill(LIKE_YOU, customer_ask(customer_id), 10))
    model = timed(lambda: segments.customers_like_you_also_bought(key, n=10))
    vectors = np.asarray(segments.embeddings.vectors)
    own = segments.embeddings.index_of(key)
    k = min(segments.n_neighbours, len(vectors) - 1)

    def neighbours_floor():
        sims = vectors @ vectors[own]
        np.argpartition(-sims, k)[:k]

    lines += [
        f"- \"Customers like you also bought\" top-10 for the customer with the most orders ({orders}), "
        f"service (exclusions query, rules, products): {latency_stats(service)}",
        f"- segments call alone ({k} nearest of {len(vectors)} Customer2Vec vectors, their purchases "
        f"similarity-weighted, ranked): {latency_stats(model)}",
        f"- raw floor: numpy dot over the same {vectors.shape[0]}x{vectors.shape[1]} customer vectors + "
        f"argpartition of the {k} nearest: {latency_stats(time_calls(neighbours_floor, rounds))}",
    ]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--record", metavar="FILE", help="append the result to this Markdown file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        app = build_shop(Path(folder))
        before = "/".join(f"{x:.2f}" for x in os.getloadavg())
        lines = measure(app, args.rounds)
        after = "/".join(f"{x:.2f}" for x in os.getloadavg())
        lines.append(f"- load average (1/5/15 min) before {before}, after {after}")
        with app.app_context():
            db.engine.dispose()
    print("\n".join(lines))
    if args.record:
        record(Path(args.record), "Recommendation latency", lines)


if __name__ == "__main__":
    main()
