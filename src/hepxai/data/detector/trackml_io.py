"""TrackML events on disk: the challenge's CSV layout, and HDF5 files of many events for fast reading.

CSV, one event per prefix ``eventNNNNNNNNN`` as in the TrackML challenge: ``-hits.csv`` (hit_id, x, y, z,
volume_id, layer_id, module_id), ``-particles.csv`` (particle_id, particle_type, vx, vy, vz, px, py, pz, q,
nhits) and ``-truth.csv`` (hit_id, particle_id, tx, ty, tz, tpx, tpy, tpz, weight). Extra columns
(``hit_order``, ``pt``, ``eta``, ``vertex_id``, ``from_z``) follow the TrackML ones; real TrackML files, which
lack them, read through the same functions. Particles and truth are optional (TrackML's test events have hits
only).

HDF5 (PyTables, already a dependency): one file holds many events as three tables ``hits``, ``truth`` and
``particles``, each with an indexed ``event_id`` column, so one event is read without reading the others.
Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.io.csv_files import check_columns, read_csv_table
from hepxai.io.hdf import hdf_check

HIT_COLUMNS = ("hit_id", "x", "y", "z", "volume_id", "layer_id", "module_id")
PARTICLE_COLUMNS = ("particle_id", "particle_type", "vx", "vy", "vz", "px", "py", "pz", "q", "nhits")
TRUTH_COLUMNS = ("hit_id", "particle_id", "tx", "ty", "tz", "tpx", "tpy", "tpz", "weight")
TABLES = {"hits": HIT_COLUMNS, "particles": PARTICLE_COLUMNS, "truth": TRUTH_COLUMNS}
_PREFIX = re.compile(r"event(\d+)$")
_CSV_FILE = re.compile(r"event(\d+)-(hits|particles|truth|cells)\.csv$")


@dataclass(frozen=True)
class TrackMLEvent:
    """One event's tables; ``particles`` and ``truth`` are None where the files have none."""

    event_id: int
    hits: pd.DataFrame
    particles: pd.DataFrame | None
    truth: pd.DataFrame | None


def event_prefix(event_id: int) -> str:
    """The TrackML file prefix of an event, ``event000000042``."""
    return f"event{event_id:09d}"


def write_csv(event: TrackMLEvent, folder: str | Path) -> Path:
    """Write the event's CSV files into ``folder``; the truth file is renamed last, so it marks completion.

    Where one file cannot be written (a full disk), the event's other files are removed too: no hits-only
    event is left that a reader would take for a complete one.
    """
    prefix = Path(folder) / event_prefix(event.event_id)
    written: list[Path] = []
    try:
        for name in ("hits", "particles", "truth"):
            table = getattr(event, name)
            if table is not None:
                with atomic_path(f"{prefix}-{name}.csv") as temporary:
                    table.to_csv(temporary, index=False)
                written.append(Path(f"{prefix}-{name}.csv"))
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise
    return prefix


def read_csv(prefix: str | Path) -> TrackMLEvent:
    """Read the event with file prefix ``prefix`` (``.../event000000042``).

    Raises:
        InputError: the hits file is missing, or a file lacks a TrackML column.
    """
    prefix = Path(prefix)
    match = _PREFIX.search(prefix.name)
    if match is None:
        msg = f"{prefix}: not an event prefix (expected .../eventNNNNNNNNN)"
        raise InputError(msg)
    tables: dict[str, pd.DataFrame | None] = {}
    for name in TABLES:
        path = Path(f"{prefix}-{name}.csv")
        if not path.is_file():
            if name == "hits":
                msg = f"{path}: hits file not found"
                raise InputError(msg)
            tables[name] = None
            continue
        tables[name] = read_csv_table(path)
    return checked_event(TrackMLEvent(event_id=int(match.group(1)), **tables), prefix)


