"""Training the edge classifier: weighted binary cross entropy per edge, one event per step.

The edge task plugs into the one training loop (:func:`hepxai.training.fit`): an event of ~10k hits and
~100k edges is one optimiser step, events in an order drawn from (seed, epoch); every edge is a target,
true edges weighted by ``pos_weight`` in the loss; validation reports the edge ROC AUC and the efficiency
and purity of a score cut. The run folder is the loop's: ``config.yaml`` (the settings as its ``train``
section), ``last.pt`` and ``best.pt`` (lowest validation loss), and a resume continues exactly. Run folders
from before the one loop resume too (their ``train_config`` is read as ``run_config.train``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn import functional
from torch_geometric.data import Batch, Data

from hepxai.errors import InputError
from hepxai.metrics.classification import roc_auc
from hepxai.models.edge_classifier import EdgeClassifier
from hepxai.models.registry import GraphModel
from hepxai.training import Objective, Weighted, fit, validate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EdgeTrainConfig:
    """Settings of an edge-classifier training run.

    Attributes:
        epochs: Passes over the training events.
        lr: Adam learning rate.
        pos_weight: Weight of true edges in the binary cross entropy (fake edges weigh 1).
        hidden: Width of the model's embeddings.
        iterations: Message-passing steps of the model.
        cut: Score cut for the validation edge efficiency and purity.
        patience: Stop after this many epochs without a lower validation loss.
        seed: Seeds the initial weights and the order of events.
    """

    epochs: int = 20
    lr: float = 1e-3
    pos_weight: float = 2.0
    hidden: int = 32
    iterations: int = 6
    cut: float = 0.5
    patience: int = 5
    seed: int = 0


@dataclass(frozen=True)
class EdgeRunConfig:
    """What an edge-classifier run records (``config.yaml``, ``run_config``): the settings as ``train``."""

    train: EdgeTrainConfig = field(default_factory=EdgeTrainConfig)


@dataclass(frozen=True)
class EdgeMetrics:
    """How well scores separate true from fake edges, and what a cut keeps."""

    loss: float  # weighted binary cross entropy per edge
    auc: float  # ROC AUC of the score against the edge truth
    efficiency: float  # true edges kept / true edges
    purity: float  # true edges kept / edges kept


@dataclass(frozen=True)
class EdgeEpoch:
    """What one epoch achieved."""

    epoch: int  # counted from 1
    train_loss: float
    val_loss: float
    val_auc: float
    val_efficiency: float
    val_purity: float
    seconds: float


@dataclass(frozen=True)
class EdgeTrainResult:
    """The outcome of :func:`train_edge_classifier`."""

    history: tuple[EdgeEpoch, ...]
    best_epoch: int
    best_path: Path
    last_path: Path


class EdgeLoss(Objective):
    """Binary cross entropy of every edge, true edges weighted by ``pos_weight``, on the plain forward."""

    def __init__(self, pos_weight: float) -> None:
        super().__init__()
        self.pos_weight = pos_weight

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> torch.Tensor:
        return self.loss(model(batch), batch.y)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``[num_edges]`` losses of ``[num_edges]`` or ``[num_edges, 1]`` logits against the edge truth."""
        weight = torch.tensor(self.pos_weight, dtype=logits.dtype, device=logits.device)
        return functional.binary_cross_entropy_with_logits(
            logits.reshape(-1), target.to(logits.dtype).reshape(-1), pos_weight=weight, reduction="none"
        )

    def logits(self, model: GraphModel, batch: Batch) -> torch.Tensor:
        return model(batch)


@dataclass(frozen=True)
class EdgeTask:
    """Edge-level targets for :func:`hepxai.training.fit`: one event per step, every edge weighing the same
    (``pos_weight`` is the loss's), validated by edge AUC, efficiency and purity at the cut."""

    train_events: Sequence[Data]
    val_events: Sequence[Data]
    settings: EdgeTrainConfig

    @property
    def config(self) -> EdgeRunConfig:
        return EdgeRunConfig(self.settings)

    @property
    def record(self) -> dict[str, Any]:
        return {"train_events": len(self.train_events), "val_events": len(self.val_events)}

    def steps(self, epoch: int) -> list[np.ndarray]:
        order = np.random.default_rng([self.settings.seed, epoch]).permutation(len(self.train_events))
        return [order[number : number + 1] for number in range(len(order))]

    def training_batch(self, index: np.ndarray) -> Weighted:
        event = self.train_events[int(index[0])]
        check_event(event, "training events")
        return event, None

    def end_epoch(self, model: GraphModel, objective: Objective) -> None:
        pass

    def validation_batches(self) -> Iterator[Weighted]:
        for event in self.val_events:
            check_event(event, "validation events")
            yield event, None

    def metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        metrics = _metrics_of_logits(logits, target, self.settings.cut)
        return {"auc": metrics.auc, "efficiency": metrics.efficiency, "purity": metrics.purity}


