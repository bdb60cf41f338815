"""One function per ``hepxai tracking`` command, with plain arguments: what the command, a notebook or a
Dask task calls (the detector events: :func:`hepxai.tracking.sample.make_events`).

Each job reads, calls the chain's modules and writes its outputs; the work itself lives in those modules
(builders, graph files, reconstruction, evaluation, selection, explanation).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
import torch
import yaml
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.errors import InputError
from hepxai.explain.edge_relevance import Method, explain_edge
from hepxai.io.atomic import atomic_path, write_text
from hepxai.io.lock import lock_folder, owns_file, owns_folder
from hepxai.io.yaml_files import read_yaml
from hepxai.metrics.tracking import drop_small_candidates
from hepxai.models.checkpoint import read_checkpoint
from hepxai.plots.style import save_figure
from hepxai.plots.tracks import assignment_display, efficiency_figure, supernodes_figure, track_display
from hepxai.plots.training import learning_curves
from hepxai.tracking.assignment_explanation import explain_assignment
from hepxai.tracking.builders import BuilderChoice, fitted_builder
from hepxai.tracking.chain_evaluation import ChainResult, evaluate_chain
from hepxai.tracking.clustering import hierarchical_tracks
from hepxai.tracking.edge_drop import DroppedEdges
from hepxai.tracking.edge_training import EdgeTrainConfig, EdgeTrainResult, train_edge_classifier
from hepxai.tracking.evaluation import (
    binned_efficiencies,
    efficiency_table,
    evaluate_truth_cc,
    reconstructable_particles,
    summarize,
)
from hepxai.tracking.event_graph import read_graph_record
from hepxai.tracking.explanation import ExplanationTables, assignment_tables, explanation_tables
from hepxai.tracking.graph_building import STATS_FILE, build_graphs, graph_seconds, summarize_graphs
from hepxai.tracking.graph_files import GraphFiles, event_id_of, graph_setting, read_event
from hepxai.tracking.hgnn_training import (
    HierarchicalDataConfig,
    HierarchicalModelConfig,
    HierarchicalRunConfig,
    HierarchicalTrainConfig,
    load_hierarchical,
    train_hierarchical,
    warn_unset_running_cut,
)
from hepxai.tracking.reconstruction import (
    EventTracks,
    edge_scores,
    load_edge_classifier,
    reconstruct,
    truth_tracks,
)
from hepxai.tracking.results import result_row, update_results
from hepxai.tracking.run_size import WARNINGS_FILE, run_size_warnings
from hepxai.tracking.selection import check_edge, choose_edge, choose_particle
from hepxai.tracking.settings import SPLITS, Setting, claim_setting
from hepxai.tracking.supernodes import summarize_supernodes, supernode_table
from hepxai.training import TrainResult, read_history

log = logging.getLogger(__name__)
R = TypeVar("R")

TRAINING_GRAPHS_FILE = "training_graphs.yaml"
SUPERNODES_FILE = "supernodes.csv"
CURVES_FILE = "curves.png"
SELECTED_BY = {"loss": "lowest validation loss", "auc": "highest validation AUC"}
CHAIN = "edge classifier IN + CC"
BEST_CHAIN = "edge classifier IN + CC, best neighbours"
TRUTH_CHAIN = "Truth-CC"
HIERARCHICAL_CHAINS = {
    "embedding_in": "Embedding IN + HDBSCAN",
    "hgnn_embedding": "Embedding HGNN + HDBSCAN",
    "hgnn_bipartite": "Bipartite HGNN",
}
"""The chain name of each hierarchical model kind in the results table."""


def make_graphs(
    setting: Setting,
    root: str | Path,
    choice: BuilderChoice,
    *,
    splits: tuple[str, ...] = SPLITS,
    progress: bool = True,
    workers: int = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """``hepxai tracking graphs``: fit (or reuse) the builder once, write the graphs of ``splits`` to
    ``ROOT/SETTING/graphs/BUILDER`` on the engine; returns the per-split summary (:func:`summarize_graphs`).
    A custom setting is written to (or checked against) ``ROOT/SETTING/setting.yaml`` and the folder's
    ``graphs.yaml``."""
    for split in splits:
        setting.split(split)
    claim_setting(setting, root)
    folder = setting.folder(root) / "graphs" / choice.name
    with lock_folder(folder):  # a second run into this graph folder stops at once
        builder, record = fitted_builder(setting, root, choice, progress=progress)
        graphs = build_graphs(
            setting,
            root,
            folder,
            builder,
            record,
            splits=splits,
            progress=progress,
            workers=workers,
            scheduler=scheduler,
        )
    return summarize_graphs(graphs)


@dataclass(frozen=True)
class TruthCCReport:
    """Truth-CC on one split: :func:`~hepxai.tracking.evaluation.summarize`'s row and the efficiency of
    reconstructable particles against pT and η (:func:`~hepxai.tracking.evaluation.efficiency_table`)."""

    summary: dict[str, float]
    efficiency: pd.DataFrame


def truth_cc_report(graphs: str | Path, split: str = "test", *, progress: bool = True) -> TruthCCReport:
    """``hepxai tracking truth-cc``: Truth-CC on the graphs of ``split`` in the folder ``graphs``.

    The setting (pT bins, splits) is the one the folder's ``graphs.yaml`` records.
    """
    setting = graph_setting(graphs)
    setting.split(split)
    results = evaluate_truth_cc(Path(graphs), split, setting, progress=progress)
    particles = reconstructable_particles(results)
    return TruthCCReport(
        summarize(results), efficiency_table(binned_efficiencies(**particles, setting=setting))
    )


def train_edge_model(
    graphs: Path,
    out: Path,
    config: EdgeTrainConfig,
    *,
    max_train_events: int | None = None,
    max_val_events: int | None = None,
    resume: bool = False,
    threads: int | None = None,
    progress: bool = True,
) -> EdgeTrainResult:
    """``hepxai tracking train``: the edge classifier on the graphs' train split, selected on valid.

    The run folder records the graph folder's ``graphs.yaml`` (setting, builder, its parameters) in
    ``training_graphs.yaml``; a resume on graphs of another setting or builder is refused.
    """
    events = (max_train_events, max_val_events)
    options = {"resume": resume, "threads": threads, "progress": progress}
    return _train_on_graphs(train_edge_classifier, config, graphs, out, *events, **options)


def _claim_graphs(graphs: Path, out: Path, *, resume: bool) -> None:
    """Record the graph folder's settings in a new run; check them against the record on a resume."""
    path = Path(out) / TRAINING_GRAPHS_FILE
    wanted = read_graph_record(graphs)
    if resume and path.is_file():
        earlier = read_yaml(path)
        for key in sorted(set(earlier) | set(wanted)):
            if key != "module_map" and earlier.get(key) != wanted.get(key):
                msg = (
                    f"{path}: field '{key}' is {earlier.get(key)!r}, the graphs in {graphs} have "
                    f"{wanted.get(key)!r}; resume on graphs of the run's setting and builder"
                )
                raise InputError(msg)
    elif not (Path(out) / "last.pt").exists():  # else fit refuses the run without --resume
        write_text(path, yaml.safe_dump(wanted, sort_keys=False))


