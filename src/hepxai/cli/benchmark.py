"""``hepxai benchmark``."""

from __future__ import annotations

import argparse

from hepxai import cli


def register(commands: argparse._SubParsersAction) -> None:
    benchmark = commands.add_parser("benchmark", help="score explainers against b-hadron truth",
                                    formatter_class=cli.formatter())
    benchmark.set_defaults(run=cli.not_available("benchmark"))
