"""``hepxai explain``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from hepxai.cli import arguments

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser(
        "explain",
        help="LRP relevance per track, feature and edge, to an HDF5 file",
        description="Explain every jet with LRP and write a relevance file: tables 'jets' (logits, prob_H, "
        "explained logit, absorbed), 'tracks' (relevance per feature, plot inputs, truth) and "
        "'edges' (edge significance; full edge relevance with --edges) and, with --walks K, 'walks' (each "
        "jet's K relevant walks track i -> track j -> jet), readable with pandas.",
        formatter_class=arguments.formatter(),
    )
    explain.add_argument(
        "--model",
        type=Path,
        required=True,
        metavar="CHECKPOINT",
        help="checkpoint (.pt or the original .npz)",
    )
    explain.add_argument("--data", type=Path, nargs="+", required=True, metavar="FILE", help="ROOT files")
    explain.add_argument(
        "--out",
        type=Path,
        required=True,
        metavar="PATH",
        help="relevance file to write (.h5), or a folder of parts (part-00000.h5, ..., index.json)",
    )
    add_lrp_arguments(explain)
    explain.add_argument(
        "--schema", default="auto", help="cms_hbb, sanity, a YAML file, or auto (from the tree)"
    )
    arguments.add_engine_arguments(explain)
    explain.add_argument(
        "--part-size",
        type=int,
        metavar="N",
        help="input entries per part (default: two parts per worker, 1,000 to 20,000 entries)",
    )
    explain.add_argument(
        "--resume",
        action="store_true",
        help="finish an earlier run into --out with the same settings: make only the missing parts",
    )
    explain.set_defaults(run=run_explain)


def add_lrp_arguments(parser: argparse.ArgumentParser) -> None:
    """The LRP settings shared by ``explain`` and ``sanity explain``."""
    parser.add_argument("--target", choices=("H", "QCD", "H-QCD"), default="H", help="the logit explained")
    arguments.add_model_selection_argument(parser)
    parser.add_argument(
        "--max-jets", type=int, default=None, metavar="N", help="explain only the first N jets (default: all)"
    )
    parser.add_argument("--edges", action="store_true", help="also write the full per-edge relevance")
    parser.add_argument(
        "--walks",
        type=int,
        default=0,
        metavar="K",
        help="also write each jet's K relevant walks (track i -> track j -> jet) of largest |relevance|",
    )
    parser.add_argument(
        "--input",
        choices=("standardized", "raw"),
        default="standardized",
        help="relevance of the standardised (after input BatchNorm) or the raw features",
    )
    parser.add_argument("--epsilon", type=float, default=1e-6, help="LRP-epsilon stabiliser (0: LRP-0)")
    parser.add_argument(
        "--aggregate",
        choices=("sum", "mean"),
        default="sum",
        help="node relevance: exact sum over pathways, or the paper's mean over edges",
    )
    parser.add_argument("--chunk-size", type=int, default=256, metavar="N", help="jets explained at once")


def run_explain(args: argparse.Namespace) -> int:
    arguments.require_at_least("--workers", args.workers, 1)
    arguments.require_at_least("--part-size", args.part_size, 1)
    path = explain_with_arguments(
        args,
        args.model,
        args.data,
        args.out,
        args.schema,
        engine={
            "workers": args.workers,
            "scheduler": args.scheduler,
            "part_size": args.part_size,
            "resume": args.resume,
        },
    )
    log.info("wrote %s", path)
    return 0


def explain_with_arguments(
    args: argparse.Namespace,
    model: Path,
    data: list[Path],
    out: Path,
    schema: str,
    *,
    engine: dict | None = None,
) -> Path:
    """Run :func:`hepxai.explain.export_parts.explain` with the options of :func:`add_lrp_arguments`.

    The options and input paths are checked before torch is imported, so a mistake is told at once.

    Args:
        schema: A schema name, a YAML file, or ``auto`` (detected from the first data file).
        engine: ``workers``, ``scheduler``, ``part_size``, ``resume`` (default: one process).
    """
    arguments.require_at_least("--max-jets", args.max_jets, 1)
    arguments.require_at_least("--chunk-size", args.chunk_size, 1)
    arguments.require_at_least("--epsilon", args.epsilon, 0)
    arguments.require_at_least("--walks", args.walks, 0)
    arguments.require_existing("checkpoint", [model])
    arguments.require_existing("file", data)

    from hepxai.data.inspect import detect_schema
    from hepxai.data.schema import load_schema
    from hepxai.explain.export_parts import explain

    return explain(
        model,
        data,
        out,
        detect_schema(data[0]) if schema == "auto" else load_schema(schema),
        target=args.target,
        selection=args.selection,
        max_jets=args.max_jets,
        edges=args.edges,
        walks=args.walks,
        input=args.input,
        epsilon=args.epsilon,
        aggregate=args.aggregate,
        chunk_size=args.chunk_size,
        progress=args.progress,
        **(engine or {}),
    )
