"""``hepxai tracking ...``: the event sample of a setting, hit graphs, Truth-CC, and the edge-classifier chain
(train, reconstruct, evaluate, display, explain); see docs/tracking.md.

One function per action; each is ``run_ACTION(args)``.
"""

from __future__ import annotations

import argparse
import logging
import math
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from hepxai.cli import arguments
from hepxai.errors import InputError

if TYPE_CHECKING:
    from torch_geometric.data import Data

    from hepxai.models.registry import GraphModel
    from hepxai.tracking.graph_building import GraphBuilder
    from hepxai.tracking.settings import Setting

log = logging.getLogger(__name__)

BUILDERS = ("module_map", "module_map_nocuts", "embedding")
VALIDATION_EVENTS = 5
"""Validation events watched while the embedding trains (loss, graph edge efficiency and purity)."""


def register(commands: argparse._SubParsersAction) -> None:
    tracking = commands.add_parser(
        "tracking", help="GNN track reconstruction: event samples, hit graphs, Truth-CC, the edge classifier"
    )
    actions = tracking.add_subparsers(dest="action", metavar="ACTION", required=True)

    events = actions.add_parser(
        "events",
        help="simulate a setting's detector events (resumable)",
        description="Run the detector for the setting's sample into ROOT/samples/SAMPLE (HDF5). A stopped "
        "run resumes: run the same command again.",
        formatter_class=arguments.formatter(),
    )
    _add_setting(events)
    events.add_argument("--workers", type=int, default=1, help="worker processes")
    events.set_defaults(run=run_events)

    graphs = actions.add_parser(
        "graphs",
        help="build hit graphs of every split with a module map or a metric-learning embedding",
        description="module_map: fit the module map on the training events (once; ROOT/SETTING/"
        "module_map.npz) with geometric cuts learnt from them, then write every event's graph. "
        "module_map_nocuts: the same map without cuts. embedding: train the hit embedding on the training "
        "events (resumable; ROOT/SETTING/embedding/) and write radius graphs in its space. Graphs go to "
        "ROOT/SETTING/graphs/BUILDER/{train,valid,test}/; a stopped run resumes.",
        formatter_class=arguments.formatter(),
    )
    _add_setting(graphs)
    graphs.add_argument("--builder", choices=BUILDERS, default="module_map", help="graph builder")
    graphs.add_argument(
        "--cut-quantile", type=float, default=0.999, help="module map: quantile of the learnt cuts"
    )
    graphs.add_argument(
        "--map-pt-min",
        type=float,
        help="module map: learn the module pairs from training particles above this pT (GeV) rather than "
        "the setting's cut (more pairs seen); the cuts still come from the setting's particles. Graphs go "
        "to graphs/BUILDER_mapPT",
    )
    graphs.add_argument("--epochs", type=int, default=20, help="embedding: training epochs")
    graphs.add_argument("--radius", type=float, default=0.1, help="embedding: graph radius in its space")
    graphs.add_argument(
        "--max-neighbours", type=int, default=64, help="embedding: neighbours per hit at most"
    )
    graphs.add_argument("--seed", type=int, default=0, help="embedding: training seed")
    graphs.add_argument("--splits", nargs="+", default=["train", "valid", "test"], help="splits to write")
    graphs.set_defaults(run=run_graphs)

    truth = actions.add_parser(
        "truth-cc",
        help="Truth-CC efficiency, purity and TrackML score of a graph folder",
        description="Connected components of each graph's true edges as track candidates: the upper bound "
        "of edge classification on these graphs.",
        formatter_class=arguments.formatter(),
    )
    _add_setting(truth)
    truth.add_argument(
        "--graphs",
        default="module_map",
        help="graph folder under ROOT/SETTING/graphs (e.g. module_map_map0.5)",
    )
    truth.add_argument("--split", default="test", help="train, valid or test")
    truth.set_defaults(run=run_truth_cc)

    _register_train(actions)
    _register_reconstruct(actions)
    _register_evaluate(actions)
    _register_display(actions)
    _register_explain(actions)


def _add_setting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", default="pt1_mu200", help="named setting (hepxai.tracking.settings)")
    parser.add_argument(
        "--root", type=Path, default=Path("data/tracking"), help="tracking data folder (events, graphs)"
    )


