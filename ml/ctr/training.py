"""Training of the CTR models: Adam on the log loss, early stopping, a wall-clock budget.

- Loss: mean binary cross-entropy of the batch plus ``l2 *`` the mean over its rows of the
  squared norm of the parameters each row uses (linear weights and embeddings of its features),
  the per-example regularisation of sparse CTR models (dense layers are not penalised).
- Early stopping on the validation log loss after every epoch: the weights of the best epoch
  are restored (``patience`` epochs without an improvement of at least ``MIN_DELTA`` stop it;
  a validation loss that moves by less than ``CONVERGED_DELTA`` between epochs counts as
  converged). ``stopped`` says which rule ended training: "converged", "patience",
  "time budget" or "max epochs".
- Bounded: ``time_budget_seconds`` is checked after every batch; when it runs out the epoch is
  cut short, validated, and the best weights so far are kept, so the result is always usable.
- Reproducible: the seeded session of :func:`ml.models.torch_common.torch_session` (fixed
  thread count, torch seeded inside a forked RNG state, one numpy generator for the epoch
  order), so the same seed gives the same arrays.

Torch is imported lazily: importing this module (e.g. for :class:`CtrTrainConfig`) is cheap.
"""

from __future__ import annotations

import functools
import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ml.constants import SEED
from ml.ctr.scoring import KINDS, CtrScorer

log = logging.getLogger(__name__)

#: An epoch improves when the validation log loss drops by at least this much.
MIN_DELTA = 1e-4
#: Validation log losses of consecutive epochs closer than this: training has converged.
CONVERGED_DELTA = 1e-6
_EVAL_ROWS = 4_096


@dataclass(frozen=True)
class CtrTrainConfig:
    """Architecture and training knobs of the CTR models (JSON-friendly values only).

    ``learning_rate`` is Adam's; 2e-3 trained LR, FM and xDeepFM well on the synthetic
    Criteo data in a few epochs (1e-3 needed about twice as many). ``threads``: torch threads
    during training (``None``: ``OMP_NUM_THREADS`` or 1, see ``TrainSettings.num_threads``).
    """

    embed_dim: int = 8
    cin_layers: tuple[int, ...] = (16, 16)
    dnn_layers: tuple[int, ...] = (64, 32)
    epochs: int = 30
    batch_size: int = 1024
    learning_rate: float = 2e-3
    l2: float = 1e-6
    patience: int = 3
    time_budget_seconds: float = 60.0
    seed: int = SEED
    threads: int | None = None
    dropout: float = 0.0
    split_half: bool = True

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be >= 1" for name in ("embed_dim", "epochs", "batch_size", "patience")
            if int(getattr(self, name)) < 1
        ]
        if not self.learning_rate > 0:
            problems.append("learning_rate must be > 0")
        if not self.l2 >= 0:
            problems.append("l2 must be >= 0")
        if not (self.time_budget_seconds >= 0 and math.isfinite(self.time_budget_seconds)):
            problems.append("time_budget_seconds must be a finite number >= 0")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if self.threads is not None and self.threads < 1:
            problems.append("threads must be >= 1 or None")
        if problems:
            raise ValueError("invalid CTR training config: " + "; ".join(problems))


@dataclass
class TrainedCtrModel:
    """A trained model as numpy arrays (the best validation epoch) and how training went."""

    kind: str
    arrays: dict[str, np.ndarray]
    params: dict[str, Any]
    epochs: int
    seconds: float
    stopped: str
    valid_log_loss: float | None
    best_epoch: int = 0
    history: list[dict[str, float]] = field(default_factory=list)

    def scorer(self) -> CtrScorer:
        return CtrScorer(self.kind, self.arrays, self.params)


def model_params(kind: str, n_features: int, n_fields: int, config: CtrTrainConfig) -> dict:
    """The JSON architecture of a model, what both torch and numpy rebuild it from."""
    if kind not in KINDS:
        raise ValueError(f"unknown CTR model kind {kind!r} (known: {', '.join(KINDS)})")
    params: dict[str, Any] = {
        "kind": kind, "n_features": int(n_features), "n_fields": int(n_fields),
    }
    if kind in ("fm", "xdeepfm"):
        params["embed_dim"] = int(config.embed_dim)
    if kind == "xdeepfm":
        params.update(
            cin_layers=[int(h) for h in config.cin_layers],
            dnn_layers=[int(h) for h in config.dnn_layers],
            dropout=float(config.dropout), split_half=bool(config.split_half),
        )
    return params


@functools.cache
def _warm_up() -> None:
    """Run one tiny training step so torch's one-time start-up (about a second on the first
    backward pass of a process) is not charged to the first model's time budget and seconds."""
    import torch

    from ml.ctr.torch_models import LogisticRegressionCTR

    module = LogisticRegressionCTR(4)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
    x = torch.zeros((2, 2), dtype=torch.int64)
    loss = torch.nn.functional.binary_cross_entropy_with_logits(module(x), torch.ones(2))
    loss.backward()
    optimizer.step()


def _check_data(
    name: str, x: np.ndarray, y: np.ndarray, n_features: int
) -> tuple[np.ndarray, np.ndarray]:
    x = np.ascontiguousarray(x, dtype=np.int64)
    y = np.ascontiguousarray(y, dtype=np.float32).ravel()
    if x.ndim != 2 or len(x) != len(y):
        raise ValueError(f"x_{name} must be (rows, fields) with one label per row")
    if x.size and (x.min() < 0 or x.max() >= n_features):
        raise ValueError(f"x_{name} has feature indices outside [0, {n_features})")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"y_{name} must contain only 0 and 1")
    return x, y


