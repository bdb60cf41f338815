"""Simulate jets in parallel worker processes and write them as one CMS-schema TTree, chunk by chunk.

Worker ``k`` of ``K`` makes a fixed share of the signal and background jets with its own seeds (spawned from
``seed``) and hands back chunks of jets; the main process writes them round-robin (worker 0's first chunk,
worker 1's first chunk, ...), so the file depends only on the seed, the numbers of jets and ``K``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from hepxai.data.root_io import TreeWriter
from hepxai.data.schema import load_schema
from hepxai.data.simulate.generation import TAU0_MAX_MM, TRACKER_TAU0_MAX_MM, Process, make_pythia
from hepxai.data.simulate.particles import read_event
from hepxai.data.simulate.selection import LABELS, select_jet
from hepxai.data.simulate.tracker import Tracker
from hepxai.errors import InputError
from hepxai.io.lock import lock_file

log = logging.getLogger(__name__)

CHUNK_JETS = 500  # jets per written chunk, per worker
_MAX_EVENTS_PER_JET = 200  # give up when fewer than 1 event in this many yields a jet
_JET_FLOAT = ("fj_pt", "fj_sdmass", "fj_mass")
_JET_INT = (*LABELS, "fj_isH", "fj_nbHadrons")

Chunk = dict[str, np.ndarray | ak.Array]


def simulate(
    out: str | Path,
    *,
    num_signal: int,
    num_background: int,
    seed: int = 0,
    workers: int | None = None,
    pthat_min: float = 300.0,
    tracker: bool = False,
    progress: bool = True,
    scheduler: str | None = None,
) -> Path:
    """Simulate H->bb (signal) and QCD (background) jets with Pythia 8 + FastJet into a CMS-schema ROOT file.

    Args:
        out: the ROOT file to write (tree ``deepntuplizer/tree``); written under a temporary name first.
        num_signal: number of H->bb jets.
        num_background: number of QCD jets.
        seed: random seed; the same seed and ``workers`` give the same file.
        workers: shares of the jets, each a task on the engine (:mod:`hepxai.parallel`): with no
            scheduler, a local Dask cluster of that many workers; default all CPU cores.
        pthat_min: minimum pT of the hard process (GeV).
        tracker: measure the tracks with the tracking detector (hits, helix fits) and let Pythia decay
            K0S, Lambda and the other hyperons in flight; otherwise smear the generated tracks' impact
            parameters with the resolution model.
        progress: show a progress bar.
        scheduler: address of a running Dask scheduler: the ``workers`` shares run there.

    Returns:
        The path written.

    Raises:
        InputError: a negative or zero number of jets or workers, or a non-positive ``pthat_min``.
    """
    if num_signal < 0 or num_background < 0 or num_signal + num_background == 0:
        msg = (
            f"simulate: numbers of jets must be >= 0 and not both 0 (got signal={num_signal}, "
            f"background={num_background})"
        )
        raise InputError(msg)
    if workers is not None and workers < 1:
        msg = f"simulate: workers must be >= 1 (got {workers})"
        raise InputError(msg)
    if not pthat_min > 0:
        msg = f"simulate: pthat_min must be positive (got {pthat_min})"
        raise InputError(msg)
    workers = min(workers or os.cpu_count() or 1, num_signal + num_background)
    max_tracks = load_schema("cms_hbb").max_tracks
    seeds = np.random.SeedSequence(seed).spawn(workers)
    tasks = [
        (
            _share(num_signal, workers, k),
            _share(num_background, workers, k),
            seeds[k],
            pthat_min,
            max_tracks,
            tracker,
        )
        for k in range(workers)
    ]
    log.info(
        "simulating %d H->bb and %d QCD jets with %d worker(s), seed %d, %s",
        num_signal,
        num_background,
        workers,
        seed,
        "tracks fitted in the tracker" if tracker else "tracks from the resolution model",
    )
    path = Path(out)
    tree = load_schema("cms_hbb").tree
    with (
        lock_file(path),  # a second run writing this file stops at once
        TreeWriter(path, tree) as writer,
        tqdm(
            total=num_signal + num_background,
            unit="jet",
            desc="simulating",
            disable=not progress,
            leave=False,
        ) as bar,
    ):
        chunks = (
            _run_inline(tasks[0], bar.update)
            if workers == 1 and scheduler is None
            else _run_parallel(tasks, bar.update, scheduler)
        )
        for chunk in chunks:
            writer.extend(chunk)
    log.info("wrote %d jets to %s", writer.num_entries, path)
    return path


def produce_chunks(
    num_signal: int,
    num_background: int,
    seed: np.random.SeedSequence,
    pthat_min: float,
    max_tracks: int,
    tracker: bool = False,
    on_jet: Callable[[int], object] = lambda _: None,
) -> Iterator[Chunk]:
    """Simulate one worker's share of jets, interleaving signal and background, ``CHUNK_JETS`` at a time."""
    pythia_seeds = seed.generate_state(2)
    rng = np.random.default_rng(seed.spawn(1)[0])
    detector = Tracker() if tracker else None
    jets = {
        process: _jets(process, count, int(pythia_seed), pthat_min, max_tracks, rng, detector)
        for process, count, pythia_seed in (
            ("signal", num_signal, pythia_seeds[0]),
            ("background", num_background, pythia_seeds[1]),
        )
    }
    done = {"signal": 0, "background": 0}
    wanted = {"signal": num_signal, "background": num_background}
    records: list[dict] = []
    while sum(done.values()) < num_signal + num_background:
        # the process further behind its target goes next, so every chunk holds both in proportion
        process: Process = min(wanted, key=lambda p: (done[p] / wanted[p]) if wanted[p] else 2.0)
        records.append(next(jets[process]))
        done[process] += 1
        on_jet(1)
        if len(records) == CHUNK_JETS:
            yield to_branches(records)
            records = []
    if records:
        yield to_branches(records)


