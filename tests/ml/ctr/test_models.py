"""The CTR torch modules (CIN, FM, xDeepFM), their numpy scorers, and the training loop."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from ml.ctr.scoring import CtrScorer
from ml.ctr.torch_models import (
    CompressedInteractionNetwork,
    FactorizationMachine,
    XDeepFM,
    build_model,
    cin_reference,
    fm_pairwise,
)
from ml.ctr.training import CtrTrainConfig, model_params, train_ctr_model

FAST = CtrTrainConfig(embed_dim=4, cin_layers=(4, 4), dnn_layers=(8,), epochs=4, threads=1)


@pytest.mark.parametrize("split_half, expected", [(True, 8 + 16), (False, 16 + 16)])
def test_cin_output_shape(split_half, expected):
    cin = CompressedInteractionNetwork(5, 3, layer_sizes=(16, 16), split_half=split_half)
    assert cin.output_dim == expected
    assert cin(torch.randn(7, 5, 3)).shape == (7, expected)
    assert [tuple(w.shape) for w in cin.weights] == [(16, 5, 5), (16, 8 if split_half else 16, 5)]


@pytest.mark.parametrize("split_half", [True, False])
def test_cin_equals_the_papers_outer_product_and_convolution(split_half):
    torch.manual_seed(3)
    cin = CompressedInteractionNetwork(6, 4, layer_sizes=(8, 6, 4), split_half=split_half)
    x0 = torch.randn(5, 6, 4)
    torch.testing.assert_close(cin(x0), cin_reference(cin, x0), rtol=1e-5, atol=1e-6)


def test_cin_layer_by_hand():
    """2 fields, dimension 2, one layer of one map: X^1 = sum_ij W_ij (X^0_i o X^0_j),
    pooled over the dimension."""
    cin = CompressedInteractionNetwork(2, 2, layer_sizes=(1,))
    with torch.no_grad():
        cin.weights[0].copy_(torch.tensor([[[1.0, 2.0], [3.0, 4.0]]]))
    x0 = torch.tensor([[[1.0, 2.0], [3.0, 5.0]]])  # field 0 = (1, 2), field 1 = (3, 5)
    # d=0: 1*1*1 + 2*1*3 + 3*3*1 + 4*3*3 = 1 + 6 + 9 + 36 = 52
    # d=1: 1*2*2 + 2*2*5 + 3*5*2 + 4*5*5 = 4 + 20 + 30 + 100 = 154
    assert cin(x0).tolist() == [[52.0 + 154.0]]
    assert cin_reference(cin, x0).tolist() == [[52.0 + 154.0]]


def test_cin_split_half_feeds_the_first_half_onward():
    cin = CompressedInteractionNetwork(2, 2, layer_sizes=(2, 1), split_half=True)
    with torch.no_grad():
        cin.weights[0].copy_(torch.tensor([[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 1.0]]]))
        cin.weights[1].copy_(torch.tensor([[[1.0, 0.0]]]))
    x0 = torch.tensor([[[1.0, 2.0], [3.0, 5.0]]])
    # layer 1: map 0 = X0_0^2 = (1, 4) feeds layer 2; map 1 = X0_1^2 = (9, 25) -> output 34
    # layer 2: map 0 = (1, 4) o X0_0 = (1, 8) -> output 9
    assert cin(x0).tolist() == [[34.0, 9.0]]


def test_fm_pairwise_equals_the_explicit_double_sum():
    fm = FactorizationMachine(10, 3)
    x = torch.tensor([[0, 4, 7], [1, 2, 9]])
    embedded = fm.embedding[x].detach()
    explicit = torch.zeros(2)
    for f in range(3):
        for g in range(f + 1, 3):
            explicit += (embedded[:, f] * embedded[:, g]).sum(dim=1)
    assert torch.allclose(fm_pairwise(embedded), explicit, atol=1e-7)
    linear = fm.weight[x].sum(dim=1) + fm.bias
    assert torch.allclose(fm(x), linear + explicit, atol=1e-6)


@pytest.mark.parametrize("kind", ["lr", "fm", "xdeepfm"])
def test_numpy_scorer_matches_torch(kind, tmp_path):
    torch.manual_seed(0)
    config = CtrTrainConfig(embed_dim=6, cin_layers=(8, 6), dnn_layers=(16, 8))
    params = model_params(kind, 300, 7, config)
    module = build_model(kind, params)
    with torch.no_grad():  # move away from the (tiny) initial weights
        for parameter in module.parameters():
            parameter.add_(0.3 * torch.randn_like(parameter))
    x = np.random.default_rng(1).integers(0, 300, (64, 7))
    module.eval()
    with torch.no_grad():
        expected = torch.sigmoid(module(torch.from_numpy(x))).numpy()
    scorer = CtrScorer(kind, module.export(), params)
    np.testing.assert_allclose(scorer.predict(x), expected, atol=1e-5)
    scorer.save(tmp_path / "model.npz")
    loaded = CtrScorer.load(tmp_path / "model.npz")
    assert loaded.kind == kind and loaded.params == scorer.params
    np.testing.assert_array_equal(loaded.predict(x), scorer.predict(x))


def test_xdeepfm_without_split_half_or_cin_is_scored_alike():
    for cin_layers, split in (((3, 2), False), ((), True)):
        torch.manual_seed(1)
        module = XDeepFM(50, 4, 3, cin_layers, (5,), split_half=split).eval()
        params = {"n_features": 50, "n_fields": 4, "embed_dim": 3, "cin_layers": list(cin_layers),
                  "dnn_layers": [5], "split_half": split}
        x = np.random.default_rng(2).integers(0, 50, (9, 4))
        with torch.no_grad():
            expected = torch.sigmoid(module(torch.from_numpy(x))).numpy()
        np.testing.assert_allclose(CtrScorer("xdeepfm", module.export(), params).predict(x), expected, atol=1e-6)


def test_scoring_module_never_imports_torch():
    code = "import sys, ml.ctr, ml.ctr.scoring, ml.ctr.compare; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _toy(n: int, seed: int = 0):
    """Encoded rows of 3 fields x 10 values whose label is an XOR of fields 0 and 1."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 10, (n, 3)) + np.array([0, 10, 20])
    logit = 1.5 * np.where((x[:, 0] + x[:, 1]) % 2 == 0, 1.0, -1.0)
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(np.float32)
    return x, y