def train_hierarchical_model(
    graphs: Path,
    out: Path,
    model: HierarchicalModelConfig,
    train: HierarchicalTrainConfig,
    *,
    max_train_events: int | None = None,
    max_val_events: int | None = None,
    resume: bool = False,
    threads: int | None = None,
    progress: bool = True,
) -> TrainResult:
    """``hepxai tracking train --model KIND``: a hierarchical model (or the Embedding IN) on the graphs'
    train split, selected on valid; like :func:`train_edge_model`, the run records the graph folder and a
    resume on other graphs is refused."""
    config = HierarchicalRunConfig(HierarchicalDataConfig(graph_setting(graphs).name), model, train)
    events = (max_train_events, max_val_events)
    options = {"resume": resume, "threads": threads, "progress": progress}
    return _train_on_graphs(train_hierarchical, config, graphs, out, *events, **options)


def _train_on_graphs(
    train: Callable[..., R],
    config: object,
    graphs: Path,
    out: Path,
    max_train_events: int | None,
    max_val_events: int | None,
    *,
    resume: bool,
    threads: int | None,
    progress: bool,
) -> R:
    """Run ``train(train_events, val_events, config, out, ...)`` on the graphs' train and valid splits,
    holding the run folder and checking its graph record (the loop logs the epochs and the best one)."""
    _set_threads(threads)
    with lock_folder(out):  # a second run into this folder stops at once
        _claim_graphs(graphs, out, resume=resume)
        result = train(
            GraphFiles.of(graphs, "train", max_train_events),
            GraphFiles.of(graphs, "valid", max_val_events),
            config,
            out,
            resume=resume,
            progress=progress,
        )
        draw_learning_curves(out)
        return result


