"""Which heavy packages a ``hepxai`` command imports, and which line imports each first.

Run by tests/cli/test_startup.py in a fresh interpreter (an import cannot be undone in the test process):

    python import_probe.py help      build the parser and the --help text of every (sub)command
    python import_probe.py ARGS...   run ``hepxai ARGS``

Prints one JSON line: ``exit_code``, ``commands`` (the parsers whose help was built) and ``imported``
(heavy package -> ``file:line in function``, the innermost ``hepxai/cli`` frame that led to it).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import traceback

HEAVY = ("torch", "numpy", "torch_geometric", "pandas", "matplotlib")

first_imported_by: dict[str, str] = {}


class _ImportWatch:
    """Finds nothing: notes who asks for a heavy package first, and leaves the import to the other finders."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name in HEAVY and name not in first_imported_by:
            first_imported_by[name] = _importer()


def _importer() -> str:
    frames = [frame for frame in traceback.extract_stack() if "/hepxai/" in frame.filename.replace("\\", "/")]
    cli_frames = [frame for frame in frames if "/hepxai/cli/" in frame.filename.replace("\\", "/")]
    if not frames:
        return "outside hepxai"
    frame = (cli_frames or frames)[-1]
    filename = frame.filename.replace("\\", "/")
    return f"{filename[filename.rindex('hepxai/') :]}:{frame.lineno} in {frame.name}"


def _build_every_help(parser: argparse.ArgumentParser, commands: list[str]) -> None:
    parser.format_help()
    commands.append(parser.prog)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for subparser in dict.fromkeys(action.choices.values()):
                _build_every_help(subparser, commands)


def probe(argv: list[str]) -> dict:
    sys.meta_path.insert(0, _ImportWatch())
    from hepxai.cli import build_parser, main

    commands: list[str] = []
    if argv == ["help"]:
        _build_every_help(build_parser(), commands)
        exit_code = 0
    else:
        with contextlib.redirect_stdout(io.StringIO()):
            exit_code = main(argv)
    return {"exit_code": exit_code, "commands": commands, "imported": first_imported_by}


if __name__ == "__main__":
    print(json.dumps(probe(sys.argv[1:])))  # noqa: T201
