"""The training loop: reproducible, resumable, early stopping, pT reweighting and one-line refusals."""

import dataclasses

import numpy as np
import pytest
import torch

from hepxai.config import config_from_dict
from hepxai.data.graph_list import GraphList
from hepxai.data.jets import Jets
from hepxai.data.pointsets import synthetic_point_clouds
from hepxai.errors import InputError
from hepxai.metrics.classification import roc_auc
from hepxai.models import load_checkpoint
from hepxai.models.checkpoint import read_checkpoint
from hepxai.models.registry import build_model
from hepxai.training import (
    NonFiniteLossError,
    Objective,
    pt_weights,
    recompute_batchnorm,
    split_indices,
    train,
)


def toy_jets(num_jets: int = 400, *, seed: int = 0, num_features: int = 6) -> Jets:
    """Jets of 2-6 tracks whose label is the sign of the mean of feature 0, with a jet pT spectator."""
    rng = np.random.default_rng(seed)
    num_tracks = rng.integers(2, 7, size=num_jets)
    features = rng.standard_normal((num_tracks.sum(), num_features)).astype(np.float32)
    jet = np.repeat(np.arange(num_jets), num_tracks)
    label = (np.bincount(jet, features[:, 0]) > 0).astype(np.int64)
    pt = rng.uniform(300, 600, num_jets).astype(np.float32) + 100 * label
    return Jets(
        features, num_tracks, label, tuple(f"f{i}" for i in range(num_features)), spectators={"fj_pt": pt}
    )


def config(**train):
    return config_from_dict(
        {"model": {"hidden": 16}, "train": {"batch_size": 64, "lr": 1e-3, "patience": 10, **train}}
    )


def records(result):
    return [dataclasses.replace(record, seconds=0.0) for record in result.history]


def test_training_learns_and_writes_the_run_folder(tmp_path):
    result = train(toy_jets(), config(epochs=4), tmp_path, progress=False)
    assert [r.epoch for r in result.history] == [1, 2, 3, 4]
    assert result.history[-1].val_auc > 0.8  # the label is a simple function of one feature
    assert result.history[-1].train_loss < result.history[0].train_loss
    assert {p.name for p in tmp_path.iterdir()} == {"config.yaml", "last.pt", "best.pt"}
    assert load_checkpoint(result.best_path).num_features == 6
    assert read_checkpoint(result.best_path)["epoch"] == result.best_epoch


def test_same_settings_give_identical_runs(tmp_path):
    first = train(toy_jets(), config(epochs=2), tmp_path / "a", progress=False)
    second = train(toy_jets(), config(epochs=2), tmp_path / "b", progress=False)
    assert records(first) == records(second)
    other_seed = train(toy_jets(), config(epochs=2, seed=1), tmp_path / "c", progress=False)
    assert records(other_seed) != records(first)


def test_resume_equals_uninterrupted_run(tmp_path):
    uninterrupted = train(toy_jets(), config(epochs=3), tmp_path / "full", progress=False)
    train(toy_jets(), config(epochs=1), tmp_path / "resumed", progress=False)  # "killed" after epoch 1
    resumed = train(toy_jets(), config(epochs=3), tmp_path / "resumed", resume=True, progress=False)
    assert records(resumed) == records(uninterrupted)
    for name in ("last.pt", "best.pt"):
        expected = read_checkpoint(tmp_path / "full" / name)["state_dict"]
        got = read_checkpoint(tmp_path / "resumed" / name)["state_dict"]
        assert all(torch.equal(got[key], expected[key]) for key in expected)


