"""GRU4Rec's training in torch (imported only inside ``GRU4Rec._fit``; serving is numpy).

As in the papers:

- Session-parallel mini-batches: ``batch_size`` sessions side by side; each step feeds every
  slot's current item and predicts its next one. When a session has no next item its slot takes
  the next session of the epoch (shuffled by the seeded generator) and that slot's hidden state
  is reset to zero; when none are left the batch shrinks, so every event is trained every epoch.
  The hidden state is carried between steps but detached (back-propagation through one step, as
  the original does).
- Output sampling: only the batch's targets and ``n_sample`` extra items (drawn once per step,
  shared by the batch, with probability ``popularity ** sample_alpha``) are scored: a
  ``batch x (batch + n_sample)`` logits matrix whose diagonal holds the targets. A column that
  is the row's own target item elsewhere (another slot with the same target, or a sampled
  duplicate) is masked out rather than counted as a negative.
- Losses: cross-entropy (softmax over the row) or BPR-max:
  ``-log sum_j s_j sigmoid(r_i - r_j) + bpreg * sum_j s_j r_j^2`` with ``s`` the softmax of the
  negatives' scores.
- Optimiser: Adagrad with momentum (the original's). The item tables (input, output weights and
  biases) get sparse gradients and only the rows of the batch are updated, so a step's cost does
  not grow with the catalogue. Adam was not used: its dense moment updates would touch every row
  of a 20k x 300 table every step, and the original's tuned learning rates are Adagrad's.
- Initialisation: the original's uniform (Glorot) ranges, per gate, drawn from the fit's numpy
  generator; biases zero.

Reproducible like :mod:`ml.models.torch_common` (one seeded generator, forked torch RNG, fixed
thread count) and bounded: the budget is checked after every batch, then one last validation;
the best validated weights are restored.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch
from torch import nn

from ml.models.deep_settings import TrainSettings
from ml.models.torch_common import torch_session
from ml.sessions.data import SessionData
from ml.sessions.gru4rec import GRU4RecReport

log = logging.getLogger(__name__)
_VALIDATION_CHUNK = 256


def glorot(rng: np.random.Generator, rows: int, cols: int, blocks: int = 1) -> np.ndarray:
    """A ``(blocks * rows) x cols`` float32 matrix, each block uniform in
    ``+-sqrt(6 / (rows + cols))`` (the original initialises every gate's matrix on its own)."""
    scale = math.sqrt(6.0 / (rows + cols))
    return rng.uniform(-scale, scale, (blocks * rows, cols)).astype(np.float32)


def initial_arrays(rng: np.random.Generator, n_items: int, layers: list[int],
                   embedding: int) -> dict[str, np.ndarray]:
    """The untrained weights in the layout :class:`~ml.sessions.gru4rec.GRU4RecWeights` reads."""
    arrays: dict[str, np.ndarray] = {}
    if embedding:
        arrays["embedding"] = glorot(rng, n_items, embedding)
        below = embedding
    else:  # torch's weight_ih_l0 (3H x n_items) per gate, stored transposed
        arrays["input_table"] = np.ascontiguousarray(glorot(rng, layers[0], n_items, 3).T)
        below = None
    for k, size in enumerate(layers):
        if below is not None:
            arrays[f"w_ih_{k}"] = glorot(rng, size, below, 3)
        arrays[f"b_ih_{k}"] = np.zeros(3 * size, np.float32)
        arrays[f"w_hh_{k}"] = glorot(rng, size, size, 3)
        arrays[f"b_hh_{k}"] = np.zeros(3 * size, np.float32)
        below = size
    arrays["w_out"] = glorot(rng, n_items, layers[-1])
    arrays["b_out"] = np.zeros(n_items, np.float32)
    return arrays


def _table(array: np.ndarray) -> nn.Embedding:
    return nn.Embedding.from_pretrained(torch.from_numpy(np.array(array, np.float32)),
                                        freeze=False, sparse=True)


def _param(array: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.array(array, np.float32)))


