"""A graph folder as the jobs read it: a split one event at a time, one event by id, the folder's setting."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from hepxai.errors import InputError
from hepxai.tracking.event_graph import graph_path, write_graph, write_graph_record
from hepxai.tracking.graph_files import GraphFiles, graph_setting, read_event
from hepxai.tracking.settings import get_setting

from .toys import toy_event


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    for event_id in (3, 1, 2):
        write_graph(toy_event(event_id, event_id=event_id), graph_path(tmp_path, "test", event_id))
    write_graph_record(tmp_path, {"setting": "pt05_mu200"})
    return tmp_path


def test_a_split_is_read_by_event_id_when_indexed(folder: Path) -> None:
    events = GraphFiles.of(folder, "test", limit=2)
    assert [path.name for path in events.paths] == ["event000000001.pt", "event000000002.pt"]
    assert [int(event.event_id[0]) for event in events] == [1, 2]
    empty = toy_event(4, event_id=4)
    empty.edge_index, empty.y = torch.empty((2, 0), dtype=torch.long), torch.empty(0)
    empty.edge_attr = torch.empty((0, empty.edge_attr.shape[1]))
    path = write_graph(empty, graph_path(folder, "test", 4))
    events = GraphFiles.of(folder, "test")
    assert len(events) == 4  # listing reads nothing
    with pytest.raises(InputError, match=f"{path}: field 'edge_index' is empty"):
        events[3]


def test_one_event_by_id(folder: Path) -> None:
    event, path = read_event(folder, "test")
    assert (int(event.event_id[0]), path) == (1, graph_path(folder, "test", 1))
    assert int(read_event(folder, "test", 3)[0].event_id[0]) == 3
    with pytest.raises(InputError, match="field 'event_id': no graph of event 9"):
        read_event(folder, "test", 9)


def test_a_graph_folder_names_its_setting(folder: Path) -> None:
    assert graph_setting(folder) == get_setting("pt05_mu200")
    write_graph_record(folder, {"setting": "pt2_mu0"})
    with pytest.raises(InputError, match=r"graphs\.yaml: field 'setting' is 'pt2_mu0', expected one of"):
        graph_setting(folder)
