"""Training any model: seeded split, minibatch Adam, early stopping, atomic checkpoints and exact resume.

One loop for every model kind and every kind of labelled graphs (:class:`GraphData`: jets, point clouds);
what is minimised is an :class:`Objective`, graph classification by default.

A run folder holds ``config.yaml`` (the resolved settings and data files), ``last.pt`` (model, optimizer
and loop state after the latest finished epoch) and ``best.pt`` (the model with the lowest validation
loss so far). Every source of randomness is derived from the seed and the epoch number, so resuming from
``last.pt`` gives bit for bit the run that was never interrupted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Protocol

import numpy as np
import torch
from torch import nn
from torch.nn import functional
from torch_geometric.data import Batch
from tqdm.auto import tqdm

from hepxai.config import DataConfig, RunConfig, config_to_dict, write_config
from hepxai.data.inspect import detect_schema
from hepxai.data.jets import Jets, rechunk
from hepxai.data.root_io import STREAM_CHUNK_SIZE, iter_jets, read_jets, resolve_selection, selection_window
from hepxai.data.schema import Schema, load_schema
from hepxai.errors import InputError
from hepxai.evaluation import check_jets, tagger_score
from hepxai.metrics.classification import roc_auc
from hepxai.models.checkpoint import read_checkpoint, save_checkpoint
from hepxai.models.registry import GraphModel, build_model

log = logging.getLogger(__name__)


class GraphData(Protocol):
    """Labelled graphs the loop can split and batch: :class:`~hepxai.data.jets.Jets` or
    :class:`~hepxai.data.graph_list.GraphList`."""

    label: np.ndarray  # [num_graphs] class of each graph

    def __len__(self) -> int: ...

    @property
    def num_features(self) -> int: ...

    def select(self, index: np.ndarray) -> GraphData: ...

    def to_batch(self) -> Batch: ...


class NonFiniteLossError(InputError):
    """The loss became NaN or infinite; the message names the epoch and the batch."""


@dataclass(frozen=True)
class EpochRecord:
    """What one epoch achieved."""

    epoch: int  # counted from 1
    train_loss: float
    val_loss: float
    val_auc: float
    seconds: float


@dataclass(frozen=True)
class TrainResult:
    """The outcome of :func:`train`."""

    history: tuple[EpochRecord, ...]
    best_epoch: int
    stopped_early: bool
    best_path: Path
    last_path: Path

    @property
    def best(self) -> EpochRecord:
        return self.history[self.best_epoch - 1]


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
    """The schema of ``data`` and the config with ``schema: auto`` and ``selection: auto`` resolved."""
    if not data.files:
        msg = "no data files given (--data or data.files in the config)"
        raise InputError(msg)
    for path in data.files:
        if not Path(path).is_file():
            msg = f"{path}: file not found"
            raise InputError(msg)
    schema = detect_schema(data.files[0]) if data.schema == "auto" else load_schema(data.schema)
    selection = resolve_selection(data.selection, schema)
    return schema, replace(
        data, schema=schema.name if data.schema == "auto" else data.schema, selection=selection
    )


def _not_empty(chunks: Iterator[Jets], data: DataConfig) -> Iterator[Jets]:
    empty = True
    for chunk in chunks:
        empty = False
        yield chunk
    if empty:
        source = data.files[0] if len(data.files) == 1 else f"{len(data.files)} files"
        msg = f"{source}: no jet passed the labels and selection"
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
    """What a training run minimises, per graph; its parameters (if any) train together with the model's.

    The default classifies graphs. A method that trains something beside the model (learnable randomness
    injection trains a noise generator with it) subclasses this and adds its loss terms and parameters;
    the loop, checkpoints and resume stay the same. Checkpoints store the objective's ``state_dict``.
    """

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> torch.Tensor:
        """``[num_graphs]`` loss of every graph of ``batch`` (the loop weighs and averages them)."""
        return classification_loss(model.fast_forward(batch), batch.y)

    def logits(self, model: GraphModel, batch: Batch) -> torch.Tensor:
        """The trained model's deterministic prediction (validation, scoring): its fast forward by default.

        A method that changes the input the model sees (rebuilds the graph, weighs messages) predicts
        through the same change without its noise.
        """
        return model.fast_forward(batch)

    def selectable(self, epoch: int) -> bool:
        """Whether epoch ``epoch`` may become ``best.pt``: every epoch by default; a method with a warm-up
        of the bare model selects among the epochs that trained the method itself."""
        return True


class PlainForwardObjective(Objective):
    """Graph classification with the model's plain ``forward`` instead of its fast path."""

    def forward(self, model: GraphModel, batch: Batch, epoch: int) -> torch.Tensor:
        return classification_loss(model(batch), batch.y)


