"""Reading the graph building time of evaluated events: a mean, "not measured", or a one-line error."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from hepxai.errors import InputError
from hepxai.tracking.event_graph import graph_path
from hepxai.tracking.graph_building import STATS_FILE, graph_seconds

SIX = r"test/event000000006\.pt"


def _stats(folder: Path, rows: list[tuple[str, int, object]]) -> Path:
    path = folder / STATS_FILE
    pd.DataFrame(rows, columns=["split", "event_id", "seconds"]).to_csv(path, index=False)
    return path


def test_the_mean_of_the_chosen_events(tmp_path: Path) -> None:
    _stats(tmp_path, [("test", 5, 0.5), ("test", 6, 1.5), ("test", 7, 9.0), ("valid", 5, 9.0)])
    paths = [graph_path(tmp_path, "test", event_id) for event_id in (5, 6)]
    assert graph_seconds(tmp_path, "test", paths) == pytest.approx(1.0)  # (0.5 + 1.5) / 2


def test_no_table_is_not_measured(tmp_path: Path) -> None:
    assert graph_seconds(tmp_path, "test", [graph_path(tmp_path, "test", 5)]) is None


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ([("test", 5, 0.5)], rf"field 'event_id': no time for {SIX} \(1 graphs without one\)"),
        ([("test", 5, 0.5), ("test", 6, float("nan"))], f"field 'seconds' is nan for {SIX}"),
        ([("test", 5, 0.5), ("test", 6, "slow")], f"field 'seconds' is nan for {SIX}"),
        ([("test", 5, 0.5), ("test", 6, -1.0)], rf"field 'seconds' is -1\.0 for {SIX}"),
    ],
)
def test_a_missing_or_unreadable_time_is_one_line(tmp_path: Path, rows: list, message: str) -> None:
    path = _stats(tmp_path, rows)
    paths = [graph_path(tmp_path, "test", event_id) for event_id in (5, 6)]
    with pytest.raises(InputError, match=f"^{path}: {message}"):
        graph_seconds(tmp_path, "test", paths)


def test_a_table_without_the_seconds_column_is_one_line(tmp_path: Path) -> None:
    path = tmp_path / STATS_FILE
    pd.DataFrame({"split": ["test"], "event_id": [5]}).to_csv(path, index=False)
    with pytest.raises(InputError, match="field 'seconds' is missing"):
        graph_seconds(tmp_path, "test", [graph_path(tmp_path, "test", 5)])