def run_events(args: argparse.Namespace) -> int:
    from hepxai.tracking.sample import make_events
    from hepxai.tracking.settings import get_setting

    arguments.require_at_least("--workers", args.workers, 1)
    folder = make_events(get_setting(args.setting), args.root, workers=args.workers, progress=args.progress)
    log.info("events in %s", folder)
    return 0


def run_graphs(args: argparse.Namespace) -> int:
    from hepxai.tracking.graph_building import build_graphs, summarize_graphs
    from hepxai.tracking.settings import get_setting

    setting = get_setting(args.setting)
    splits = tuple(args.splits)
    for split in splits:
        setting.split(split)
    name = args.builder if args.map_pt_min is None else f"{args.builder}_map{args.map_pt_min:g}"
    folder = setting.folder(args.root) / "graphs" / name
    if args.builder == "embedding" and args.map_pt_min is not None:
        msg = "--map-pt-min is an option of the module map builders"
        raise InputError(msg)
    if args.builder == "embedding":
        builder, record = _embedding_builder(setting, args)
    else:
        builder, record = _module_map_builder(setting, args)
    table = build_graphs(setting, args.root, folder, builder, record, splits=splits, progress=args.progress)
    print(summarize_graphs(table).to_string())  # noqa: T201
    return 0


def _module_map_builder(setting: Setting, args: argparse.Namespace) -> tuple[GraphBuilder, dict]:
    from hepxai.tracking.event_graph import event_hits
    from hepxai.tracking.module_map import ModuleMap
    from hepxai.tracking.sample import read_setting_events

    cuts = args.builder == "module_map"
    if cuts and not 0 < args.cut_quantile <= 1:
        msg = f"--cut-quantile must be in (0, 1] (got {args.cut_quantile})"
        raise InputError(msg)
    map_setting = setting
    name = args.builder
    if args.map_pt_min is not None:
        arguments.require_at_least("--map-pt-min", args.map_pt_min, 0)
        map_setting = replace(setting, pt_min=args.map_pt_min)
        name = f"{args.builder}_map{args.map_pt_min:g}"
    path = setting.folder(args.root) / f"{name}.npz"
    if path.is_file():  # fitted before (delete it to fit again, e.g. with another --cut-quantile)
        module_map = ModuleMap.load(path)
    else:
        log.info("fitting the module map on %d training events", len(setting.train))
        events = read_setting_events(map_setting, args.root, setting.train)
        module_map = ModuleMap.fit(
            (event_hits(event) for event in events),
            cut_quantile=args.cut_quantile if cuts else None,
            cut_pt_min=setting.pt_min,
        )
        module_map.save(path)
    log.info("module map %s: %d module pairs, cuts %s", path, len(module_map.table), module_map.cuts)
    record = {
        "builder": args.builder,
        "module_map": str(path),
        "module_pairs": len(module_map.table),
        "cuts": module_map.cuts,
        "train_events": [setting.train.start, setting.train.stop],
    }
    if args.map_pt_min is not None:
        record["map_pt_min"] = args.map_pt_min
    return module_map, record


def _embedding_builder(setting: Setting, args: argparse.Namespace) -> tuple[GraphBuilder, dict]:
    from hepxai.tracking.embedding import (
        EmbeddingConfig,
        EmbeddingGraphBuilder,
        load_embedding,
        train_embedding,
    )
    from hepxai.tracking.event_graph import event_hits
    from hepxai.tracking.sample import read_setting_events

    arguments.require_at_least("--epochs", args.epochs, 1)
    arguments.require_at_least("--radius", args.radius, 0)
    arguments.require_at_least("--max-neighbours", args.max_neighbours, 1)
    config = EmbeddingConfig(
        epochs=args.epochs, seed=args.seed, radius=args.radius, max_neighbours=args.max_neighbours
    )
    folder = setting.folder(args.root) / "embedding"
    if not (folder / "last.pt").is_file() or _epochs_done(folder) < args.epochs:
        log.info("reading %d training and %d validation events", len(setting.train), VALIDATION_EVENTS)
        train = [event_hits(event) for event in read_setting_events(setting, args.root, setting.train)]
        valid_ids = setting.valid[:VALIDATION_EVENTS]
        valid = [event_hits(event) for event in read_setting_events(setting, args.root, valid_ids)]
        train_embedding(folder, train, valid, config, progress=args.progress)
    model, trained = load_embedding(folder)
    record = {
        "builder": "embedding",
        "embedding": str(folder / "best.pt"),
        "radius": args.radius,
        "max_neighbours": args.max_neighbours,
        "embedding_dim": trained.embedding_dim,
        "train_events": [setting.train.start, setting.train.stop],
    }
    return EmbeddingGraphBuilder(model, args.radius, args.max_neighbours), record


