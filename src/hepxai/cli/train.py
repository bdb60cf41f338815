"""``hepxai train`` and ``hepxai evaluate``."""

from __future__ import annotations

import argparse

from hepxai import cli


def register(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train the Interaction Network on ROOT files",
                                formatter_class=cli.formatter())
    train.set_defaults(run=cli.not_available("train"))
    evaluate = commands.add_parser("evaluate", help="ROC AUC, background rejection and plots for a checkpoint",
                                   formatter_class=cli.formatter())
    evaluate.set_defaults(run=cli.not_available("evaluate"))
