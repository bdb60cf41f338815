"""Helpers shared by every command module: the help formatter, option and path checks, common options.

Kept apart from the package's ``__init__`` (which imports every command module to build the parser), so
that no command module imports the package that imports it.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from pathlib import Path

from hepxai.errors import InputError


def require_existing(what: str, paths: Iterable[Path | str]) -> None:
    """Refuse a missing input before the command imports its job: torch alone takes seconds to load.

    Args:
        what: The kind of input, for the message (``checkpoint``, ``file``, ``dataset folder``).

    Raises:
        InputError: The first path that does not exist, e.g. ``nope.pt: checkpoint not found``.
    """
    for path in paths:
        if not Path(path).exists():
            msg = f"{path}: {what} not found"
            raise InputError(msg)


def require_at_least(option: str, value: float | None, minimum: float) -> None:
    """Refuse an option below ``minimum`` (``None``, an unset option, passes).

    Raises:
        InputError: ``value < minimum``, naming the option.
    """
    if value is not None and value < minimum:
        msg = f"{option} must be at least {minimum} (got {value})"
        raise InputError(msg)


def require_within(
    option: str, value: float, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> None:
    """Refuse an option outside ``[low, high]`` (an end left out when ``low_open``/``high_open``).

    Raises:
        InputError: e.g. ``--cut must be in (0, 1) (got 1.5)``.
    """
    above = value > low if low_open else value >= low
    below = value < high if high_open else value <= high
    if not (above and below):
        interval = f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
        msg = f"{option} must be in {interval} (got {value})"
        raise InputError(msg)


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default, unless it has none worth showing (None, False, a required option)."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        if action.default is None or action.default is False or action.required:
            return action.help
        return super()._get_help_string(action)


def add_model_selection_argument(parser: argparse.ArgumentParser) -> None:
    """``--selection`` for commands that apply a trained model to a dataset (explain, benchmark)."""
    parser.add_argument(
        "--selection",
        choices=("model", "auto", "original", "none"),
        default="model",
        help="jet selection: model = the one the model was trained with (auto for checkpoints that do not "
        "store it, such as the original HIN); original: 40 < m_SD < 200 GeV, 300 < pT < 2000 GeV; auto "
        "applies original when the schema has those spectators",
    )


def add_workers_argument(parser: argparse.ArgumentParser, what: str = "worker processes") -> None:
    """``--workers`` for every data-parallel command: one default, all CPU cores."""
    parser.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        metavar="N",
        help=f"{what} (default: all CPU cores, %(default)s here)",
    )


def add_engine_arguments(parser: argparse.ArgumentParser, what: str = "worker processes") -> None:
    """``--workers`` and ``--scheduler``: where the tasks of a data-parallel command run
    (:mod:`hepxai.parallel`)."""
    add_workers_argument(parser, f"{what} of a local Dask cluster")
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing Dask cluster (tcp://host:8786) instead; --workers is then ignored",
    )


def formatter() -> type[argparse.HelpFormatter]:
    """Help formatter that shows defaults, shared by every subcommand."""
    return _DefaultsFormatter
