"""The relevance file: explanations of many jets as three tables in one HDF5 file (pandas/PyTables).

Layout (every table keyed by ``jet_id``, the jet's index in the explained data):

- ``/jets``: one row per jet: ``jet_id``, ``label`` (1 = H), ``logit_QCD``, ``logit_H``, ``prob_H``,
  ``explained_logit``, ``absorbed``, the spectators and jet truth where present.
- ``/tracks``: one row per track: ``jet_id``, ``track`` (position in the jet), ``relevance_0`` ...
  ``relevance_{F-1}`` in schema feature order, the inputs plots need (``track_pt``, ``track_etarel``,
  ``track_phirel``, ``track_isMu``, ``track_isEl`` where the schema has them) and track truth
  (``track_fromB`` ...) where present.
- ``/edges``: one row per directed edge: ``jet_id``, ``source``, ``target`` (positions in the jet),
  ``significance``; with full edge relevance also ``relevance_source_i`` and ``relevance_target_i``.
- ``/features``: ``name`` and ``display_name`` (repeated names made unique) in schema order.
- ``/meta``: one row of settings: ``method``, ``target``, ``input``, ``model``, ``schema``, ...

Written to a temporary name and renamed when complete, so a file that exists is whole.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pandas as pd

from hepxai.errors import InputError

_TABLES = ("jets", "tracks", "edges")


@dataclass(frozen=True)
class RelevanceFile:
    """The content of a relevance file, as pandas tables."""

    jets: pd.DataFrame
    tracks: pd.DataFrame
    edges: pd.DataFrame
    feature_names: list[str]
    display_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def relevance_columns(self) -> list[str]:
        return [f"relevance_{i}" for i in range(len(self.feature_names))]

    def track_relevance(self) -> np.ndarray:
        """``[num_tracks, num_features]`` relevance of every track, in schema feature order."""
        return self.tracks[self.relevance_columns].to_numpy()

    def jet(self, jet_id: int) -> tuple[pd.DataFrame, pd.DataFrame]:
        """The track and edge rows of one jet."""
        if jet_id not in set(self.jets["jet_id"]):
            msg = f"jet {jet_id} is not in this relevance file"
            raise InputError(msg)
        return (self.tracks[self.tracks["jet_id"] == jet_id],
                self.edges[self.edges["jet_id"] == jet_id])


class RelevanceWriter:
    """Appends tables chunk by chunk to a temporary HDF5 file, renamed to ``path`` on success.

    Example::

        with RelevanceWriter(path, feature_names, display_names, meta) as writer:
            writer.append(jets=jets_df, tracks=tracks_df, edges=edges_df)
    """

    def __init__(self, path: str | Path, feature_names: list[str], display_names: list[str],
                 meta: dict[str, Any]) -> None:
        self.path = Path(path)
        self._temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")
        self._header = {
            "features": pd.DataFrame({"name": feature_names, "display_name": display_names}),
            "meta": pd.DataFrame({k: [v] for k, v in meta.items()}),
        }
        self._store: pd.HDFStore | None = None

    def __enter__(self) -> RelevanceWriter:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._store = pd.HDFStore(self._temporary, mode="w", complevel=4, complib="zlib")
        for key, table in self._header.items():
            self._store.put(key, table, format="fixed")
        return self

    def append(self, **tables: pd.DataFrame) -> None:
        """Append rows to any of ``jets``, ``tracks``, ``edges``."""
        if self._store is None:
            msg = "RelevanceWriter.append called outside its `with` block"
            raise RuntimeError(msg)
        for key, table in tables.items():
            if key not in _TABLES:
                msg = f"unknown relevance table '{key}' (valid: {', '.join(_TABLES)})"
                raise ValueError(msg)
            self._store.append(key, table.reset_index(drop=True), format="table", index=False)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._store is not None:
            self._store.close()
        if exc_type is None:
            os.replace(self._temporary, self.path)
        else:
            self._temporary.unlink(missing_ok=True)


def read_relevance_file(path: str | Path) -> RelevanceFile:
    """Read a relevance file written by :class:`RelevanceWriter`.

    Raises:
        InputError: the file is missing, not HDF5, or lacks a table.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{path}: relevance file not found"
        raise InputError(msg)
    try:
        with pd.HDFStore(path, mode="r") as store, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            keys = {k.lstrip("/") for k in store.keys()}
            for key in ("jets", "tracks", "features", "meta"):
                if key not in keys:
                    msg = f"{path}: not a relevance file (no table '{key}')"
                    raise InputError(msg)
            # Chunks are appended with their own 0-based index: give every table one running index.
            tables = {k: store[k].reset_index(drop=True) for k in (*_TABLES, "features", "meta") if k in keys}
    except InputError:
        raise
    except Exception as err:
        msg = f"{path}: not a readable relevance file ({type(err).__name__})"
        raise InputError(msg) from err
    edges = tables.get("edges", pd.DataFrame(columns=["jet_id", "source", "target", "significance"]))
    return RelevanceFile(
        jets=tables["jets"],
        tracks=tables["tracks"],
        edges=edges,
        feature_names=list(tables["features"]["name"]),
        display_names=list(tables["features"]["display_name"]),
        meta=tables["meta"].iloc[0].to_dict(),
    )
