"""``hepxai plot`` and ``hepxai report``."""

from __future__ import annotations

import argparse

from hepxai import cli


def register(commands: argparse._SubParsersAction) -> None:
    plot = commands.add_parser("plot", help="heatmaps, 3D jet graphs and summaries from a relevance file",
                               formatter_class=cli.formatter())
    plot.set_defaults(run=cli.not_available("plot"))
    report = commands.add_parser("report", help="one self-contained HTML report from a relevance file",
                                 formatter_class=cli.formatter())
    report.set_defaults(run=cli.not_available("report"))
