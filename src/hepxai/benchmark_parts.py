"""The benchmark of many files on the engine (:mod:`hepxai.parallel`): tasks of whole batches of signal jets.

The signal jets are numbered as one process reads them: the files in the order given, within a file by
entry, the first ``max_jets``; one process explains them in batches of ``batch_size`` in that order. The
files are cut into entry ranges (:func:`~hepxai.parallel.default_part_size`), and a first round of cheap
tasks reads each range's labels, spectators and track counts: the signal jets of every range and their
tracks. A task is then a run of whole batches, two tasks per worker (a local cluster has at most one worker
per batch): the entry ranges that hold its jets, which of their signal jets it takes, and the number of the
first jet and first track (the tie-breaks of the deletion curves and the random ranking follow them). Every
batch of a task holds the jets of that batch in one process, so every method scores a track as one process
does.

The model (and a trained method's own model) goes to each worker once. A method that learns from the jets
before explaining them (BernMask-P's mask generator) is fitted once on the client, on all the signal jets
as one process fits it, and goes to each worker once fitted. Each task returns its jets' per-track scores
and per-batch deletion sums (:class:`~hepxai.benchmark.PartScores`); the client joins them in task order,
which is jet order, and computes the table as one process does (:func:`~hepxai.benchmark.benchmark_result`).
"""

from __future__ import annotations

import copy
import logging
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from hepxai.benchmark import (
    METHODS,
    TRUTH,
    BenchmarkResult,
    BenchmarkSettings,
    JetBatches,
    OwnModel,
    PartScores,
    benchmark_result,
    benchmark_settings,
    fit_explainers,
    node_truth,
    read_signal_jets,
    score_part,
)
from hepxai.data import Jets
from hepxai.data.schema import Schema
from hepxai.errors import InputError
from hepxai.models.registry import GraphModel

log = logging.getLogger(__name__)

TASKS_PER_WORKER = 2
"""Tasks per worker: a slow worker is helped by the others, and each task explains many batches."""


@dataclass(frozen=True)
class RangeJets:
    """What the planning task finds in one entry range."""

    num_jets: int  # jets that pass the labels and the selection
    truth: bool  # the file has the truth branch
    signal_tracks: np.ndarray  # [signal jets] track count of each signal jet that passes


@dataclass(frozen=True)
class Segment:
    """The signal jets ``[skip, skip + take)`` of one entry range, in entry order."""

    file: str
    entry_start: int
    entry_stop: int
    skip: int
    take: int


@dataclass(frozen=True)
class BenchmarkTask:
    """Whole batches of consecutive signal jets: where they are, and where they start in the whole run."""

    segments: tuple[Segment, ...]
    first_jet: int
    first_track: int
    num_jets: int


@dataclass(frozen=True)
class PartJob:
    """What every task needs besides the models: sent to each worker once."""

    schema: Schema
    selection: str
    settings: BenchmarkSettings


def benchmark_files(
    model: GraphModel,
    paths: list[Path],
    schema: Schema,
    *,
    selection: str,
    max_jets: int | None = None,
    methods: list[str] | None = None,
    batch_size: int = 256,
    deletion_steps: int = 10,
    seed: int = 0,
    score_features: list[str] | None = None,
    own_models: dict[str, OwnModel] | None = None,
    target: str | None = None,
    walks: int = 3,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
) -> BenchmarkResult:
    """:func:`~hepxai.benchmark.run_benchmark` of the signal jets of ``paths`` (the first ``max_jets``), as
    tasks on the engine; the same table as one process.

    Args:
        selection: A resolved selection name (:func:`hepxai.data.root_io.resolve_selection`).
        workers: Worker processes of a local Dask cluster (1: in this process).
        scheduler: Address of a running Dask scheduler, instead of a local cluster.

    Raises:
        InputError: bad input, files without ``track_fromB``, no signal jet, or a file that changed during
            the run.
    """
    from hepxai.data.root_io import num_entries
    from hepxai.parallel import default_part_size, engine, entry_ranges

    own_models = own_models or {}
    settings = benchmark_settings(
        model,
        feature_names=schema.features,
        methods=methods,
        own_models=own_models,
        score_features=score_features,
        target=target,
        batch_size=batch_size,
        deletion_steps=deletion_steps,
        seed=seed,
        walks=walks,
    )
    entries = [(str(path), num_entries(path, schema)) for path in paths]
    ranges = entry_ranges(entries, default_part_size(sum(total for _, total in entries), workers))
    job = PartJob(schema, selection, settings)
    most_jets = min(sum(total for _, total in entries), max_jets or math.inf)
    with engine(max(1, min(workers, math.ceil(most_jets / batch_size))), scheduler) as runner:  # a batch each
        found = [jets for _, jets in runner.map(find_range_jets, ranges, schema, selection, ordered=True)]
        tasks = plan_tasks(ranges, found, batch_size, max_jets, runner.workers * TASKS_PER_WORKER, paths)
        num_jets = sum(task.num_jets for task in tasks)
        log.info("benchmark: %d signal jets in %d tasks", num_jets, len(tasks))
        fitted = _fit_on_client(model, paths, schema, selection, num_jets, settings, progress)
        shared = [runner.broadcast(value) for value in (model, own_models, fitted, job)]
        parts: list[PartScores] = []
        with tqdm(total=num_jets, unit="jet", desc="benchmark", disable=not progress) as bar:
            for index, part in runner.map(benchmark_task, tasks, *shared, ordered=True):
                parts.append(part)
                bar.update(tasks[index].num_jets)
    return benchmark_result(parts, settings, fit_seconds={name: fit[1] for name, fit in fitted.items()})


