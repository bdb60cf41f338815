"""Scoring jets with a trained HIN and reporting ROC AUC, background rejection and mass sculpting."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from tqdm.auto import tqdm

from hepxai import baselines
from hepxai.data.jets import Jets, rechunk
from hepxai.data.schema import Schema
from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.io.lock import owns_folder
from hepxai.metrics.classification import (
    background_rejection,
    rejection_interval,
    roc_auc,
    roc_auc_error,
    roc_curve,
    threshold_at_background_efficiency,
)
from hepxai.models.registry import GraphModel
from hepxai.plots.classification import mass_sculpting_figure, roc_figure
from hepxai.plots.style import FIGURE_DPI

log = logging.getLogger(__name__)
_PNG = {"dpi": FIGURE_DPI, "bbox_inches": "tight", "format": "png"}


@torch.no_grad()
def predict(model: GraphModel, jets: Jets, *, batch_size: int = 1024, progress: bool = False) -> np.ndarray:
    """``[num_jets, num_classes]`` logits of ``model`` in eval mode, in the order of ``jets``.

    The model's train/eval mode is restored afterwards.
    """
    was_training = model.training
    model.eval()
    logits = []
    starts = range(0, len(jets), batch_size)
    for start in tqdm(starts, desc="scoring", unit="batch", leave=False, disable=not progress):
        batch = jets.select(np.arange(start, min(start + batch_size, len(jets)))).to_batch()
        logits.append(model.fast_forward(batch))
    model.train(was_training)
    if not logits:
        return np.zeros((0, len(model.classes)), dtype=np.float32)
    return torch.cat(logits).numpy()


def tagger_score(logits: np.ndarray) -> np.ndarray:
    """``[num_graphs]`` the signal score: the logit difference H - QCD for two columns (monotonic in P(H)
    and free of float saturation near 1), the logit itself for one."""
    return logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]


@dataclass(frozen=True)
class Performance:
    """Classification performance of one tagger on one set of jets."""

    tagger: str
    auc: float
    auc_error: float  # bootstrap standard deviation
    rejection_at_30: float  # 1 / QCD efficiency at 30% H efficiency, inf when no QCD jet passes
    rejection_at_30_low: float  # its 68% Clopper–Pearson interval
    rejection_at_30_high: float
    rejection_at_50: float  # 1 / QCD efficiency at 50% H efficiency
    rejection_at_50_low: float
    rejection_at_50_high: float

    @classmethod
    def measure(cls, tagger: str, score: np.ndarray, label: np.ndarray, *, seed: int = 0) -> Performance:
        num_background = int((label != 1).sum())
        rejections = []
        for efficiency in (0.3, 0.5):
            rejection = background_rejection(score, label, efficiency)
            low, high = rejection_interval(np.array([1 / rejection]), num_background)
            rejections += [rejection, float(low[0]), float(high[0])]
        return cls(tagger, roc_auc(score, label), roc_auc_error(score, label, seed=seed), *rejections)


def check_jets(jets: Jets, model: GraphModel, source: str) -> None:
    """Refuse jets the model cannot score or that give no ROC curve.

    Raises:
        InputError: no jets, the feature count differs from the model's, or a class is missing.
    """
    if len(jets) == 0:
        msg = f"{source}: no jets"
        raise InputError(msg)
    check_features(jets, model, source)
    check_classes(jets.label, source)


def check_features(jets: Jets, model: GraphModel, source: str) -> None:
    """Refuse jets whose feature count differs from the model's.

    Raises:
        InputError: naming both counts.
    """
    if jets.num_features != model.num_features:
        msg = (
            f"{source}: the data has {jets.num_features} track features, "
            f"the model expects {model.num_features}"
        )
        raise InputError(msg)


def check_classes(label: np.ndarray, source: str) -> None:
    """Refuse labels of one class only: no ROC curve.

    Raises:
        InputError: counting both classes.
    """
    num_signal = int(label.sum())
    if num_signal in (0, len(label)):
        msg = f"{source}: only one class ({num_signal} H, {len(label) - num_signal} QCD jets)"
        raise InputError(msg)


@owns_folder("out_dir")
def evaluate(
    model: GraphModel,
    jets: Jets | Iterable[Jets] | JetScores,
    out_dir: str | Path,
    *,
    source: str = "data",
    sculpting_qcd_efficiency: float = 0.1,
    with_baselines: bool = True,
    seed: int = 0,
    batch_size: int = 256,
    progress: bool = False,
) -> list[Performance]:
    """Score ``jets`` and write the evaluation to ``out_dir``.

    Writes ``predictions.h5`` (one row per jet: label, logits, score, spectators), ``metrics.yaml``,
    ``roc.png`` and, when the jets carry ``fj_sdmass``, ``mass_sculpting.png`` (soft-drop mass shapes before
    and after the cut keeping ``sculpting_qcd_efficiency`` of the QCD jets).

    Jets are scored ``batch_size`` at a time and only per-jet values are kept, so memory does not grow
    with the number of tracks when ``jets`` is a stream of chunks (:func:`hepxai.training.stream_data`).

    Args:
        model: The tagger.
        jets: Labelled jets with the model's feature count, or chunks of them, or their scores
            (:func:`score_files`).
        out_dir: Output folder, created if needed.
        source: Names the data in error messages.
        sculpting_qcd_efficiency: QCD efficiency of the score cut in the mass-sculpting plot.
        with_baselines: Also measure the soft-drop mass alone and a boosted tree on jet quantities.
        seed: Seeds the boosted tree's folds and the bootstrap of the AUC uncertainty.
        batch_size: Jets scored at once.
        progress: Show a progress bar.

    Returns:
        The HIN's performance first, then the baselines'.
    """
    if isinstance(jets, JetScores):
        table = jets
    else:
        chunks = [jets] if isinstance(jets, Jets) else jets
        table = _score(model, chunks, source, batch_size, with_baselines, progress)
    label, logits, spectators = table.label, table.logits, table.spectators
    check_classes(label, source)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    score = tagger_score(logits)
    scores = {"HIN": score}
    if with_baselines:
        if "fj_sdmass" in spectators:
            scores["soft-drop mass"] = baselines.higgs_mass_score(spectators["fj_sdmass"])
        scores["boosted tree (jet quantities)"] = baselines.tree_score(table.quantities, label, seed=seed)
    results = [Performance.measure(name, values, label, seed=seed) for name, values in scores.items()]

    predictions = pd.DataFrame(
        {"label": label, "logit_QCD": logits[:, 0], "logit_H": logits[:, 1], "score": score, **spectators}
    )
    _atomic(out_dir / "predictions.h5", lambda path: predictions.to_hdf(path, key="predictions", mode="w"))
    metrics = {
        "num_jets": len(label),
        "num_H": int(label.sum()),
        "num_QCD": int(len(label) - label.sum()),
        "taggers": [asdict(r) for r in results],
    }
    _atomic(out_dir / "metrics.yaml", lambda path: path.write_text(yaml.safe_dump(metrics, sort_keys=False)))
    curves = {
        name: (*roc_curve(values, label)[:2], result.auc, result.auc_error)
        for (name, values), result in zip(scores.items(), results, strict=True)
    }
    figure = roc_figure(curves, num_background=metrics["num_QCD"], num_signal=metrics["num_H"])
    _atomic(out_dir / "roc.png", partial(figure.savefig, **_PNG))
    if "fj_sdmass" in spectators:
        threshold = threshold_at_background_efficiency(score, label, sculpting_qcd_efficiency)
        figure = mass_sculpting_figure(
            spectators["fj_sdmass"],
            label,
            score >= threshold,
            cut_label=f"HIN cut, {100 * sculpting_qcd_efficiency:.0f}% QCD eff.",
        )
        _atomic(out_dir / "mass_sculpting.png", partial(figure.savefig, **_PNG))
    for result in results:
        log.info(
            "%-30s AUC %.4f ± %.4f   rejection at 30%% / 50%% H efficiency: %.1f / %.1f",
            result.tagger,
            result.auc,
            result.auc_error,
            result.rejection_at_30,
            result.rejection_at_50,
        )
    return results


@dataclass(frozen=True)
class JetScores:
    """What the evaluation keeps of every jet: no tracks."""

    label: np.ndarray  # [num_jets]
    logits: np.ndarray  # [num_jets, num_classes]
    spectators: dict[str, np.ndarray]  # name -> [num_jets]
    quantities: np.ndarray | None  # [num_jets, num_quantities] inputs of the boosted tree


def _score(
    model: GraphModel,
    chunks: Iterable[Jets],
    source: str,
    batch_size: int,
    with_quantities: bool,
    progress: bool,
    *,
    allow_empty: bool = False,
) -> JetScores:
    """Logits and per-jet values of every jet of ``chunks``, ``batch_size`` jets at a time."""
    labels, logits, quantities = [], [], []
    spectators: dict[str, list[np.ndarray]] = {}
    with tqdm(unit="jet", desc="scoring", leave=False, disable=not progress) as bar:
        for batch in rechunk(chunks, batch_size):
            check_features(batch, model, source)
            labels.append(batch.label)
            logits.append(predict(model, batch, batch_size=batch_size))
            for name, values in batch.spectators.items():
                spectators.setdefault(name, []).append(values)
            if with_quantities:
                quantities.append(baselines.jet_quantities(batch)[0])
            bar.update(len(batch))
    if not labels and not allow_empty:
        msg = f"{source}: no jets"
        raise InputError(msg)
    if not labels:
        return JetScores(
            label=np.zeros(0, dtype=np.int64),
            logits=np.zeros((0, len(model.classes))),
            spectators={},
            quantities=np.zeros((0, 0)) if with_quantities else None,
        )
    return JetScores(
        label=np.concatenate(labels),
        logits=np.concatenate(logits),
        spectators={name: np.concatenate(parts) for name, parts in spectators.items()},
        quantities=np.concatenate(quantities) if with_quantities else None,
    )


@dataclass(frozen=True)
class _ScoreJob:
    schema: Schema
    selection: str
    batch_size: int
    with_quantities: bool


def score_files(
    model: GraphModel,
    paths: Sequence[Path],
    schema: Schema,
    *,
    selection: str,
    max_jets: int | None = None,
    batch_size: int = 256,
    with_quantities: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
) -> JetScores:
    """The scores of the jets of ``paths`` as tasks on the engine (:mod:`hepxai.parallel`): one per entry
    range, the model sent to each worker once, gathered in file order; what :func:`evaluate` takes.

    Args:
        selection: A resolved selection name (:func:`hepxai.data.root_io.resolve_selection`).
        max_jets: Keep the first ``max_jets`` jets.

    Raises:
        InputError: a file is malformed, or no jet passes the labels and the selection.
    """
    from hepxai.data.root_io import num_entries
    from hepxai.parallel import default_part_size, engine, entry_ranges

    entries = [(str(path), num_entries(path, schema)) for path in paths]
    ranges = entry_ranges(entries, default_part_size(sum(total for _, total in entries), workers))
    job = _ScoreJob(schema, selection, batch_size, with_quantities)
    parts: list[JetScores] = []
    num_jets = 0
    with (
        engine(max(1, min(workers, len(ranges))), scheduler) as runner,
        tqdm(unit="jet", desc="scoring", leave=False, disable=not progress) as bar,
    ):
        shared = runner.broadcast(model), runner.broadcast(job)
        for _, part in runner.map(score_range, ranges, *shared, ordered=True):
            if len(part.label):  # a range without a selected jet has no spectator columns
                parts.append(part)
            num_jets += len(part.label)
            bar.update(len(part.label))
            if max_jets is not None and num_jets >= max_jets:
                break
    if not num_jets:
        msg = f"{', '.join(map(str, paths))}: no jet passed the labels and the '{selection}' selection"
        raise InputError(msg)
    keep = slice(0, max_jets)
    return JetScores(
        label=np.concatenate([p.label for p in parts])[keep],
        logits=np.concatenate([p.logits for p in parts])[keep],
        spectators={
            name: np.concatenate([p.spectators[name] for p in parts])[keep] for name in parts[0].spectators
        },
        quantities=np.concatenate([p.quantities for p in parts])[keep] if with_quantities else None,
    )


def score_range(task: tuple[str, int, int], model: GraphModel, job: _ScoreJob) -> JetScores:
    """The scores of the jets of one entry range of one file: the task of :func:`score_files`."""
    from hepxai.data.root_io import iter_jet_range, selection_window

    file, start, stop = task
    chunks = iter_jet_range(file, job.schema, (start, stop), selection=selection_window(job.selection))
    return _score(model, chunks, file, job.batch_size, job.with_quantities, False, allow_empty=True)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(temporary_path)``, then rename the temporary file to ``path``."""
    with atomic_path(path) as temporary:
        write(temporary)
