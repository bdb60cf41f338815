"""``hepxai tracking ...``: the event sample of a setting, hit graphs, and Truth-CC (docs/tracking.md).

One function per action; each is ``run_ACTION(args)``.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from hepxai import cli
from hepxai.errors import InputError

if TYPE_CHECKING:
    from hepxai.tracking.graph_building import GraphBuilder
    from hepxai.tracking.settings import Setting

log = logging.getLogger(__name__)

BUILDERS = ("module_map", "module_map_nocuts", "embedding")
VALIDATION_EVENTS = 5
"""Validation events watched while the embedding trains (loss, graph edge efficiency and purity)."""


def register(commands: argparse._SubParsersAction) -> None:
    tracking = commands.add_parser(
        "tracking", help="GNN track reconstruction: event samples, hit graphs, Truth-CC"
    )
    actions = tracking.add_subparsers(dest="action", metavar="ACTION", required=True)

    events = actions.add_parser(
        "events",
        help="simulate a setting's detector events (resumable)",
        description="Run the detector for the setting's sample into ROOT/samples/SAMPLE (HDF5). A stopped "
        "run resumes: run the same command again.",
        formatter_class=cli.formatter(),
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
        formatter_class=cli.formatter(),
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
        formatter_class=cli.formatter(),
    )
    _add_setting(truth)
    truth.add_argument(
        "--graphs",
        default="module_map",
        help="graph folder under ROOT/SETTING/graphs (e.g. module_map_map0.5)",
    )
    truth.add_argument("--split", default="test", help="train, valid or test")
    truth.set_defaults(run=run_truth_cc)


def _add_setting(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--setting", default="pt1_mu200", help="named setting (hepxai.tracking.settings)")
    parser.add_argument(
        "--root", type=Path, default=Path("data/tracking"), help="tracking data folder (events, graphs)"
    )


def run_events(args: argparse.Namespace) -> int:
    from hepxai.tracking.sample import make_events
    from hepxai.tracking.settings import get_setting

    cli.require_at_least("--workers", args.workers, 1)
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
        cli.require_at_least("--map-pt-min", args.map_pt_min, 0)
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

    cli.require_at_least("--epochs", args.epochs, 1)
    cli.require_at_least("--radius", args.radius, 0)
    cli.require_at_least("--max-neighbours", args.max_neighbours, 1)
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