def draw_learning_curves(run: Path, out: Path | None = None) -> Path:
    """``hepxai tracking curves`` (and the end of ``hepxai tracking train``): the learning curves of the run
    in the folder ``run`` (:func:`~hepxai.plots.training.learning_curves`, from ``run/last.pt``) to ``out``
    (default ``run/curves.png``; its suffix is the format). Reads a run that is still training too: its
    ``last.pt`` is replaced whole after every epoch."""
    return _draw_learning_curves(run, Path(run) / CURVES_FILE if out is None else out)


@owns_file("out")
def _draw_learning_curves(run: Path, out: Path) -> Path:
    runs = read_history(Path(run) / "last.pt")
    history = runs.history
    columns = {
        name: np.array([getattr(record, name) for record in history], np.float64)
        for name in ("epoch", "train_loss", "val_loss", "val_auc")
    }
    about = ", ".join(filter(None, [runs.kind, f"{len(history)} epochs"]))
    figure = learning_curves(
        **columns,
        best_epoch=runs.best_epoch,
        selected_by=SELECTED_BY.get(runs.select, runs.select),
        title=f"{run} ({about})",
    )
    (path,) = save_figure(figure, out.with_suffix(""), (out.suffix.lstrip(".") or "png",))
    best = ""
    if runs.best_epoch:
        record = history[runs.best_epoch - 1]
        best = f", best epoch {record.epoch} (val loss {record.val_loss:.4f}, val AUC {record.val_auc:.4f})"
    log.info("%d epochs%s -> %s", len(history), best, path)
    return path


@owns_file("out")
def write_tracks(
    model: Path,
    graphs: Path,
    out: Path,
    *,
    split: str = "test",
    cut: float = 0.5,
    min_candidate_hits: int = 3,
    best_neighbours: bool = False,
    progress: bool = True,
) -> Path:
    """``hepxai tracking reconstruct``: ``out``, a CSV of ``event_id``, ``hit_id``, ``track_id`` (TrackML
    submission columns; −1 for a hit in no candidate of at least ``min_candidate_hits`` hits)."""
    classifier = load_edge_classifier(model)
    tables = []
    for event in tqdm(
        GraphFiles.of(graphs, split), desc="reconstructing", unit="event", disable=not progress
    ):
        tracks = reconstruct(classifier, event, cut, best_neighbours=best_neighbours)
        track_id = drop_small_candidates(tracks.candidate, min_candidate_hits)
        tables.append(
            pd.DataFrame(
                {"event_id": event_id_of(event), "hit_id": event.hit_id.numpy(), "track_id": track_id}
            )
        )
    with atomic_path(out) as temporary:
        pd.concat(tables).to_csv(temporary, index=False)
    log.info("wrote %s", out)
    return out


