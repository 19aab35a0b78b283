"""The session model of a version: picked on the session-rec protocol, published as an extra.

"Inspired by your visit" (``storefront.recommendations.visit``) serves the visitor without a
customer history from the order of their current visit. Which model fills it is decided here, in
every training run, the way the recommender's champion is: on a held-out part of the shop's own
browsing sessions, against baselines, by one stated metric.

- Sessions: the product views grouped by the browsing session each request carried (views only,
  as session-rec reads Retailrocket and as ``flask ml evaluate-sessions`` does, so that command
  reproduces this table); views without one are cut per visitor at 30 idle minutes.
- Protocol (``ml.sessions.protocol``): sessions of >= 2 events and items with >= 5 events; the
  sessions that started in the last ``SESSION_TEST_DAYS`` days are the test; the next item at every
  position of each test session; a seeded sample of at most ``SESSION_EVAL_MAX_SESSIONS`` test
  sessions keeps the cost bounded; 95% bootstrap intervals over the test sessions. With
  ``SESSION_NEW_ITEMS_ONLY`` (the default) the task is the widget's: the widget never offers what
  the visit holds, so a prefix's own items are never predicted and revisits are not asked for;
  the neighbourhood models vote for the visit's own items (as session-rec's do), which the plain
  protocol counts against them, and would otherwise lose a race the widget does not run.
- Candidates: popularity, item-kNN on the last item, the champion's model (ALS) folding the visit
  in, SKNN, V-SKNN, STAN and, with ``TRAINING_DEEP_MODELS``, GRU4Rec (its budget is
  ``TRAINING_TORCH_BUDGET_SECONDS``); ``SESSION_MODELS`` (a comma list) narrows them.
- The champion: the best MRR@20 among the candidates that beat popularity's; popularity when none
  does. It is refitted on every session and written as ``session.npz``; the run and the manifest
  record the table (each model's HR and MRR at 10 and 20 with intervals), the champion and why.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import current_app

from ml.sessions import candidates
from ml.sessions.protocol import SessionEvaluation, SessionProtocol, evaluate_sessions
from ml.sessions.serving import SESSION_MODEL_FILE
from ml.sessions.sources import SESSION_EVENT_TYPES, sessions_from_frame
from ml.sessions.split import preprocess
from ml.registry import ExtraWriter
from storefront.training.extras import ExtraContext, SkipExtra

log = logging.getLogger(__name__)

POPULARITY = "session_popularity"


def _protocol() -> SessionProtocol:
    config = current_app.config
    return SessionProtocol(test_days=float(config.get("SESSION_TEST_DAYS", 1.0)),
                           max_test_sessions=int(config.get("SESSION_EVAL_MAX_SESSIONS", 2000)) or None,
                           resamples=int(config.get("SESSION_EVAL_RESAMPLES", 300)),
                           new_items_only=bool(config.get("SESSION_NEW_ITEMS_ONLY", True)))


def _candidates() -> tuple[list[str], dict[str, dict[str, Any]]]:
    """The models to compare and their parameters (the run's budgets)."""
    config = current_app.config
    chosen = config.get("SESSION_MODELS")
    names = candidates.model_names([n.strip() for n in chosen.split(",") if n.strip()] if chosen else None)
    if not config.get("TRAINING_DEEP_MODELS", True):
        names = [n for n in names if n != "gru4rec"]
    budget = float(config.get("TRAINING_TORCH_BUDGET_SECONDS", 20))
    threads = int(config.get("TRAINING_THREADS") or 1)
    return names, {"gru4rec": {"time_budget_seconds": budget, "num_threads": threads}}


def choose(evaluation: SessionEvaluation) -> tuple[str, str]:
    """The champion and why: the best main metric among the models that beat popularity."""
    metric = evaluation.protocol.main_metric
    scores = {name: values[metric].mean for name, values in evaluation.summary.items()}
    if not scores:
        raise SkipExtra("no session model could be evaluated: " + "; ".join(evaluation.failures.values()))
    bar = scores.get(POPULARITY, float("-inf"))
    winners = sorted((name for name, score in scores.items() if score > bar and name != POPULARITY),
                     key=lambda name: (-scores[name], name))
    if not winners:
        return POPULARITY, f"no session model beats popularity's {metric} ({bar:.4f}): popularity is published"
    best = winners[0]
    return best, (f"{best} has the best {metric} ({scores[best]:.4f}) of the models that beat "
                  f"popularity ({bar:.4f})" if bar > float("-inf") else f"{best} has the best {metric}")


def _table(evaluation: SessionEvaluation) -> dict[str, dict[str, Any]]:
    """model -> metric -> [mean, low, high] (JSON-ready, for the run and the admin)."""
    return {model: {metric: [value.mean, value.low, value.high] for metric, value in values.items()}
            for model, values in evaluation.summary.items()}


def build_extra(context: ExtraContext) -> ExtraWriter:
    source = sessions_from_frame(context.events, event_types=SESSION_EVENT_TYPES, source="the shop's events")
    protocol = _protocol()
    names, params = _candidates()
    summary = context.summary
    summary.update({"sessions": source.data.n_sessions, "events": source.data.n_events,
                    "protocol": protocol.describe()})
    try:
        evaluation = evaluate_sessions(source.data, protocol, names, params)
    except ValueError as error:  # too little browsing for a test window: nothing to pick from
        raise SkipExtra(str(error)) from None
    champion, reason = choose(evaluation)
    summary.update({"table": _table(evaluation), "champion": champion, "reason": reason,
                    "failures": evaluation.failures, "windows": evaluation.windows,
                    "metric": protocol.main_metric})
    data = preprocess(source.data, protocol.min_item_support, protocol.min_session_length)
    model = candidates.make_model(champion, protocol.seed, params.get(champion)).fit(data)
    log.info("session champion %s (%s), refitted on %d sessions", champion, reason, data.n_sessions)

    def write(directory: Path) -> list[str]:
        model.save(directory / SESSION_MODEL_FILE)
        return [SESSION_MODEL_FILE]

    return write
