"""The ``hepxai`` command: argument parsing and dispatch only; the work lives in the library modules.

Each command group registers its parsers from its own module (``data``, ``train``, ``explain``, ...).
Bad input (:class:`hepxai.errors.InputError`, a missing file) ends as one line on stderr and exit code 2.

Imports are lazy, so that ``hepxai --help`` and a mistyped path answer at once: a ``cli`` module imports at
module level only the standard library, :mod:`hepxai.errors`, ``hepxai.__version__`` and other ``hepxai.cli``
modules; everything else (torch, numpy, the job modules) is imported inside the ``run_*`` function that needs
it, after the options and input paths are checked (tests/cli/test_startup.py).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from hepxai import __version__
from hepxai.cli import (
    benchmark,
    data,
    detector,
    explain,
    lri,
    pipeline,
    plot,
    pointsets,
    reduce,
    tracking,
    train,
)
from hepxai.cli.malloc import set_malloc_policy  # re-exported: benches and tests import it from here
from hepxai.errors import InputError

_GROUPS = (data, train, explain, plot, benchmark, reduce, pipeline, detector, pointsets, lri, tracking)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hepxai",
        description="Train graph neural networks on jets and explain their decisions.",
    )
    parser.add_argument("--version", action="version", version=f"hepxai {__version__}")
    _add_verbosity(parser, default=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(commands)
    _add_verbosity_to_subcommands(parser)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, *, default: object) -> None:
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log debug messages")
    parser.add_argument(
        "-q", "--quiet", action="store_true", default=default, help="log warnings only, no progress bars"
    )


def _add_verbosity_to_subcommands(parser: argparse.ArgumentParser) -> None:
    """Accept ``-v``/``-q`` after any (sub)command too; unset there, they keep the value given before it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict.fromkeys(action.choices.values()):
                _add_verbosity(subparser, default=argparse.SUPPRESS)
                subparser.set_defaults(command_name=subparser.prog)  # the deepest one wins
                _add_verbosity_to_subcommands(subparser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``hepxai`` with ``argv``; returns the exit code (tests call this directly)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", force=True)
    logging.getLogger("numexpr").setLevel(logging.WARNING)
    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)  # mplhep's styles name absent fonts
    args.progress = not args.quiet
    set_malloc_policy(getattr(args, "malloc_policy", "return"))
    from hepxai.provenance import COMMAND  # after parsing: --help stays light

    COMMAND.set(("hepxai", *(sys.argv[1:] if argv is None else argv)))
    try:
        return int(args.run(args) or 0)
    except (InputError, FileNotFoundError) as err:
        print(f"{args.command_name}: error: {err}", file=sys.stderr)  # noqa: T201
        return 2
    except KeyboardInterrupt:
        print(f"{args.command_name}: interrupted", file=sys.stderr)  # noqa: T201
        return 130