@owns_folder("out")
def evaluate_chains(
    model: Path,
    graphs: Path,
    out: Path,
    *,
    split: str = "test",
    cut: float = 0.5,
    best_neighbours_cut: float | None = None,
    min_candidate_hits: int = 3,
    max_events: int | None = None,
    edge_drop: float = 0.0,
    drop_seed: int = 0,
    results: Path | None = None,
    threads: int | None = None,
    progress: bool = True,
) -> list[dict[str, object]]:
    """``hepxai tracking evaluate``: the model's chains and Truth-CC on the first ``max_events`` graphs of
    ``split``, each edge dropped with probability ``edge_drop`` (drawn from ``drop_seed`` and the event id,
    :mod:`hepxai.tracking.edge_drop`) before every chain.

    An edge classifier gives two chains: components of the edges above ``cut``, and the same with best
    neighbours (at ``best_neighbours_cut``, default ``cut``). A hierarchical model gives one
    (:data:`HIERARCHICAL_CHAINS`): the bipartite HGNN's assignments above ``cut``, or HDBSCAN on an
    embedding model's output. Writes ``out/summary.csv`` (the rows returned,
    :func:`~hepxai.tracking.results.result_row`), ``out/particles.csv`` (every particle of every chain,
    matched or not), ``out/efficiency.csv`` and ``out/efficiency.png`` (efficiency against pT, in the
    setting's bins, and η); a hierarchical model's chain also ``out/supernodes.csv`` and
    ``out/supernodes.png`` (per event: the supernodes its pooling made, the particles with hits and the
    reconstructable ones, :mod:`hepxai.tracking.supernodes`), with their medians and ratios in one log line;
    with ``results``, the rows go into that results table too. Without the
    folder's ``graph_stats.csv`` the graph time is not measured: ``seconds_per_event`` is left empty and a
    warning says so. A run too small to mean anything (:mod:`hepxai.tracking.run_size`) is logged as a
    warning and written to ``out/warnings.txt``.
    """
    _set_threads(threads)
    setting = graph_setting(graphs)
    files = GraphFiles.of(graphs, split, max_events)
    seconds = graph_seconds(graphs, split, files.paths)  # read first: a bad table stops before the chains
    events = DroppedEdges(files, edge_drop, drop_seed)
    chains = _model_chains(model, setting, cut, cut if best_neighbours_cut is None else best_neighbours_cut)
    options = {"setting": setting, "min_candidate_hits": min_candidate_hits, "progress": progress}
    evaluated = {
        name: evaluate_chain(events, chain, cut=chain_cut, **options)
        for name, (chain, chain_cut) in chains.items()
    }
    evaluated[TRUTH_CHAIN] = evaluate_chain(events, truth_tracks, **options)
    train_events = int(read_checkpoint(model).get("train_events", 0))
    common = {
        "setting": setting.name,
        "graphs": graphs.name,
        "graph_seconds": seconds,
        "edge_drop": edge_drop,
    }
    rows = [
        result_row(evaluated[name], method=name, train_events=train_events, cut=chain_cut, **common)
        for name, (_, chain_cut) in chains.items()
    ]
    rows.append(result_row(evaluated[TRUTH_CHAIN], method=TRUTH_CHAIN, train_events=0, timed=False, **common))
    warnings = run_size_warnings(
        read_graph_record(graphs),
        {name: result.counts for name, result in evaluated.items()},
        truth_chain=TRUTH_CHAIN,
    )
    _write_evaluation(out, rows, evaluated, setting, warnings)
    for warning in warnings:
        log.warning("%s: %s", setting.name, warning)
    if seconds is None:
        log.warning("%s: no %s, graph time not measured: seconds_per_event left empty", graphs, STATS_FILE)
    if edge_drop > 0:
        log.info(
            "every chain saw each graph edge dropped with probability %g (seed %d)", edge_drop, drop_seed
        )
    for row in rows:
        log.info(
            "%s on %s (%d events): efficiency %.4f, purity %.4f, TrackML score %.4f, %s",
            row["method"],
            setting.name,
            row["test_events"],
            row["efficiency"],
            row["purity"],
            row["trackml_score"],
            _time(row, seconds),
        )
    if results is not None:
        log.info("wrote %s", update_results(results, rows))
    return rows