class GRU4RecModule(nn.Module):
    """The network on the exported arrays; ``step`` is one event for a batch of sessions."""

    def __init__(self, arrays: dict[str, np.ndarray], dropout_embed: float = 0.0,
                 dropout_hidden: float = 0.0) -> None:
        super().__init__()
        self.one_hot = "embedding" not in arrays
        self.n_layers = sum(1 for key in arrays if key.startswith("w_hh_"))
        self.table = _table(arrays["input_table" if self.one_hot else "embedding"])
        self.w_ih = nn.ParameterDict({str(k): _param(arrays[f"w_ih_{k}"])
                                      for k in range(self.n_layers) if f"w_ih_{k}" in arrays})
        self.b_ih = nn.ParameterList([_param(arrays[f"b_ih_{k}"]) for k in range(self.n_layers)])
        self.w_hh = nn.ParameterList([_param(arrays[f"w_hh_{k}"]) for k in range(self.n_layers)])
        self.b_hh = nn.ParameterList([_param(arrays[f"b_hh_{k}"]) for k in range(self.n_layers)])
        self.w_out = _table(arrays["w_out"])
        self.b_out = _table(np.asarray(arrays["b_out"])[:, None])
        self.sizes = [len(arrays[f"b_hh_{k}"]) // 3 for k in range(self.n_layers)]
        self.drop_embed = nn.Dropout(dropout_embed if not self.one_hot else 0.0)
        self.drop_hidden = nn.Dropout(dropout_hidden)

    def zero_state(self, batch: int) -> list[torch.Tensor]:
        return [torch.zeros(batch, size) for size in self.sizes]

    def step(self, items: torch.Tensor, hidden: list[torch.Tensor]
             ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The top layer's (dropped-out) output and every layer's new hidden state."""
        x = self.drop_embed(self.table(items))
        new = []
        for k in range(self.n_layers):
            gates_x = x @ self.w_ih[str(k)].T if str(k) in self.w_ih else x
            gates_x = gates_x + self.b_ih[k]
            h = hidden[k]
            gates_h = h @ self.w_hh[k].T + self.b_hh[k]
            size = self.sizes[k]
            rz = torch.sigmoid(gates_x[:, :2 * size] + gates_h[:, :2 * size])
            n = torch.tanh(gates_x[:, 2 * size:] + rz[:, :size] * gates_h[:, 2 * size:])
            z = rz[:, size:]
            h = (1.0 - z) * n + z * h
            new.append(h)
            x = self.drop_hidden(h)
        return x, new

    def logits(self, out: torch.Tensor, columns: torch.Tensor) -> torch.Tensor:
        """Scores of the ``columns`` items for each row of ``out``."""
        return out @ self.w_out(columns).T + self.b_out(columns)[:, 0]

    @torch.no_grad()
    def score_sessions(self, sessions: list[np.ndarray]) -> torch.Tensor:
        """Scores of every item after each (non-empty) session: the torch forward in eval mode."""
        lengths = torch.tensor([len(s) for s in sessions])
        padded = torch.zeros(len(sessions), int(lengths.max()), dtype=torch.int64)
        for row, session in enumerate(sessions):
            padded[row, :len(session)] = torch.from_numpy(np.asarray(session, np.int64))
        hidden = self.zero_state(len(sessions))
        out = hidden[-1]
        for t in range(padded.shape[1]):
            live = (t < lengths)[:, None]
            step_out, new = self.step(padded[:, t], hidden)
            hidden = [torch.where(live, h_new, h) for h_new, h in zip(new, hidden)]
            out = torch.where(live, step_out, out)
        return out @ self.w_out.weight.T + self.b_out.weight[:, 0]

    def arrays(self) -> dict[str, np.ndarray]:
        def np_(tensor: torch.Tensor) -> np.ndarray:
            return tensor.detach().numpy().copy()

        out = {("input_table" if self.one_hot else "embedding"): np_(self.table.weight),
               "w_out": np_(self.w_out.weight), "b_out": np_(self.b_out.weight[:, 0])}
        for k in range(self.n_layers):
            if str(k) in self.w_ih:
                out[f"w_ih_{k}"] = np_(self.w_ih[str(k)])
            out[f"b_ih_{k}"], out[f"w_hh_{k}"] = np_(self.b_ih[k]), np_(self.w_hh[k])
            out[f"b_hh_{k}"] = np_(self.b_hh[k])
        return out


class AdagradM(torch.optim.Optimizer):
    """Adagrad with momentum, GRU4Rec's optimiser: ``acc += g^2``,
    ``v = momentum * v - lr * g / sqrt(acc + eps)``, ``w += v``; sparse gradients update only
    their rows (accumulator and velocity included)."""

    def __init__(self, params, lr: float, momentum: float = 0.0, eps: float = 1e-6) -> None:
        super().__init__(params, {"lr": lr, "momentum": momentum, "eps": eps})

    @torch.no_grad()
    def step(self, closure=None) -> None:
        for group in self.param_groups:
            lr, momentum, eps = group["lr"], group["momentum"], group["eps"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if not state:
                    state["acc"] = torch.zeros_like(p)
                    state["velocity"] = torch.zeros_like(p)
                grad = p.grad
                if grad.is_sparse:
                    grad = grad.coalesce()
                    rows, values = grad.indices()[0], grad.values()
                    acc = state["acc"][rows] + values * values
                    state["acc"].index_copy_(0, rows, acc)
                    update = values / (acc + eps).sqrt() * -lr
                    if momentum > 0:
                        update = state["velocity"][rows] * momentum + update
                        state["velocity"].index_copy_(0, rows, update)
                    p.index_add_(0, rows, update)
                else:
                    state["acc"].addcmul_(grad, grad)
                    update = grad / (state["acc"] + eps).sqrt() * -lr
                    if momentum > 0:
                        update = state["velocity"].mul_(momentum).add_(update)
                    p.add_(update)


def batch_loss(logits: torch.Tensor, columns: torch.Tensor, loss: str, bpreg: float
               ) -> torch.Tensor:
    """Mean loss of a ``batch x (batch + n_sample)`` logits matrix, targets on the diagonal."""
    batch = len(logits)
    diagonal = torch.arange(batch)
    clash = columns[None, :] == columns[:batch, None]
    clash[diagonal, diagonal] = False
    if loss == "cross-entropy":
        return nn.functional.cross_entropy(logits.masked_fill(clash, -math.inf), diagonal)
    excluded = clash
    excluded[diagonal, diagonal] = True
    usable = ~excluded.all(dim=1)  # a row needs one negative
    target = logits.diagonal()[usable][:, None]
    logits, excluded = logits[usable], excluded[usable]
    weights = torch.softmax(logits.masked_fill(excluded, -math.inf), dim=1)
    ranking = (weights * torch.sigmoid(target - logits)).sum(dim=1)
    return (-torch.log(ranking + 1e-24) + bpreg * (weights * logits.square()).sum(dim=1)).mean()


class NegativeSampler:
    """``n`` items per step with probability ``count ** alpha`` (items seen in training)."""

    def __init__(self, items: np.ndarray, n_items: int, n: int, alpha: float,
                 rng: np.random.Generator) -> None:
        counts = np.bincount(items, minlength=n_items).astype(np.float64)
        weights = np.where(counts > 0, counts ** alpha, 0.0)
        self.cdf = np.cumsum(weights)
        self.n, self.rng = n, rng

    def draw(self) -> np.ndarray:
        picks = np.searchsorted(self.cdf, self.rng.random(self.n) * self.cdf[-1], side="right")
        return np.minimum(picks, len(self.cdf) - 1).astype(np.int64)


def split_validation(data: SessionData, fraction: float, limit: int, rng: np.random.Generator
                     ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray], np.ndarray]:
    """Training ``(offsets, items)`` without the last event of a seeded share of the sessions
    (of two events or more, at most ``limit``), and those sessions' prefixes and last items."""
    lengths = data.lengths
    eligible = np.flatnonzero(lengths >= 2)
    n_valid = min(int(round(fraction * len(eligible))), limit)
    chosen = np.sort(rng.choice(eligible, n_valid, replace=False)) if n_valid else eligible[:0]
    last = data.offsets[chosen + 1] - 1
    keep = np.ones(data.n_events, dtype=bool)
    keep[last] = False
    new_lengths = lengths.copy()
    new_lengths[chosen] -= 1
    offsets = np.r_[0, np.cumsum(new_lengths)].astype(np.int64)
    prefixes = [data.items[data.offsets[s]:data.offsets[s + 1] - 1] for s in chosen]
    return offsets, data.items[keep].astype(np.int64), prefixes, data.items[last].astype(np.int64)


def validation_mrr(module: GRU4RecModule, prefixes: list[np.ndarray], targets: np.ndarray,
                   k: int) -> float:
    """MRR@k of the held-out last items (rank 1 + the number of items scored strictly higher)."""
    module.eval()
    total = 0.0
    for start in range(0, len(prefixes), _VALIDATION_CHUNK):
        part = slice(start, start + _VALIDATION_CHUNK)
        scores = module.score_sessions(prefixes[part])
        wanted = torch.from_numpy(targets[part])
        target_scores = scores.gather(1, wanted[:, None])
        rank = 1 + (scores > target_scores).sum(dim=1)
        total += float(torch.where(rank <= k, 1.0 / rank, 0.0).sum())
    module.train()
    return total / max(len(prefixes), 1)


def _run_epoch(module: GRU4RecModule, optimizer: torch.optim.Optimizer, offsets: np.ndarray,
               items: np.ndarray, sampler: NegativeSampler, params: dict, deadline: float,
               rng: np.random.Generator) -> tuple[float, int, bool]:
    """One session-parallel pass: (mean loss, events trained, whether the deadline cut it)."""
    order = rng.permutation(np.flatnonzero(np.diff(offsets) >= 2))
    width = min(params["batch_size"], len(order))
    if width == 0:
        return 0.0, 0, False
    if width == 1 and params["n_sample"] == 0:
        raise ValueError("GRU4Rec needs negatives: a batch of one session and n_sample=0")
    position = offsets[order[:width]].copy()
    end = offsets[order[:width] + 1].copy()
    following = width
    hidden = module.zero_state(width)
    loss_sum, steps = 0.0, 0
    while len(position):
        targets = items[position + 1]
        columns = torch.from_numpy(np.concatenate([targets, sampler.draw()]))
        out, hidden = module.step(torch.from_numpy(items[position]), hidden)
        loss = batch_loss(module.logits(out, columns), columns, params["loss"], params["bpreg"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss_sum, steps = loss_sum + float(loss.detach()) * len(position), steps + len(position)
        hidden = [h.detach() for h in hidden]
        if time.monotonic() >= deadline:
            return loss_sum / steps, steps, True
        position += 1
        keep = np.ones(len(position), dtype=bool)
        finished = np.flatnonzero(position + 1 >= end)
        if len(finished):  # each slot takes the next session, from a zero state, while any left
            refill = finished[:len(order) - following]
            sessions = order[following:following + len(refill)]
            following += len(refill)
            position[refill], end[refill] = offsets[sessions], offsets[sessions + 1]
            keep[finished[len(refill):]] = False
            rows = torch.from_numpy(refill)
            hidden = [h.index_fill(0, rows, 0.0) for h in hidden]
        if not keep.all():
            position, end = position[keep], end[keep]
            rows = torch.from_numpy(np.flatnonzero(keep))
            hidden = [h[rows] for h in hidden]
    return loss_sum / max(steps, 1), steps, False


def train_gru4rec(data: SessionData, params: dict) -> tuple[dict[str, np.ndarray], GRU4RecReport]:
    """Train on ``data`` with the model's ``params``; the best weights as numpy arrays."""
    started = time.monotonic()
    deadline = started + params["time_budget_seconds"]
    settings = TrainSettings(num_threads=params["num_threads"],
                             random_state=params["random_state"])
    report = GRU4RecReport()
    with torch_session(settings) as rng:
        offsets, items, prefixes, targets = split_validation(
            data, params["validation_fraction"], params["max_validation_sessions"], rng)
        report.validation_sessions = len(prefixes)
        module = GRU4RecModule(
            initial_arrays(rng, data.n_items, params["layers"], params["embedding"]),
            params["dropout_embed"], params["dropout_hidden"])
        module.train()
        optimizer = AdagradM(module.parameters(), params["learning_rate"], params["momentum"])
        sampler = NegativeSampler(items, data.n_items, params["n_sample"],
                                  params["sample_alpha"], rng)
        best_mrr, best_state, stale = -math.inf, None, 0
        for epoch in range(1, params["epochs"] + 1):
            loss, events, out_of_time = _run_epoch(module, optimizer, offsets, items, sampler,
                                                   params, deadline, rng)
            report.epochs_run, report.events_trained = epoch, report.events_trained + events
            report.train_loss.append(round(loss, 6))
            if not prefixes:
                report.best_epoch = epoch  # no validation: the last weights are kept
            else:
                mrr = validation_mrr(module, prefixes, targets, params["validation_k"])
                report.validation_mrr.append(round(mrr, 6))
                if mrr > best_mrr:
                    best_mrr, stale = mrr, 0
                    best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
                    report.best_epoch, report.best_validation_mrr = epoch, mrr
                else:
                    stale += 1
            if out_of_time:
                report.stopped_by = "time_budget"
                break
            if events == 0:
                break
            if stale >= params["patience"]:
                report.stopped_by = "patience"
                break
        if best_state is not None:
            module.load_state_dict(best_state)
        arrays = module.arrays()
    report.seconds = round(time.monotonic() - started, 3)
    log.info("gru4rec: %d epoch(s), %d events in %.1f s, stopped by %s, best epoch %d "
             "(validation mrr@%d %s)", report.epochs_run, report.events_trained, report.seconds,
             report.stopped_by, report.best_epoch, params["validation_k"],
             report.best_validation_mrr)
    return arrays, report