def _epochs_done(folder: Path) -> int:
    import torch

    return len(torch.load(folder / "last.pt", map_location="cpu", weights_only=True)["history"])


PT_BINS = (0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0, 100.0)  # from the setting's pT cut on
ETA_BINS = (-4.0, -3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0, 4.0)


def run_truth_cc(args: argparse.Namespace) -> int:
    import numpy as np

    from hepxai.tracking.evaluation import evaluate_truth_cc, reconstructable_particles, summarize
    from hepxai.tracking.metrics import binned_efficiency
    from hepxai.tracking.settings import get_setting

    setting = get_setting(args.setting)
    setting.split(args.split)
    folder = setting.folder(args.root) / "graphs" / args.graphs
    results = evaluate_truth_cc(folder, args.split, setting, progress=args.progress)
    for key, value in summarize(results).items():
        print(f"{key}: {value:.6g}" if isinstance(value, float) else f"{key}: {value}")  # noqa: T201
    particles = reconstructable_particles(results)
    pt_bins = (setting.pt_min, *(edge for edge in PT_BINS if edge > setting.pt_min))
    for name, edges in (("pt", pt_bins), ("eta", ETA_BINS)):
        binned = binned_efficiency(particles[name], particles["matched"], np.asarray(edges))
        print(f"efficiency against {name} (Clopper-Pearson 68%):")  # noqa: T201
        for low, high, total, value, lower, upper in zip(
            edges[:-1], edges[1:], binned.total, binned.efficiency, binned.lower, binned.upper, strict=True
        ):
            interval = f"(-{value - lower:.4f} +{upper - value:.4f})"
            print(f"  [{low:g}, {high:g}): {value:.4f} {interval} of {total}")  # noqa: T201
    return 0


# --- the edge-classifier chain -------------------------------------------------------------------------

CHAIN = "edge classifier IN + CC"
BEST_CHAIN = "edge classifier IN + CC, best neighbours"
TRUTH_CHAIN = "Truth-CC"


def _graphs_argument(parser: argparse.ArgumentParser, split: str | None = "test") -> None:
    parser.add_argument(
        "--graphs", type=Path, required=True, metavar="DIR", help="graph folder (graphs.yaml)"
    )
    if split is not None:
        parser.add_argument("--split", default=split, choices=("train", "valid", "test"), help="which events")


def _threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads (default: torch's choice); 1 is fastest on a loaded machine, where threads "
        "waiting for each other cost more than they gain",
    )


def _set_threads(threads: int | None) -> None:
    import torch

    arguments.require_at_least("--threads", threads, 1)
    if threads is not None:
        torch.set_num_threads(threads)


def _model_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", type=Path, required=True, metavar="CKPT", help="edge-classifier checkpoint"
    )


def _register_train(actions: argparse._SubParsersAction) -> None:
    from hepxai.tracking.edge_training import EdgeTrainConfig

    defaults = EdgeTrainConfig()
    train = actions.add_parser(
        "train",
        help="train the edge-classifier Interaction Network on the train split, select on valid",
        formatter_class=arguments.formatter(),
        description="One event per step, weighted binary cross entropy. Writes OUT/config.yaml, OUT/last.pt "
        "(every epoch, for --resume) and OUT/best.pt (lowest validation loss).",
    )
    _graphs_argument(train, split=None)
    train.add_argument("--out", type=Path, required=True, metavar="DIR", help="run folder")
    train.add_argument("--resume", action="store_true", help="continue the run in OUT from last.pt")
    train.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the training events")
    train.add_argument("--lr", type=float, default=defaults.lr, help="Adam learning rate")
    train.add_argument("--pos-weight", type=float, default=defaults.pos_weight, help="weight of true edges")
    train.add_argument("--hidden", type=int, default=defaults.hidden, help="embedding width")
    train.add_argument("--iterations", type=int, default=defaults.iterations, help="message-passing steps")
    train.add_argument("--cut", type=float, default=defaults.cut, help="score cut for validation metrics")
    train.add_argument("--patience", type=int, default=defaults.patience, help="epochs without improvement")
    train.add_argument("--seed", type=int, default=defaults.seed, help="random seed")
    train.add_argument("--max-train-events", type=int, metavar="N", help="use the first N training events")
    train.add_argument("--max-val-events", type=int, metavar="N", help="use the first N validation events")
    _threads_argument(train)
    train.set_defaults(run=run_train, malloc_policy="reuse")