def _model_chains(
    model: Path, setting: Setting, cut: float, best_cut: float
) -> dict[str, tuple[Callable[[Data], EventTracks], float | None]]:
    """Chain name -> (event -> tracks, the cut it used) for the checkpoint's model."""
    kind = read_checkpoint(model).get("kind")
    if kind in HIERARCHICAL_CHAINS:
        network = load_hierarchical(model, kind=kind, setting=setting.name)
        warn_unset_running_cut(network)
        chain_cut = cut if kind == "hgnn_bipartite" else None
        return {
            HIERARCHICAL_CHAINS[kind]: (lambda event: hierarchical_tracks(network, event, cut=cut), chain_cut)
        }
    classifier = load_edge_classifier(model)
    return {
        CHAIN: (lambda event: reconstruct(classifier, event, cut), cut),
        BEST_CHAIN: (lambda event: reconstruct(classifier, event, best_cut, best_neighbours=True), best_cut),
    }


@owns_file("out")
def display_track(
    model: Path,
    graphs: Path,
    out: Path,
    *,
    split: str = "test",
    event_id: int | None = None,
    particle: int | None = None,
    edge: int | None = None,
    method: Method | None = None,
) -> Path:
    """``hepxai tracking display``: one particle's edges coloured by score and one edge's explanation
    (:func:`~hepxai.plots.tracks.track_display`; ``method`` default LRP), to ``out`` (its suffix is the
    format). Without ``particle`` and ``edge``, :mod:`hepxai.tracking.selection` chooses them."""
    classifier = load_edge_classifier(model)
    setting = graph_setting(graphs)
    graph, source = read_event(graphs, split, event_id)
    scores = edge_scores(classifier, graph)
    particle = choose_particle(graph, setting, particle, source)
    edge = choose_edge(graph, scores, particle, edge, source)
    relevance = explain_edge(classifier, graph, edge, method=method or "lrp")
    figure = track_display(graph, scores, particle, relevance)
    (path,) = save_figure(figure, out.with_suffix(""), (out.suffix.lstrip(".") or "png",))
    log.info(
        "event %d, particle %d, edge %d (score %.3f) -> %s",
        event_id_of(graph),
        particle,
        edge,
        scores[edge],
        path,
    )
    return path


def write_explanation(
    model: Path,
    graphs: Path,
    out: Path,
    *,
    edge: int | None = None,
    assignment: int | None = None,
    hit_id: int | None = None,
    split: str = "test",
    event_id: int | None = None,
    method: Method | None = None,
) -> ExplanationTables:
    """``hepxai tracking explain``: an edge classifier's ``edge`` (:func:`write_edge_explanation`, LRP by
    default) or a bipartite HGNN's assignment (:func:`write_assignment_explanation`, gradient × input), by
    the checkpoint's kind.

    Raises:
        InputError: a request that does not fit the checkpoint's model (an edge for the bipartite HGNN, an
            assignment or a hit for an edge classifier, LRP for the bipartite HGNN, no edge).
    """
    kind = read_checkpoint(model).get("kind")
    if kind == "hgnn_bipartite":
        if edge is not None:
            msg = (
                f"{model}: a bipartite HGNN scores hit-supernode assignments, not graph edges: use "
                "--assignment or --hit"
            )
            raise InputError(msg)
        if method not in (None, "gradient_x_input"):
            msg = (
                f"{model}: LRP's rules do not cover the bipartite HGNN's discrete pooling (GMPool's cut and "
                "components); it is explained by gradient_x_input"
            )
            raise InputError(msg)
        options = {"assignment": assignment, "hit_id": hit_id, "split": split, "event_id": event_id}
        return write_assignment_explanation(model, graphs, out, **options)
    if assignment is not None or hit_id is not None:
        msg = f"{model}: --assignment and --hit explain a bipartite HGNN; this checkpoint holds a '{kind}'"
        raise InputError(msg)
    if edge is None:
        msg = f"{model}: explaining an edge classifier needs --edge (a column of the graph's edge_index)"
        raise InputError(msg)
    return write_edge_explanation(
        model, graphs, edge, out, split=split, event_id=event_id, method=method or "lrp"
    )


