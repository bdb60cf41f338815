"""The ``hepxai`` command: argument parsing and dispatch only; the work lives in the library modules.

Each command group registers its parsers from its own module (``data``, ``train``, ``explain``, ...).
Bad input (:class:`hepxai.errors.InputError`, a missing file) ends as one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import ctypes
import logging
import platform
import sys
from collections.abc import Sequence

from hepxai import __version__
from hepxai.cli import benchmark, data, detector, explain, pipeline, plot, train
from hepxai.errors import InputError

_GROUPS = (data, train, explain, plot, benchmark, pipeline, detector)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hepxai",
        description="Train graph neural networks on jets and explain their decisions.",
    )
    parser.add_argument("--version", action="version", version=f"hepxai {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings only, no progress bars")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hepxai`` with ``argv``; returns the exit code (tests call this directly)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("numexpr").setLevel(logging.WARNING)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # mplhep's styles name absent fonts
    args.progress = not args.quiet
    _fixed_mmap_threshold()
    try:
        return int(args.run(args) or 0)
    except (InputError, FileNotFoundError) as err:
        print(f"hepxai {args.command}: error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        print(f"hepxai {args.command}: interrupted", file=sys.stderr)  # noqa: T201
        return 130


def _fixed_mmap_threshold(threshold: int = 128 * 1024) -> None:
    """Serve every allocation of ``threshold`` bytes or more with its own ``mmap`` (glibc only).

    glibc raises its mmap threshold each time a large block is freed, up to 32 MB, so the tensors of later
    batches come from the heap, where batches of different sizes fragment it: explaining a file grew the
    resident memory by about 200 MB over its first 3,000 jets, and on. A fixed threshold returns large
    blocks to the system when they are freed, and memory stays flat (bench/bench_memory.py).
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    m_mmap_threshold = -3  # from glibc's malloc.h
    ctypes.CDLL(None).mallopt(m_mmap_threshold, threshold)


def not_available(feature: str) -> object:
    """A command handler for a feature that is planned but not built yet."""

    def run(args: argparse.Namespace) -> int:
        print(f"hepxai: '{feature}' is not available yet in hepxai {__version__}", file=sys.stderr)  # noqa: T201
        return 2

    return run


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


def formatter() -> type[argparse.HelpFormatter]:
    """Help formatter that shows defaults, shared by every subcommand."""
    return _DefaultsFormatter
