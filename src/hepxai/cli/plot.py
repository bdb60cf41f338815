"""``hepxai plot`` and ``hepxai report``."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import TYPE_CHECKING

from hepxai.cli import arguments

if TYPE_CHECKING:
    from hepxai.explain.relevance_file import RelevanceFile

log = logging.getLogger(__name__)


def _add_selection_arguments(parser: argparse.ArgumentParser, max_jets: int) -> None:
    parser.add_argument(
        "--relevance", type=Path, required=True, metavar="FILE", help="relevance file from `hepxai explain`"
    )
    parser.add_argument(
        "--jet-ids",
        type=int,
        nargs="+",
        metavar="ID",
        help="jet ids to draw (default: all, up to --max-jets)",
    )
    parser.add_argument("--jets", type=int, nargs="+", dest="jet_ids", help=argparse.SUPPRESS)  # old name
    parser.add_argument(
        "--top-confident",
        type=int,
        metavar="N",
        help="draw the N jets (of --jet-ids, or of all) with the highest P(H)",
    )
    parser.add_argument("--max-jets", type=int, default=max_jets, metavar="N", help="draw at most N jets")
    parser.add_argument("--magnitude", action="store_true", help="heatmaps of |relevance| instead of signed")
    parser.add_argument(
        "--per-jet",
        action="store_true",
        help="heatmaps with each jet's own colour scale and rows by its share of |relevance| "
        "(default: one scale and one row order, grouped by category, for all jets)",
    )
    parser.add_argument(
        "--edge-threshold",
        type=float,
        metavar="S",
        help="edge significance above which an edge is drawn strongly (default: each jet's top 2%%)",
    )


def register(commands: argparse._SubParsersAction) -> None:
    plot = commands.add_parser(
        "plot",
        help="heatmaps, eta-phi maps, 3D jet graphs and summaries from a relevance file",
        formatter_class=arguments.formatter(),
        description="Write OUT/summary/*.{png,pdf} (feature shares, relevance vs pT rank, lepton and "
        "b-hadron "
        "tracks, the most confident H jets) and "
        "OUT/jets/jet_<id>_{heatmap,map,graph}.{png,pdf} for each selected jet (map: the tracks in the "
        "eta-phi plane, where the file has their eta_rel, phi_rel and pT).",
    )
    _add_selection_arguments(plot, max_jets=10)
    plot.add_argument("--out", type=Path, required=True, metavar="DIR", help="output folder")
    plot.add_argument(
        "--formats", nargs="+", default=["png", "pdf"], choices=["png", "pdf", "svg"], help="file formats"
    )
    plot.set_defaults(run=run_plot)

    report = commands.add_parser(
        "report",
        help="one self-contained HTML report from a relevance file",
        formatter_class=arguments.formatter(),
        description="Write one HTML file that opens offline: the dataset summaries, a sortable table of jets "
        "and, "
        "per selected jet, the heatmap and an interactive 3D graph.",
    )
    _add_selection_arguments(report, max_jets=20)
    report.add_argument("--out", type=Path, required=True, metavar="FILE", help="HTML file to write")
    report.add_argument(
        "--evaluation",
        type=Path,
        metavar="DIR",
        help="an hepxai evaluate folder: its metrics, ROC and mass plot open the report",
    )
    report.set_defaults(run=run_report)


def _selection(args: argparse.Namespace) -> tuple[RelevanceFile, list[int]]:
    arguments.require_at_least("--max-jets", args.max_jets, 1)
    arguments.require_existing("relevance file", [args.relevance])

    from hepxai.explain.jet_relevance import select_jets
    from hepxai.explain.relevance_file import read_relevance_file

    relevance_file = read_relevance_file(args.relevance)
    jet_ids = select_jets(relevance_file, jet_ids=args.jet_ids, top_confident=args.top_confident)
    if len(jet_ids) > args.max_jets:
        log.warning(
            "drawing the first %d of %d selected jets; raise --max-jets to draw more",
            args.max_jets,
            len(jet_ids),
        )
        jet_ids = jet_ids[: args.max_jets]
    return relevance_file, jet_ids


def run_plot(args: argparse.Namespace) -> int:
    relevance_file, jet_ids = _selection(args)

    from hepxai.plots.gallery import write_plots

    write_plots(
        relevance_file,
        args.out,
        jet_ids=jet_ids,
        top_confident=args.top_confident or 10,
        magnitude=args.magnitude,
        per_jet=args.per_jet,
        edge_threshold=args.edge_threshold,
        formats=args.formats,
        progress=args.progress,
    )
    print(args.out)  # noqa: T201
    return 0


def run_report(args: argparse.Namespace) -> int:
    arguments.require_existing("evaluation folder", [args.evaluation] if args.evaluation is not None else [])
    relevance_file, jet_ids = _selection(args)

    from hepxai.plots.report import write_report

    path = write_report(
        relevance_file,
        args.out,
        jet_ids=jet_ids,
        top_confident=args.top_confident or 10,
        magnitude=args.magnitude,
        per_jet=args.per_jet,
        edge_threshold=args.edge_threshold,
        evaluation=args.evaluation,
        title=f"Relevance report: {args.relevance.name}",
        progress=args.progress,
    )
    print(path)  # noqa: T201
    return 0
