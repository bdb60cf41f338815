"""Training any model: one loop for graph-, node- and edge-level targets, with exact resume.

:func:`fit` is the loop: Adam over the model's and the objective's parameters, one validation per epoch,
early stopping, atomic checkpoints and resume. What it trains on is a :class:`Task` (how the data is
batched and weighed, what validation measures, what the run records); what it minimises is an
:class:`Objective` (the loss of a batch, the deterministic logits). :func:`train` is the loop on labelled
graphs (:class:`GraphData`: jets, point clouds) with a :class:`GraphTask`; the edge classifier plugs in an
event-per-step task (:mod:`hepxai.tracking.edge_training`).

A run folder holds ``config.yaml`` (the resolved settings), ``last.pt`` (model, objective, optimizer and
loop state after the latest finished epoch) and ``best.pt`` (the model of the best validation epoch so far).
The split and the order of the batches are drawn from the seed and the epoch number, and ``last.pt``
stores the state of torch's generator (dropout), so resuming from ``last.pt`` gives bit for bit the run
that was never interrupted.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from torch_geometric.data import Batch
from tqdm.auto import tqdm

from hepxai import distributed
from hepxai.config import DataConfig, RunConfig, config_to_dict, write_config
from hepxai.data.inspect import detect_schema
from hepxai.data.jets import Jets, rechunk
from hepxai.data.root_io import STREAM_CHUNK_SIZE, iter_jets, read_jets, resolve_selection, selection_window
from hepxai.data.schema import Schema, load_schema
from hepxai.data.stream import JetStream
from hepxai.errors import InputError
from hepxai.evaluation import check_jets, tagger_score
from hepxai.io.lock import lock_folder
from hepxai.metrics.classification import roc_auc
from hepxai.models.checkpoint import read_checkpoint, save_checkpoint
from hepxai.models.registry import GraphModel, build_model

log = logging.getLogger(__name__)

PREDICTION_BATCH = 1024
"""Graphs per batch when validating and scoring (no gradients are kept, so large batches are cheap)."""


class GraphData(Protocol):
    """Labelled graphs the loop can split and batch: :class:`~hepxai.data.jets.Jets` or
    :class:`~hepxai.data.graph_list.GraphList`."""

    label: np.ndarray  # [num_graphs] class of each graph

    def __len__(self) -> int: ...

    @property
    def num_features(self) -> int: ...

    def select(self, index: np.ndarray) -> GraphData: ...

    def to_batch(self) -> Batch: ...


Weighted = tuple[Batch, torch.Tensor | None]
"""A batch and the ``[num_targets]`` weight of each of its targets (``None``: all weigh the same)."""


class Task(Protocol):
    """What :func:`fit` trains on: how the data is batched and weighed, what validation measures and what
    the run folder records. The loop owns the rest (optimiser, epochs, early stopping, checkpoints, resume).

    A target is what one row of the model's output is scored against (``batch.y``: a graph's class for
    :class:`GraphTask`, an edge's truth for the edge classifier).
    """

    @property
    def config(self) -> Any:
        """The run's settings, a frozen dataclass of sections (:class:`~hepxai.config.RunConfig`): written
        to ``config.yaml`` and into every checkpoint (``run_config``), matched on resume (where a setting
        the stored run lacks counts at the class's default). Its ``train`` section holds ``epochs``,
        ``lr``, ``patience`` and optionally ``select`` (``loss`` or ``auc``)."""
        ...

    @property
    def record(self) -> dict[str, Any]:
        """Facts about the data stored in every checkpoint besides the config (the edge task: its event
        counts)."""
        ...

    def steps(self, epoch: int) -> Iterable[Any]:
        """What each optimiser step of ``epoch`` trains on (indices of training items, or the items
        themselves for a stream), in an order drawn from (seed, epoch) alone: that makes a resumed run
        equal the uninterrupted one. With several processes, this process's part of every step
        (:class:`~hepxai.distributed.World`), the same number of steps in every process."""
        ...

    def training_batch(self, step: Any) -> Weighted:
        """The training items of one of :meth:`steps` as one batch, with their weights."""
        ...

    def end_epoch(self, model: GraphModel, objective: Objective) -> None:
        """Whatever runs after an epoch's last step, before validation (nothing, or recomputing BatchNorm
        statistics)."""
        ...

    def validation_batches(self) -> Iterable[Weighted]:
        """The validation items, batched in a fixed order, with their weights (with several processes,
        this process's part of them: :func:`validate` gathers the logits)."""
        ...

    def metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        """Validation metrics of all validation ``logits`` against ``target``: ``auc`` (the ROC AUC,
        which ``select: auc`` selects on) and any others the task reports."""
        ...


class NonFiniteLossError(InputError):
    """A training or validation loss became NaN or infinite; the message names the epoch (and the batch)."""


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch achieved."""

    epoch: int  # counted from 1
    train_loss: float
    val_loss: float
    val_auc: float
    seconds: float
    val_metrics: dict[str, float] = field(default_factory=dict)  # the task's other validation metrics

    @classmethod
    def of(cls, record: dict[str, Any]) -> EpochRecord:
        """From a checkpoint's ``history``; an edge-classifier run from before the one loop stored its other
        metrics as ``val_efficiency`` and ``val_purity``, read here as ``val_metrics`` entries."""
        names = {item.name for item in dataclasses.fields(cls)}
        older = {key.removeprefix("val_"): value for key, value in record.items() if key not in names}
        known = {key: value for key, value in record.items() if key in names}
        return cls(**{**known, "val_metrics": {**known.get("val_metrics", {}), **older}})


HISTORY_FIELDS = ("epoch", "train_loss", "val_loss", "val_auc", "seconds")
"""What every epoch of a run's ``history`` must hold to be drawn or read back."""


@dataclass(frozen=True)
class RunHistory:
    """A run's epochs as its ``last.pt`` records them."""

    history: tuple[EpochRecord, ...]
    best_epoch: int  # 0: none selected (or a run from before it was recorded)
    select: str  # what chose the best epoch: "loss" (lowest validation loss) or "auc" (highest AUC)
    kind: str  # the model kind ("" where the checkpoint does not say)


def read_history(path: str | Path) -> RunHistory:
    """The epochs, best epoch and selection rule of the run whose ``last.pt`` is ``path``.

    Raises:
        InputError: one line naming the file and the field: not a checkpoint, no ``history`` (a ``best.pt``
            or a model file), or an epoch without one of :data:`HISTORY_FIELDS`.
    """
    content = read_checkpoint(path)
    records = content.get("history")
    if not isinstance(records, list) or not records:
        msg = f"{path}: field 'history' is missing or empty: expected a run's last.pt"
        raise InputError(msg)
    for number, record in enumerate(records):
        missing = [name for name in HISTORY_FIELDS if not isinstance(record, dict) or name not in record]
        if missing:
            msg = f"{path}: field 'history[{number}]' has no {', '.join(missing)}"
            raise InputError(msg)
    train = content.get("run_config", {}).get("train", {})
    select = train.get("select", "loss") if isinstance(train, dict) else "loss"
    return RunHistory(
        tuple(EpochRecord.of(record) for record in records),
        int(content.get("best_epoch", 0)),
        str(select),
        str(content.get("kind", "")),
    )


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`fit`."""

    history: tuple[EpochRecord, ...]
    best_epoch: int  # 0 where no epoch could be selected (all in an objective's warm-up)
    stopped_early: bool
    best_path: Path
    last_path: Path

    @property
    def best(self) -> EpochRecord | None:
        """The record of ``best_epoch``, ``None`` where there is none."""
        return self.history[self.best_epoch - 1] if self.best_epoch else None


@dataclass(frozen=True)
class Validation:
    """The objective's deterministic prediction over validation data."""

    loss: float  # weighted mean loss per target
    logits: torch.Tensor  # [num_targets, num_outputs]
    target: torch.Tensor  # [num_targets] batch.y of every batch


def read_data(data: DataConfig, *, progress: bool = True) -> tuple[Jets, DataConfig]:
    """Read the jets ``data`` names, resolving ``schema: auto`` and ``selection: auto``.

    Returns:
        The jets and the config with the schema and selection actually used.
    """
    schema, resolved = resolve_data(data)
    window = selection_window(resolved.selection)
    jets = read_jets(list(data.files), schema, selection=window, max_jets=data.max_jets, progress=progress)
    return jets, resolved


def stream_data(
    data: DataConfig, *, chunk_size: int = STREAM_CHUNK_SIZE, progress: bool = True
) -> tuple[Iterator[Jets], DataConfig]:
    """The jets ``data`` names as a stream of chunks of ``chunk_size`` jets (:func:`read_data` in pieces).

    Raises:
        InputError: a file is missing or malformed; when iterated, no jet passes the labels and selection.
    """
    schema, resolved = resolve_data(data)
    chunks = iter_jets(
        list(data.files),
        schema,
        selection=selection_window(resolved.selection),
        chunk_size=chunk_size,
        progress=progress,
    )
    return _not_empty(rechunk(chunks, chunk_size, max_jets=data.max_jets), data), resolved


def resolve_data(data: DataConfig) -> tuple[Schema, DataConfig]:
    """The schema of ``data`` (restricted to ``data.features``) and the config with ``schema: auto`` and
    ``selection: auto`` resolved."""
    if not data.files:
        msg = "no data files given (--data or data.files in the config)"
        raise InputError(msg)
    for path in data.files:
        if not Path(path).is_file():
            msg = f"{path}: file not found"
            raise InputError(msg)
    schema = detect_schema(data.files[0]) if data.schema == "auto" else load_schema(data.schema)
    schema = schema.subset(data.features)
    selection = resolve_selection(data.selection, schema)
    return schema, replace(
        data, schema=schema.name if data.schema == "auto" else data.schema, selection=selection
    )


def _not_empty(chunks: Iterable[Jets], data: DataConfig, what: str = "") -> Iterator[Jets]:
    empty = True
    for chunk in chunks:
        empty = False
        yield chunk
    if empty:
        source = data.files[0] if len(data.files) == 1 else f"{len(data.files)} files"
        msg = f"{source}: no {what}jet passed the labels and selection"
        raise InputError(msg)


def split_indices(num_jets: int, validation_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split into ``[num_train]`` training and ``[num_val]`` validation jet indices."""
    order = np.random.default_rng([seed, 0]).permutation(num_jets)
    num_val = round(num_jets * validation_fraction)
    return np.sort(order[num_val:]), np.sort(order[:num_val])


def pt_weights(pt: np.ndarray, label: np.ndarray, *, num_bins: int = 40) -> np.ndarray:
    """``[num_jets]`` weights making the QCD pT spectrum follow the signal's; signal jets weigh 1.

    QCD jets get ``signal fraction / QCD fraction`` of their pT bin (bins of equal signal population),
    scaled so the QCD weights sum to the number of QCD jets. QCD jets outside the signal's pT range weigh 0.
    """
    is_signal = label == 1
    edges = np.unique(np.quantile(pt[is_signal], np.linspace(0, 1, num_bins + 1)))
    signal_counts, _ = np.histogram(pt[is_signal], edges)
    qcd_counts, _ = np.histogram(pt[~is_signal], edges)
    ratio = np.divide(
        signal_counts / is_signal.sum(),
        qcd_counts / max((~is_signal).sum(), 1),
        out=np.zeros(len(qcd_counts)),
        where=qcd_counts > 0,
    )
    in_range = (pt >= edges[0]) & (pt <= edges[-1])
    bin_index = np.clip(np.searchsorted(edges, pt, side="right") - 1, 0, len(ratio) - 1)
    weights = np.where(is_signal, 1.0, np.where(in_range, ratio[bin_index], 0.0))
    qcd_total = weights[~is_signal].sum()
    if qcd_total > 0:
        weights[~is_signal] *= (~is_signal).sum() / qcd_total
    return weights.astype(np.float32)


class Objective(nn.Module):
    """What a training run minimises, per target; its parameters (if any) train together with the model's.

    The default classifies graphs. A method that trains something beside the model (learnable randomness
    injection trains a noise generator with it) or adds a loss term that changes over the epochs
    subclasses this; the loop, checkpoints and resume stay the same. Checkpoints store the objective's
    ``state_dict``.
    """

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> torch.Tensor:
        """``[num_targets]`` training loss of each target of ``batch`` (the loop weighs and averages them)."""
        return self.loss(model.fast_forward(batch), batch.y)

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """``[num_targets]`` loss of the deterministic ``logits`` (validation): classification by default."""
        return classification_loss(logits, target)

    def logits(self, model: GraphModel, batch: Batch) -> torch.Tensor:
        """The trained model's deterministic prediction (validation, scoring): its fast forward by default.

        A method that changes the input the model sees (rebuilds the graph, weighs messages) predicts
        through the same change without its noise.
        """
        return model.fast_forward(batch)

    def parameter_groups(self, model: GraphModel) -> list[dict[str, Any]]:
        """What the optimiser trains: the model's and the objective's parameters at the run's learning rate
        (a method may give the model another rate in a group of its own)."""
        return [{"params": [*model.parameters(), *self.parameters()]}]

    def selectable(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` may become ``best.pt``: every epoch by default; a method with a warm-up
        of the bare model selects among the epochs that trained the method itself."""
        return True


class PlainForwardObjective(Objective):
    """Graph classification with the model's plain ``forward`` instead of its fast path."""

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> torch.Tensor:
        return self.loss(model(batch), batch.y)


def classification_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """``[num_graphs]`` cross entropy over the output columns, or binary cross entropy for one column."""
    if logits.shape[1] == 1:
        return functional.binary_cross_entropy_with_logits(
            logits[:, 0], label.to(logits.dtype), reduction="none"
        )
    return functional.cross_entropy(logits, label, reduction="none")


@dataclass(frozen=True)
class GraphTask:
    """Graph-level targets (jets, point clouds): minibatches of ``batch_size`` whole graphs, each graph
    weighed (pT reweighting), validated by the ROC AUC of the tagger score."""

    config: RunConfig
    train_data: GraphData
    val_data: GraphData
    train_weights: np.ndarray  # [num_train]
    val_weights: np.ndarray  # [num_val]

    @classmethod
    def split(cls, data: GraphData, config: RunConfig, validation: GraphData | None = None) -> GraphTask:
        """``data`` split by ``config.train`` (seeded, ``validation_fraction``), or all of it trains and
        ``validation`` validates.

        Raises:
            InputError: ``reweight_pt`` without the jets' ``fj_pt``.
        """
        settings = config.train
        if validation is None:
            train_index, val_index = split_indices(len(data), settings.validation_fraction, settings.seed)
            weights = _weights(data, settings.reweight_pt)
            return cls(
                config,
                data.select(train_index),
                data.select(val_index),
                weights[train_index],
                weights[val_index],
            )
        return cls(
            config,
            data,
            validation,
            _weights(data, settings.reweight_pt),
            _weights(validation, settings.reweight_pt),
        )

    @property
    def record(self) -> dict[str, Any]:
        return {}

    def steps(self, epoch: int) -> list[np.ndarray]:
        """Minibatches in an order drawn from (seed, epoch); a last one of a single graph is left out, since
        BatchNorm needs two graphs for the statistics of graph-level layers (with several processes, one
        that cannot give each process a graph). With several processes, this process's part of each."""
        world = distributed.world()
        batch_size = self.config.train.batch_size
        order = np.random.default_rng([self.config.train.seed, epoch]).permutation(len(self.train_data))
        chunks = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
        return [world.shard(index) for index in chunks if len(index) >= max(2, world.size)]

    def training_batch(self, index: np.ndarray) -> Weighted:
        return self.train_data.select(index).to_batch(), torch.from_numpy(self.train_weights[index])

    def end_epoch(self, model: GraphModel, objective: Objective) -> None:
        if self.config.train.recompute_batchnorm:
            recompute_batchnorm(model, objective, self.train_data, batch_size=self.config.train.batch_size)

    def validation_batches(self) -> Iterator[Weighted]:
        mine = distributed.world().shard(np.arange(len(self.val_data)))
        for start in range(0, len(mine), PREDICTION_BATCH):
            index = mine[start : start + PREDICTION_BATCH]
            yield self.val_data.select(index).to_batch(), torch.from_numpy(self.val_weights[index])

    def metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return _tagger_metrics(logits, target)


@dataclass(frozen=True)
class StreamTask:
    """Graph-level targets streamed from ROOT files (:class:`~hepxai.data.stream.JetStream`): shuffled
    minibatches through a buffer, validation jets read again at every epoch; memory is set by
    ``train.shuffle_buffer``, not by the number of jets. Every jet weighs 1."""

    config: RunConfig
    stream: JetStream

    @property
    def record(self) -> dict[str, Any]:
        return {}

    def steps(self, epoch: int) -> Iterator[Jets]:
        world = distributed.world()
        local_batch = len(world.shard(np.arange(self.config.train.batch_size)))
        batches = self.stream.training(epoch, local_batch, rank=world.rank, size=world.size)
        return world.while_all(_not_empty(batches, self.config.data, "training "))

    def training_batch(self, step: Jets) -> Weighted:
        return step.to_batch(), None

    def end_epoch(self, model: GraphModel, objective: Objective) -> None:
        pass

    def validation_batches(self) -> Iterator[Weighted]:
        world = distributed.world()
        for jets in self.stream.validation(PREDICTION_BATCH, rank=world.rank, size=world.size):
            yield jets.to_batch(), None

    def metrics(self, logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
        return _tagger_metrics(logits, target)


def _tagger_metrics(logits: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    return {"auc": roc_auc(tagger_score(logits.numpy()), target.numpy())}


def train(
    data: GraphData,
    config: RunConfig,
    out_dir: str | Path,
    *,
    model: GraphModel | None = None,
    objective: Objective | None = None,
    resume: bool = False,
    validation: GraphData | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train a model on labelled graphs (jets or any :class:`GraphData`) and write the run folder ``out_dir``.

    Args:
        data: Labelled graphs; 20% (``config.train.validation_fraction``) are held out for validation.
        config: Settings; ``config.data`` is recorded, not read. A point-cloud run passes a config of its
            own sections with the same ``train`` settings (:mod:`hepxai.lri.run_config`), which fixes
            and leaves unwritten the jet settings it does not use.
        out_dir: The run folder; holds ``config.yaml``, ``last.pt`` and ``best.pt``.
        model: The model to train; by default a new ``config.model.kind`` with the data's feature count.
        objective: The loss; by default graph classification (with the fast forward unless
            ``config.train.fused`` is off).
        resume: Continue from ``out_dir/last.pt``; the settings must match the stored ones
            (``epochs`` may grow).
        validation: Validation graphs of a fixed split (a dataset's own ``valid`` split); then all of
            ``data`` trains and ``validation_fraction`` is not used.
        progress: Show progress bars.

    Raises:
        InputError: no or single-class training or validation graphs, and everything :func:`fit` refuses.
    """
    torch.manual_seed(config.train.seed)
    if model is None:
        model = build_model(config.model.kind, num_features=data.num_features, hidden=config.model.hidden)
    if objective is None:
        objective = Objective() if config.train.fused else PlainForwardObjective()
    task = GraphTask.split(data, config, validation)
    check_jets(data, model, "training data")
    check_jets(task.train_data, model, "training split")
    check_jets(task.val_data, model, "validation split")
    return fit(task, model, objective, out_dir, resume=resume, progress=progress)


def train_files(config: RunConfig, out_dir: str | Path, resume: bool = False, progress: bool = True) -> None:
    """``hepxai train``: the jets of ``config.data`` read into memory (:func:`train`), or streamed with
    ``train.stream`` (:func:`train_stream`). One process of a data-parallel run calls it as any other
    (:func:`hepxai.distributed.launch`)."""
    if config.train.stream:
        train_stream(config, out_dir, resume=resume, progress=progress)
        return
    jets, data = read_data(config.data, progress=progress and distributed.world().is_main)
    log.info(
        "read %d jets (%d H, %d QCD) from %d file(s)",
        len(jets),
        int(jets.label.sum()),
        int(len(jets) - jets.label.sum()),
        len(data.files),
    )
    train(jets, replace(config, data=data), out_dir, resume=resume, progress=progress)


def train_stream(
    config: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True
) -> TrainResult:
    """Train on the jets of ``config.data`` streamed through a shuffle buffer of ``train.shuffle_buffer``
    jets (:class:`StreamTask`), so memory does not grow with the number of jets.

    Raises:
        InputError: settings that need all jets at once (``max_jets``, ``reweight_pt``,
            ``recompute_batchnorm``), and everything :func:`fit` refuses.
    """
    settings = config.train
    for refused, name in (
        (config.data.max_jets is not None, "data.max_jets (--max-jets)"),
        (settings.reweight_pt, "train.reweight_pt (--reweight-pt)"),
        (settings.recompute_batchnorm, "train.recompute_batchnorm"),
    ):
        if refused:
            msg = f"{name} needs all jets at once; it is not available with train.stream (--stream)"
            raise InputError(msg)
    schema, data = resolve_data(config.data)
    stream = JetStream(
        data.files,
        schema,
        selection=selection_window(data.selection),
        seed=settings.seed,
        validation_fraction=settings.validation_fraction,
        buffer_size=settings.shuffle_buffer,
    )
    torch.manual_seed(settings.seed)
    model = build_model(config.model.kind, num_features=len(schema.features), hidden=config.model.hidden)
    objective = Objective() if settings.fused else PlainForwardObjective()
    task = StreamTask(replace(config, data=data), stream)
    return fit(task, model, objective, out_dir, resume=resume, progress=progress)


def fit(
    task: Task,
    model: GraphModel,
    objective: Objective,
    out_dir: str | Path,
    *,
    resume: bool = False,
    progress: bool = True,
) -> TrainResult:
    """The training loop: train ``model`` with ``objective`` on ``task`` and write the run folder ``out_dir``.

    After every epoch: validation (the weighted mean ``objective.loss`` of the deterministic logits, and
    the task's metrics), ``best.pt`` when the epoch is the best so far (lowest validation loss, or highest
    AUC with ``select: auc``; among the epochs the objective lets select), ``last.pt`` always. The run
    stops after ``patience`` epochs without a better one.

    Args:
        task: What to train on and what the run records.
        model: The model, with its initial weights (seeded by the caller).
        objective: The loss; its parameters train with the model's.
        out_dir: The run folder.
        resume: Continue from ``out_dir/last.pt``; the settings must match the stored ones
            (``epochs`` may grow).
        progress: Show progress bars.

    Raises:
        InputError: a run in ``out_dir`` without ``resume``, a resume of nothing or that does not match,
            or (as :class:`NonFiniteLossError`) a NaN or infinite training or validation loss; ``last.pt``
            then keeps the last good epoch.
        OutputError: another run holds ``out_dir``, or a checkpoint could not be written (a full disk).
    """
    # a second run into this folder stops at once; of a data-parallel run, the main process writes
    with lock_folder(out_dir) if distributed.world().is_main else nullcontext():
        return _fit(task, model, objective, Path(out_dir), resume=resume, progress=progress)


def _fit(
    task: Task, model: GraphModel, objective: Objective, out_dir: Path, *, resume: bool, progress: bool
) -> TrainResult:
    settings = task.config.train
    select = getattr(settings, "select", "loss")
    world = distributed.world()
    progress = progress and world.is_main
    optimizer = torch.optim.Adam(objective.parameter_groups(model), lr=settings.lr)
    history: list[EpochRecord] = []
    best_score, best_epoch, stale = float("inf"), 0, 0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if not resume and last_path.exists():
        msg = f"{last_path}: a run exists here; pass --resume to continue it or choose another output folder"
        raise InputError(msg)
    if resume:
        state = _resume_state(last_path, task.config, model, world)
        model.load_state_dict(state["state_dict"])
        objective.load_state_dict(state.get("objective", {}))
        optimizer.load_state_dict(state["optimizer"])
        history = [EpochRecord.of(record) for record in state["history"]]
        best_score = state.get("best_score", state.get("best_val_loss"))  # best_val_loss: runs from before
        best_epoch, stale = state["best_epoch"], state["stale_epochs"]
        if "torch_rng_states" in state:  # every process's dropout generator
            torch.set_rng_state(state["torch_rng_states"][world.rank])
        elif "torch_rng_state" in state:  # runs from before it was stored lack it
            torch.set_rng_state(state["torch_rng_state"])
    step = distributed.data_parallel(model, objective)
    if world.is_main:
        write_config(task.config, out_dir / "config.yaml")

    bar = tqdm(
        range(len(history) + 1, settings.epochs + 1),
        desc="training",
        unit="epoch",
        disable=not progress,
        initial=len(history),
        total=settings.epochs,
    )
    for epoch in bar:
        if stale >= settings.patience:
            break
        start = time.perf_counter()
        train_loss = _train_epoch(task, model, objective, step, optimizer, epoch, progress)
        task.end_epoch(model, objective)
        validation = validate(model, objective, task.validation_batches(), progress=progress)
        _check_finite("validation loss", validation.loss, epoch)
        metrics = task.metrics(validation.logits, validation.target)
        val_auc = metrics.pop("auc")
        if select == "auc":
            _check_finite("validation AUC", val_auc, epoch)
        record = EpochRecord(
            epoch, train_loss, validation.loss, val_auc, time.perf_counter() - start, metrics
        )
        history.append(record)
        score = validation.loss if select == "loss" else -val_auc
        improved = objective.selectable(epoch) and score < best_score
        if improved:
            best_score, best_epoch, stale = score, epoch, 0
        elif objective.selectable(epoch):
            stale += 1
        rng_states = world.gather(torch.get_rng_state())
        if not world.is_main:
            continue
        run = {
            "run_config": config_to_dict(task.config),
            **task.record,
            "epoch": epoch,
            "objective": objective.state_dict(),
        }
        if improved:
            save_checkpoint(
                best_path, model, **run, val_loss=record.val_loss, val_auc=val_auc, val_metrics=metrics
            )
        save_checkpoint(
            last_path,
            model,
            **run,
            optimizer=optimizer.state_dict(),
            history=[asdict(record) for record in history],
            best_score=best_score,
            best_epoch=best_epoch,
            stale_epochs=stale,
            torch_rng_state=torch.get_rng_state(),
            **({"torch_rng_states": rng_states, "processes": world.size} if world.size > 1 else {}),
        )
        bar.set_postfix(val_loss=f"{record.val_loss:.4f}", val_auc=f"{val_auc:.4f}")
        log.info("epoch %d: %s (%.0f s)%s", epoch, _summary(record), record.seconds, " *" if improved else "")
    bar.close()
    world.barrier()  # the run folder is complete for every process
    result = TrainResult(
        tuple(history),
        best_epoch,
        stale >= settings.patience and len(history) < settings.epochs,
        best_path,
        last_path,
    )
    if result.stopped_early:
        log.info("stopped early: no better validation %s in %d epochs", select, settings.patience)
    if result.best is not None:
        log.info("best epoch %d: %s -> %s", best_epoch, _summary(result.best), best_path)
    return result


def validate(
    model: GraphModel, objective: Objective, batches: Iterable[Weighted], *, progress: bool = False
) -> Validation:
    """The objective's deterministic logits over ``batches``, in eval mode, and their weighted mean loss.

    The train/eval modes of model and objective are restored afterwards.
    """
    logits, target, weights = [], [], []
    with _evaluating(model, objective), torch.no_grad():
        for batch, weight in tqdm(
            batches, desc="validation", unit="batch", leave=False, disable=not progress
        ):
            logits.append(objective.logits(model, batch))
            target.append(batch.y)
            weights.append(weight)
    parts = distributed.world().gather((logits, target, weights))  # every process's, in rank order
    logits, target, weights = ([tensor for part in parts for tensor in part[item]] for item in range(3))
    if not logits:
        msg = "no validation data (a validation_fraction too small for the data?)"
        raise InputError(msg)
    all_logits, all_target = torch.cat(logits), torch.cat(target)
    weight = None if any(w is None for w in weights) else torch.cat(weights)
    loss = _weighted(objective.loss(all_logits, all_target), weight).item()
    return Validation(loss, all_logits, all_target)


def predict_logits(
    model: GraphModel, objective: Objective, data: GraphData, *, batch_size: int = PREDICTION_BATCH
) -> np.ndarray:
    """``[num_graphs, num_classes]`` the objective's deterministic logits, in eval mode, in data order.

    The train/eval modes of model and objective are restored afterwards.
    """
    if len(data) == 0:
        return np.zeros((0, len(model.classes)), dtype=np.float32)
    with _evaluating(model, objective), torch.no_grad():
        return torch.cat([objective.logits(model, batch) for batch in _in_order(data, batch_size)]).numpy()


def recompute_batchnorm(
    model: GraphModel, objective: Objective, data: GraphData, *, batch_size: int = 128
) -> None:
    """Set the running mean and variance of every BatchNorm of ``model`` to their average over ``data``.

    The forward is the objective's deterministic one (what validation and scoring run) with the model in
    training mode but dropout off, so every BatchNorm sees what it sees in training, with today's weights;
    the average is taken with equal weight per batch (PyTorch's ``momentum=None``). Running averages of
    the last few batches (momentum 0.1) lag weights that change fast: Point Transformer and EGNN on
    ActsTrack lost 0.1–0.3 of their validation AUC to them (docs/lri.md). Modes are restored afterwards.
    """
    norms = [module for module in model.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    modes = model.training, objective.training
    momenta = [norm.momentum for norm in norms]
    model.train()
    objective.eval()
    for module in model.modules():
        if isinstance(module, nn.Dropout):
            module.eval()
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    world = distributed.world()  # with several processes, each its part of every batch
    with torch.no_grad():
        for index in _chunks(len(data), batch_size):
            if len(index) >= max(2, world.size):  # a graph-level BatchNorm needs two graphs
                objective.logits(model, data.select(world.shard(index)).to_batch())
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(modes[0])
    objective.train(modes[1])


def _chunks(length: int, batch_size: int) -> Iterator[np.ndarray]:
    """``range(length)`` in consecutive index arrays of ``batch_size``."""
    for start in range(0, length, batch_size):
        yield np.arange(start, min(start + batch_size, length))


def _in_order(data: GraphData, batch_size: int) -> Iterator[Batch]:
    """``data`` in batches of ``batch_size`` graphs, in data order."""
    for index in _chunks(len(data), batch_size):
        yield data.select(index).to_batch()


@contextmanager
def _evaluating(model: GraphModel, objective: Objective) -> Iterator[None]:
    """Model and objective in eval mode, their modes restored afterwards."""
    modes = model.training, objective.training
    model.eval()
    objective.eval()
    try:
        yield
    finally:
        model.train(modes[0])
        objective.train(modes[1])


def _train_epoch(
    task: Task,
    model: GraphModel,
    objective: Objective,
    step: Callable[[Batch, int], torch.Tensor],
    optimizer: torch.optim.Optimizer,
    epoch: int,
    progress: bool,
) -> float:
    """One optimiser step per step of ``task.steps(epoch)``; ``step(batch, epoch)`` is the objective's
    per-target loss (through DistributedDataParallel with several processes). Returns the mean step loss."""
    model.train()
    objective.train()
    losses = []
    world = distributed.world()
    bar = tqdm(task.steps(epoch), desc=f"epoch {epoch}", unit="batch", leave=False, disable=not progress)
    for number, items in enumerate(bar, 1):
        batch, weight = task.training_batch(items)
        loss, value = _step_loss(step(batch, epoch), weight, world)
        _check_finite("loss", value, epoch, number)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(value)
        if number % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.4f}")
    return float(np.mean(losses))


def _check_finite(what: str, value: float, epoch: int, batch: int | None = None) -> None:
    if not math.isfinite(value):
        where = f"epoch {epoch}" if batch is None else f"epoch {epoch}, batch {batch}"
        msg = (
            f"{what} is {value} at {where}; stopped, the last good checkpoint is kept "
            "(try a lower --lr or check the inputs)"
        )
        raise NonFiniteLossError(msg)


def _summary(record: EpochRecord) -> str:
    metrics = "".join(f", {name} {value:.4f}" for name, value in record.val_metrics.items())
    return (
        f"train loss {record.train_loss:.4f}, validation loss {record.val_loss:.4f}, "
        f"AUC {record.val_auc:.4f}{metrics}"
    )


def _step_loss(
    per_target: torch.Tensor, weight: torch.Tensor | None, world: distributed.World
) -> tuple[torch.Tensor, float]:
    """The loss to differentiate and the step's weighted mean loss over the whole minibatch.

    With several processes each holds part of the minibatch: its loss is its weighted sum divided by
    the weight of all parts, times the number of processes, since DistributedDataParallel averages
    the gradients. The sum over processes is then the gradient of the minibatch's weighted mean loss.
    """
    if world.size == 1:
        loss = _weighted(per_target, weight)
        return loss, loss.item()
    weight = torch.ones_like(per_target) if weight is None else weight.to(per_target)
    local = (per_target * weight).sum()
    total, total_weight = world.sum(torch.stack([local, weight.sum()])).tolist()
    return local * (world.size / total_weight), total / total_weight


def _weighted(per_target: torch.Tensor, weight: torch.Tensor | None) -> torch.Tensor:
    if weight is None:
        return per_target.mean()
    weight = weight.to(per_target)
    return (per_target * weight).sum() / weight.sum()


def _weights(data: GraphData, reweight_pt: bool) -> np.ndarray:
    if not reweight_pt:
        return np.ones(len(data), dtype=np.float32)
    spectators = getattr(data, "spectators", {})
    if "fj_pt" not in spectators:
        msg = f"reweight_pt needs the spectator 'fj_pt', the data has {list(spectators) or 'none'}"
        raise InputError(msg)
    return pt_weights(spectators["fj_pt"], data.label)


def _resume_state(path: Path, config: Any, model: GraphModel, world: distributed.World) -> dict:
    """``last.pt``'s content, refused unless it is a training checkpoint of ``model``'s kind and settings,
    run on as many processes.

    A setting the stored run lacks counts at its default (runs from before the option); ``epochs`` may
    differ (a finished run may be extended).
    """
    if not path.is_file():
        msg = f"{path}: nothing to resume (no checkpoint of an earlier epoch)"
        raise InputError(msg)
    state = read_checkpoint(path)
    if "optimizer" not in state:
        msg = f"{path}: not a training checkpoint (no optimizer state), cannot resume"
        raise InputError(msg)
    if state.get("kind", model.kind) != model.kind:
        msg = f"{path}: a run of a {state['kind']} model, cannot resume it with a {model.kind}"
        raise InputError(msg)
    if state.get("processes", 1) != world.size:
        msg = (
            f"{path}: the run trained on {state.get('processes', 1)} process(es), cannot resume it on "
            f"{world.size} (--nproc {state.get('processes', 1)})"
        )
        raise InputError(msg)
    if "train_config" in state:  # edge-classifier runs from before the one loop
        state["run_config"] = {"train": state.pop("train_config")}
    stored, defaults = state["run_config"], config_to_dict(type(config)())
    for section, values in config_to_dict(config).items():
        for key, value in values.items():
            started = stored.get(section, {}).get(key, defaults[section][key])
            if key != "epochs" and started != value:
                msg = (
                    f"{path}: cannot resume with {section}.{key} = {value!r}, "
                    f"the run was started with {started!r}"
                )
                raise InputError(msg)
    return state
