"""Edge-classifier training through the one loop: the loss falls, exact resume (also of run folders from
before it), the best epoch kept, one-line refusals."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models import load_checkpoint
from hepxai.models.checkpoint import read_checkpoint
from hepxai.tracking.edge_training import (
    EdgeTrainConfig,
    check_event,
    edge_loss,
    edge_metrics,
    evaluate_edges,
    train_edge_classifier,
)
from hepxai.training import NonFiniteLossError

from .toys import toy_event

CONFIG = EdgeTrainConfig(epochs=3, lr=3e-3, hidden=16, iterations=2, pos_weight=1.5, seed=1)


@pytest.fixture(scope="module")
def events() -> list[Data]:
    return [toy_event(seed, event_id=seed) for seed in range(6)]


def test_edge_loss_weighs_true_edges():
    logits = torch.tensor([0.0, 0.0])
    # BCE at logit 0 is ln 2 for either label; the true edge weighs 3: (3 ln 2 + ln 2) / 2
    assert edge_loss(logits, torch.tensor([1.0, 0.0]), 3.0).item() == pytest.approx(2 * np.log(2))


def test_edge_metrics_by_hand():
    scores = np.array([0.9, 0.8, 0.3, 0.6, 0.1])
    truth = np.array([1, 1, 1, 0, 0])
    metrics = edge_metrics(scores, truth, 0.5)
    # kept {0, 1, 3}: 2 of 3 true edges, 2 of 3 kept are true; AUC: 5 of 6 (true, fake) pairs ordered
    assert (metrics.efficiency, metrics.purity) == pytest.approx((2 / 3, 2 / 3))
    assert metrics.auc == pytest.approx(5 / 6)


def records(history):
    return [dataclasses.replace(record, seconds=0.0) for record in history]


def state_dicts_equal(first: Path, second: Path) -> bool:
    expected, got = read_checkpoint(first)["state_dict"], read_checkpoint(second)["state_dict"]
    return expected.keys() == got.keys() and all(torch.equal(got[key], expected[key]) for key in expected)


@pytest.fixture(scope="module")
def uninterrupted(events, tmp_path_factory):
    return train_edge_classifier(
        events[:4], events[4:], CONFIG, tmp_path_factory.mktemp("edges") / "run", progress=False
    )


def test_training_lowers_the_loss_and_keeps_the_best_epoch(uninterrupted, events):
    losses = [record.train_loss for record in uninterrupted.history]
    assert losses[-1] < losses[0]
    val_losses = [record.val_loss for record in uninterrupted.history]
    assert uninterrupted.best_epoch == val_losses.index(min(val_losses)) + 1
    model = load_checkpoint(uninterrupted.best_path)
    assert model.kind == "edge_classifier"
    # evaluate_edges measures what validation recorded for the kept epoch.
    best = uninterrupted.history[uninterrupted.best_epoch - 1]
    metrics = evaluate_edges(model, events[4:], CONFIG)
    assert (metrics.loss, metrics.auc, metrics.efficiency, metrics.purity) == (
        best.val_loss,
        best.val_auc,
        best.val_efficiency,
        best.val_purity,
    )
    assert read_checkpoint(uninterrupted.last_path)["train_events"] == 4


def test_a_resumed_run_equals_the_uninterrupted_one_bit_for_bit(uninterrupted, events, tmp_path):
    short = dataclasses.replace(CONFIG, epochs=2)
    train_edge_classifier(events[:4], events[4:], short, tmp_path, progress=False)  # "killed" after epoch 2
    resumed = train_edge_classifier(events[:4], events[4:], CONFIG, tmp_path, resume=True, progress=False)
    assert records(resumed.history) == records(uninterrupted.history)
    assert resumed.best_epoch == uninterrupted.best_epoch
    for name in ("last.pt", "best.pt"):
        assert state_dicts_equal(uninterrupted.last_path.parent / name, tmp_path / name)
    with pytest.raises(InputError, match="a run exists here"):
        train_edge_classifier(events[:4], events[4:], CONFIG, tmp_path, progress=False)
    other = dataclasses.replace(CONFIG, lr=1e-2)
    with pytest.raises(
        InputError, match=r"cannot resume with train\.lr = 0\.01, the run was started with 0\.003"
    ):
        train_edge_classifier(events[:4], events[4:], other, tmp_path, resume=True, progress=False)


def test_a_run_folder_from_before_the_one_loop_resumes(uninterrupted, events, tmp_path):
    short = dataclasses.replace(CONFIG, epochs=2)
    train_edge_classifier(events[:4], events[4:], short, tmp_path, progress=False)
    # The layout the edge loop wrote: flat train_config, its own history fields, best_val_loss.
    state = read_checkpoint(tmp_path / "last.pt")
    state["train_config"] = state.pop("run_config")["train"]
    state["best_val_loss"] = state.pop("best_score")
    del state["objective"]
    state["history"] = [
        {
            key: value
            for key, value in {
                **record,
                "val_efficiency": record["val_metrics"]["efficiency"],
                "val_purity": record["val_metrics"]["purity"],
            }.items()
            if key != "val_metrics"
        }
        for record in state["history"]
    ]
    torch.save(state, tmp_path / "last.pt")
    resumed = train_edge_classifier(events[:4], events[4:], CONFIG, tmp_path, resume=True, progress=False)
    assert records(resumed.history) == records(uninterrupted.history)
    assert state_dicts_equal(uninterrupted.last_path, tmp_path / "last.pt")


def test_a_nan_validation_loss_stops_naming_the_epoch(events, tmp_path):
    poisoned = events[4].clone()
    poisoned.x = poisoned.x.clone()
    poisoned.x[0, 0] = float("nan")
    with pytest.raises(NonFiniteLossError) as error:
        train_edge_classifier(events[:4], [poisoned], CONFIG, tmp_path, progress=False)
    assert str(error.value).startswith("validation loss is nan at epoch 1; stopped")
    assert "\n" not in str(error.value)
    assert not (tmp_path / "last.pt").exists()


def test_events_without_edges_or_truth_are_refused():
    event = toy_event(0, event_id=12)
    empty = event.clone()
    empty.edge_index = torch.zeros((2, 0), dtype=torch.long)
    with pytest.raises(InputError, match=r"event 12\): field 'edge_index': the graph has no edges"):
        check_event(empty, "training events")
    no_truth = event.clone()
    del no_truth.y
    with pytest.raises(InputError, match="field 'y'"):
        check_event(no_truth, "training events")
    with pytest.raises(InputError, match="need training and validation events"):
        train_edge_classifier([event], [], CONFIG, "unused", progress=False)
