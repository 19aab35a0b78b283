"""The session models a comparison runs, by name, with their default constructor parameters.

One list for ``flask ml evaluate-sessions`` and the training run's champion selection: the three
baselines always, and each sequence-aware model whose module imports (``SESSION_MODEL_MODULES``;
a module that is missing or fails to import is left out and reported by :func:`unavailable`).
"""

from __future__ import annotations

import importlib
import inspect
import logging
from typing import Any, Mapping, Sequence

from ml.sessions.base import SESSION_MODEL_MODULES, SessionRecommender

log = logging.getLogger(__name__)

#: The comparison's baselines, always run.
BASELINES: tuple[str, ...] = ("session_popularity", "last_item_knn", "champion_fold_in")
#: The session models proper, run when their module imports.
SESSION_MODELS: tuple[str, ...] = ("sknn", "vsknn", "stan", "gru4rec")
#: Constructor parameters per model (on top of the class defaults). ``random_state`` is added
#: from the protocol's seed for every class that takes one.
DEFAULT_PARAMS: dict[str, dict[str, Any]] = {
    "session_popularity": {},
    "last_item_knn": {},
    "champion_fold_in": {"model": "als"},
    "sknn": {},
    "vsknn": {},
    "stan": {},
    "gru4rec": {},
}

_import_errors: dict[str, str] = {}


def registered() -> dict[str, type[SessionRecommender]]:
    """Every session model class by name, after importing the modules that define them."""
    for module in SESSION_MODEL_MODULES:
        try:
            importlib.import_module(module)
        except ImportError as error:  # a model module not written yet, or a missing dependency
            if module not in _import_errors:
                log.warning("session models of %s are unavailable: %s", module, error)
            _import_errors[module] = str(error)
        else:
            _import_errors.pop(module, None)
    return dict(SessionRecommender._registry)


def unavailable() -> dict[str, str]:
    """Modules of :data:`SESSION_MODEL_MODULES` that did not import, with the error."""
    registered()
    return dict(_import_errors)


def model_names(names: Sequence[str] | None = None) -> list[str]:
    """``names`` checked against the registry, or the default set: the baselines, then every
    available model of :data:`SESSION_MODELS`."""
    known = registered()
    if names is None:
        return [n for n in BASELINES if n in known] + [n for n in SESSION_MODELS if n in known]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown session model(s): {', '.join(unknown)} (available: {', '.join(sorted(known))})")
    return list(dict.fromkeys(names))


def make_model(name: str, seed: int, params: Mapping[str, Any] | None = None) -> SessionRecommender:
    """An unfitted ``name`` with :data:`DEFAULT_PARAMS`, then ``params``, and the seed."""
    cls = registered()[name]
    kwargs = {**DEFAULT_PARAMS.get(name, {}), **dict(params or {})}
    if "random_state" in inspect.signature(cls).parameters:
        kwargs.setdefault("random_state", int(seed))
    return cls(**kwargs)