def test_resume_with_dropout_equals_uninterrupted_run(tmp_path):
    clouds, validation = (
        GraphList.of(synthetic_point_clouds(32, seed=1)),
        GraphList.of(synthetic_point_clouds(8)),
    )
    settings = {"model": {"kind": "dgcnn", "hidden": 8}, "train": {"batch_size": 16, "lr": 1e-3}}

    def run(epochs, folder, **options):
        torch.manual_seed(0)
        model = build_model("dgcnn", num_features=3, hidden=8, num_layers=2, dropout=0.5)
        run_config = config_from_dict({**settings, "train": {**settings["train"], "epochs": epochs}})
        return train(
            clouds, run_config, folder, model=model, validation=validation, progress=False, **options
        )

    uninterrupted = run(2, tmp_path / "full")
    run(1, tmp_path / "resumed")
    assert records(run(2, tmp_path / "resumed", resume=True)) == records(uninterrupted)


def test_overwriting_resuming_nothing_or_other_settings_is_refused(tmp_path):
    with pytest.raises(InputError, match="nothing to resume"):
        train(toy_jets(), config(epochs=2), tmp_path, resume=True, progress=False)
    train(toy_jets(), config(epochs=1), tmp_path, progress=False)
    with pytest.raises(InputError, match=r"last\.pt: a run exists here; pass --resume"):
        train(toy_jets(), config(epochs=1), tmp_path, progress=False)
    with pytest.raises(
        InputError, match=r"cannot resume with train.lr = 0.01, the run was started with 0.001"
    ):
        train(toy_jets(), config(epochs=2, lr=1e-2), tmp_path, resume=True, progress=False)


def test_early_stopping_on_validation_loss(tmp_path):
    # A learning rate this large makes the validation loss stop improving quickly.
    result = train(toy_jets(), config(epochs=30, patience=2, lr=0.5), tmp_path, progress=False)
    assert result.stopped_early
    assert len(result.history) == result.best_epoch + 2
    losses = [r.val_loss for r in result.history]
    assert min(losses[result.best_epoch :]) >= losses[result.best_epoch - 1]


def test_nan_loss_names_epoch_and_batch_and_keeps_last_good_checkpoint(tmp_path):
    jets = toy_jets()
    train(jets, config(epochs=1), tmp_path, progress=False)
    good = read_checkpoint(tmp_path / "last.pt")["state_dict"]
    features = jets.features.copy()
    features[5, 2] = np.nan
    poisoned = dataclasses.replace(jets, features=features)
    with pytest.raises(NonFiniteLossError, match=r"loss is nan at epoch 2, batch \d+; stopped"):
        train(poisoned, config(epochs=2), tmp_path, resume=True, progress=False)
    kept = read_checkpoint(tmp_path / "last.pt")
    assert kept["epoch"] == 1
    assert all(torch.equal(kept["state_dict"][key], good[key]) for key in good)


@pytest.mark.parametrize(
    ("jets", "match"),
    [
        (toy_jets().select(np.zeros(0, dtype=int)), "training data: no jets"),
        (
            toy_jets().select(np.flatnonzero(toy_jets().label == 1)),
            r"training data: only one class \(\d+ H, 0 QCD jets\)",
        ),
        (toy_jets().select(np.arange(3)), "validation split: "),
    ],
)
def test_unusable_training_data_is_refused(tmp_path, jets, match):
    with pytest.raises(InputError, match=match):
        train(jets, config(epochs=1), tmp_path, progress=False)


def test_reweighting_needs_jet_pt(tmp_path):
    jets = dataclasses.replace(toy_jets(), spectators={})
    with pytest.raises(InputError, match="reweight_pt needs the spectator 'fj_pt'"):
        train(jets, config(epochs=1, reweight_pt=True), tmp_path, progress=False)


def test_pt_weights_by_hand():
    # Signal pT 1, 2, 3, 4 -> two bins of equal signal population, edges 1, 2.5, 4: signal fractions 1/2, 1/2.
    # QCD pT 1.5, 1.6, 1.7, 3 (and 10, outside): fractions 3/5, 1/5
    # -> weights (1/2)/(3/5) = 5/6, (1/2)/(1/5) = 5/2.
    # They sum to 3 * 5/6 + 5/2 = 5 = number of QCD jets, so no rescaling; the jet at 10 gets 0.
    pt = np.array([1, 2, 3, 4, 1.5, 1.6, 1.7, 3, 10])
    label = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(
        pt_weights(pt, label, num_bins=2), [1, 1, 1, 1, 5 / 6, 5 / 6, 5 / 6, 5 / 2, 0], rtol=1e-6
    )


