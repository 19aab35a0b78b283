"""The training loop the torch models share: data, sampling, validation, early stopping.

Imported only inside the models' ``fit`` (never at serving time, which is numpy only).

Why it is built this way:

- Reproducible: every random choice (validation split, epoch order, negatives) comes from one
  seeded numpy ``Generator``; weights are initialised by the models from that generator too;
  torch's own RNG is seeded inside a forked RNG state, and the thread count is fixed for the fit
  (CPU kernels then reduce in the same order), so two fits with the same seed are identical.
- Honest early stopping: the validation interactions are removed from the training matrix (and
  so from LightGCN's graph) before training; the metric is NDCG@k, the metric the champion is
  chosen by, never a loss on event codes.
- Bounded: a wall-clock budget is checked after every batch, so a large catalogue degrades to
  fewer epochs instead of an unbounded job; the best weights seen so far are always restored.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import time
from typing import Callable, Iterator, Protocol

import numpy as np
import scipy.sparse as sp
import torch
from tqdm import tqdm

from ml.models.deep_settings import TrainReport, TrainSettings

log = logging.getLogger(__name__)

#: Rounds of re-drawing a sampled negative that turned out to be one of the user's items.
_RESAMPLE_ROUNDS = 5
#: Batches are made smaller on small data so that an epoch has at least this many: with one
#: batch per epoch, ``patience`` epochs would be a handful of updates and stop training early.
MIN_BATCHES_PER_EPOCH = 16


def positives(user_items: sp.spmatrix) -> sp.csr_matrix:
    """The 0/1 matrix of positive interactions (BPR uses which items, not how strongly)."""
    matrix = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
    matrix.data = (matrix.data > 0).astype(np.float32)
    matrix.eliminate_zeros()
    matrix.sum_duplicates()
    matrix.sort_indices()
    return matrix


def carve_validation(
    matrix: sp.csr_matrix, fraction: float, rng: np.random.Generator
) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split each user's items into fit and validation parts (``fraction`` of them, rounded).

    Users with one item keep it for fitting, every other user keeps at least one item in each
    part (the rule of :func:`ml.data.random_split`), so every trained user is validated on items
    the model has never seen for them.
    """
    counts = np.diff(matrix.indptr)
    if fraction <= 0 or matrix.nnz == 0:
        return matrix, sp.csr_matrix(matrix.shape, dtype=np.float32)
    n_valid = np.where(counts >= 2, np.clip(np.rint(fraction * counts), 1, counts - 1), 0)
    rows = np.repeat(np.arange(matrix.shape[0]), counts)
    order = np.lexsort((rng.random(matrix.nnz), rows))  # random order within each row
    rank = np.arange(matrix.nnz) - matrix.indptr[rows[order]]
    held = np.zeros(matrix.nnz, dtype=bool)
    held[order] = rank < n_valid[rows[order]]

    def part(mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix(
            (matrix.data[mask], (rows[mask], matrix.indices[mask])), shape=matrix.shape
        )

    return part(~held), part(held)


class PairSampler:
    """Epochs of shuffled (user, liked item, sampled negative) triples as int64 arrays.

    Negatives are drawn uniformly from the catalogue and re-drawn (a few rounds) when they are
    one of the user's items: a membership test on sorted ``user * n_items + item`` keys, so the
    cost does not depend on the users' history lengths.
    """

    def __init__(self, matrix: sp.csr_matrix, rng: np.random.Generator) -> None:
        self.n_items = matrix.shape[1]
        self.users = np.repeat(np.arange(matrix.shape[0], dtype=np.int64), np.diff(matrix.indptr))
        self.items = matrix.indices.astype(np.int64)
        self._keys = np.sort(self.users * self.n_items + self.items)
        self._rng = rng

    def __len__(self) -> int:
        return len(self.users)

    def _is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        keys = users * self.n_items + items
        if len(self._keys) == 0:
            return np.zeros(len(keys), dtype=bool)
        found = np.searchsorted(self._keys, keys)
        found = np.minimum(found, len(self._keys) - 1)
        return self._keys[found] == keys

    def negatives(self, users: np.ndarray) -> np.ndarray:
        items = self._rng.integers(0, self.n_items, size=len(users), dtype=np.int64)
        for _ in range(_RESAMPLE_ROUNDS):
            clash = np.flatnonzero(self._is_positive(users, items))
            if clash.size == 0:
                break
            items[clash] = self._rng.integers(0, self.n_items, size=clash.size, dtype=np.int64)
        return items

    def batches(self, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """One epoch; ``batch_size`` is capped (:data:`MIN_BATCHES_PER_EPOCH`), not below 32."""
        batch_size = min(batch_size, max(32, -(-len(self.users) // MIN_BATCHES_PER_EPOCH)))
        order = self._rng.permutation(len(self.users))
        for start in range(0, len(order), batch_size):
            chosen = order[start : start + batch_size]
            users = self.users[chosen]
            yield users, self.items[chosen], self.negatives(users)


class RankingModule(Protocol):
    """What the loop needs from a model's ``torch.nn.Module``."""

    def pair_scores(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Scores of (user, pos) and (user, neg), and each triple's squared embedding norm."""

    def score_users(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for each user (``len(users) x n_items``)."""


class RankingValidation:
    """NDCG@k of a seeded sample of validation users, their fitted items excluded."""

    def __init__(
        self,
        fit: sp.csr_matrix,
        valid: sp.csr_matrix,
        settings: TrainSettings,
        rng: np.random.Generator,
    ) -> None:
        users = np.flatnonzero(np.diff(valid.indptr) > 0)
        if len(users) > settings.max_validation_users:
            users = np.sort(rng.choice(users, settings.max_validation_users, replace=False))
        self.users = torch.from_numpy(users.astype(np.int64))
        self.seen = torch.from_numpy(fit[users].toarray() > 0)
        self.relevant = torch.from_numpy(valid[users].toarray() > 0)
        self.k = min(settings.validation_k, fit.shape[1])
        self.discounts = 1.0 / torch.log2(torch.arange(2, self.k + 2, dtype=torch.float64))
        n_relevant = self.relevant.sum(dim=1).clamp(max=self.k)
        self.ideal = torch.cumsum(self.discounts, 0)[n_relevant - 1]

    def __len__(self) -> int:
        return len(self.users)

    @torch.no_grad()
    def ndcg(self, score_users: Callable[[torch.Tensor], torch.Tensor], chunk: int = 256) -> float:
        total = 0.0
        for start in range(0, len(self.users), chunk):
            part = slice(start, start + chunk)
            scores = score_users(self.users[part]).to(torch.float64)
            scores = scores.masked_fill(self.seen[part], -math.inf)
            top = torch.topk(scores, self.k, dim=1).indices
            hits = self.relevant[part].gather(1, top).to(torch.float64)
            total += float(((hits @ self.discounts) / self.ideal[part]).sum())
        return total / max(len(self.users), 1)


def resolve_threads(requested: int) -> int:
    """``requested``, or for 0 ``OMP_NUM_THREADS`` when set, else 1 (see ``TrainSettings``)."""
    if requested > 0:
        return requested
    env = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(env) if env.isdigit() and int(env) > 0 else 1


@contextlib.contextmanager
def torch_session(settings: TrainSettings) -> Iterator[np.random.Generator]:
    """Fix threads and seeds for one fit and put the process's torch state back afterwards."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    try:
        torch.set_num_threads(resolve_threads(settings.num_threads))
        torch.use_deterministic_algorithms(True, warn_only=True)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(settings.random_state)
            yield np.random.default_rng(settings.random_state)
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


def bpr_loss(
    module: RankingModule,
    users: torch.Tensor,
    pos: torch.Tensor,
    neg: torch.Tensor,
    regularization: float,
) -> torch.Tensor:
    """Mean of ``-log sigmoid(s_up - s_un) + reg / 2 * |embeddings of the triple|^2``."""
    pos_scores, neg_scores, squared = module.pair_scores(users, pos, neg)
    ranking = -torch.nn.functional.logsigmoid(pos_scores - neg_scores)
    return (ranking + 0.5 * regularization * squared).mean()


def _snapshot(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {key: value.detach().clone() for key, value in module.state_dict().items()}


def _run_epoch(
    module: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    sampler: PairSampler,
    settings: TrainSettings,
    deadline: float,
) -> tuple[float, bool]:
    """One pass over the pairs: (mean loss, whether the deadline cut it short)."""
    module.train()
    loss_sum, n_pairs = 0.0, 0
    for users, pos, neg in sampler.batches(settings.batch_size):
        triple = (torch.from_numpy(a) for a in (users, pos, neg))
        loss = bpr_loss(module, *triple, settings.regularization)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum, n_pairs = loss_sum + float(loss.detach()) * len(users), n_pairs + len(users)
        if time.monotonic() >= deadline:
            return loss_sum / max(n_pairs, 1), True
    return loss_sum / max(n_pairs, 1), False


def train_ranking_model(
    module: torch.nn.Module,
    sampler: PairSampler,
    validation: RankingValidation | None,
    settings: TrainSettings,
    label: str,
) -> TrainReport:
    """Train ``module`` with BPR + Adam; early stopping, budget; the best weights restored.

    Without validation (``validation_fraction=0`` or no user with two items) the last epoch's
    weights are kept. Progress shows as a tqdm bar on a terminal (``disable=None``) and as one
    log line per fit.
    """
    started = time.monotonic()
    deadline = started + settings.time_budget_seconds
    optimizer = torch.optim.Adam(module.parameters(), lr=settings.learning_rate)
    report = TrainReport()
    best_score, best_state, stale = -math.inf, None, 0
    bar = tqdm(range(1, settings.epochs + 1), desc=label, unit="epoch", disable=None, leave=False)
    for epoch in bar:
        loss, out_of_time = _run_epoch(module, optimizer, sampler, settings, deadline)
        report.epochs_run = epoch
        report.train_loss.append(round(loss, 6))
        if validation is not None:
            module.eval()
            score = validation.ndcg(module.score_users)
            report.validation_ndcg.append(round(score, 6))
            if score > best_score:
                best_score, best_state, stale = score, _snapshot(module), 0
                report.best_epoch, report.best_validation_ndcg = epoch, score
            else:
                stale += 1
            bar.set_postfix(loss=report.train_loss[-1], ndcg=round(score, 4))
        else:
            report.best_epoch = epoch
            bar.set_postfix(loss=report.train_loss[-1])
        if out_of_time:
            report.stopped_by = "time_budget"
            break
        if stale >= settings.patience:
            report.stopped_by = "patience"
            break
    bar.close()
    if best_state is not None:
        module.load_state_dict(best_state)
    module.eval()
    report.seconds = round(time.monotonic() - started, 3)
    log.info(
        "%s: %d epoch(s) in %.1f s, stopped by %s, best epoch %d (validation ndcg@%d %s)",
        label, report.epochs_run, report.seconds, report.stopped_by, report.best_epoch,
        settings.validation_k, report.best_validation_ndcg,
    )
    return report


def prepare_training(
    user_items: sp.spmatrix, settings: TrainSettings, rng: np.random.Generator
) -> tuple[sp.csr_matrix, PairSampler, RankingValidation | None]:
    """The fit matrix (validation removed), its pair sampler and the validation set."""
    matrix = positives(user_items)
    fit, valid = carve_validation(matrix, settings.validation_fraction, rng)
    validation = RankingValidation(fit, valid, settings, rng) if valid.nnz else None
    if validation is not None and len(validation) == 0:
        validation = None
    return fit, PairSampler(fit, rng), validation
