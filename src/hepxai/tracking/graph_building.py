"""Writing the hit graphs of a setting with one graph builder, event by event, resuming a stopped run.

A builder is anything with ``edges(data) -> [2, E]`` that uses no truth (:class:`GraphBuilder`: the module
map, the metric-learning embedding). Each event's graph goes to its own file (see
:mod:`hepxai.tracking.event_graph`); ``graph_stats.csv`` beside them holds, per event, the hits, edges,
graph edge efficiency and purity and the seconds the builder took (edges found and oriented).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pandas as pd
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.io.atomic import atomic_path
from hepxai.io.csv_files import read_csv_table
from hepxai.metrics.tracking import graph_efficiency_purity
from hepxai.parallel import engine
from hepxai.tracking.event_graph import (
    GRAPHS_FILE,
    event_hits,
    graph_path,
    read_graph_record,
    with_edges,
    write_graph,
    write_graph_record,
)
from hepxai.tracking.sample import read_setting_events
from hepxai.tracking.settings import SPLITS, Setting, is_named, setting_record

log = logging.getLogger(__name__)

STATS_FILE = "graph_stats.csv"


class GraphBuilder(Protocol):
    """Makes the candidate edges of an event from its hits, without truth."""

    def edges(self, data: Data) -> torch.Tensor: ...


@dataclass(frozen=True)
class GraphStats:
    """One event's graph."""

    split: str
    event_id: int
    hits: int
    edges: int
    true_edges: int  # of the event, in the graph or not
    edge_efficiency: float  # true edges kept / true edges
    edge_purity: float  # true edges / edges
    seconds: float