def _train_epoch(module, optimizer, x, y, batch: int, l2: float, deadline: float, bar):
    """One pass over (shuffled) ``x``, ``y``: (mean training loss, whether time ran out).

    The budget is checked after every batch, so a cut-short epoch costs at most one batch."""
    import torch

    bce = torch.nn.functional.binary_cross_entropy_with_logits
    module.train()
    loss_sum, seen = 0.0, 0
    for start in range(0, len(x), batch):
        xb, yb = x[start : start + batch], y[start : start + batch]
        loss = bce(module(xb), yb)
        if l2:
            loss = loss + l2 * module.penalty(xb).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum, seen = loss_sum + float(loss.detach()) * len(xb), seen + len(xb)
        if bar is not None:
            bar.update(1)
        if time.monotonic() >= deadline:
            return loss_sum / seen, True
    return loss_sum / max(seen, 1), False


def _log_loss(module, x: np.ndarray, y: np.ndarray) -> float:
    """Mean log loss of the module (eval mode) on ``x``, in chunks that bound the memory."""
    import torch

    module.eval()
    total = 0.0
    with torch.no_grad():
        for start in range(0, len(x), _EVAL_ROWS):
            logits = module(torch.from_numpy(x[start : start + _EVAL_ROWS]))
            target = torch.from_numpy(y[start : start + _EVAL_ROWS])
            total += float(torch.nn.functional.binary_cross_entropy_with_logits(
                logits, target, reduction="sum"
            ))
    return total / len(x)


def train_ctr_model(
    kind: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray | None,
    y_valid: np.ndarray | None,
    n_features: int,
    config: CtrTrainConfig = CtrTrainConfig(),
    progress: bool | Callable[[dict], None] = False,
) -> TrainedCtrModel:
    """Train a model of ``kind`` ("lr", "fm" or "xdeepfm") on encoded rows (see module doc).

    Without validation rows (``x_valid`` None or empty) there is no early stopping: the last
    epoch is kept. ``progress``: True shows a tqdm bar (on a terminal only), a callable gets a
    dict per epoch (``kind``, ``epoch``, ``train_loss``, ``valid_log_loss``, ``seconds``).
    """
    import torch
    from tqdm import tqdm

    from ml.ctr.torch_models import build_model
    from ml.models.deep_settings import TrainSettings
    from ml.models.torch_common import MIN_BATCHES_PER_EPOCH, torch_session

    x_train, y_train = _check_data("train", x_train, y_train, n_features)
    if len(x_train) == 0:
        raise ValueError("no training rows")
    has_valid = x_valid is not None and len(x_valid) > 0
    if has_valid:
        x_valid, y_valid = _check_data("valid", x_valid, y_valid, n_features)
    params = model_params(kind, n_features, x_train.shape[1], config)
    settings = TrainSettings(num_threads=config.threads or 0, random_state=int(config.seed))
    _warm_up()
    n = len(x_train)
    batch = min(config.batch_size, max(32, -(-n // MIN_BATCHES_PER_EPOCH)))
    n_batches = -(-n // batch)
    started = time.monotonic()
    deadline = started + config.time_budget_seconds
    bar = None
    if progress is True:
        total = config.epochs * n_batches
        bar = tqdm(total=total, desc=kind, unit="batch", disable=None, leave=False)
    notify = progress if callable(progress) else None
    history: list[dict[str, float]] = []
    best_loss, best_state, best_epoch, stale, stopped = math.inf, None, 0, 0, "max epochs"
    previous = None
    with torch_session(settings) as rng:
        module = build_model(kind, params)
        optimizer = torch.optim.Adam(module.parameters(), lr=config.learning_rate)
        xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
        epoch = 0
        for epoch in range(1, config.epochs + 1):
            order = torch.from_numpy(rng.permutation(n))
            train_loss, out_of_time = _train_epoch(
                module, optimizer, xt[order], yt[order], batch, config.l2, deadline, bar
            )
            valid_loss = _log_loss(module, x_valid, y_valid) if has_valid else None
            watched = valid_loss if has_valid else train_loss
            record = {"kind": kind, "epoch": epoch, "train_loss": round(train_loss, 6),
                      "valid_log_loss": None if valid_loss is None else round(valid_loss, 6),
                      "seconds": round(time.monotonic() - started, 3)}
            history.append(record)
            if bar is not None:
                bar.set_postfix(loss=record["train_loss"], valid=record["valid_log_loss"])
            if notify is not None:
                notify(dict(record))
            # the best epoch's weights are kept, but only a MIN_DELTA gain resets patience
            stale = 0 if watched < best_loss - MIN_DELTA else stale + 1
            if not has_valid or watched < best_loss:
                best_loss, best_epoch = watched, epoch
                best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
            if out_of_time:
                stopped = "time budget"
                break
            if previous is not None and abs(watched - previous) < CONVERGED_DELTA:
                stopped = "converged"
                break
            if has_valid and stale >= config.patience:
                stopped = "patience"
                break
            previous = watched
        if bar is not None:
            bar.close()
        if best_state is not None:  # None only when every loss was NaN (diverged)
            module.load_state_dict(best_state)
        module.eval()
        arrays = module.export()
    seconds = round(time.monotonic() - started, 3)
    valid_log_loss = None
    if has_valid:
        valid_log_loss = history[best_epoch - 1]["valid_log_loss"]
    log.info(
        "ctr %s: %d epoch(s) in %.1f s, stopped by %s, best epoch %d (validation log loss %s)",
        kind, epoch, seconds, stopped, best_epoch, valid_log_loss,
    )
    return TrainedCtrModel(
        kind=kind, arrays=arrays, params=params, epochs=epoch, seconds=seconds, stopped=stopped,
        valid_log_loss=valid_log_loss, best_epoch=best_epoch, history=history,
    )
