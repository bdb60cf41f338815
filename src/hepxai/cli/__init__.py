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
import ctypes
import logging
import platform
import sys
from collections.abc import Sequence
from typing import Literal

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


MallocPolicy = Literal["return", "reuse"]


def set_malloc_policy(policy: MallocPolicy) -> None:
    """How glibc serves this process's tensor memory (glibc only; elsewhere nothing changes).

    - ``"return"`` (the default; streaming commands such as explain and evaluate): every block of 128 KiB
      or more gets its own ``mmap`` and goes back to the system when freed. glibc would otherwise raise its
      threshold each time a large block is freed, up to 32 MB, so tensors of later batches come from the
      heap, where batches of different sizes fragment it: explaining a file grew the resident memory by
      about 200 MB over its first 3,000 jets, and on. Memory stays flat (bench/bench_memory.py).
    - ``"reuse"`` (training commands, which allocate the same tensors step after step): no ``mmap`` and
      no trimming, so the next step reuses the freed blocks. With ``"return"``, every large tensor of every
      step is fresh pages: training a DGCNN on ActsTrack spent as much time in page faults (3 million per
      20 s) as in computing. Measured side by side: bench/bench_malloc.py.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    m_trim_threshold, m_mmap_threshold, m_mmap_max = -1, -3, -4  # from glibc's malloc.h
    settings = {
        "return": {m_mmap_max: 65536, m_mmap_threshold: 128 * 1024, m_trim_threshold: 128 * 1024},
        "reuse": {m_mmap_max: 0, m_trim_threshold: 2**31 - 1},
    }[policy]
    libc = ctypes.CDLL(None)
    for parameter, value in settings.items():
        libc.mallopt(parameter, value)
