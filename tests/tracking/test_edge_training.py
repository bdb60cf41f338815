"""Edge-classifier training: the loss falls, checkpoints every epoch, exact resume, one-line refusals."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models import load_checkpoint
from hepxai.tracking.edge_training import (
    EdgeTrainConfig,
    check_event,
    edge_loss,
    edge_metrics,
    train_edge_classifier,
)

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


def test_training_lowers_the_loss_and_resumes_exactly(events, tmp_path):
    result = train_edge_classifier(events[:4], events[4:], CONFIG, tmp_path / "run", progress=False)
    losses = [record.train_loss for record in result.history]
    assert losses[-1] < losses[0]
    assert load_checkpoint(result.best_path).kind == "edge_classifier"
    short = EdgeTrainConfig(**{**CONFIG.__dict__, "epochs": 2})
    train_edge_classifier(events[:4], events[4:], short, tmp_path / "resumed", progress=False)
    resumed = train_edge_classifier(
        events[:4], events[4:], CONFIG, tmp_path / "resumed", resume=True, progress=False
    )
    assert [r.val_loss for r in resumed.history] == pytest.approx(
        [r.val_loss for r in result.history], rel=1e-6
    )
    with pytest.raises(InputError, match="a run exists here"):
        train_edge_classifier(events[:4], events[4:], CONFIG, tmp_path / "run", progress=False)
    other = EdgeTrainConfig(**{**CONFIG.__dict__, "lr": 1e-2})
    with pytest.raises(InputError, match="cannot resume with lr"):
        train_edge_classifier(events[:4], events[4:], other, tmp_path / "run", resume=True, progress=False)


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