def write_hdf(events: list[TrackMLEvent], path: str | Path) -> Path:
    """Write ``events`` (with hits, particles and truth) to one HDF5 file."""
    path = Path(path)
    frames = {
        name: pd.concat(
            [getattr(event, name).assign(event_id=event.event_id) for event in events], ignore_index=True
        )
        for name in TABLES
    }
    check = hdf_check(path, {name: len(frame) for name, frame in frames.items()})
    with (
        atomic_path(path, check=check) as temporary,
        pd.HDFStore(temporary, mode="w", complevel=5, complib="blosc:lz4") as store,
    ):
        for name, frame in frames.items():
            store.append(name, frame, data_columns=["event_id"], index=False)
            store.create_table_index(name, columns=["event_id"], optlevel=6, kind="medium")
    return path


def hdf_event_ids(path: str | Path) -> list[int]:
    """The event ids stored in an HDF5 file."""
    with _open_store(path) as store:
        try:
            return sorted(np.unique(store.select_column("particles", "event_id")).tolist())
        except Exception as err:
            msg = f"{path}: field 'event_id' is unreadable ({type(err).__name__}; a truncated file?)"
            raise InputError(msg) from err


def read_hdf(path: str | Path, event_ids: list[int] | None = None) -> Iterator[TrackMLEvent]:
    """The events of an HDF5 file (all, or those in ``event_ids``), one at a time."""
    path = Path(path)
    with _open_store(path) as store:
        stored = sorted(np.unique(store.select_column("particles", "event_id")).tolist())
        for event_id in stored if event_ids is None else event_ids:
            if event_id not in stored:
                msg = f"{path}: field 'event_id' has no event {event_id}"
                raise InputError(msg)
            try:
                tables = {
                    name: store.select(name, where=f"event_id == {int(event_id)}")
                    .drop(columns="event_id")
                    .reset_index(drop=True)
                    for name in TABLES
                }
            except Exception as err:
                msg = f"{path}: event {event_id} is unreadable ({type(err).__name__}; a truncated file?)"
                raise InputError(msg) from err
            yield checked_event(TrackMLEvent(event_id=int(event_id), **tables), path)


def list_events(path: str | Path) -> list[tuple[Path, int]]:
    """Every event under ``path`` as (file or CSV prefix, event id), sorted by event id.

    ``path`` is a folder (CSV events and HDF5 files in it), an HDF5 file, a CSV prefix or one of its files.

    Raises:
        InputError: ``path`` does not exist or holds no event.
    """
    path = Path(path)
    found: list[tuple[Path, int]] = []
    if path.is_dir():
        for item in sorted(path.iterdir()):
            match = _CSV_FILE.match(item.name)
            if match and match.group(2) == "hits":
                found.append((path / f"event{match.group(1)}", int(match.group(1))))
            elif item.suffix == ".h5":
                found += [(item, event_id) for event_id in hdf_event_ids(item)]
    elif path.suffix == ".h5" and path.is_file():
        found = [(path, event_id) for event_id in hdf_event_ids(path)]
    else:
        match = _CSV_FILE.match(path.name)
        prefix = path.with_name(f"event{match.group(1)}") if match else path
        if Path(f"{prefix}-hits.csv").is_file() and _PREFIX.search(prefix.name):
            found = [(prefix, int(_PREFIX.search(prefix.name).group(1)))]
        elif not path.exists() and not Path(f"{prefix}-hits.csv").exists():
            msg = f"{path}: no such file, folder or event prefix"
            raise InputError(msg)
    if not found:
        msg = f"{path}: no TrackML events (eventNNNNNNNNN-hits.csv or .h5 files)"
        raise InputError(msg)
    return sorted(found, key=lambda item: item[1])


def read_events(path: str | Path, event_ids: list[int] | None = None) -> Iterator[TrackMLEvent]:
    """The events under ``path`` (see :func:`list_events`) by event id, optionally only ``event_ids``.

    Raises:
        InputError: a requested event id is not there.
    """
    located = list_events(path)
    if event_ids is not None:
        available = {event_id for _, event_id in located}
        missing = sorted(set(event_ids) - available)
        if missing:
            msg = f"{path}: field 'event_id' has no event {missing[0]}"
            raise InputError(msg)
        located = [item for item in located if item[1] in set(event_ids)]
    for location, event_id in located:
        if location.suffix == ".h5":
            yield from read_hdf(location, [event_id])
        else:
            yield read_csv(location)


