"""The results table: rows replace rows of the same (method, setting, edge_drop, graphs) only."""

import pandas as pd

from hepxai.tracking.results import COLUMNS, update_results


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
