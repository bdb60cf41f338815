"""Training the Embedding IN and the hierarchical GNNs through the one training loop.

One event is one optimiser step, in an order drawn from (seed, epoch). The objectives
(:mod:`hepxai.tracking.hgnn_losses`) return one loss per event: the hinge loss on pairs, the bipartite
assignment loss and the fading training wheel. Validation scores fixed pairs of every validation event
(its edges and seeded random pairs, true and false pairs weighing half each): the hinge loss of the
output embedding, or the bipartite model's pair probability of sharing a candidate, and the ROC AUC of
telling true from false pairs by it. The run folder is the loop's (``config.yaml`` with the ``data``,
``model`` and ``train`` sections, ``last.pt`` after every epoch, ``best.pt``); a resume continues bit for
bit, and a resume with other settings, or a checkpoint of another setting or kind, is refused with one line.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.metrics.classification import roc_auc
from hepxai.models.checkpoint import load_checkpoint, read_checkpoint
from hepxai.models.gmpool import CUT_MOMENTUM
from hepxai.models.registry import GraphModel, build_model
from hepxai.tracking.edge_training import check_event
from hepxai.tracking.hgnn_losses import (
    BipartiteObjective,
    EmbeddingObjective,
    PairObjective,
    balancing_weights,
    pair_truth,
    training_pairs,
)
from hepxai.training import Objective, TrainResult, Weighted, fit

log = logging.getLogger(__name__)

HierarchicalKind = Literal["embedding_in", "hgnn_embedding", "hgnn_bipartite"]
KINDS: tuple[str, ...] = ("embedding_in", "hgnn_embedding", "hgnn_bipartite")
BIPARTITE_CHANGES = {"log_odds": 5.0, "assignments": 5, "cut_momentum": CUT_MOMENTUM, "detach_pooling": True}
"""The bipartite settings where they differ from the embedding HGNN's: the authors' ``r``, ``c`` and
running cut (``HGNN_GMM.yaml``, ``Models/HGNN_GMM.py``), and the pooling kept out of the assignment loss
(docs/tracking.md)."""


@dataclass(frozen=True)
class HierarchicalDataConfig:
    """Which graphs the run trains on: the tracking setting's name (a model refuses another setting)."""

    setting: str = ""


@dataclass(frozen=True)
class HierarchicalModelConfig:
    """The model kind and its constructor arguments (``embedding_in`` takes the first four).

    Defaults are the authors' embedding HGNN (``HGNN_GMM.yaml``) except ``latent`` (theirs: 128), chosen
    for 2 CPU cores (docs/tracking.md); :meth:`for_kind` applies their bipartite values.
    """

    kind: HierarchicalKind = "hgnn_embedding"
    latent: int = 32
    embedding_dim: int = 8
    iterations: int = 6
    hierarchical_iterations: int = 8
    log_odds: float = 3.0
    min_size: int = 3
    assignments: int = 8
    super_neighbours: int = 10
    cut_momentum: float = 0.0
    detach_pooling: bool = False

    @classmethod
    def for_kind(cls, kind: str, **changes: Any) -> HierarchicalModelConfig:
        """The defaults of ``kind`` (the authors' bipartite ``r`` and ``c`` for ``hgnn_bipartite``) with
        ``changes`` applied."""
        base = BIPARTITE_CHANGES if kind == "hgnn_bipartite" else {}
        return cls(kind=kind, **{**base, **changes})

    def arguments(self, num_features: int, edge_features: int) -> dict[str, Any]:
        """The model's constructor arguments for hits of ``num_features`` and edges of ``edge_features``."""
        values = {key: value for key, value in dataclasses.asdict(self).items() if key != "kind"}
        if self.kind == "embedding_in":
            values = {key: values[key] for key in ("latent", "embedding_dim", "iterations")}
        return {"num_features": num_features, "edge_features": edge_features, **values}


