"""The results table: rows replace rows of the same (method, setting, edge_drop, graphs) only."""

import math

import pandas as pd
import pytest

from hepxai.metrics.tracking import TrackingCounts
from hepxai.tracking.chain_evaluation import ChainResult
from hepxai.tracking.results import COLUMNS, result_row, update_results


def test_rows_replace_their_key_and_keep_the_others(tmp_path):
    path = tmp_path / "tracking.csv"

    def row(method: str, edge_drop: float, efficiency: float) -> dict[str, object]:
        return {
            "method": method,
            "setting": "s",
            "edge_drop": edge_drop,
            "graphs": "g",
            "efficiency": efficiency,
        }

    update_results(path, [row("a", 0.0, 0.5), row("b", 0.0, 0.6)])
    update_results(path, [row("a", 0.0, 0.9), row("a", 0.2, 0.7)])
    table = pd.read_csv(path)
    assert path.with_suffix(".json").is_file()  # its provenance
    assert list(table.columns) == list(COLUMNS)
    assert table[["method", "edge_drop", "efficiency"]].values.tolist() == [
        ["a", 0.0, 0.9],
        ["a", 0.2, 0.7],
        ["b", 0.0, 0.6],
    ]


def test_a_row_is_timed_only_where_the_graph_time_is_measured() -> None:
    counts = TrackingCounts(4, 3, 4, 0)
    particles = pd.DataFrame()
    result = ChainResult(counts, 0.9, {"inference": 0.25, "components": 0.05}, 2, particles, None)
    common = {"method": "m", "setting": "s", "graphs": "g", "train_events": 1}
    row = result_row(result, graph_seconds=0.5, **common)
    assert row["seconds_per_event"] == pytest.approx(0.8)  # 0.5 + 0.25 + 0.05
    assert row["seconds_graph"] == 0.5
    not_measured = result_row(result, graph_seconds=None, **common)
    assert math.isnan(not_measured["seconds_per_event"])
    assert math.isnan(not_measured["seconds_graph"])
    assert not_measured["seconds_inference"] == 0.25
    assert math.isnan(result_row(result, graph_seconds=0.5, timed=False, **common)["seconds_per_event"])
