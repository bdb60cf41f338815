"""Training the edge classifier: weighted binary cross entropy, one event per step, exact resume.

An event of ~10k hits and ~100k edges is one optimiser step, so the loop of :func:`hepxai.training.train`
(minibatches of whole graphs, one label per graph) does not fit; this loop keeps its conventions. A run
folder holds ``config.yaml`` (the settings), ``last.pt`` (model, optimiser and loop state after the latest
finished epoch) and ``best.pt`` (the model with the lowest validation loss so far). The initial weights come
from the seed and the order of events in an epoch from (seed, epoch); the model has no dropout, so resuming
from ``last.pt`` gives the run that was never interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
import yaml
from torch.nn import functional
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.metrics.classification import roc_auc
from hepxai.models.checkpoint import read_checkpoint, save_checkpoint
from hepxai.models.edge_classifier import EdgeClassifier
from hepxai.models.registry import GraphModel
from hepxai.training import NonFiniteLossError

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


def edge_loss(logits: torch.Tensor, truth: torch.Tensor, pos_weight: float) -> torch.Tensor:
    """Mean binary cross entropy over the edges, true edges weighted by ``pos_weight``.

    Args:
        logits: ``[num_edges]`` or ``[num_edges, 1]``.
        truth: ``[num_edges]`` 1 for a true edge, 0 for a fake one.
    """
    weight = torch.tensor(pos_weight, dtype=logits.dtype, device=logits.device)
    return functional.binary_cross_entropy_with_logits(
        logits.reshape(-1), truth.to(logits.dtype).reshape(-1), pos_weight=weight
    )


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
    """Loss, AUC, efficiency and purity over all edges of ``events``."""
    logits, truth, losses = [], [], []
    for event in tqdm(events, desc="validation", unit="event", leave=False, disable=not progress):
        out = edge_logits(model, event)
        losses.append(edge_loss(out, event.y, config.pos_weight).item() * out.shape[0])
        logits.append(out)
        truth.append(event.y.reshape(-1))
    all_logits, all_truth = torch.cat(logits), torch.cat(truth)
    scores = torch.sigmoid(all_logits).numpy()
    return edge_metrics(scores, all_truth.numpy(), config.cut, sum(losses) / all_logits.shape[0])


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
        InputError: no training or validation events, an event without edges or truth, a run in
            ``out_dir`` without ``resume``, a resume with other settings, or (as
            :class:`~hepxai.training.NonFiniteLossError`) a NaN loss.
    """
    if len(train_events) == 0 or len(val_events) == 0:
        msg = f"need training and validation events (got {len(train_events)} and {len(val_events)})"
        raise InputError(msg)
    first = train_events[0]
    check_event(first, "training events")
    out_dir = Path(out_dir)
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if not resume and last_path.exists():
        msg = f"{last_path}: a run exists here; pass --resume to continue it or choose another output folder"
        raise InputError(msg)
    torch.manual_seed(config.seed)
    edge_attr = getattr(first, "edge_attr", None)
    model = EdgeClassifier(
        num_features=first.x.shape[1],
        edge_features=0 if edge_attr is None else edge_attr.shape[1],
        hidden=config.hidden,
        iterations=config.iterations,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[EdgeEpoch] = []
    best_loss, best_epoch, stale = float("inf"), 0, 0
    if resume:
        state = _resume_state(last_path, config)
        model.load_state_dict(state["state_dict"])
        optimizer.load_state_dict(state["optimizer"])
        history = [EdgeEpoch(**record) for record in state["history"]]
        best_loss, best_epoch, stale = state["best_val_loss"], state["best_epoch"], state["stale_epochs"]
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.yaml").write_text(yaml.safe_dump({"train": asdict(config)}, sort_keys=False))
    run = {"train_config": asdict(config), "train_events": len(train_events), "val_events": len(val_events)}

    bar = tqdm(
        range(len(history) + 1, config.epochs + 1),
        desc="training",
        unit="epoch",
        disable=not progress,
        initial=len(history),
        total=config.epochs,
    )
    for epoch in bar:
        if stale >= config.patience:
            log.info("stopped early: no lower validation loss in %d epochs", config.patience)
            break
        start = time.perf_counter()
        train_loss = _train_epoch(model, optimizer, train_events, config, epoch, progress)
        metrics = evaluate_edges(model, val_events, config, progress=progress)
        history.append(
            EdgeEpoch(
                epoch,
                train_loss,
                metrics.loss,
                metrics.auc,
                metrics.efficiency,
                metrics.purity,
                time.perf_counter() - start,
            )
        )
        improved = metrics.loss < best_loss
        best_loss, best_epoch, stale = (
            (metrics.loss, epoch, 0) if improved else (best_loss, best_epoch, stale + 1)
        )
        if improved:
            save_checkpoint(best_path, model, **run, epoch=epoch, val=asdict(metrics))
        save_checkpoint(
            last_path,
            model,
            **run,
            epoch=epoch,
            optimizer=optimizer.state_dict(),
            history=[asdict(record) for record in history],
            best_val_loss=best_loss,
            best_epoch=best_epoch,
            stale_epochs=stale,
        )
        bar.set_postfix(val_loss=f"{metrics.loss:.4f}", val_auc=f"{metrics.auc:.4f}")
        log.info(
            "epoch %d: train loss %.4f, validation loss %.4f, AUC %.5f, efficiency %.4f, purity %.4f "
            "at cut %.2f (%.0f s)%s",
            epoch,
            train_loss,
            metrics.loss,
            metrics.auc,
            metrics.efficiency,
            metrics.purity,
            config.cut,
            history[-1].seconds,
            " *" if improved else "",
        )
    bar.close()
    return EdgeTrainResult(tuple(history), best_epoch, best_path, last_path)


def _train_epoch(
    model: EdgeClassifier,
    optimizer: torch.optim.Optimizer,
    events: Sequence[Data],
    config: EdgeTrainConfig,
    epoch: int,
    progress: bool,
) -> float:
    """One step per event, in an order drawn from (seed, epoch); returns the mean loss."""
    model.train()
    order = np.random.default_rng([config.seed, epoch]).permutation(len(events))
    losses: list[float] = []
    bar = tqdm(order, desc=f"epoch {epoch}", unit="event", leave=False, disable=not progress)
    for number, index in enumerate(bar, 1):
        event = events[int(index)]
        check_event(event, "training events")
        loss = edge_loss(model(event), event.y, config.pos_weight)
        if not torch.isfinite(loss):
            msg = (
                f"loss is {loss.item()} at epoch {epoch}, event {number}; stopped, the last good checkpoint "
                "is kept (try a lower --lr or check the inputs)"
            )
            raise NonFiniteLossError(msg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if number % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.4f}")
    return float(np.mean(losses))


def _resume_state(path: Path, config: EdgeTrainConfig) -> dict:
    if not path.is_file():
        msg = f"{path}: nothing to resume (no checkpoint of an earlier epoch)"
        raise InputError(msg)
    state = read_checkpoint(path)
    if state.get("kind") != EdgeClassifier.kind or "optimizer" not in state:
        msg = (
            f"{path}: not an edge-classifier training checkpoint (kind {state.get('kind')!r}), cannot resume"
        )
        raise InputError(msg)
    stored = state["train_config"]
    for field in fields(config):
        if field.name != "epochs" and stored.get(field.name) != getattr(config, field.name):
            msg = (
                f"{path}: cannot resume with {field.name} = {getattr(config, field.name)!r}, "
                f"the run was started with {stored.get(field.name)!r}"
            )
            raise InputError(msg)
    return state


def _event_id(event: Data) -> int | str:
    event_id = getattr(event, "event_id", None)
    return "?" if event_id is None else int(torch.as_tensor(event_id).reshape(-1)[0])