@dataclass(frozen=True)
class HierarchicalTrainConfig:
    """How the run trains.

    Attributes:
        epochs: Passes over the training events.
        lr: Adam learning rate (the authors': 1e-3).
        margin: The hinge's margin on distances of unit embeddings (the authors' ``train_r``: 1).
        random_pairs_per_hit: Random hit pairs per hit, besides the graph's edges.
        neighbour_pairs_per_hit: The embedding models' hard negatives: each hit's nearest hits in the
            current output embedding within the margin (the authors take up to 100 within ``train_r``;
            10 keeps a step's k-d tree query at about the cost of the forward pass on 2 cores).
        wheel_epochs: Epochs over which the training wheel fades out (the slides: 50; 0: none).
        wheel_floor: The weight below which the bipartite model's training wheel does not fade (the
            authors': 0); it keeps the pooled embedding trained.
        patience: Stop after this many epochs without a better validation score.
        seed: Seeds the initial weights, the event order and the random pairs.
        select: Keep as ``best.pt`` the epoch of the highest validation pair ``auc`` (the default) or the
            lowest ``loss``. The bipartite model's validation loss is the cross entropy of pair
            probabilities: it favours the unconfident first epoch (on pt1_mu200 epoch 1 had the lowest loss,
            1.19, and its candidates found no track), while the AUC measures the ordering a score cut needs.
    """

    epochs: int = 100
    lr: float = 1e-3
    margin: float = 1.0
    random_pairs_per_hit: float = 4.0
    neighbour_pairs_per_hit: int = 10
    wheel_epochs: int = 50
    wheel_floor: float = 0.5
    patience: int = 10
    seed: int = 0
    select: Literal["loss", "auc"] = "auc"


@dataclass(frozen=True)
class HierarchicalRunConfig:
    """What a run records (``config.yaml``, ``run_config``)."""

    data: HierarchicalDataConfig = field(default_factory=HierarchicalDataConfig)
    model: HierarchicalModelConfig = field(default_factory=HierarchicalModelConfig)
    train: HierarchicalTrainConfig = field(default_factory=HierarchicalTrainConfig)


@dataclass(frozen=True)
class PairTask:
    """Events for :func:`hepxai.training.fit`: one per step; validation on fixed, class-balanced pairs."""

    train_events: Sequence[Data]
    val_events: Sequence[Data]
    config: HierarchicalRunConfig

    @property
    def record(self) -> dict[str, Any]:
        return {"train_events": len(self.train_events), "val_events": len(self.val_events)}

    def steps(self, epoch: int) -> list[np.ndarray]:
        order = np.random.default_rng([self.config.train.seed, epoch]).permutation(len(self.train_events))
        return [order[number : number + 1] for number in range(len(order))]

    def training_batch(self, index: np.ndarray) -> Weighted:
        event = self.train_events[int(index[0])]
        check_training_event(event, "training events")
        return event, None

    def end_epoch(self, model: GraphModel, objective: Objective) -> None:
        pass

    def validation_batches(self) -> Iterator[Weighted]:
        for number, event in enumerate(self.val_events):
            check_training_event(event, "validation events")
            yield validation_pairs(event, self.config.train, number)

    def metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        # the embedding objectives' "logits" are distances: smaller means more alike
        sign = 1.0 if self.config.model.kind == "hgnn_bipartite" else -1.0
        truth = (target > 0.5).numpy().astype(np.int64)
        if not 0 < truth.sum() < len(truth):
            return {"auc": float("nan")}
        return {"auc": roc_auc(sign * logits.reshape(-1).numpy(), truth)}


def validation_pairs(event: Data, settings: HierarchicalTrainConfig, number: int) -> Weighted:
    """The event with fixed pairs (``pair_index``: its edges and random pairs drawn from (seed, 0, number)),
    their truth as ``y``, and weights that give true and false pairs half of the event each."""
    rng = np.random.default_rng([settings.seed, 0, number])  # training draws from epochs >= 1
    batch = event.clone()
    batch.pair_index = training_pairs(event, settings.random_pairs_per_hit, rng)
    truth = pair_truth(event.particle_id, batch.pair_index)
    batch.y = truth.float()
    return batch, balancing_weights(truth)