def _open_store(path: str | Path) -> pd.HDFStore:
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: file not found"
        raise InputError(msg)
    try:
        store = pd.HDFStore(path, mode="r")
    except Exception as err:
        msg = f"{path}: not a readable HDF5 file ({type(err).__name__})"
        raise InputError(msg) from err
    missing = [name for name in TABLES if f"/{name}" not in store]
    if missing:
        store.close()
        msg = f"{path}: field '{missing[0]}' (table) is missing"
        raise InputError(msg)
    return store


_INTEGER_COLUMNS = ("hit_id", "particle_id", "volume_id", "layer_id", "module_id", "particle_type", "nhits")


def checked_event(event: TrackMLEvent, source: str | Path) -> TrackMLEvent:
    """``event`` after checking what every reader relies on, naming ``source`` and the field otherwise:
    the TrackML columns, integer ids and finite numbers, at least one hit, unique hit and particle ids,
    one truth row per hit, and truth particles that are in the particle table (0: noise).

    Raises:
        InputError: a check failed.
    """
    for name, columns in TABLES.items():
        table = getattr(event, name)
        if table is None:
            continue
        where = _table_source(source, name)
        check_columns(table, columns, where)
        if table.empty and name == "hits":
            msg = f"{where}: no hits (a header-only or truncated file)"
            raise InputError(msg)
        for column in columns if len(table) else ():
            _check_numbers(table[column], column, where)
    _check_unique(event.hits, "hit_id", _table_source(source, "hits"))
    if event.particles is not None:
        _check_unique(event.particles, "particle_id", _table_source(source, "particles"))
    if event.truth is not None:
        _check_truth(event, _table_source(source, "truth"))
    return event


def _check_truth(event: TrackMLEvent, where: str) -> None:
    """One truth row per hit, and every truth particle in the particle table (0: noise)."""
    truth = event.truth
    _check_unique(truth, "hit_id", where)
    unknown = truth["hit_id"][~truth["hit_id"].isin(event.hits["hit_id"])]
    if len(unknown):
        msg = f"{where}: field 'hit_id' {unknown.iloc[0]} matches no hit"
        raise InputError(msg)
    if len(truth) != len(event.hits):
        msg = f"{where}: field 'hit_id' covers {len(truth)} of {len(event.hits)} hits (a truncated file?)"
        raise InputError(msg)
    if event.particles is not None:
        particle = truth["particle_id"]
        unknown = particle[~particle.isin(event.particles["particle_id"]) & (particle != 0)]
        if len(unknown):
            msg = f"{where}: field 'particle_id' {unknown.iloc[0]} is not in the particles table"
            raise InputError(msg)


def _table_source(source: str | Path, name: str) -> str:
    """``.../event000000042-truth.csv`` for a CSV prefix, ``file.h5 (table 'truth')`` for an HDF5 file."""
    source = Path(source)
    return f"{source} (table '{name}')" if source.suffix == ".h5" else f"{source}-{name}.csv"


def _check_unique(table: pd.DataFrame, column: str, where: str) -> None:
    repeated = table[column][table[column].duplicated()]
    if len(repeated):
        msg = f"{where}: field '{column}' repeats {repeated.iloc[0]}"
        raise InputError(msg)


def _check_numbers(values: pd.Series, column: str, where: str) -> None:
    """Numbers in every row: finite, and integers in the id columns."""
    if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
        text = values[pd.to_numeric(values, errors="coerce").isna()]
        row = text.index[0] if len(text) else 0
        msg = f"{where}: field '{column}' is {values[row]!r} in row {row}, expected a number"
        raise InputError(msg)
    numbers = values.to_numpy(dtype=np.float64)
    integer = column in _INTEGER_COLUMNS
    bad = ~np.isfinite(numbers) | ((numbers != np.round(numbers)) if integer else False)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        expected = "an integer" if integer else "a finite number"
        msg = f"{where}: field '{column}' is {values.iloc[row]} in row {row}, expected {expected}"
        raise InputError(msg)