@owns_file("out")
def write_assignment_explanation(
    model: Path,
    graphs: Path,
    out: Path,
    *,
    assignment: int | None = None,
    hit_id: int | None = None,
    split: str = "test",
    event_id: int | None = None,
) -> ExplanationTables:
    """A bipartite HGNN's assignment (default: :func:`~hepxai.tracking.selection.choose_assignment`'s)
    explained by gradient × input (:mod:`hepxai.tracking.assignment_explanation`): ``OUT_hits.csv``,
    ``OUT_edges.csv``, ``OUT_supernodes.csv`` (:mod:`hepxai.tracking.explanation`) and ``OUT.png``
    (:func:`~hepxai.plots.tracks.assignment_display`); logs the decision and the relevance sums."""
    setting = graph_setting(graphs)
    network = load_hierarchical(model, kind="hgnn_bipartite", setting=setting.name)
    graph, source = read_event(graphs, split, event_id)
    explanation = explain_assignment(
        network, graph, setting, assignment=assignment, hit_id=hit_id, source=source
    )
    tables = assignment_tables(graph, explanation)
    for name, table in (("hits", tables.hits), ("edges", tables.edges), ("supernodes", tables.supernodes)):
        with atomic_path(f"{out}_{name}.csv") as temporary:
            table.to_csv(temporary, index=False)
    particle_id = graph.particle_id.numpy()
    truth = explanation.truth(particle_id)
    relevance = explanation.relevance
    figure = assignment_display(
        graph,
        relevance,
        explanation.hit,
        explanation.members,
        supernode=explanation.supernode,
        score=explanation.score,
        truth=truth,
    )
    save_figure(figure, Path(f"{out}.png"), ("png",))  # the stem's suffix is .png: a dot in OUT stays
    log.info(
        "assignment %d of event %d: hit %d (particle %d) -> supernode %d of %d (%d member hits, matched to "
        "particle %d): score %.4f, logit %.4f, %s. Gradient x input (not conservative): hits %.4f, edge "
        "geometry %.4f, supernodes %.4f (%d hits, %d edges reached) -> %s_{hits,edges,supernodes}.csv, "
        "%s.png",
        explanation.assignment,
        event_id_of(graph),
        int(graph.hit_id[explanation.hit]),
        int(particle_id[explanation.hit]),
        explanation.supernode,
        explanation.num_supernodes,
        int(explanation.members.sum()),
        int(explanation.matched[explanation.supernode]),
        explanation.score,
        relevance.logit,
        "true" if truth else "false",
        float(relevance.hit.sum()),
        float(relevance.edge_geometry.sum()),
        float(explanation.supernode_relevance.sum()),
        len(tables.hits),
        len(tables.edges),
        out,
        out,
    )
    return tables


@owns_file("out")
def write_edge_explanation(
    model: Path,
    graphs: Path,
    edge: int,
    out: Path,
    *,
    split: str = "test",
    event_id: int | None = None,
    method: Method = "lrp",
) -> ExplanationTables:
    """``hepxai tracking explain``: ``OUT_hits.csv`` and ``OUT_edges.csv``
    (:mod:`hepxai.tracking.explanation`) of one edge's explanation; logs the conservation check."""
    classifier = load_edge_classifier(model)
    graph, source = read_event(graphs, split, event_id)
    check_edge(graph, edge, source)
    relevance = explain_edge(classifier, graph, edge, method=method)
    tables = explanation_tables(graph, edge_scores(classifier, graph), relevance)
    for name, table in (("hits", tables.hits), ("edges", tables.edges)):
        with atomic_path(f"{out}_{name}.csv") as temporary:
            table.to_csv(temporary, index=False)
    log.info(
        "edge %d of event %d: logit %.4f; relevance on hits %.4f, on edge geometry %.4f, absorbed %.4f "
        "(%d hits, %d edges reached) -> %s_hits.csv, %s_edges.csv",
        edge,
        event_id_of(graph),
        relevance.logit,
        float(relevance.hit.sum()),
        float(relevance.edge_geometry.sum()),
        relevance.absorbed,
        len(tables.hits),
        len(tables.edges),
        out,
        out,
    )
    return tables


