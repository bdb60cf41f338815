"""Simulate many events in worker processes, one file set per event, resuming a run that was stopped.

Event ``i`` depends only on the run's seed and ``i`` (see :mod:`hepxai.data.detector.events`), so the output
is the same whatever the number of workers. Events are tasks on the engine (:mod:`hepxai.parallel`): each
worker initialises its Pythia instances once and writes the events it makes, and the events of a worker
that dies are made again by another. A CSV event is complete when its truth file exists (renamed last), an
HDF5 event when its part file exists. HDF5 parts are merged into files of ``events_per_file`` events once
all of a file's events are there. ``run.yaml`` in the output folder records the settings: a second run into
the same folder with the same settings makes only the events that are missing, and refuses different
settings.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import yaml
from tqdm.auto import tqdm

from hepxai.data.detector.events import EventGenerator, check_process
from hepxai.data.detector.geometry import Geometry, load_geometry
from hepxai.data.detector.simulation import DetectorSettings, detect
from hepxai.data.detector.trackml_io import event_prefix, read_hdf, write_csv, write_hdf
from hepxai.errors import InputError
from hepxai.io.atomic import write_text
from hepxai.io.lock import lock_folder
from hepxai.io.yaml_files import read_yaml
from hepxai.parallel import engine

log = logging.getLogger(__name__)

Format = Literal["csv", "hdf5"]
FORMATS = ("csv", "hdf5")
RUN_FILE = "run.yaml"
PARTS = "parts"


@dataclass(frozen=True)
class EventTiming:
    """What one event cost and holds."""

    event_id: int
    pythia_seconds: float  # generation and copying the particles out of Pythia
    detector_seconds: float  # propagation, digitisation and the tables
    num_hits: int
    num_particles: int


def simulate_events(
    out: str | Path,
    *,
    process: str,
    events: int,
    pileup: float = 0.0,
    settings: DetectorSettings | None = None,
    seed: int = 0,
    workers: int = 1,
    output_format: str = "csv",
    geometry: str | Path | None = None,
    events_per_file: int = 100,
    progress: bool = True,
    scheduler: str | None = None,
) -> list[EventTiming]:
    """Simulate ``events`` events into the folder ``out``; returns the timing of each event made now.

    Args:
        out: output folder (created); a folder of an earlier run with the same settings is completed.
        process: hard process, ``zmumu``, ``ttbar`` or ``minbias``.
        events: number of events (event ids 0 to events - 1).
        pileup: mean number of soft-QCD pile-up interactions (Poisson).
        settings: field, scattering and digitisation (the defaults of :class:`DetectorSettings` if None).
        seed: the run's seed; event ``i`` depends on ``seed`` and ``i`` only.
        workers: worker processes of a local Dask cluster (1: this process; :mod:`hepxai.parallel`).
        output_format: ``csv`` (TrackML files per event) or ``hdf5`` (``events_per_file`` events per file).
        geometry: geometry YAML (the default TrackML-like detector if None).
        events_per_file: events per HDF5 file.
        progress: show a progress bar.
        scheduler: address of a running Dask scheduler to run the events on, instead of local workers.

    Raises:
        InputError: a setting out of range, or an output folder made with other settings.
    """
    settings = settings or DetectorSettings()
    _check(process, events, pileup, settings, workers, output_format, events_per_file)
    detector = load_geometry(geometry)
    folder = Path(out)
    record = _run_record(process, events, pileup, settings, seed, output_format, detector, events_per_file)
    with lock_folder(folder):  # a second run into this folder stops at once
        _claim(folder, record)
        pending = [i for i in range(events) if not _done(folder, i, output_format, events_per_file)]
        if len(pending) < events:
            log.info(
                "%s: %d of %d events already there, making the other %d",
                folder,
                events - len(pending),
                events,
                len(pending),
            )
        job = EventJob(process, pileup, detector, settings, seed, folder, output_format)
        timings: list[EventTiming] = []
        workers = max(1, min(workers, len(pending)))
        bar = tqdm(total=len(pending), unit="event", desc="simulating", disable=not progress, leave=False)
        with bar, engine(workers if pending else 1, scheduler) as runner:
            for _, timing in runner.map(make_event, pending, runner.broadcast(job)):
                timings.append(timing)
                bar.update()
        if output_format == "hdf5":
            _merge_parts(folder, events, events_per_file)
        if timings:
            log.info(
                "made %d events in %s: %.0f hits, %.0f particles per event; "
                "Pythia %.3f s, detector %.3f s each",
                len(timings),
                folder,
                np.mean([t.num_hits for t in timings]),
                np.mean([t.num_particles for t in timings]),
                np.mean([t.pythia_seconds for t in timings]),
                np.mean([t.detector_seconds for t in timings]),
            )
        return sorted(timings, key=lambda timing: timing.event_id)


@dataclass(frozen=True)
class EventJob:
    """What every event task needs: sent to each worker once."""

    process: str
    pileup: float
    geometry: Geometry
    settings: DetectorSettings
    seed: int
    folder: Path
    output_format: str


@functools.lru_cache(maxsize=2)
def _generator(process: str, pileup: float) -> EventGenerator:
    """The Pythia instances of a worker process, initialised once for all the events it makes."""
    return EventGenerator(process, pileup)


def make_event(index: int, job: EventJob) -> EventTiming:
    """Make and write event ``index``: the task each worker runs."""
    start = time.perf_counter()
    particles, rng = _generator(job.process, job.pileup).generate(job.seed, index)
    generated = time.perf_counter()
    event = detect(particles, job.geometry, job.settings, rng, event_id=index)
    detected = time.perf_counter()
    if job.output_format == "csv":
        write_csv(event, job.folder)
    else:
        (job.folder / PARTS).mkdir(exist_ok=True)
        write_hdf([event], job.folder / PARTS / f"{event_prefix(index)}.h5")
    return EventTiming(index, generated - start, detected - generated, len(event.hits), len(event.particles))


def _check(
    process: str,
    events: int,
    pileup: float,
    settings: DetectorSettings,
    workers: int,
    output_format: str,
    events_per_file: int,
) -> None:
    check_process(process)
    digitization = settings.digitization
    problems = [
        (events < 1, "events", f"must be >= 1 (got {events})"),
        (not pileup >= 0, "pileup", f"must be >= 0 (got {pileup})"),
        (
            not settings.bfield >= 0,
            "bfield",
            f"must be >= 0 T (got {settings.bfield}); 0 gives straight tracks",
        ),
        (not settings.max_turns > 0, "max_turns", f"must be > 0 (got {settings.max_turns})"),
        (
            not 0 < digitization.efficiency <= 1,
            "efficiency",
            f"must be in (0, 1] (got {digitization.efficiency})",
        ),
        (
            not digitization.noise_per_module >= 0,
            "noise",
            f"must be >= 0 (got {digitization.noise_per_module})",
        ),
        (workers < 1, "workers", f"must be >= 1 (got {workers})"),
        (
            output_format not in FORMATS,
            "format",
            f"is {output_format!r}, expected one of {', '.join(FORMATS)}",
        ),
        (events_per_file < 1, "events_per_file", f"must be >= 1 (got {events_per_file})"),
    ]
    for bad, name, text in problems:
        if bad:
            msg = f"detector simulate: field '{name}' {text}"
            raise InputError(msg)


def _run_record(
    process: str,
    events: int,
    pileup: float,
    settings: DetectorSettings,
    seed: int,
    output_format: str,
    geometry: Geometry,
    events_per_file: int,
) -> dict:
    record = {
        "process": process,
        "events": events,
        "pileup": float(pileup),
        "seed": seed,
        "format": output_format,
        "geometry": geometry.source,
        "geometry_sha256": geometry.digest,
        **{key: value for key, value in asdict(settings).items() if key != "digitization"},
        **asdict(settings.digitization),
    }
    if output_format == "hdf5":
        record["events_per_file"] = events_per_file
    return {key: float(value) if isinstance(value, np.floating) else value for key, value in record.items()}


def _claim(folder: Path, record: dict) -> None:
    """Write ``run.yaml``, or check that the folder's earlier run had the same settings."""
    path = folder / RUN_FILE
    if path.is_file():
        earlier = read_yaml(path)
        for key, value in record.items():
            if key != "geometry" and earlier.get(key) != value:
                msg = (
                    f"{path}: field '{key}' is {earlier.get(key)!r}, this run asks for {value!r}; "
                    "use the same settings to resume, or another --out"
                )
                raise InputError(msg)
        return
    write_text(path, yaml.safe_dump(record, sort_keys=False))