def build_graphs(
    setting: Setting,
    root: str | Path,
    folder: str | Path,
    builder: GraphBuilder,
    record: dict,
    *,
    splits: tuple[str, ...] = SPLITS,
    progress: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Write the graphs of ``splits`` into ``folder``; returns the stats of every graph there.

    Each event is a task on the engine (:mod:`hepxai.parallel`); stats are written in event order.

    Args:
        setting: Which events and cut.
        root: The tracking data root (events under ``ROOT/samples``).
        folder: Graph folder; an earlier run's folder with the same ``record`` is completed.
        builder: The graph builder.
        record: What ``graphs.yaml`` says about the builder (name, parameters); the setting's name is added,
            and a custom setting's fields (``custom_setting``), which every later command reads.
        workers: Worker processes of a local Dask cluster (1: this process).
        scheduler: Address of a running Dask scheduler, instead of local workers.

    Raises:
        InputError: the folder holds graphs of another builder or setting, or a graph has no edges.
    """
    folder = Path(folder)
    custom = {} if is_named(setting) else {"custom_setting": setting_record(setting)}
    record = {"setting": setting.name, **custom, **record}
    if (folder / GRAPHS_FILE).is_file():
        earlier = read_graph_record(folder)
        for key, value in record.items():
            if earlier.get(key) != value:
                msg = (
                    f"{folder / GRAPHS_FILE}: field '{key}' is {earlier.get(key)!r}, this run asks for "
                    f"{value!r}; use another folder"
                )
                raise InputError(msg)
    else:
        write_graph_record(folder, record)
    stats_path = folder / STATS_FILE
    rows = []
    if stats_path.is_file():
        rows = read_csv_table(stats_path, ("split", "event_id")).to_dict("records")
    job = GraphJob(setting, Path(root), folder, builder)
    pending = {
        split: [(split, i) for i in setting.split(split) if not graph_path(folder, split, i).is_file()]
        for split in splits
    }
    workers = max(1, min(workers, sum(map(len, pending.values()))))
    with engine(workers, scheduler) as runner:
        shared = runner.broadcast(job)
        for split in splits:
            results = runner.map(graph_of_event, pending[split], shared, ordered=True)
            for _, stats in tqdm(
                results, total=len(pending[split]), desc=f"graphs {split}", unit="event", disable=not progress
            ):
                rows.append(asdict(stats))
                _write_stats(stats_path, rows)
    table = pd.DataFrame(rows, columns=[name for name in GraphStats.__dataclass_fields__])
    log.info("graphs in %s:\n%s", folder, summarize_graphs(table).to_string())
    return table


@dataclass(frozen=True)
class GraphJob:
    """What every event's task needs: the builder is fitted once and sent to each worker once."""

    setting: Setting
    root: Path
    folder: Path
    builder: GraphBuilder


def graph_of_event(task: tuple[str, int], job: GraphJob) -> GraphStats:
    """Build and write the graph of one event: the task each worker runs."""
    split, event_id = task
    event = next(read_setting_events(job.setting, job.root, [event_id]))
    data = event_hits(event)
    start = time.perf_counter()
    graph = with_edges(data, job.builder.edges(data))
    seconds = time.perf_counter() - start
    path = graph_path(job.folder, split, event.event_id)
    if graph.num_edges == 0:
        msg = f"{path}: field 'edge_index' is empty (the builder found no edges in this event)"
        raise InputError(msg)
    write_graph(graph, path)
    efficiency, purity = graph_efficiency_purity(graph.y.numpy(), int(graph.num_true_edges))
    return GraphStats(
        split,
        event.event_id,
        graph.num_nodes,
        graph.num_edges,
        int(graph.num_true_edges),
        efficiency,
        purity,
        seconds,
    )


def summarize_graphs(table: pd.DataFrame) -> pd.DataFrame:
    """Per split: events, median hits and edges, graph edge efficiency and purity (of the sums), seconds."""
    kept = table["edge_efficiency"] * table["true_edges"]
    summary = table.assign(kept=kept).groupby("split", sort=False)
    return pd.DataFrame(
        {
            "events": summary.size(),
            "hits": summary["hits"].median(),
            "edges": summary["edges"].median(),
            "edge_efficiency": summary["kept"].sum() / summary["true_edges"].sum(),
            "edge_purity": summary["kept"].sum() / summary["edges"].sum(),
            "seconds": summary["seconds"].median(),
        }
    )


def graph_seconds(folder: str | Path, split: str, paths: Sequence[Path]) -> float | None:
    """Mean seconds the builder took for the graph files ``paths`` of ``split``, from the folder's
    ``graph_stats.csv``; None (not measured) where the folder has none (graphs not written by
    :func:`build_graphs`).

    Raises:
        InputError: the table lacks a column, has no time for one of the graphs, or a time that is not a
            finite number of seconds.
    """
    path = Path(folder) / STATS_FILE
    if not path.is_file():
        return None
    try:
        stats = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError) as err:
        msg = f"{path}: not a graph stats table ({type(err).__name__})"
        raise InputError(msg) from err
    for name in ("split", "event_id", "seconds"):
        if name not in stats:
            msg = f"{path}: field '{name}' is missing"
            raise InputError(msg)
    if not pd.api.types.is_integer_dtype(stats["event_id"]):
        msg = f"{path}: field 'event_id' has dtype {stats['event_id'].dtype}, expected integers"
        raise InputError(msg)
    mine = stats[stats["split"] == split]
    names = [graph_path(folder, split, event_id).name for event_id in mine["event_id"]]
    seconds = pd.to_numeric(pd.Series(mine["seconds"].to_numpy(), index=names), errors="coerce")
    wanted = [Path(graph).name for graph in paths]
    missing = [name for name in wanted if name not in seconds.index]
    if missing:
        msg = (
            f"{path}: field 'event_id': no time for {split}/{missing[0]} ({len(missing)} graphs without one)"
        )
        raise InputError(msg)
    chosen = seconds[wanted]
    bad = chosen[~np.isfinite(chosen) | (chosen < 0)]
    if len(bad):
        msg = f"{path}: field 'seconds' is {bad.iloc[0]} for {split}/{bad.index[0]}, expected seconds >= 0"
        raise InputError(msg)
    return float(chosen.mean())


def _write_stats(path: Path, rows: list[dict]) -> None:
    table = pd.DataFrame(rows).drop_duplicates(["split", "event_id"], keep="last")
    with atomic_path(path) as temporary:
        table.sort_values(["split", "event_id"]).to_csv(temporary, index=False)
