"""The committed tracking results table, ``results/tracking.csv``: one row per (method, setting, edge_drop,
graphs), ``graphs`` naming the graph folder (builder) the chain ran on.

Rows of one evaluation replace the rows of the same key and leave the others, so chains evaluated by
different commands (graph builders, edge classifiers, later the hierarchical GNN) share one table.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from hepxai.io.atomic import atomic_path
from hepxai.io.csv_files import read_csv_table
from hepxai.provenance import write_provenance
from hepxai.tracking.chain_evaluation import ChainResult

KEY = ("method", "setting", "edge_drop", "graphs")
COLUMNS = (
    *KEY,
    "efficiency",
    "purity",
    "trackml_score",
    "seconds_per_event",
    "train_events",
    "test_events",
    "reconstructable",
    "candidates",
    "edge_auc",
    "edge_efficiency",
    "edge_purity",
    "cut",
    "seconds_graph",
    "seconds_inference",
    "seconds_components",
)


def result_row(
    result: ChainResult,
    *,
    method: str,
    setting: str,
    graphs: str,
    train_events: int,
    graph_seconds: float | None,
    edge_drop: float = 0.0,
    cut: float | None = None,
    timed: bool = True,
) -> dict[str, object]:
    """One row of the table for ``result``.

    Args:
        graph_seconds: Graph building time per event (it precedes every chain on that graph); None: not
            measured (:func:`~hepxai.tracking.graph_building.graph_seconds`).
        timed: Whether the chain's time means anything (Truth-CC reads the truth: no time, as the slides).

    ``seconds_per_event`` is left empty (NaN) where it is not timed or the graph time is not measured.
    """
    edges = result.edges
    seconds = math.nan
    if timed and graph_seconds is not None:
        seconds = graph_seconds + result.seconds_per_event
    stages = {
        "seconds_graph": math.nan if graph_seconds is None else graph_seconds,
        "seconds_inference": result.seconds.get("inference", math.nan),
        "seconds_components": result.seconds.get("components", math.nan),
    }
    return {
        "method": method,
        "setting": setting,
        "edge_drop": edge_drop,
        "graphs": graphs,
        "efficiency": result.efficiency,
        "purity": result.purity,
        "trackml_score": result.trackml_score,
        "seconds_per_event": seconds,
        "train_events": train_events,
        "test_events": result.events,
        "reconstructable": result.counts.reconstructable,
        "candidates": result.counts.candidates,
        "edge_auc": math.nan if edges is None else edges.auc,
        "edge_efficiency": math.nan if edges is None else edges.efficiency,
        "edge_purity": math.nan if edges is None else edges.purity,
        "cut": math.nan if cut is None else cut,
        **stages,
    }


def update_results(path: str | Path, rows: list[dict[str, object]]) -> Path:
    """Write ``rows`` into the table at ``path``, replacing rows of the same key (method, setting, edge_drop,
    graphs); its sidecar ``path.with_suffix(".json")`` keeps one provenance entry per command that wrote
    rows (:func:`hepxai.provenance.write_provenance`)."""
    path = Path(path)
    new = pd.DataFrame(rows)
    if path.is_file():
        old = read_csv_table(path, KEY)
        keys = set(new[list(KEY)].itertuples(index=False, name=None))
        keep = [key not in keys for key in old[list(KEY)].itertuples(index=False, name=None)]
        new = pd.concat([old[keep], new], ignore_index=True)
    columns = [*COLUMNS, *(c for c in new.columns if c not in COLUMNS)]
    new = new.reindex(columns=columns).sort_values(list(KEY), kind="stable")
    with atomic_path(path) as temporary:
        new.to_csv(temporary, index=False, float_format="%.5g")
    write_provenance(path, update=True)
    return path