def run_train(args: argparse.Namespace) -> int:
    from hepxai.tracking.edge_training import EdgeTrainConfig, train_edge_classifier

    for option in ("epochs", "hidden", "iterations", "patience", "max_train_events", "max_val_events"):
        arguments.require_at_least(f"--{option.replace('_', '-')}", getattr(args, option), 1)
    if not 0 < args.cut < 1:
        msg = f"--cut must be in (0, 1) (got {args.cut})"
        raise InputError(msg)
    _set_threads(args.threads)
    config = EdgeTrainConfig(
        epochs=args.epochs,
        lr=args.lr,
        pos_weight=args.pos_weight,
        hidden=args.hidden,
        iterations=args.iterations,
        cut=args.cut,
        patience=args.patience,
        seed=args.seed,
    )
    train_events = GraphFiles.of(args.graphs, "train", args.max_train_events)
    val_events = GraphFiles.of(args.graphs, "valid", args.max_val_events)
    result = train_edge_classifier(
        train_events, val_events, config, args.out, resume=args.resume, progress=args.progress
    )
    best = result.history[result.best_epoch - 1] if result.history else None
    if best is not None:
        log.info(
            "best epoch %d: validation loss %.4f, edge AUC %.5f, efficiency %.4f, purity %.4f -> %s",
            best.epoch,
            best.val_loss,
            best.val_auc,
            best.val_efficiency,
            best.val_purity,
            result.best_path,
        )
    return 0


def _register_reconstruct(actions: argparse._SubParsersAction) -> None:
    reconstruct = actions.add_parser(
        "reconstruct",
        help="score edges, cut, connected components: a track id per hit (CSV)",
        formatter_class=arguments.formatter(),
        description="Writes OUT, a CSV of event_id, hit_id, track_id (TrackML submission columns); a hit "
        "in no candidate of at least --min-candidate-hits hits gets track_id -1.",
    )
    _model_argument(reconstruct)
    _graphs_argument(reconstruct)
    reconstruct.add_argument("--cut", type=float, default=0.5, help="keep edges scoring above this")
    reconstruct.add_argument("--min-candidate-hits", type=int, default=3, help="smaller candidates: no track")
    reconstruct.add_argument(
        "--best-neighbours", action="store_true", help="each hit keeps its best edge out and its best edge in"
    )
    reconstruct.add_argument("--out", type=Path, required=True, metavar="CSV", help="output file")
    reconstruct.set_defaults(run=run_reconstruct)