def test_pt_weights_make_the_qcd_spectrum_follow_the_signal():
    rng = np.random.default_rng(0)
    label = rng.integers(0, 2, 20_000)
    # QCD flat in 300-700 GeV, signal rising towards 700 GeV.
    pt = np.where(
        label == 1, 300 + 400 * np.sqrt(rng.uniform(size=len(label))), rng.uniform(300, 700, len(label))
    )
    weights = pt_weights(pt, label)
    edges = np.linspace(300, 700, 9)
    signal, _ = np.histogram(pt[label == 1], edges, density=True)
    qcd_before, _ = np.histogram(pt[label == 0], edges, density=True)
    qcd_after, _ = np.histogram(pt[label == 0], edges, weights=weights[label == 0], density=True)
    assert np.abs(qcd_after - signal).max() < 0.1 * np.abs(qcd_before - signal).max()
    assert weights[label == 0].sum() == pytest.approx((label == 0).sum())


def test_split_is_seeded_disjoint_and_complete():
    train_index, val_index = split_indices(100, 0.2, seed=3)
    assert len(val_index) == 20
    assert sorted([*train_index, *val_index]) == list(range(100))
    assert np.array_equal(split_indices(100, 0.2, seed=3)[1], val_index)
    assert not np.array_equal(split_indices(100, 0.2, seed=4)[1], val_index)