def check_training_event(event: Data, what: str) -> None:
    """Refuse an event without hits, edges or the hits' ``particle_id``.

    Raises:
        InputError: one line naming the event and the field.
    """
    check_event(event, what)
    particle_id = getattr(event, "particle_id", None)
    if particle_id is None or particle_id.shape[0] != event.x.shape[0]:
        msg = f"{what}: field 'particle_id': expected one particle id per hit ({event.x.shape[0]})"
        raise InputError(msg)


def objective_for(config: HierarchicalRunConfig) -> PairObjective:
    """The objective of the run's model kind."""
    settings = config.train
    objective = BipartiteObjective if config.model.kind == "hgnn_bipartite" else EmbeddingObjective
    return objective(
        settings.margin,
        settings.random_pairs_per_hit,
        settings.wheel_epochs,
        settings.seed,
        settings.wheel_floor,
        settings.neighbour_pairs_per_hit,
    )


def train_hierarchical(
    train_events: Sequence[Data],
    val_events: Sequence[Data],
    config: HierarchicalRunConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """Train the model ``config.model`` names through :func:`hepxai.training.fit` into ``out_dir``.

    Args:
        train_events: Hit graphs (``x``, ``edge_index``, ``edge_attr``, ``particle_id``, ``event_id``); a
            lazy sequence keeps memory flat.
        val_events: Hit graphs for validation and model selection.
        config: The settings.
        out_dir: The run folder.
        resume: Continue from ``out_dir/last.pt``; the settings must match (``epochs`` may grow).
        progress: Show progress bars.

    Raises:
        InputError: no events, an event without edges or truth, an unknown kind, and everything
            :func:`hepxai.training.fit` refuses.
    """
    if len(train_events) == 0 or len(val_events) == 0:
        msg = f"need training and validation events (got {len(train_events)} and {len(val_events)})"
        raise InputError(msg)
    if config.model.kind not in KINDS:
        valid = ", ".join(KINDS)
        msg = f"model kind '{config.model.kind}' is not a hierarchical tracking model (valid: {valid})"
        raise InputError(msg)
    first = train_events[0]
    check_training_event(first, "training events")
    torch.manual_seed(config.train.seed)
    edge_attr = getattr(first, "edge_attr", None)
    edge_features = 0 if edge_attr is None else edge_attr.shape[1]
    model = build_model(config.model.kind, **config.model.arguments(first.x.shape[1], edge_features))
    task = PairTask(train_events, val_events, config)
    result = fit(task, model, objective_for(config), out_dir, resume=resume, progress=progress)
    warn_unset_running_cut(model)
    return result


def warn_unset_running_cut(model: torch.nn.Module) -> bool:
    """Warn when a running score cut was never set: no training event's cut lay between its mixture's
    two means (the authors' rule for moving it), so evaluation falls back to each event's own cut and
    the pooling's ``log_odds`` alone sets the granularity. Returns whether it warned."""
    pool = getattr(model, "pool", None)
    if pool is None or pool.cut_momentum <= 0 or not math.isnan(float(pool.running_cut)):
        return False
    log.warning(
        "the running score cut was never set: at log odds r = %g no training event's cut lay between "
        "its two mixture means; tracks use each event's own cut (a smaller r moves the cut inward)",
        pool.log_odds,
    )
    return True


def load_hierarchical(path: str | Path, *, kind: str, setting: str) -> GraphModel:
    """The model of a checkpoint of :func:`train_hierarchical`, refused unless it is a ``kind`` model
    trained on ``setting``.

    Raises:
        InputError: one line: the file is missing or unreadable, holds another kind, or was trained on
            another setting.
    """
    content = read_checkpoint(path)
    stored_kind = content.get("kind")
    if stored_kind != kind:
        msg = f"{path}: holds a '{stored_kind}' model, not '{kind}'"
        raise InputError(msg)
    trained_on = content.get("run_config", {}).get("data", {}).get("setting")
    if trained_on != setting:
        msg = f"{path}: a model trained on setting '{trained_on}', cannot use it on '{setting}'"
        raise InputError(msg)
    return load_checkpoint(path)
