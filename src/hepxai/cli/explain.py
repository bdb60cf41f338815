"""``hepxai explain``."""

from __future__ import annotations

import argparse

from hepxai import cli


def register(commands: argparse._SubParsersAction) -> None:
    explain = commands.add_parser("explain", help="LRP relevance per track, feature and edge, to an HDF5 file",
                                  formatter_class=cli.formatter())
    explain.set_defaults(run=cli.not_available("explain"))
