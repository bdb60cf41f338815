"""The results table: rows of one evaluation replace rows of the same (method, setting, edge_drop) only."""

import pandas as pd

from hepxai.tracking.results import COLUMNS, update_results


def test_rows_replace_their_key_and_keep_the_others(tmp_path):
    path = tmp_path / "tracking.csv"
    update_results(path, [{"method": "a", "setting": "s", "edge_drop": 0.0, "efficiency": 0.5},
                          {"method": "b", "setting": "s", "edge_drop": 0.0, "efficiency": 0.6}])  # fmt: skip
    update_results(path, [{"method": "a", "setting": "s", "edge_drop": 0.0, "efficiency": 0.9},
                          {"method": "a", "setting": "s", "edge_drop": 0.2, "efficiency": 0.7}])  # fmt: skip
    table = pd.read_csv(path)
    assert list(table.columns) == list(COLUMNS)
    assert table[["method", "edge_drop", "efficiency"]].values.tolist() == [
        ["a", 0.0, 0.9],
        ["a", 0.2, 0.7],
        ["b", 0.0, 0.6],
    ]