def classification_loss(logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
    """``[num_graphs]`` cross entropy over the output columns, or binary cross entropy for one column."""
    if logits.shape[1] == 1:
        return functional.binary_cross_entropy_with_logits(
            logits[:, 0], label.to(logits.dtype), reduction="none"
        )
    return functional.cross_entropy(logits, label, reduction="none")


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
        config: Settings; ``config.data`` is recorded, not read.
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
        InputError: no or single-class training or validation graphs, a run in ``out_dir`` without
            ``resume``, a resume that does not match,
            or (as :class:`NonFiniteLossError`) a NaN loss; ``last.pt`` then keeps the last good epoch.
    """
    out_dir = Path(out_dir)
    settings = config.train
    torch.manual_seed(settings.seed)
    if model is None:
        model = build_model(config.model.kind, num_features=data.num_features, hidden=config.model.hidden)
    if objective is None:
        objective = Objective() if settings.fused else PlainForwardObjective()
    optimizer = torch.optim.Adam([*model.parameters(), *objective.parameters()], lr=settings.lr)
    if validation is None:
        train_index, val_index = split_indices(len(data), settings.validation_fraction, settings.seed)
        train_data, val_data = data.select(train_index), data.select(val_index)
        weights = _weights(data, settings.reweight_pt)
        train_weights, val_weights = weights[train_index], weights[val_index]
    else:
        train_data, val_data = data, validation
        train_weights = _weights(train_data, settings.reweight_pt)
        val_weights = _weights(val_data, settings.reweight_pt)
    check_jets(data, model, "training data")
    check_jets(train_data, model, "training split")
    check_jets(val_data, model, "validation split")

    history: list[EpochRecord] = []
    best_loss, best_epoch, stale = float("inf"), 0, 0
    last_path, best_path = out_dir / "last.pt", out_dir / "best.pt"
    if not resume and last_path.exists():
        msg = f"{last_path}: a run exists here; pass --resume to continue it or choose another output folder"
        raise InputError(msg)
    if resume:
        state = _resume_state(last_path, config)
        model.load_state_dict(state["state_dict"])
        objective.load_state_dict(state.get("objective", {}))
        optimizer.load_state_dict(state["optimizer"])
        history = [EpochRecord(**record) for record in state["history"]]
        best_loss, best_epoch, stale = state["best_val_loss"], state["best_epoch"], state["stale_epochs"]
        best_loss = state.get("best_score", best_loss)
    write_config(config, out_dir / "config.yaml")

    epochs = range(len(history) + 1, settings.epochs + 1)
    bar = tqdm(
        epochs,
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
        train_loss = _train_epoch(
            model,
            objective,
            optimizer,
            train_data,
            train_weights,
            epoch,
            settings.seed,
            settings.batch_size,
            progress,
        )
        if settings.recompute_batchnorm:
            recompute_batchnorm(model, objective, train_data, batch_size=settings.batch_size)
        logits = torch.from_numpy(predict_logits(model, objective, val_data))
        val_loss = _weighted(
            classification_loss(logits, torch.from_numpy(val_data.label)), torch.from_numpy(val_weights)
        ).item()
        val_auc = roc_auc(tagger_score(logits.numpy()), val_data.label)
        history.append(EpochRecord(epoch, train_loss, val_loss, val_auc, time.perf_counter() - start))
        score = val_loss if settings.select == "loss" else -val_auc
        if not objective.selectable(epoch):
            improved = False
        else:
            improved = score < best_loss
            best_loss, best_epoch, stale = (
                (score, epoch, 0) if improved else (best_loss, best_epoch, stale + 1)
            )
        run = {"run_config": config_to_dict(config), "epoch": epoch, "objective": objective.state_dict()}
        if improved:
            save_checkpoint(best_path, model, **run, val_loss=val_loss, val_auc=val_auc)
        save_checkpoint(
            last_path,
            model,
            **run,
            optimizer=optimizer.state_dict(),
            history=[asdict(record) for record in history],
            best_val_loss=best_loss,
            best_score=best_loss,
            best_epoch=best_epoch,
            stale_epochs=stale,
        )
        bar.set_postfix(val_loss=f"{val_loss:.4f}", val_auc=f"{val_auc:.4f}")
        log.info(
            "epoch %d: train loss %.4f, validation loss %.4f, validation AUC %.4f (%.0f s)%s",
            epoch,
            train_loss,
            val_loss,
            val_auc,
            history[-1].seconds,
            " *" if improved else "",
        )
    bar.close()
    stopped_early = stale >= settings.patience and len(history) < settings.epochs
    if stopped_early:
        log.info("stopped early: no lower validation loss in %d epochs", settings.patience)
    if best_epoch:
        log.info(
            "best epoch %d: validation loss %.4f, AUC %.4f -> %s",
            best_epoch,
            history[best_epoch - 1].val_loss,
            history[best_epoch - 1].val_auc,
            best_path,
        )
    return TrainResult(tuple(history), best_epoch, stopped_early, best_path, last_path)


def predict_logits(
    model: GraphModel, objective: Objective, data: GraphData, *, batch_size: int = 1024
) -> np.ndarray:
    """``[num_graphs, num_classes]`` the objective's deterministic logits, in eval mode, in data order.

    The train/eval modes of model and objective are restored afterwards.
    """
    modes = model.training, objective.training
    model.eval()
    objective.eval()
    logits = []
    with torch.no_grad():
        for batch in _in_order(data, batch_size):
            logits.append(objective.logits(model, batch))
    model.train(modes[0])
    objective.train(modes[1])
    if not logits:
        return np.zeros((0, len(model.classes)), dtype=np.float32)
    return torch.cat(logits).numpy()


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
    with torch.no_grad():
        for batch in _in_order(data, batch_size):
            if batch.num_graphs > 1:  # a graph-level BatchNorm needs two graphs
                objective.logits(model, batch)
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    model.train(modes[0])
    objective.train(modes[1])


def _in_order(data: GraphData, batch_size: int) -> Iterator[Batch]:
    """``data`` in batches of ``batch_size`` graphs, in data order."""
    for start in range(0, len(data), batch_size):
        yield data.select(np.arange(start, min(start + batch_size, len(data)))).to_batch()


def _train_epoch(
    model: GraphModel,
    objective: Objective,
    optimizer: torch.optim.Optimizer,
    data: GraphData,
    weights: np.ndarray,
    epoch: int,
    seed: int,
    batch_size: int,
    progress: bool,
) -> float:
    """One pass over ``data`` in an order drawn from (seed, epoch); returns the mean batch loss."""
    model.train()
    objective.train()
    order = np.random.default_rng([seed, epoch]).permutation(len(data))
    starts = range(0, len(order), batch_size)
    losses = []
    bar = tqdm(starts, desc=f"epoch {epoch}", unit="batch", leave=False, disable=not progress)
    for number, start in enumerate(bar, 1):
        index = order[start : start + batch_size]
        if len(index) < 2:  # BatchNorm needs two graphs for the statistics of graph-level layers
            continue
        batch = data.select(index).to_batch()
        loss = _weighted(objective(model, batch, epoch), torch.from_numpy(weights[index]))
        if not torch.isfinite(loss):
            msg = (
                f"loss is {loss.item()} at epoch {epoch}, batch {number}; stopped, the last good "
                f"checkpoint is kept (try a lower --lr or check the inputs)"
            )
            raise NonFiniteLossError(msg)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if number % 10 == 0:
            bar.set_postfix(loss=f"{np.mean(losses[-10:]):.4f}")
    return float(np.mean(losses))


def _weighted(per_graph: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    weight = weight.to(per_graph)
    return (per_graph * weight).sum() / weight.sum()


def _weights(data: GraphData, reweight_pt: bool) -> np.ndarray:
    if not reweight_pt:
        return np.ones(len(data), dtype=np.float32)
    spectators = getattr(data, "spectators", {})
    if "fj_pt" not in spectators:
        msg = f"reweight_pt needs the spectator 'fj_pt', the data has {list(spectators) or 'none'}"
        raise InputError(msg)
    return pt_weights(spectators["fj_pt"], data.label)


def _resume_state(path: Path, config: RunConfig) -> dict:
    if not path.is_file():
        msg = f"{path}: nothing to resume (no checkpoint of an earlier epoch)"
        raise InputError(msg)
    state = read_checkpoint(path)
    if "optimizer" not in state:
        msg = f"{path}: not a training checkpoint (no optimizer state), cannot resume"
        raise InputError(msg)
    stored, current = state["run_config"], config_to_dict(config)
    stored["train"]["epochs"] = current["train"]["epochs"]  # a finished run may be extended
    stored["model"].setdefault("kind", "interaction_network")  # runs from before model kinds
    stored["train"].setdefault("select", "loss")  # runs from before the selection choice
    stored["train"].setdefault("recompute_batchnorm", False)  # runs from before the option
    for section, values in current.items():
        for key, value in values.items():
            if stored[section].get(key) != value:
                msg = (
                    f"{path}: cannot resume with {section}.{key} = {value!r}, "
                    f"the run was started with {stored[section].get(key)!r}"
                )
                raise InputError(msg)
    return state