def _block_name(first: int, last: int) -> str:
    return f"events{first:09d}-{last:09d}.h5"


def _block(index: int, events: int, events_per_file: int) -> tuple[int, int]:
    first = index // events_per_file * events_per_file
    return first, min(first + events_per_file, events) - 1


def _done(folder: Path, index: int, output_format: str, events_per_file: int) -> bool:
    if output_format == "csv":
        return (folder / f"{event_prefix(index)}-truth.csv").is_file()
    events = read_yaml(folder / RUN_FILE)["events"]
    return (folder / _block_name(*_block(index, events, events_per_file))).is_file() or (
        folder / PARTS / f"{event_prefix(index)}.h5"
    ).is_file()


def _merge_parts(folder: Path, events: int, events_per_file: int) -> None:
    """Merge the one-event part files into files of ``events_per_file`` events, then delete the parts."""
    for first in range(0, events, events_per_file):
        last = min(first + events_per_file, events) - 1
        target = folder / _block_name(first, last)
        parts = [folder / PARTS / f"{event_prefix(index)}.h5" for index in range(first, last + 1)]
        if not target.is_file():
            if not all(part.is_file() for part in parts):
                continue
            write_hdf([event for part in parts for event in read_hdf(part)], target)
        for part in parts:
            part.unlink(missing_ok=True)
    if (folder / PARTS).is_dir() and not any((folder / PARTS).iterdir()):
        (folder / PARTS).rmdir()
