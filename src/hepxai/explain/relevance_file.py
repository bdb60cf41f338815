"""The relevance file: explanations of many jets as three tables in one HDF5 file (pandas/PyTables).

Layout (every table keyed by ``jet_id``, the jet's index in the explained data):

- ``/jets``: one row per jet: ``jet_id``, ``label`` (1 = H), ``logit_<class>`` and ``prob_<class>`` for
  each of the model's classes (the HIN: ``logit_QCD``, ``logit_H``, ``prob_QCD``, ``prob_H``),
  ``explained_logit``, ``absorbed``, the spectators and jet truth where present.
- ``/tracks``: one row per track: ``jet_id``, ``track`` (position in the jet), ``relevance_0`` ...
  ``relevance_{F-1}`` in schema feature order, the inputs plots need (``track_pt``, ``track_etarel``,
  ``track_phirel``, ``track_isMu``, ``track_isEl`` where the schema has them) and track truth
  (``track_fromB`` ...) where present.
- ``/edges``: one row per directed edge: ``jet_id``, ``source``, ``target`` (positions in the jet),
  ``significance``; with full edge relevance also ``relevance_source_i`` and ``relevance_target_i``.
- ``/walks`` (with ``hepxai explain --walks K``): each jet's ``K`` relevant walks of largest
  ``|relevance|`` (:mod:`hepxai.explain.walks`): ``jet_id``, ``source`` and ``target`` (positions in the
  jet; equal for a self walk), ``relevance`` (signed, summed over the source track's features), ``rank``
  (0: largest).
- ``/features``: ``name`` and ``display_name`` (repeated names made unique) in schema order.
- ``/meta``: one row of settings: ``method``, ``target``, ``input``, ``model``, ``schema``, ...

Written to a temporary name and renamed when complete, so a file that exists is whole.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from hepxai.errors import InputError
from hepxai.explain.relevance_parts import complete_parts, is_part_dataset
from hepxai.io.atomic import AtomicPath, unreadable_output
from hepxai.io.hdf import hdf_check

_TABLES = ("jets", "tracks", "edges", "walks")
_WALK_COLUMNS = ["jet_id", "source", "target", "relevance", "rank"]


@dataclass(frozen=True)
class RelevanceFile:
    """A relevance file: its jet table, features and settings in memory; tracks and edges read on demand.

    Track and edge rows are read jet by jet (:meth:`jet`) or in chunks of whole jets (:meth:`iter_tracks`),
    so memory does not grow with the number of tracks in the file. A dataset written as parts
    (:mod:`hepxai.explain.relevance_parts`) reads as one file: ``path`` is its folder, ``parts`` its files
    in ``jet_id`` order.
    """

    path: Path
    jets: pd.DataFrame
    feature_names: list[str]
    display_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    parts: tuple[Path, ...] = ()  # the part files of a dataset written as parts; () for one file
    part_first_jet_ids: tuple[int, ...] = ()  # [num_parts] the first jet_id of each part

    @property
    def part_paths(self) -> tuple[Path, ...]:
        """The HDF5 files that hold the tables, in ``jet_id`` order (one for a single file)."""
        return self.parts or (self.path,)

    def part_files(self) -> list[RelevanceFile]:
        """Each part as a relevance file of its own, read one at a time: what per-part summaries use, so
        the jets of the whole dataset never sit in memory at once."""
        if not self.parts:
            return [self]
        return [read_relevance_file(part) for part in self.parts]

    @property
    def relevance_columns(self) -> list[str]:
        return [f"relevance_{i}" for i in range(len(self.feature_names))]

    @property
    def track_columns(self) -> list[str]:
        """The columns of the track table, read without its rows."""
        with self._store(self.part_paths[0]) as store:
            return list(store.select("tracks", start=0, stop=0).columns)

    @property
    def tracks(self) -> pd.DataFrame:
        """The whole track table, read on every access: for small files; else :meth:`iter_tracks`."""
        return self._read("tracks")

    @property
    def edges(self) -> pd.DataFrame:
        """The whole edge table, read on every access: for small files; else :meth:`jet`."""
        return self._read("edges")

    @property
    def walks(self) -> pd.DataFrame:
        """The whole walk table (empty if the file has none), read on every access."""
        return self._read("walks")

    @property
    def has_walks(self) -> bool:
        """Whether the file holds relevant walks (``hepxai explain --walks K``)."""
        with self._store(self.part_paths[0]) as store:
            return "walks" in _keys(store)

    def jet_walks(self, jet_id: int) -> pd.DataFrame:
        """The walk rows of one jet, by rank (empty if the file has no walks)."""
        with self._store(self._part_of(jet_id)) as store:
            if "walks" not in _keys(store):
                return pd.DataFrame(columns=_WALK_COLUMNS)
            return _rows_of_jet(store, "walks", int(jet_id)).sort_values("rank", kind="stable")

    def track_relevance(self) -> np.ndarray:
        """``[num_tracks, num_features]`` relevance of every track, in schema feature order."""
        return self.tracks[self.relevance_columns].to_numpy()

    def iter_tracks(self, chunk_size: int = 200_000) -> Iterator[pd.DataFrame]:
        """The track table in chunks of about ``chunk_size`` rows, each holding whole jets, in file order
        (a jet's rows never span two parts)."""
        offset = 0
        for part in self.part_paths:
            with self._store(part) as store:
                num_rows = store.get_storer("tracks").nrows
                pending = None
                for start in range(0, num_rows, chunk_size):
                    chunk = store.select("tracks", start=start, stop=start + chunk_size)
                    chunk.index = pd.RangeIndex(offset + start, offset + start + len(chunk))
                    if pending is not None:
                        chunk = pd.concat([pending, chunk])
                    # The rows of a jet are contiguous; the last jet may continue in the next rows.
                    complete = chunk["jet_id"].to_numpy() != chunk["jet_id"].iat[-1]
                    pending = chunk[~complete]
                    if complete.any():
                        yield chunk[complete]
                if pending is not None:
                    yield pending
                offset += num_rows

    def jet(self, jet_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The track and edge rows of one jet."""
        if jet_id not in set(self.jets["jet_id"]):
            msg = f"jet {jet_id} is not in this relevance file"
            raise InputError(msg)
        with self._store(self._part_of(jet_id)) as store:
            tables = [
                _rows_of_jet(store, key, int(jet_id)) if key in _keys(store) else _empty_edges()
                for key in ("tracks", "edges")
            ]
        return tables[0], tables[1]

    def _read(self, key: str) -> pd.DataFrame:
        tables = []
        for part in self.part_paths:
            with self._store(part) as store:
                if key in _keys(store):
                    tables.append(store[key])
        if not tables:
            return pd.DataFrame(columns=_WALK_COLUMNS) if key == "walks" else _empty_edges()
        # Chunks are appended with their own 0-based index: give the table one running index.
        return pd.concat(tables).reset_index(drop=True)

    def _part_of(self, jet_id: int) -> Path:
        """The file that holds a jet: the part whose first jet id is the largest at or below it."""
        if not self.parts:
            return self.part_paths[0]
        return self.part_paths[bisect.bisect_right(self.part_first_jet_ids, int(jet_id)) - 1]

    @staticmethod
    def _store(path: Path) -> pd.HDFStore:
        return pd.HDFStore(path, mode="r")


def _keys(store: pd.HDFStore) -> set[str]:
    return {k.lstrip("/") for k in store.keys()}  # noqa: SIM118 (HDFStore iterates differently)


def _rows_of_jet(store: pd.HDFStore, key: str, jet_id: int) -> pd.DataFrame:
    """The rows of ``key`` with this ``jet_id``: a query where ``jet_id`` is a data column, else a scan."""
    if "jet_id" in store.get_storer(key).data_columns:
        return store.select(key, where=f"jet_id == {jet_id}").reset_index(drop=True)
    parts = [chunk[chunk["jet_id"] == jet_id] for chunk in store.select(key, chunksize=200_000)]
    return pd.concat(parts).reset_index(drop=True)


def _empty_edges() -> pd.DataFrame:
    return pd.DataFrame(columns=["jet_id", "source", "target", "significance"])


class RelevanceWriter:
    """Appends tables chunk by chunk to a temporary HDF5 file, renamed to ``path`` on success.

    Example::

        with RelevanceWriter(path, feature_names, display_names, meta) as writer:
            writer.append(jets=jets_df, tracks=tracks_df, edges=edges_df)
    """

    def __init__(
        self, path: str | Path, feature_names: list[str], display_names: list[str], meta: dict[str, Any]
    ) -> None:
        self.path = Path(path)
        self._output = AtomicPath(self.path, check=self._check)
        self._rows = dict.fromkeys(_TABLES, 0)
        self._features = pd.DataFrame({"name": feature_names, "display_name": display_names})
        self.meta = dict(meta)
        """Settings written as the ``meta`` table when the file is complete; may be added to until then."""
        self._store: pd.HDFStore | None = None

    def __enter__(self) -> RelevanceWriter:
        temporary = self._output.__enter__()
        try:
            self._store = pd.HDFStore(temporary, mode="w", complevel=5, complib="blosc:lz4")
            self._store.put("features", self._features, format="fixed", track_times=False)
        except BaseException as err:
            self.__exit__(type(err), err, err.__traceback__)
            raise
        return self

    def append(self, **tables: pd.DataFrame) -> None:
        """Append rows to any of ``jets``, ``tracks``, ``edges``, ``walks``."""
        if self._store is None:
            msg = "RelevanceWriter.append called outside its `with` block"
            raise RuntimeError(msg)
        for key, table in tables.items():
            if key not in _TABLES:
                msg = f"unknown relevance table '{key}' (valid: {', '.join(_TABLES)})"
                raise ValueError(msg)
            # ``jet_id`` as a data column: one jet's rows are read with a query, not a scan.
            try:
                self._store.append(
                    key, table.reset_index(drop=True), format="table", index=False, data_columns=["jet_id"]
                )
            except OSError:
                raise
            except Exception as err:  # HDF5 reports a full disk as "Problems appending the records"
                raise unreadable_output(self.path, f"appending to table '{key}' failed") from err
            self._rows[key] += len(table)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._store is not None:
                if exc is None:
                    meta = pd.DataFrame({k: [v] for k, v in self.meta.items()})
                    self._store.put("meta", meta, format="fixed", track_times=False)
                self._store.close()
                self._store = None
        except BaseException as err:
            self._output.__exit__(type(err), err, err.__traceback__)
            raise
        self._output.__exit__(exc_type, exc, tb)  # commits (checks, renames) or discards

    def _check(self, temporary: Path) -> None:
        written = {"features": None, "meta": None, **{k: n for k, n in self._rows.items() if n}}
        hdf_check(self.path, written)(temporary)


def read_relevance_file(path: str | Path) -> RelevanceFile:
    """Open a relevance file written by :class:`RelevanceWriter`, or a folder of parts
    (:mod:`hepxai.explain.relevance_parts`): its jet table, features and settings.

    Raises:
        InputError: the file is missing, not HDF5, or lacks a table; a part dataset is unfinished.
    """
    path = Path(path)
    if is_part_dataset(path):
        return _read_parts(path)
    if not path.is_file():
        msg = f"{path}: relevance file not found"
        raise InputError(msg)
    try:
        with pd.HDFStore(path, mode="r") as store, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keys = _keys(store)
            for key in ("jets", "tracks", "features", "meta"):
                if key not in keys:
                    msg = f"{path}: not a relevance file (no table '{key}')"
                    raise InputError(msg)
            jets, features, meta = (store[key] for key in ("jets", "features", "meta"))
    except InputError:
        raise
    except Exception as err:
        msg = f"{path}: not a readable relevance file ({type(err).__name__})"
        raise InputError(msg) from err
    return RelevanceFile(
        path=path,
        jets=jets.reset_index(drop=True),
        feature_names=list(features["name"]),
        display_names=list(features["display_name"]),
        meta=meta.iloc[0].to_dict(),
    )


def _read_parts(folder: Path) -> RelevanceFile:
    """A part dataset as one relevance file: the jet tables of its parts one after the other."""
    parts = complete_parts(folder)
    files = [read_relevance_file(part) for part in parts]
    first = files[0]
    for part in files[1:]:
        if part.feature_names != first.feature_names:
            msg = f"{part.path}: features differ from those of {first.path}"
            raise InputError(msg)
    jets = pd.concat([part.jets for part in files]).reset_index(drop=True)
    return RelevanceFile(
        path=folder,
        jets=jets,
        feature_names=first.feature_names,
        display_names=first.display_names,
        meta={**first.meta, "num_jets": len(jets)},
        parts=tuple(parts),
        part_first_jet_ids=tuple(int(part.jets["jet_id"].iat[0]) for part in files),
    )