def run_reconstruct(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd
    from tqdm.auto import tqdm

    from hepxai.tracking.reconstruction import reconstruct

    model = _load_model(args.model)
    tables = []
    for event in tqdm(
        GraphFiles.of(args.graphs, args.split), desc="reconstructing", disable=not args.progress
    ):
        tracks = reconstruct(model, event, args.cut, best_neighbours=args.best_neighbours)
        _, inverse, size = np.unique(tracks.candidate, return_inverse=True, return_counts=True)
        track_id = np.where(size[inverse] >= args.min_candidate_hits, tracks.candidate, -1)
        tables.append(
            pd.DataFrame({"event_id": _event_id(event), "hit_id": event.hit_id.numpy(), "track_id": track_id})
        )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    pd.concat(tables).to_csv(args.out, index=False)
    log.info("wrote %s", args.out)
    return 0


def _register_evaluate(actions: argparse._SubParsersAction) -> None:
    evaluate = actions.add_parser(
        "evaluate",
        help="efficiency, purity, TrackML score and time of the edge-classifier chain and of Truth-CC",
        formatter_class=arguments.formatter(),
        description="Runs the chain (score, cut, connected components), the chain with best neighbours (each "
        "hit keeps its best edge out and its best edge in before the components) and Truth-CC on the graphs "
        "of --split. Writes OUT/summary.csv (one row per chain), OUT/particles.csv (every particle, matched "
        "or not) and OUT/efficiency.png (efficiency against pT and eta); --results also writes the rows into "
        "the results table (e.g. results/tracking.csv), replacing rows of the same method and setting.",
    )
    _model_argument(evaluate)
    _graphs_argument(evaluate)
    evaluate.add_argument("--cut", type=float, default=0.5, help="keep edges scoring above this")
    evaluate.add_argument(
        "--best-neighbours-cut", type=float, help="the cut of the best-neighbours chain (default: --cut)"
    )
    evaluate.add_argument("--min-candidate-hits", type=int, default=3, help="smaller candidates: no track")
    evaluate.add_argument("--max-events", type=int, metavar="N", help="evaluate the first N events")
    evaluate.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    evaluate.add_argument("--results", type=Path, metavar="CSV", help="results table to update")
    _threads_argument(evaluate)
    evaluate.set_defaults(run=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    import pandas as pd

    from hepxai.models.checkpoint import read_checkpoint
    from hepxai.plots.style import save_figure
    from hepxai.plots.tracks import efficiency_figure
    from hepxai.tracking.chain_evaluation import evaluate_chain
    from hepxai.tracking.event_graph import read_graph_record
    from hepxai.tracking.reconstruction import reconstruct, truth_tracks
    from hepxai.tracking.results import result_row, update_results
    from hepxai.tracking.settings import get_setting

    arguments.require_at_least("--max-events", args.max_events, 1)
    _set_threads(args.threads)
    best_cut = args.cut if args.best_neighbours_cut is None else args.best_neighbours_cut
    model = _load_model(args.model)
    record = read_graph_record(args.graphs)
    setting_name = str(record.get("setting", args.graphs.name))
    setting = get_setting(setting_name)
    events = GraphFiles.of(args.graphs, args.split, args.max_events)
    options = {"min_candidate_hits": args.min_candidate_hits, "progress": args.progress}
    chain = evaluate_chain(
        events, lambda event: reconstruct(model, event, args.cut), setting, cut=args.cut, **options
    )
    best = evaluate_chain(
        events,
        lambda event: reconstruct(model, event, best_cut, best_neighbours=True),
        setting,
        cut=best_cut,
        **options,
    )
    truth = evaluate_chain(events, truth_tracks, setting, **options)
    train_events = int(read_checkpoint(args.model).get("train_events", 0))
    graph_seconds = _graph_seconds(args.graphs, args.split, [path.stem for path in events.paths])
    common = {"setting": setting_name, "graphs": args.graphs.name, "graph_seconds": graph_seconds}
    rows = [
        result_row(chain, method=CHAIN, train_events=train_events, cut=args.cut, **common),
        result_row(best, method=BEST_CHAIN, train_events=train_events, cut=best_cut, **common),
        result_row(truth, method=TRUTH_CHAIN, train_events=0, timed=False, **common),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(args.out / "summary.csv", index=False, float_format="%.5g")
    particles = pd.concat(
        [
            chain.particles.assign(method=CHAIN),
            best.particles.assign(method=BEST_CHAIN),
            truth.particles.assign(method=TRUTH_CHAIN),
        ],
        ignore_index=True,
    )
    particles.to_csv(args.out / "particles.csv", index=False)
    save_figure(
        efficiency_figure({CHAIN: chain.particles, BEST_CHAIN: best.particles, TRUTH_CHAIN: truth.particles}),
        args.out / "efficiency",
        ("png",),
    )
    for row in rows:
        log.info(
            "%s on %s (%d events): efficiency %.4f, purity %.4f, TrackML score %.4f, %.3f s/event",
            row["method"],
            setting_name,
            row["test_events"],
            row["efficiency"],
            row["purity"],
            row["trackml_score"],
            row["seconds_per_event"],
        )
    if args.results is not None:
        log.info("wrote %s", update_results(args.results, rows))
    return 0


def _register_display(actions: argparse._SubParsersAction) -> None:
    display = actions.add_parser(
        "display",
        help="one track's true and fake edges coloured by score, and one edge's explanation (PNG)",
        formatter_class=arguments.formatter(),
        description="x-y and r-z views of one particle's hits and every graph edge touching them, "
        "coloured by score; below, the relevance of the explanation of one of its edges on the hits and "
        "edges around it. Default: the event's reconstructable particle with the most fake edges touching "
        "it, and its true edge with the lowest score.",
    )
    _model_argument(display)
    _graphs_argument(display)
    display.add_argument("--event-id", type=int, help="event of the split (default: the first)")
    display.add_argument("--particle", type=int, help="particle id to draw")
    display.add_argument("--edge", type=int, help="edge to explain (index in the graph's edge_index)")
    display.add_argument("--method", default="lrp", choices=("lrp", "gradient_x_input"), help="explainer")
    display.add_argument("--out", type=Path, required=True, metavar="PNG", help="image to write")
    display.set_defaults(run=run_display)


def run_display(args: argparse.Namespace) -> int:
    from hepxai.explain.edge_relevance import explain_edge
    from hepxai.plots.style import save_figure
    from hepxai.plots.tracks import track_display
    from hepxai.tracking.reconstruction import edge_scores

    model = _load_model(args.model)
    event, source = _one_event(args.graphs, args.split, args.event_id)
    scores = edge_scores(model, event)
    particle = _choose_particle(event, scores, args.particle, source)
    edge = _choose_edge(event, scores, particle, args.edge, source)
    relevance = explain_edge(model, event, edge, method=args.method)
    figure = track_display(event, scores, particle, relevance)
    (path,) = save_figure(figure, args.out.with_suffix(""), (args.out.suffix.lstrip(".") or "png",))
    log.info("event %d, particle %d, edge %d (score %.3f) -> %s", _event_id(event), particle, edge,
             scores[edge], path)  # fmt: skip
    return 0


def _register_explain(actions: argparse._SubParsersAction) -> None:
    explain = actions.add_parser(
        "explain",
        help="relevance of the hits and edges around one edge for its score (CSV)",
        formatter_class=arguments.formatter(),
        description="Explains the logit of one edge with LRP or gradient x input. Writes OUT_hits.csv "
        "(hit_id, r, phi, z relevance and their sum, for every hit that gets relevance) and OUT_edges.csv "
        "(source and target hit ids, score, truth, relevance of the pair geometry), and logs the "
        "conservation check (LRP: relevance + absorbed = logit).",
    )
    _model_argument(explain)
    _graphs_argument(explain)
    explain.add_argument("--event-id", type=int, help="event of the split (default: the first)")
    explain.add_argument("--edge", type=int, required=True, help="edge to explain (index in edge_index)")
    explain.add_argument("--method", default="lrp", choices=("lrp", "gradient_x_input"), help="explainer")
    explain.add_argument("--out", type=Path, required=True, metavar="PREFIX", help="output prefix")
    explain.set_defaults(run=run_explain)


def run_explain(args: argparse.Namespace) -> int:
    import numpy as np
    import pandas as pd

    from hepxai.explain.edge_relevance import explain_edge
    from hepxai.tracking.event_graph import EDGE_FEATURES, HIT_FEATURES
    from hepxai.tracking.reconstruction import edge_scores

    model = _load_model(args.model)
    event, source = _one_event(args.graphs, args.split, args.event_id)
    _check_edge(event, args.edge, source)
    relevance = explain_edge(model, event, args.edge, method=args.method)
    hit_id = event.hit_id.numpy()
    reached = np.flatnonzero(relevance.hit != 0)
    hits = pd.DataFrame({"hit_id": hit_id[reached]})
    for column, name in enumerate(HIT_FEATURES[: relevance.hit_features.shape[1]]):
        hits[f"relevance_{name}"] = relevance.hit_features[reached, column]
    hits["relevance"] = relevance.hit[reached]
    edge_index = event.edge_index.numpy()
    edges = pd.DataFrame(
        {
            "edge": np.arange(edge_index.shape[1]),
            "source_hit_id": hit_id[edge_index[0]],
            "target_hit_id": hit_id[edge_index[1]],
            "score": edge_scores(model, event),
            "truth": event.y.numpy(),
        }
    )
    if relevance.edge_attr is not None:
        for column, name in enumerate(EDGE_FEATURES[: relevance.edge_attr.shape[1]]):
            edges[f"relevance_{name}"] = relevance.edge_attr[:, column]
        edges["relevance"] = relevance.edge_geometry
        edges = edges[(edges["relevance"] != 0) | (edges["edge"] == args.edge)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    hits.to_csv(f"{args.out}_hits.csv", index=False)
    edges.to_csv(f"{args.out}_edges.csv", index=False)
    log.info(
        "edge %d of event %d: logit %.4f; relevance on hits %.4f, on edge geometry %.4f, absorbed %.4f "
        "(%d hits, %d edges reached) -> %s_hits.csv, %s_edges.csv",
        args.edge,
        _event_id(event),
        relevance.logit,
        float(relevance.hit.sum()),
        float(relevance.edge_geometry.sum()),
        relevance.absorbed,
        len(hits),
        len(edges),
        args.out,
        args.out,
    )
    return 0


class GraphFiles(Sequence["Data"]):
    """The graph files of one split, read when indexed: training holds one event in memory at a time."""

    def __init__(self, paths: list[Path]) -> None:
        self.paths = paths

    @classmethod
    def of(cls, folder: Path, split: str, limit: int | None = None) -> GraphFiles:
        from hepxai.tracking.event_graph import graph_files

        paths = graph_files(folder, split)
        return cls(paths if limit is None else paths[:limit])

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> Data:  # type: ignore[override]
        from hepxai.tracking.evaluation import check_graph
        from hepxai.tracking.event_graph import read_graph

        path = self.paths[index]
        event = read_graph(path)
        check_graph(event, path)
        return event


def _load_model(path: Path) -> GraphModel:
    from hepxai.models.checkpoint import load_checkpoint
    from hepxai.tracking.reconstruction import check_model

    model = load_checkpoint(path)
    check_model(model, str(path))
    return model


def _one_event(folder: Path, split: str, event_id: int | None) -> tuple[Data, str]:
    from hepxai.tracking.event_graph import graph_files, graph_path

    files = graph_files(folder, split)
    path = files[0] if event_id is None else graph_path(folder, split, event_id)
    if path not in files:
        msg = f"{folder / split}: field 'event_id': no graph of event {event_id}"
        raise InputError(msg)
    return GraphFiles([path])[0], str(path)


def _check_edge(event: Data, edge: int, source: str) -> None:
    num_edges = event.edge_index.shape[1]
    if not 0 <= edge < num_edges:
        msg = f"{source}: field 'edge_index': no edge {edge} (the graph has {num_edges})"
        raise InputError(msg)


def _choose_particle(event: Data, scores: object, particle: int | None, source: str) -> int:
    import numpy as np

    particle_id = event.particle_id.numpy()
    if particle is not None:
        if particle == 0 or particle not in particle_id:
            msg = f"{source}: field 'particle_id': particle {particle} has no hits in this event"
            raise InputError(msg)
        return particle
    edge_index = event.edge_index.numpy()
    fake = event.y.numpy() < 0.5
    candidates = particle_id[edge_index[:, fake].reshape(-1)]
    reconstructable = (event.particle_nhits.numpy() > 5) & (event.particle_pt.numpy() > 1.0)
    candidates = candidates[np.isin(candidates, particle_id[reconstructable & (particle_id > 0)])]
    if len(candidates) == 0:
        msg = f"{source}: field 'particle_id': no reconstructable particle with fake edges to draw"
        raise InputError(msg)
    ids, counts = np.unique(candidates, return_counts=True)
    return int(ids[np.argmax(counts)])


def _choose_edge(event: Data, scores: object, particle: int, edge: int | None, source: str) -> int:
    import numpy as np

    if edge is not None:
        _check_edge(event, edge, source)
        return edge
    source_particle = event.particle_id.numpy()[event.edge_index.numpy()[0]]
    mine = np.flatnonzero((source_particle == particle) & (event.y.numpy() > 0.5))
    if len(mine) == 0:
        msg = f"{source}: field 'y': particle {particle} has no true edge in the graph"
        raise InputError(msg)
    return int(mine[np.argmin(np.asarray(scores)[mine])])


def _graph_seconds(folder: Path, split: str, events: list[str]) -> float:
    """Mean graph building time of ``events`` (file stems) from the folder's ``graph_stats.csv`` (NaN
    where the builder did not record it)."""
    import pandas as pd

    from hepxai.tracking.graph_building import STATS_FILE

    path = folder / STATS_FILE
    if not path.is_file():
        return math.nan
    stats = pd.read_csv(path)
    stems = "event" + stats["event_id"].map("{:09d}".format)
    chosen = stats[(stats["split"] == split) & stems.isin(events)]
    return float(chosen["seconds"].mean()) if len(chosen) else math.nan


def _event_id(event: Data) -> int:
    return int(event.event_id.reshape(-1)[0]) if "event_id" in event else -1
