"""The choices, option tables and argument groups of ``hepxai tracking``.

Defaults are literals, so that building the parser imports no torch. Each table mirrors a job's config
dataclass (name: type, default, help); a test checks that the defaults agree with the dataclasses."""

from __future__ import annotations

import argparse
from pathlib import Path

BUILDERS = ("module_map", "module_map_nocuts", "embedding")  # as hepxai.tracking.builders.BUILDERS
MODELS = ("edge_classifier", "embedding_in", "hgnn_embedding", "hgnn_bipartite")
"""What ``train --model`` trains: the edge classifier, or a kind of hepxai.tracking.hgnn_training.KINDS."""
EXPLAINERS = ("lrp", "gradient_x_input")
TRAIN_OPTIONS = {
    "epochs": (int, 20, "passes over the training events"),
    "lr": (float, 1e-3, "Adam learning rate"),
    "pos_weight": (float, 2.0, "weight of true edges"),
    "hidden": (int, 32, "embedding width"),
    "iterations": (int, 6, "message-passing steps"),
    "cut": (float, 0.5, "score cut for validation metrics"),
    "patience": (int, 5, "epochs without improvement"),
    "seed": (int, 0, "random seed"),
}
"""EdgeTrainConfig's fields: type, default (a literal, so that --help imports no torch), help."""
HIERARCHICAL_OPTIONS = {
    "hierarchical_iterations": (int, 8, "HGNN: hierarchical message-passing steps"),
    "wheel_epochs": (int, 50, "HGNN: epochs the training wheel fades over"),
    "wheel_floor": (float, 0.5, "bipartite HGNN: the weight the training wheel keeps"),
}
"""The hierarchical models' own options, as TRAIN_OPTIONS."""
EMBEDDING_OPTIONS = {
    "epochs": (int, 20, "embedding: training epochs"),
    "radius": (float, 0.1, "embedding: graph radius in its space"),
    "max_neighbours": (int, 64, "embedding: neighbours per hit"),
    "seed": (int, 0, "embedding: training seed"),
}
"""EmbeddingConfig's options of ``graphs``, as TRAIN_OPTIONS."""


def add_options(parser: argparse.ArgumentParser, table: dict[str, tuple[type, object, str]]) -> None:
    for name, (kind, default, text) in table.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=default, help=text)


def event_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--event-id", type=int, help="event of the split (default: the first)")
    parser.add_argument(
        "--method",
        choices=EXPLAINERS,
        help="explainer (default: lrp for an edge classifier, gradient_x_input for a bipartite HGNN)",
    )


def setting_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--setting",
        default="pt1_mu200",
        help="named setting (hepxai.tracking.settings), or a custom one made under ROOT",
    )
    parser.add_argument("--root", type=Path, default=Path("data/tracking"), help="tracking data folder")
    parser.add_argument(
        "--events",
        type=int,
        metavar="N",
        help="a custom setting of N events (half train, a quarter valid, a quarter test) made from "
        "--setting; named e.g. pt1_mu20_n20, recorded in ROOT/NAME/setting.yaml and in the graphs' "
        "graphs.yaml, which every later command reads (default: the setting's, 200)",
    )
    parser.add_argument(
        "--pileup",
        type=float,
        metavar="MU",
        help="a custom setting of mean pile-up MU (default: the setting's, 200)",
    )


def model_and_graphs_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", type=Path, required=True, metavar="CKPT", help="trained model")
    parser.add_argument("--graphs", type=Path, required=True, metavar="DIR", help="graph folder")
    parser.add_argument("--split", default="test", choices=("train", "valid", "test"), help="which events")


def cut_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cut", type=float, default=0.5, help="keep edges scoring above this")
    parser.add_argument("--min-candidate-hits", type=int, default=3, help="smaller candidates: no track")


def threads_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads (default: torch's choice); 1 is fastest on a loaded machine, where threads "
        "waiting for each other cost more than they gain",
    )
