"""The graph files of a folder as the jobs read them: one split as a lazy sequence of checked events, one
event by id, and the setting the folder was built for.

Training, evaluation and reconstruction iterate a split event by event, so only one event's graph is in
memory at a time; every graph read is checked here, once, for what all of them need (edges).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.tracking.event_graph import GRAPHS_FILE, graph_files, graph_path, read_graph, read_graph_record
from hepxai.tracking.settings import Setting, get_setting, setting_from_record


class GraphFiles(Sequence[Data]):
    """The graph files of one split, read and checked when indexed."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    @classmethod
    def of(cls, folder: str | Path, split: str, limit: int | None = None) -> GraphFiles:
        """The first ``limit`` (all without it) graphs of ``split`` in ``folder``, by event id."""
        paths = graph_files(folder, split)
        return cls(paths if limit is None else paths[:limit])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Data:  # type: ignore[override]
        path = self.paths[index]
        event = read_graph(path)
        check_graph(event, path)
        return event


def check_graph(data: Data, source: str | Path) -> None:
    """Refuse a graph without edges, naming the file.

    Raises:
        InputError: ``edge_index`` is empty.
    """
    if data.edge_index.shape[1] == 0:
        msg = f"{source}: field 'edge_index' is empty (a graph with no edges)"
        raise InputError(msg)


def read_event(folder: str | Path, split: str, event_id: int | None = None) -> tuple[Data, Path]:
    """The graph of event ``event_id`` of ``split`` (the split's first without it) and its file.

    Raises:
        InputError: the split has no graph of that event.
    """
    files = graph_files(folder, split)
    path = files[0] if event_id is None else graph_path(folder, split, event_id)
    if path not in files:
        msg = f"{Path(folder) / split}: field 'event_id': no graph of event {event_id}"
        raise InputError(msg)
    return GraphFiles([path])[0], path


def graph_setting(folder: str | Path) -> Setting:
    """The setting a graph folder was built for: its ``graphs.yaml``'s ``custom_setting`` (every field of a
    custom setting), else the named setting its ``setting`` names (the folder's name without one there).

    Raises:
        InputError: the folder has no ``graphs.yaml``, names no known setting, or a field of its
            ``custom_setting`` is missing or wrong (the message names the file and the field).
    """
    record = read_graph_record(folder)
    if "custom_setting" in record:
        return setting_from_record(record["custom_setting"], Path(folder) / GRAPHS_FILE)
    name = str(record.get("setting", Path(folder).name))
    try:
        return get_setting(name)
    except InputError as err:
        msg = f"{Path(folder) / GRAPHS_FILE}: {err} (a custom setting's graphs carry 'custom_setting')"
        raise InputError(msg) from err


def event_id_of(event: Data) -> int:
    """The event's id (−1 for a graph without one)."""
    return int(event.event_id.reshape(-1)[0]) if "event_id" in event else -1