def edge_loss(logits: torch.Tensor, truth: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Mean binary cross entropy over the edges, true edges weighted by ``pos_weight``.

    Args:
        logits: ``[num_edges]`` or ``[num_edges, 1]``.
        truth: ``[num_edges]`` 1 for a true edge, 0 for a fake one.
    """
    return EdgeLoss(pos_weight).loss(logits, truth).mean()


def edge_metrics(
    scores: np.ndarray, truth: np.ndarray, cut: float, loss: float = float("nan")
) -> EdgeMetrics:
    """Edge AUC and the efficiency and purity of ``scores > cut`` (NaN where undefined).

    Args:
        scores: ``[num_edges]`` probabilities.
        truth: ``[num_edges]`` 1 for true edges.
    """
    truth = np.asarray(truth) > 0.5
    kept = np.asarray(scores) > cut
    auc = roc_auc(scores, truth.astype(np.int64)) if 0 < truth.sum() < len(truth) else float("nan")
    efficiency = (kept & truth).sum() / truth.sum() if truth.any() else float("nan")
    purity = (kept & truth).sum() / kept.sum() if kept.any() else float("nan")
    return EdgeMetrics(loss, auc, float(efficiency), float(purity))


def check_event(event: Data, what: str) -> None:
    """Refuse an event the edge classifier cannot train on or score.

    Raises:
        InputError: no hits, no edges, or no edge truth ``y`` of one value per edge.
    """
    name = f"{what} (event {_event_id(event)})"
    if event.x is None or event.x.shape[0] == 0:
        msg = f"{name}: field 'x': the event has no hits"
        raise InputError(msg)
    if event.edge_index is None or event.edge_index.shape[1] == 0:
        msg = f"{name}: field 'edge_index': the graph has no edges"
        raise InputError(msg)
    y = getattr(event, "y", None)
    if y is None or y.shape[0] != event.edge_index.shape[1]:
        got = None if y is None else tuple(y.shape)
        msg = f"{name}: field 'y': expected one truth value per edge ({event.edge_index.shape[1]}), got {got}"
        raise InputError(msg)


@torch.no_grad()
def edge_logits(model: GraphModel, event: Data) -> torch.Tensor:
    """``[num_edges]`` logits of the model in eval mode."""
    model.eval()
    return model(event).reshape(-1)


def evaluate_edges(
    model: GraphModel, events: Sequence[Data], config: EdgeTrainConfig, *, progress: bool = False
) -> EdgeMetrics:
    """Loss, AUC, efficiency and purity over all edges of ``events`` (what validation measures)."""
    validation = validate(
        model, EdgeLoss(config.pos_weight), ((event, None) for event in events), progress=progress
    )
    return _metrics_of_logits(validation.logits, validation.target, config.cut, validation.loss)


def train_edge_classifier(
    train_events: Sequence[Data],
    val_events: Sequence[Data],
    config: EdgeTrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> EdgeTrainResult:
    """Train an :class:`~hepxai.models.edge_classifier.EdgeClassifier` and write the run folder ``out_dir``.

    Args:
        train_events: Graphs with ``x``, ``edge_index``, ``edge_attr`` and edge truth ``y``; one step each.
            A lazy sequence (events read when indexed) keeps memory flat.
        val_events: Graphs for validation and model selection.
        config: The settings.
        out_dir: The run folder.
        resume: Continue from ``out_dir/last.pt``; the settings must match (``epochs`` may grow).
        progress: Show progress bars.

    Raises:
        InputError: no training or validation events, an event without edges or truth, and everything
            :func:`hepxai.training.fit` refuses (an existing run without ``resume``, a resume with other
            settings, a NaN training or validation loss).
    """
    if len(train_events) == 0 or len(val_events) == 0:
        msg = f"need training and validation events (got {len(train_events)} and {len(val_events)})"
        raise InputError(msg)
    first = train_events[0]
    check_event(first, "training events")
    torch.manual_seed(config.seed)
    edge_attr = getattr(first, "edge_attr", None)
    model = EdgeClassifier(
        num_features=first.x.shape[1],
        edge_features=0 if edge_attr is None else edge_attr.shape[1],
        hidden=config.hidden,
        iterations=config.iterations,
    )
    task = EdgeTask(train_events, val_events, config)
    result = fit(task, model, EdgeLoss(config.pos_weight), out_dir, resume=resume, progress=progress)
    history = tuple(
        EdgeEpoch(
            record.epoch,
            record.train_loss,
            record.val_loss,
            record.val_auc,
            record.val_metrics["efficiency"],
            record.val_metrics["purity"],
            record.seconds,
        )
        for record in result.history
    )
    return EdgeTrainResult(history, result.best_epoch, result.best_path, result.last_path)


def _metrics_of_logits(
    logits: torch.Tensor, truth: torch.Tensor, cut: float, loss: float = float("nan")
) -> EdgeMetrics:
    return edge_metrics(torch.sigmoid(logits.reshape(-1)).numpy(), truth.reshape(-1).numpy(), cut, loss)


def _event_id(event: Data) -> int | str:
    event_id = getattr(event, "event_id", None)
    return "?" if event_id is None else int(torch.as_tensor(event_id).reshape(-1)[0])