def batchnorm_buffers(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {
        name: buffer.clone()
        for name, buffer in model.named_buffers()
        if name.endswith(("running_mean", "running_var"))
    }


def test_recomputed_batchnorm_statistics_are_the_average_over_the_batches_by_hand():
    jets = toy_jets(96)
    model = build_model("interaction_network", num_features=6, hidden=16)
    recompute_batchnorm(model, Objective(), jets, batch_size=32)
    # The input BatchNorm sees the raw features: per batch of 32 jets, their tracks' mean and unbiased
    # variance; the running statistics are the plain average over the three batches.
    first = np.concatenate([[0], np.cumsum(jets.num_tracks)])
    batches = [jets.features[first[start] : first[start + 32]] for start in (0, 32, 64)]
    mean = np.mean([batch.mean(axis=0) for batch in batches], axis=0)
    var = np.mean([batch.var(axis=0, ddof=1) for batch in batches], axis=0)
    np.testing.assert_allclose(model.bn.running_mean.numpy(), mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.bn.running_var.numpy(), var, rtol=1e-5)
    assert model.training  # modes and momentum restored
    assert model.bn.momentum == 0.1


def test_recomputed_statistics_do_not_depend_on_dropout_or_earlier_statistics():
    clouds = GraphList.of(synthetic_point_clouds(24, seed=1))
    model = build_model("dgcnn", num_features=3, hidden=16, num_layers=2, dropout=0.5).eval()
    recompute_batchnorm(model, Objective(), clouds, batch_size=8)
    once = batchnorm_buffers(model)
    with torch.no_grad():
        model.input_norm.running_mean.add_(3.0)
    recompute_batchnorm(model, Objective(), clouds, batch_size=8)
    for name, value in batchnorm_buffers(model).items():
        torch.testing.assert_close(value, once[name], rtol=0, atol=0, msg=name)
    assert not model.training


def test_training_with_recomputed_statistics_follows_the_same_weights(tmp_path):
    jets, validation = toy_jets(256), toy_jets(64, seed=1)
    running = train(jets, config(epochs=2), tmp_path / "running", progress=False, validation=validation)
    recomputed = train(
        jets,
        config(epochs=2, recompute_batchnorm=True),
        tmp_path / "recomputed",
        progress=False,
        validation=validation,
    )
    # Training uses each batch's own statistics: the same losses; only validation changes.
    assert [r.train_loss for r in recomputed.history] == [r.train_loss for r in running.history]
    model = load_checkpoint(recomputed.last_path)
    stored = batchnorm_buffers(model)
    recompute_batchnorm(model, Objective(), jets, batch_size=64)
    for name, value in batchnorm_buffers(model).items():
        torch.testing.assert_close(value, stored[name], msg=name)


def test_train_equals_the_loop_written_out(tmp_path):
    """The loop, spelt out: seeded split, minibatch order from (seed, epoch), pT-weighted cross entropy,
    Adam; validation on all held-out jets at once. Same numbers, bit for bit (the split below is one
    batch, the loop's batches of 1024 give the same per-jet losses)."""
    jets, settings = toy_jets(), config(epochs=2, reweight_pt=True)
    result = train(jets, settings, tmp_path, progress=False)

    order = np.random.default_rng([0, 0]).permutation(len(jets))
    num_val = round(0.2 * len(jets))
    train_jets, val_jets = jets.select(np.sort(order[num_val:])), jets.select(np.sort(order[:num_val]))
    weights = pt_weights(jets.spectators["fj_pt"], jets.label)
    train_weights, val_weights = weights[np.sort(order[num_val:])], weights[np.sort(order[:num_val])]
    torch.manual_seed(0)
    model = build_model("interaction_network", num_features=6, hidden=16)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    for epoch, record in enumerate(result.history, 1):
        model.train()
        losses = []
        shuffled = np.random.default_rng([0, epoch]).permutation(len(train_jets))
        for start in range(0, len(shuffled), 64):
            index = shuffled[start : start + 64]
            if len(index) < 2:
                continue
            batch = train_jets.select(index).to_batch()
            per_jet = torch.nn.functional.cross_entropy(model.fast_forward(batch), batch.y, reduction="none")
            weight = torch.from_numpy(train_weights[index])
            loss = (per_jet * weight).sum() / weight.sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            logits = model.fast_forward(val_jets.to_batch())
        per_jet = torch.nn.functional.cross_entropy(
            logits, torch.from_numpy(val_jets.label), reduction="none"
        )
        weight = torch.from_numpy(val_weights)
        assert record.train_loss == np.mean(losses)
        assert record.val_loss == ((per_jet * weight).sum() / weight.sum()).item()
        assert record.val_auc == roc_auc((logits[:, 1] - logits[:, 0]).numpy(), val_jets.label)


def test_the_best_epoch_is_the_lowest_validation_loss_or_the_highest_auc(tmp_path):
    # A learning rate this large makes the validation loss and AUC jump around.
    for select in ("loss", "auc"):
        result = train(toy_jets(), config(epochs=6, lr=0.5, select=select), tmp_path / select, progress=False)
        measure = [r.val_loss if select == "loss" else -r.val_auc for r in result.history]
        assert result.best_epoch == measure.index(min(measure)) + 1
        assert result.best == result.history[result.best_epoch - 1]
        best = read_checkpoint(result.best_path)
        assert (best["epoch"], best["val_loss"]) == (result.best_epoch, result.best.val_loss)


def test_nan_validation_loss_stops_with_one_line_naming_the_epoch(tmp_path):
    validation = toy_jets(64, seed=1)
    features = validation.features.copy()
    features[3, 0] = np.nan
    poisoned = dataclasses.replace(validation, features=features)
    with pytest.raises(NonFiniteLossError) as error:
        train(toy_jets(), config(epochs=2), tmp_path, validation=poisoned, progress=False)
    assert str(error.value).startswith("validation loss is nan at epoch 1; stopped, the last good checkpoint")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "last.pt").exists()
    assert not (tmp_path / "best.pt").exists()
