"""Explaining many files as parts on the engine (:mod:`hepxai.parallel`): one task per entry range.

The work is split by file and entry range (``part_size`` entries). A first round of cheap tasks counts the
jets of each range that pass the labels and the selection (reading the labels, the spectators and one
feature's track counts), which fixes each part's first ``jet_id``: the parts then hold the jets of a
one-process run, with its ids, in the same order. The model is sent to each worker once; each task
explains its range ``chunk_size`` jets at a time and writes its part atomically, so a part that exists is
whole. ``index.json`` is written before the first part (the plan, ``complete: false``) and again at the end.

A run stopped half way (the client killed, the machine lost) is finished with ``resume=True``: the plan is
read back, the settings must match, and only the parts that do not exist are made. A worker that dies is
not a stop: Dask runs its tasks again on another worker.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm.auto import tqdm

from hepxai.data.jets import rechunk
from hepxai.data.schema import Schema
from hepxai.errors import InputError
from hepxai.explain.export import lrp_explainer, prepare_model, write_relevance
from hepxai.explain.relevance_file import RelevanceWriter, read_relevance_file
from hepxai.explain.relevance_parts import (
    INDEX,
    Part,
    PartIndex,
    part_name,
    read_index,
    write_index,
)
from hepxai.io.lock import lock_file, lock_folder
from hepxai.models.registry import GraphModel
from hepxai.parallel import PART_SIZE, default_part_size, engine, entry_ranges

log = logging.getLogger(__name__)

SINGLE_FILE_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class PartJob:
    """What every part task needs besides the model: sent to each worker once with it."""

    folder: Path
    schema: Schema
    meta: dict[str, Any]
    target: str
    edges: bool
    walks: int
    chunk_size: int
    read_chunk_size: int


def is_single_file(out: str | Path) -> bool:
    """An output named ``*.h5`` is one relevance file; any other name is a folder of parts."""
    return Path(out).suffix.lower() in SINGLE_FILE_SUFFIXES


def parts_folder(out: str | Path) -> Path:
    """Where the parts go: ``out`` itself, or for a single-file output a hidden folder beside it."""
    out = Path(out)
    return out.with_name(f".{out.name}.parts") if is_single_file(out) else out


def explain(
    model_path: str | Path,
    data_paths: list[Path],
    out: str | Path,
    schema: Schema,
    *,
    part_size: int | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
    **settings: Any,
) -> Path:
    """``hepxai explain``: one process writing one file where that is all there is to do, else parts on
    the engine (:func:`explain_parts`).

    One process runs :func:`hepxai.explain.export.explain_files` when ``out`` is a ``.h5`` file, no
    scheduler is given, nothing is resumed, and one worker is asked for or the input fills one part.

    Args:
        settings: The LRP and selection settings of :func:`explain_parts`.
    """
    from hepxai.data.root_io import num_entries
    from hepxai.explain.export import explain_files

    entries = sum(num_entries(path, schema) for path in data_paths)
    if part_size is None:
        part_size = default_part_size(entries, workers)
    one_part = -(-entries // max(part_size, 1)) <= 1
    if is_single_file(out) and scheduler is None and not resume and (workers == 1 or one_part):
        return explain_files(model_path, data_paths, out, schema, progress=progress, **settings)
    return explain_parts(
        model_path,
        data_paths,
        out,
        schema,
        part_size=part_size,
        workers=workers,
        scheduler=scheduler,
        resume=resume,
        progress=progress,
        **settings,
    )


def explain_parts(
    model_path: str | Path,
    data_paths: list[Path],
    out: str | Path,
    schema: Schema,
    *,
    target: str = "H",
    selection: str = "model",
    max_jets: int | None = None,
    edges: bool = False,
    walks: int = 0,
    input: str = "standardized",
    epsilon: float = 1e-6,
    aggregate: str = "sum",
    chunk_size: int = 256,
    read_chunk_size: int = 10_000,
    part_size: int = PART_SIZE,
    workers: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    progress: bool = True,
) -> Path:
    """Explain the jets of ``data_paths`` as parts on the engine; the same tables as
    :func:`hepxai.explain.export.explain_files`.

    Args:
        out: A folder (parts and ``index.json``), or a ``.h5`` file: the parts are then written to a hidden
            folder beside it and joined into that one file at the end.
        part_size: Input entries per part.
        workers: Worker processes of a local Dask cluster (1: in this process).
        scheduler: Address of a running Dask scheduler, instead of a local cluster.
        resume: Finish an earlier run into ``out`` with the same settings: make only the missing parts.

    Raises:
        InputError: bad input, no jet passes, or ``resume`` with other settings than the earlier run.
    """
    if part_size < 1:
        msg = f"--part-size must be at least 1 (got {part_size})"
        raise InputError(msg)
    model, schema, meta = prepare_model(
        model_path, data_paths, schema, selection=selection, input=input, epsilon=epsilon, aggregate=aggregate
    )
    meta["walks"] = walks
    from hepxai.explain.targets import resolve_target

    target = resolve_target(model, target)
    folder = parts_folder(out)
    settings = {
        **meta,
        "target": target,
        "edges": edges,
        "chunk_size": chunk_size,
        "max_jets": max_jets,
    }
    job = PartJob(folder, schema, meta, target, edges, walks, chunk_size, read_chunk_size)
    with contextlib.ExitStack() as owned:
        if is_single_file(out):  # the file is owned from the start, not only while the parts are joined
            owned.enter_context(lock_file(out))
        _run_parts(
            folder,
            settings,
            job,
            model,
            data_paths,
            part_size,
            max_jets,
            workers,
            scheduler,
            resume=resume,
            progress=progress,
        )
        if not is_single_file(out):
            return folder
        join_parts(folder, Path(out))
        shutil.rmtree(folder)
    return Path(out)


def _run_parts(
    folder: Path,
    settings: dict[str, Any],
    job: PartJob,
    model: GraphModel,
    data_paths: list[Path],
    part_size: int,
    max_jets: int | None,
    workers: int,
    scheduler: str | None,
    *,
    resume: bool,
    progress: bool,
) -> None:
    """Plan (or read back the plan), make the missing parts on the engine, mark the index complete."""
    schema, meta = job.schema, job.meta
    with lock_folder(folder), engine(workers, scheduler) as runner:
        index = _resumed_plan(folder, settings) if resume else None
        if index is None:
            index = PartIndex(
                _plan(runner, data_paths, schema, meta["selection"], part_size, max_jets), settings, False
            )
            for stale in folder.glob("part-*.h5"):  # an earlier run's parts: no glob reader may see them
                stale.unlink()
            write_index(folder, index)
        pending = [part for part in index.parts if not (resume and (folder / part.name).is_file())]
        if len(pending) < len(index.parts):
            done = len(index.parts) - len(pending)
            log.info("%s: %d of %d parts already there", folder, done, len(index.parts))
        with tqdm(
            total=sum(part.num_jets for part in pending),
            unit="jet",
            desc="explaining",
            disable=not progress,
            leave=False,
        ) as bar:
            for _, part in runner.map(explain_part, pending, runner.broadcast(model), runner.broadcast(job)):
                bar.update(part.num_jets)
        missing = [part.name for part in index.parts if not (folder / part.name).is_file()]
        if missing:
            msg = f"{folder}: part {missing[0]} was not written; finish the run with --resume"
            raise RuntimeError(msg)
        write_index(folder, dataclasses.replace(index, complete=True))
    log.info("wrote the relevance of %d jets to %s (%d parts)", index.num_jets, folder, len(index.parts))


def explain_part(part: Part, model: GraphModel, job: PartJob) -> Part:
    """Explain one part and write ``job.folder / part.name``: the task each worker runs.

    The worker's copy of the model is copied again so that tasks sharing a worker's threads never share
    the hooks LRP attaches to it.
    """
    from hepxai.data.root_io import iter_jet_range, selection_window

    model = copy.deepcopy(model)
    chunks = iter_jet_range(
        part.file,
        job.schema,
        (part.entry_start, part.entry_stop),
        selection=selection_window(job.meta["selection"]),
        chunk_size=job.read_chunk_size,
    )
    path = write_relevance(
        job.folder / part.name,
        lrp_explainer(model, job.meta),
        model,
        rechunk(chunks, job.chunk_size, max_jets=part.num_jets),
        job.schema,
        target=job.target,
        edges=job.edges,
        walks=job.walks,
        chunk_size=job.chunk_size,
        meta=job.meta,
        progress=False,
        first_jet_id=part.first_jet_id,
    )
    written = len(read_relevance_file(path).jets)
    if written != part.num_jets:
        path.unlink()
        msg = (
            f"{part.file}: entries {part.entry_start}-{part.entry_stop} hold {written} jets, "
            f"{part.num_jets} when the run was planned; the file changed"
        )
        raise InputError(msg)
    return part


def count_range(task: tuple[str, int, int], schema: Schema, selection: str) -> int:
    """Jets of one entry range that pass the labels and the selection: the planning task."""
    from hepxai.data.root_io import count_jets, selection_window

    file, start, stop = task
    return count_jets(file, schema, (start, stop), selection=selection_window(selection))


def join_parts(folder: Path, out: Path, *, chunk_size: int = 200_000) -> Path:
    """Copy the parts of ``folder`` into the one relevance file ``out``, table by table, chunk by chunk."""
    parts = [folder / part.name for part in read_index(folder).parts]
    first = read_relevance_file(parts[0])
    num_jets = 0
    with (
        lock_file(out),
        RelevanceWriter(out, first.feature_names, first.display_names, {}) as writer,
    ):
        for path in parts:
            with pd.HDFStore(path, mode="r") as store:
                for key in ("jets", "tracks", "edges"):
                    if f"/{key}" not in store.keys():  # noqa: SIM118 (HDFStore iterates differently)
                        continue
                    for chunk in store.select(key, chunksize=chunk_size):
                        writer.append(**{key: chunk})
                        num_jets += len(chunk) if key == "jets" else 0
        writer.meta.update({**first.meta, "num_jets": num_jets})
    return out


def _plan(
    runner: Any, data_paths: list[Path], schema: Schema, selection: str, part_size: int, max_jets: int | None
) -> list[Part]:
    """Entry ranges of ``part_size`` per file, their jets counted on the engine, numbered in file order;
    ranges without a jet are left out, and the plan stops after ``max_jets`` jets."""
    from hepxai.data.root_io import num_entries

    ranges = entry_ranges([(str(path), num_entries(path, schema)) for path in data_paths], part_size)
    counts = [count for _, count in runner.map(count_range, ranges, schema, selection, ordered=True)]
    parts, first_jet_id = [], 0
    for (file, start, stop), count in zip(ranges, counts, strict=True):
        if max_jets is not None:
            count = min(count, max_jets - first_jet_id)
        if count <= 0:
            continue
        parts.append(Part(part_name(len(parts)), file, start, stop, first_jet_id, count))
        first_jet_id += count
    if not parts:
        msg = f"{', '.join(map(str, data_paths))}: no jet passed the labels and the '{selection}' selection"
        raise InputError(msg)
    return parts


def _resumed_plan(folder: Path, settings: dict[str, Any]) -> PartIndex | None:
    """The plan of the earlier run into ``folder``, after checking it had the same settings; None if there
    was none."""
    if not (folder / INDEX).is_file():
        return None
    index = read_index(folder)
    for key, value in settings.items():
        if index.settings.get(key) != value:
            msg = (
                f"{folder / INDEX}: field 'settings.{key}' is {index.settings.get(key)!r}, this run asks for "
                f"{value!r}; use the same settings to resume, or another --out"
            )
            raise InputError(msg)
    return index
