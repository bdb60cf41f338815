"""Where a results table came from: a JSON sidecar beside every committed CSV.

``results/X.csv`` gets ``results/X.json`` holding the command that wrote it, the commit of the code, the date
and the machine. The CSV stays a plain table that ``pandas.read_csv`` reads without options (no comment
lines), and a number in it can always be traced to the command that reproduces it.

The command is the ``hepxai`` command line that :func:`hepxai.cli.main` records in :data:`COMMAND` (so a
test calling ``main(argv)`` records its ``argv``), else this process's ``sys.argv``. The module imports only
the standard library at load, as the command line's modules must.

A table that several commands fill row by row (``results/tracking.csv``) keeps one entry per command:
``update=True`` replaces the entry of the same command and keeps the others.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hepxai import __version__
from hepxai.io.atomic import write_text

COMMAND: ContextVar[tuple[str, ...] | None] = ContextVar("COMMAND", default=None)
"""The ``hepxai`` command line being run, as :func:`hepxai.cli.main` parsed it."""

_ENVIRONMENT = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
"""Variables that change what a timing measures; recorded where set."""


def sidecar_path(csv_path: str | Path) -> Path:
    """``results/X.json`` for ``results/X.csv``."""
    return Path(csv_path).with_suffix(".json")


def write_provenance(
    csv_path: str | Path, *, command: Sequence[str] | None = None, update: bool = False
) -> Path:
    """Write the sidecar of ``csv_path`` atomically and return its path.

    Args:
        csv_path: The table just written.
        command: The command line that wrote it; default :data:`COMMAND`, else ``sys.argv``.
        update: Keep the entries of other commands already in the sidecar (tables filled by several
            commands); otherwise the sidecar holds this command only.
    """
    entry = {
        "command": shlex.join(command or COMMAND.get() or sys.argv),
        **_code(),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    path = sidecar_path(csv_path)
    earlier = _entries(path) if update else []
    content = {
        "file": Path(csv_path).name,
        "writes": [*(old for old in earlier if old.get("command") != entry["command"]), entry],
    }
    return write_text(path, json.dumps(content, indent=2) + "\n")


def machine() -> dict[str, Any]:
    """Cores, CPU model, platform and the versions that change numbers (Python, torch)."""
    import torch  # only where a table is written: the command line imports this module at start

    record: dict[str, Any] = {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
    environment = {name: os.environ[name] for name in _ENVIRONMENT if name in os.environ}
    return {**record, "environment": environment} if environment else record


def _code() -> dict[str, Any]:
    """The hepxai version, and the git commit of the source with whether it had uncommitted changes."""
    source = Path(__file__).resolve().parent

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(source), *args], capture_output=True, text=True, check=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return done.stdout.strip()

    commit = git("rev-parse", "HEAD")
    # the code that makes numbers; the results being written are themselves changes, not counted
    code = (":/src", ":/bench", ":/Makefile")
    changes = git("status", "--porcelain", "--untracked-files=no", "--", *code) if commit else None
    return {"hepxai": __version__, "commit": commit, "uncommitted_changes": bool(changes)}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads(path.read_text()).get("writes", []))
    except (OSError, ValueError, AttributeError):
        return []
