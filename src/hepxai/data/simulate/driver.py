"""Simulate jets on the engine's workers (:mod:`hepxai.parallel`) and write them as one CMS-schema TTree,
chunk by chunk.

Every jet has its own seeds: jet ``i`` of a sample comes from the first accepted event after Pythia's random
generator is reset to a seed spawned from (``seed``, sample, ``i``), and its detector simulation and pile-up
draw from a generator seeded the same way; every worker initialises Pythia and the pile-up library with the
same seeds. The jets are laid out in slots (signal and background interleaved in proportion), cut into chunks
of at most ``CHUNK_JETS``; each chunk is one task, and the main process writes the chunks in order. So the
jets depend on the seed and the numbers of jets, not on the number of workers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import awkward as ak
import numpy as np
import pythia8mc
from tqdm.auto import tqdm

from hepxai.data.root_io import TreeWriter
from hepxai.data.schema import load_schema
from hepxai.data.simulate import pileup as pileup_library
from hepxai.data.simulate.generation import (
    TAU0_MAX_MM,
    TRACKER_TAU0_MAX_MM,
    Process,
    make_pythia,
)
from hepxai.data.simulate.generation import pythia_seed as pythia_seed_of
from hepxai.data.simulate.particles import read_event
from hepxai.data.simulate.pileup import DEFAULT_MU, Pileup, make_library
from hepxai.data.simulate.selection import LABELS, select_jet
from hepxai.data.simulate.tracker import Tracker
from hepxai.errors import InputError
from hepxai.io.lock import lock_file

log = logging.getLogger(__name__)

CHUNK_JETS = 500  # at most this many jets per written chunk
_MAX_EVENTS_PER_JET = 200  # give up when fewer than 1 event in this many yields a jet
_JET_FLOAT = ("fj_pt", "fj_sdmass", "fj_mass", "fj_pvDz")
_JET_INT = (*LABELS, "fj_isH", "fj_nbHadrons")

_SAMPLE_KEYS: dict[str, int] = {"signal": 0, "background": 1}
_LIBRARY_KEY, _INIT_KEY = 2, 3
Chunk = dict[str, np.ndarray | ak.Array]
Slot = tuple[Process, int]
_MAKERS: dict[tuple, JetMaker] = {}  # this process's jet maker of the current run (_jet_maker)


def simulate(
    out: str | Path,
    *,
    num_signal: int,
    num_background: int,
    seed: int = 0,
    workers: int | None = None,
    pthat_min: float = 300.0,
    tracker: bool = True,
    pileup: float = DEFAULT_MU,
    progress: bool = True,
    scheduler: str | None = None,
) -> Path:
    """Simulate H->bb (signal) and QCD (background) jets with Pythia 8 + FastJet into a CMS-schema ROOT file.

    Args:
        out: the ROOT file to write (tree ``deepntuplizer/tree``); written under a temporary name first.
        num_signal: number of H->bb jets.
        num_background: number of QCD jets.
        seed: random seed; the same seed gives the same file with any number of workers.
        workers: tasks run at once on the engine (:mod:`hepxai.parallel`): with no scheduler, a local Dask
            cluster of that many workers; default all CPU cores.
        pthat_min: minimum pT of the hard process (GeV).
        tracker: measure the tracks with the tracking detector (hits, helix fits, vertex reconstruction) and
            let Pythia decay K0S, Lambda and the other hyperons in flight; False smears the generated
            tracks' impact parameters with the resolution model (no pile-up).
        pileup: mean number of pile-up interactions per event (Poisson), with ``tracker``; 0 for none.
        progress: show a progress bar.
        scheduler: address of a running Dask scheduler: the ``workers`` shares run there.

    Returns:
        The path written.

    Raises:
        InputError: a negative or zero number of jets or workers, a non-positive ``pthat_min`` or a
            negative ``pileup``.
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
    if not pileup >= 0:
        msg = f"simulate: pileup must be >= 0 (got {pileup})"
        raise InputError(msg)
    total = num_signal + num_background
    workers = min(workers or os.cpu_count() or 1, total)
    # chunk boundaries only set how the file is written in baskets, never which jets it holds
    chunks = _chunks(_slots(num_signal, num_background), min(CHUNK_JETS, -(-total // workers)))
    max_tracks = load_schema("cms_hbb").max_tracks
    mu = pileup if tracker else 0.0
    # the library as this process sees it, so that every worker makes the same one
    library = (pileup_library.LIBRARY_EVENTS, pileup_library.LIBRARY_PROCESS)
    settings = (seed, pthat_min, max_tracks, tracker, mu, library)
    log.info(
        "simulating %d H->bb and %d QCD jets with %d worker(s), seed %d, %s",
        num_signal,
        num_background,
        workers,
        seed,
        f"tracks fitted in the tracker, pile-up mu = {mu:g}"
        if tracker
        else "tracks from the resolution model",
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
        made = (
            produce_chunks(chunks, settings, on_jet=bar.update)
            if workers == 1 and scheduler is None
            else _run_parallel(chunks, settings, workers, bar.update, scheduler)
        )
        for chunk in made:
            writer.extend(chunk)
    log.info("wrote %d jets to %s", writer.num_entries, path)
    return path


def produce_chunks(
    chunks: list[list[Slot]], settings: tuple, on_jet: Callable[[int], object] = lambda _: None
) -> Iterator[Chunk]:
    """Simulate the jets of ``chunks`` (lists of (sample, index) slots), one chunk of branches each;
    ``settings``: (seed, pthat_min, max_tracks, tracker, pileup, library) as :class:`JetMaker` takes them."""
    maker = _jet_maker(settings)
    for slots in chunks:
        records = []
        for process, index in slots:
            records.append(maker.jet(process, index))
            on_jet(1)
        yield to_branches(records)


def _jet_maker(settings: tuple) -> JetMaker:
    """The :class:`JetMaker` of ``settings``, kept for the next chunk of the same run in this process (Pythia
    and the pile-up library are set up once per worker); every jet has its own seeds, so which process makes
    a chunk does not matter."""
    if settings not in _MAKERS:
        _MAKERS.clear()
        seed, pthat_min, max_tracks, tracker, pileup, library = settings
        _MAKERS[settings] = JetMaker(
            seed, pthat_min=pthat_min, max_tracks=max_tracks, tracker=tracker, pileup=pileup, library=library
        )
    return _MAKERS[settings]


class JetMaker:
    """Makes jet ``i`` of a sample from its own seeds, whatever was made before (module docstring)."""

    def __init__(
        self,
        seed: int,
        *,
        pthat_min: float,
        max_tracks: int,
        tracker: bool = True,
        pileup: float = 0.0,
        library: tuple[int, str] | None = None,
    ) -> None:
        """``library``: the pile-up library's (number of events, Pythia process); default the module's."""
        self.seed, self.pthat_min, self.max_tracks = seed, pthat_min, max_tracks
        self.detector = Tracker() if tracker else None
        self.tau0_max = TRACKER_TAU0_MAX_MM if tracker else TAU0_MAX_MM
        self.pileup = None
        if tracker and pileup > 0:
            library_seed = _seed_sequence(seed, _LIBRARY_KEY).generate_state(1)[0]
            num_events, process = library or (None, None)
            library_events = make_library(
                int(library_seed), tau0_max=self.tau0_max, num_events=num_events, process=process
            )
            self.pileup = Pileup(library_events, pileup)
        self._pythia: dict[str, pythia8mc.Pythia] = {}
        self._events = {"signal": 0, "background": 0}
        self._made = {"signal": 0, "background": 0}

    def jet(self, process: Process, index: int) -> dict:
        """Jet ``index`` of ``process``: the first accepted event from its seeds."""
        pythia = self._generator(process)
        pythia_seed, detector_seed = _seed_sequence(self.seed, _SAMPLE_KEYS[process], index).spawn(2)
        pythia.rndm.init(pythia_seed_of(int(pythia_seed.generate_state(1)[0])))
        rng = np.random.default_rng(detector_seed)
        while True:
            self._events[process] += 1
            if self._events[process] > _MAX_EVENTS_PER_JET * (self._made[process] + 10):
                made, events = self._made[process], self._events[process]
                msg = (
                    f"simulate: only {made} {process} jets in {events} events; raise pthat_min "
                    f"(got {self.pthat_min})"
                )
                raise InputError(msg)
            if not pythia.next():
                continue
            record = select_jet(
                read_event(pythia.event, with_higgs=process == "signal"),
                process,
                rng,
                max_tracks=self.max_tracks,
                tracker=self.detector,
                pileup=self.pileup,
            )
            if record is not None:
                self._made[process] += 1
                return record

    def _generator(self, process: Process) -> pythia8mc.Pythia:
        if process not in self._pythia:
            init_seed = _seed_sequence(self.seed, _INIT_KEY, _SAMPLE_KEYS[process]).generate_state(1)[0]
            self._pythia[process] = make_pythia(
                process, seed=int(init_seed), pthat_min=self.pthat_min, tau0_max=self.tau0_max
            )
        return self._pythia[process]


def _seed_sequence(seed: int, *key: int) -> np.random.SeedSequence:
    return np.random.SeedSequence(seed, spawn_key=key)


def _slots(num_signal: int, num_background: int) -> list[Slot]:
    """(sample, index) of every jet in file order: the sample further behind its target goes next, so every
    chunk holds both in proportion."""
    done = {"signal": 0, "background": 0}
    wanted = {"signal": num_signal, "background": num_background}
    slots: list[Slot] = []
    for _ in range(num_signal + num_background):
        process: Process = min(wanted, key=lambda p: (done[p] / wanted[p]) if wanted[p] else 2.0)
        slots.append((process, done[process]))
        done[process] += 1
    return slots


def _chunks(slots: list[Slot], size: int) -> list[list[Slot]]:
    return [slots[start : start + size] for start in range(0, len(slots), size)]


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


def _run_parallel(
    chunks: list[list[Slot]],
    settings: tuple,
    workers: int,
    on_jet: Callable[[int], object],
    scheduler: str | None = None,
) -> Iterator[Chunk]:
    """Every chunk a task on the engine (:mod:`hepxai.parallel`), yielded in file order."""
    from hepxai.parallel import engine

    with engine(workers, scheduler) as runner:
        for _, (num_jets, branches) in runner.map(simulate_chunk, chunks, settings, ordered=True):
            on_jet(num_jets)
            yield branches


def simulate_chunk(slots: list[Slot], settings: tuple) -> tuple[int, Chunk]:
    """The jets of one chunk: the task of :func:`_run_parallel`."""
    return len(slots), next(produce_chunks([slots], settings))