def _write_evaluation(
    out: Path,
    rows: list[dict[str, object]],
    evaluated: dict[str, ChainResult],
    setting: Setting,
    warnings: list[str],
) -> None:
    """``summary.csv``, ``particles.csv``, ``efficiency.csv``, ``efficiency.png``, ``supernodes.csv`` and
    ``supernodes.png`` of a hierarchical chain and, where the run is too small to mean anything,
    ``warnings.txt`` in ``out``."""
    if warnings:
        write_text(out / WARNINGS_FILE, "".join(f"{warning}\n" for warning in warnings))
    else:  # an earlier evaluation's warnings no longer hold
        (out / WARNINGS_FILE).unlink(missing_ok=True)
    with atomic_path(out / "summary.csv") as temporary:
        pd.DataFrame(rows).to_csv(temporary, index=False, float_format="%.5g")
    particles = [result.particles.assign(method=name) for name, result in evaluated.items()]
    with atomic_path(out / "particles.csv") as temporary:
        pd.concat(particles, ignore_index=True).to_csv(temporary, index=False)
    binned = {}
    for name, result in evaluated.items():
        chosen = result.particles[result.particles["reconstructable"]]
        binned[name] = binned_efficiencies(chosen["pt"], chosen["eta"], chosen["matched"], setting)
    tables = [efficiency_table(chain).assign(method=name) for name, chain in binned.items()]
    with atomic_path(out / "efficiency.csv") as temporary:
        pd.concat(tables, ignore_index=True).to_csv(temporary, index=False, float_format="%.5g")
    save_figure(efficiency_figure(binned), out / "efficiency", ("png",))
    pooled = {name: result for name, result in evaluated.items() if result.supernodes}
    if not pooled:  # an earlier evaluation's counts no longer hold
        (out / SUPERNODES_FILE).unlink(missing_ok=True)
        (out / SUPERNODES_FILE).with_suffix(".png").unlink(missing_ok=True)
    for name, result in pooled.items():  # at most one: a hierarchical model's chain
        _write_supernodes(out, name, result)


def _write_supernodes(out: Path, name: str, result: ChainResult) -> None:
    """``supernodes.csv`` and ``supernodes.png`` of one hierarchical chain, and their summary in the log."""
    table = supernode_table(result.supernodes, result.particles)
    with atomic_path(out / SUPERNODES_FILE) as temporary:
        table.to_csv(temporary, index=False)
    summary = summarize_supernodes(table)
    title = f"{name}: {summary.per_reconstructable:.2f} supernodes per reconstructable particle"
    figure = supernodes_figure(
        table["supernodes"].to_numpy(),
        table["particles"].to_numpy(),
        table["reconstructable"].to_numpy(),
        title=title,
    )
    save_figure(figure, out / "supernodes", ("png",))
    log.info(
        "%s (%d events): %g supernodes per event (median; %d-%d), %g particles with hits, %g "
        "reconstructable: %.3f supernodes per particle, %.3f per reconstructable particle (sums) -> %s",
        name,
        summary.events,
        summary.supernodes,
        summary.low,
        summary.high,
        summary.particles,
        summary.reconstructable,
        summary.per_particle,
        summary.per_reconstructable,
        out / SUPERNODES_FILE,
    )


def _time(row: dict[str, object], graph_seconds: float | None) -> str:
    if row["method"] == TRUTH_CHAIN:
        return "not timed (it reads the truth)"
    if graph_seconds is None:
        return "time not measured (no graph building time)"
    return f"{row['seconds_per_event']:.3f} s/event"


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        torch.set_num_threads(threads)