def find_range_jets(task: tuple[str, int, int], schema: Schema, selection: str) -> RangeJets:
    """The jets of one entry range that pass, and the track counts of the signal ones: the planning task."""
    from hepxai.data.root_io import has_branch, kept_jets, selection_window

    file, start, stop = task
    num_tracks, signal = kept_jets(file, schema, (start, stop), selection=selection_window(selection))
    truth = TRUTH in schema.truth_track and has_branch(file, schema, TRUTH)
    return RangeJets(len(num_tracks), truth, num_tracks[signal])


def plan_tasks(
    ranges: list[tuple[str, int, int]],
    found: list[RangeJets],
    batch_size: int,
    max_jets: int | None,
    num_tasks: int,
    paths: list[Path],
) -> list[BenchmarkTask]:
    """Cut the signal jets of ``ranges`` (the first ``max_jets``) into at most ``num_tasks`` runs of whole
    batches, in jet order.

    The jets are those :func:`~hepxai.benchmark.read_signal_jets` reads: the reading stops at the first range
    with jets and no truth branch.

    Raises:
        InputError: no range with truth before one without, or no signal jet.
    """
    signal_ranges = []  # (file, start, stop), its first signal jet and the first after its signal jets
    tracks, total, read = [], 0, 0
    for (file, start, stop), jets in zip(ranges, found, strict=True):
        if max_jets is not None and total >= max_jets:
            break
        if jets.num_jets == 0:
            continue
        if not jets.truth:
            break
        read += jets.num_jets
        if len(jets.signal_tracks):
            signal_ranges.append(((file, start, stop), total, total + len(jets.signal_tracks)))
            tracks.append(jets.signal_tracks)
            total += len(jets.signal_tracks)
    source = ", ".join(map(str, paths))
    if read == 0:
        msg = (
            f"{source}: no '{TRUTH}' branch; the benchmark needs simulated jets with per-track truth "
            "(hepxai data simulate)"
        )
        raise InputError(msg)
    if total == 0:
        msg = f"{source}: no signal (H->bb) jet among {read} jets"
        raise InputError(msg)
    signal_tracks = np.concatenate(tracks)[:max_jets]
    num_jets = len(signal_tracks)
    first_track = np.concatenate([[0], np.cumsum(signal_tracks)])
    num_batches = -(-num_jets // batch_size)
    jets_per_task = batch_size * -(-num_batches // max(1, num_tasks))
    tasks = []
    for first in range(0, num_jets, jets_per_task):
        last = min(first + jets_per_task, num_jets)
        segments = tuple(
            Segment(file, start, stop, max(0, first - begin), min(last, end) - max(first, begin))
            for (file, start, stop), begin, end in signal_ranges
            if begin < last and end > first
        )
        tasks.append(BenchmarkTask(segments, first, int(first_track[first]), last - first))
    return tasks


def benchmark_task(
    task: BenchmarkTask,
    model: GraphModel,
    own_models: dict[str, OwnModel],
    fitted: dict[str, tuple[object, float]],
    job: PartJob,
) -> PartScores:
    """Score the jets of one task with every method: the task each worker runs.

    The worker's models and fitted explainers are copied again so that tasks sharing a worker's threads
    never share the hooks that explainers attach to a model.
    """
    model, own_models, fitted = copy.deepcopy((model, own_models, fitted))
    jets = read_task_jets(task, job.schema, job.selection)
    batches = JetBatches(jets, job.settings.batch_size, next(model.parameters()).dtype)
    return score_part(
        model,
        batches,
        node_truth(jets),
        job.settings,
        own_models=own_models,
        fitted=fitted,
        first_jet=task.first_jet,
        first_track=task.first_track,
    )


def read_task_jets(task: BenchmarkTask, schema: Schema, selection: str) -> Jets:
    """The signal jets of a task, in order.

    Raises:
        InputError: a range holds fewer signal jets than when the run was planned (the file changed).
    """
    from hepxai.data.root_io import iter_jet_range, selection_window

    parts = []
    for segment in task.segments:
        entries = (segment.entry_start, segment.entry_stop)
        chunks = iter_jet_range(segment.file, schema, entries, selection=selection_window(selection))
        signal = [chunk.select(chunk.label == 1) for chunk in chunks]
        found = sum(map(len, signal))
        if found < segment.skip + segment.take:
            msg = (
                f"{segment.file}: entries {segment.entry_start}-{segment.entry_stop} hold {found} signal "
                f"jets, {segment.skip + segment.take} or more when the run was planned; the file changed"
            )
            raise InputError(msg)
        jets = Jets.concatenate(signal)
        parts.append(jets.select(np.arange(segment.skip, segment.skip + segment.take)))
    return Jets.concatenate(parts)


def _fit_on_client(
    model: GraphModel,
    paths: list[Path],
    schema: Schema,
    selection: str,
    num_jets: int,
    settings: BenchmarkSettings,
    progress: bool,
) -> dict[str, tuple[object, float]]:
    """The methods that learn from the jets, fitted here on all the signal jets (read only when one of the
    methods needs them); see :func:`~hepxai.benchmark.fit_explainers`."""
    from hepxai.data.root_io import selection_window

    if not any(METHODS[name].fits for name in settings.methods):
        return {}
    jets = read_signal_jets(
        paths, schema=schema, selection=selection_window(selection), max_jets=num_jets, progress=progress
    )
    batches = JetBatches(jets, settings.batch_size, next(model.parameters()).dtype)
    return fit_explainers(model, batches, settings)