def test_training_is_deterministic_for_a_seed():
    x, y = _toy(2000)
    runs = [train_ctr_model("xdeepfm", x[:1600], y[:1600], x[1600:], y[1600:], 30, FAST) for _ in range(2)]
    assert runs[0].arrays.keys() == runs[1].arrays.keys()
    for key in runs[0].arrays:
        np.testing.assert_array_equal(runs[0].arrays[key], runs[1].arrays[key])
    assert runs[0].valid_log_loss == runs[1].valid_log_loss
    other = train_ctr_model("xdeepfm", x[:1600], y[:1600], x[1600:], y[1600:], 30,
                            CtrTrainConfig(**{**FAST.__dict__, "seed": 7}))
    assert not np.array_equal(other.arrays["embedding"], runs[0].arrays["embedding"])


def test_early_stopping_restores_the_best_epoch():
    x, y = _toy(1500, seed=1)
    # a tiny training set and a large learning rate: the validation loss turns up quickly
    config = CtrTrainConfig(embed_dim=8, epochs=40, patience=2, learning_rate=0.05, l2=0.0, threads=1)
    trained = train_ctr_model("fm", x[:200], y[:200], x[200:], y[200:], 30, config)
    losses = [row["valid_log_loss"] for row in trained.history]
    assert trained.stopped == "patience" and trained.epochs < 40
    assert trained.best_epoch == int(np.argmin(losses)) + 1 < trained.epochs
    assert trained.valid_log_loss == min(losses)
    p = np.clip(trained.scorer().predict(x[200:]), 1e-7, 1 - 1e-7)
    restored = -np.mean(y[200:] * np.log(p) + (1 - y[200:]) * np.log(1 - p))
    assert restored == pytest.approx(trained.valid_log_loss, abs=1e-4)


def test_time_budget_stops_within_an_epoch_and_keeps_a_usable_model():
    """~10,000 batches of 32 rows make one epoch far longer than the 0.5 s budget (about 5 s
    here), so stopping in the first epoch shows the budget is checked per batch."""
    x, y = _toy(340_000, seed=2)
    config = CtrTrainConfig(epochs=50, batch_size=32, time_budget_seconds=0.5, threads=1)
    trained = train_ctr_model("xdeepfm", x[:320_000], y[:320_000], x[320_000:], y[320_000:], 30, config)
    assert trained.stopped == "time budget" and trained.epochs == 1
    assert trained.seconds < 2.0  # the budget + one batch + one validation
    p = trained.scorer().predict(x[:100])
    assert p.shape == (100,) and np.all((p > 0) & (p < 1))


def test_progress_callback_gets_every_epoch():
    x, y = _toy(600)
    seen = []
    trained = train_ctr_model("lr", x[:500], y[:500], x[500:], y[500:], 30, FAST, progress=seen.append)
    assert [row["epoch"] for row in seen] == list(range(1, trained.epochs + 1))
    assert {"kind", "train_loss", "valid_log_loss", "seconds"} <= set(seen[0])


def test_training_refuses_bad_input():
    x, y = _toy(100)
    with pytest.raises(ValueError, match="unknown CTR model kind"):
        train_ctr_model("gbdt", x, y, None, None, 30, FAST)
    with pytest.raises(ValueError, match="outside"):
        train_ctr_model("lr", x, y, None, None, 20, FAST)
    with pytest.raises(ValueError, match="invalid CTR training config"):
        CtrTrainConfig(epochs=0)