def to_branches(records: list[dict]) -> Chunk:
    """Stack jet records into ntuple branches: per-track ones jagged (float32/int32), per-jet ones flat."""
    counts = np.array([len(record["track_pt"]) for record in records])
    branches: Chunk = {}
    for name, value in records[0].items():
        if isinstance(value, np.ndarray):
            branches[name] = ak.unflatten(np.concatenate([record[name] for record in records]), counts)
        elif name in _JET_FLOAT:
            branches[name] = np.array([record[name] for record in records], np.float32)
        else:
            branches[name] = np.array([record[name] for record in records], np.int32)
    return branches


def _jets(
    process: Process,
    count: int,
    pythia_seed: int,
    pthat_min: float,
    max_tracks: int,
    rng: np.random.Generator,
    tracker: Tracker | None,
) -> Iterator[dict]:
    if count == 0:
        return
    tau0_max = TAU0_MAX_MM if tracker is None else TRACKER_TAU0_MAX_MM
    pythia = make_pythia(process, seed=pythia_seed, pthat_min=pthat_min, tau0_max=tau0_max)
    made = events = 0
    while made < count:
        events += 1
        if events > _MAX_EVENTS_PER_JET * (made + 10):
            msg = (
                f"simulate: only {made} {process} jets in {events} events; raise pthat_min (got {pthat_min})"
            )
            raise InputError(msg)
        if not pythia.next():
            continue
        record = select_jet(
            read_event(pythia.event, with_higgs=process == "signal"),
            process,
            rng,
            max_tracks=max_tracks,
            tracker=tracker,
        )
        if record is not None:
            made += 1
            yield record


def _share(total: int, parts: int, index: int) -> int:
    return total * (index + 1) // parts - total * index // parts


def _run_inline(task: tuple, on_jet: Callable[[int], object]) -> Iterator[Chunk]:
    yield from produce_chunks(*task, on_jet=on_jet)


def _run_parallel(
    tasks: list[tuple], on_jet: Callable[[int], object], scheduler: str | None = None
) -> Iterator[Chunk]:
    """The chunks of every worker's share, round-robin (share 0's first chunk, share 1's first, ...): each
    share is one task on the engine (:mod:`hepxai.parallel`), its chunks held until their turn."""
    from hepxai.parallel import engine

    shares: dict[int, list[Chunk]] = {}
    with engine(len(tasks), scheduler) as runner:
        for k, chunks in runner.map(share_chunks, tasks):
            shares[k] = chunks
            on_jet(tasks[k][0] + tasks[k][1])
    for c in range(max(len(chunks) for chunks in shares.values())):
        for k in range(len(tasks)):
            if c < len(shares[k]):
                yield shares[k][c]


def share_chunks(task: tuple) -> list[Chunk]:
    """All the chunks of one worker's share: the task of :func:`_run_parallel`."""
    return list(produce_chunks(*task))
