"""``hepxai --help`` and a mistyped path answer before any heavy package loads (torch alone takes seconds).

Each case runs in a fresh interpreter (tests/cli/import_probe.py); a failure names the line that imported
the package, which breaks the import rule of ``hepxai/cli/__init__.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hepxai

PROBE = Path(__file__).with_name("import_probe.py")


def probe(*arguments: str, cwd: Path | None = None) -> tuple[dict, str]:
    """The probe's report on ``hepxai ARGS`` (or ``help``) with this checkout's package, and its stderr."""
    source = str(Path(hepxai.__file__).resolve().parents[1])
    path = os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(PROBE), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": path},
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1]), result.stderr


def offences(imported: dict[str, str]) -> str:
    """``hepxai/cli/x.py:12 in f imports torch, numpy``: one clause per line that imports heavy packages."""
    by_line: dict[str, list[str]] = {}
    for package, line in imported.items():
        by_line.setdefault(line, []).append(package)
    return "; ".join(f"{line} imports {', '.join(packages)}" for line, packages in by_line.items())


def test_help_of_every_command_imports_no_heavy_package():
    report, _ = probe("help")
    walked = set(report["commands"])
    assert {"hepxai data inspect", "hepxai sanity explain", "hepxai tracking train"} <= walked
    assert not report["imported"], offences(report["imported"])


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("explain --model nope.pt --data x.root --out r.h5", "nope.pt: checkpoint not found"),
        ("explain --model model.pt --data x.root --out r.h5", "x.root: file not found"),
        ("evaluate --model nope.pt --data x.root --out e", "nope.pt: checkpoint not found"),
        ("benchmark --model model.pt --data x.root --out b", "x.root: file not found"),
        (
            "benchmark --model model.pt --lri-model nope.pt --data x.root --out b",
            "nope.pt: checkpoint not found",
        ),
        ("reduce --data model.pt --test x.root --out r", "x.root: file not found"),
        ("data inspect x.root", "x.root: file not found"),
        ("train --data x.root --out run", "x.root: file not found"),
        ("all --data model.pt --test-data x.root", "x.root: file not found"),
        ("plot --relevance nope.h5 --out p", "nope.h5: relevance file not found"),
        ("report --relevance nope.h5 --out r.html", "nope.h5: relevance file not found"),
        ("sanity explain --out nope", f"{Path('nope/model/best.pt')}: checkpoint not found"),
        ("pointsets inspect nope", "nope: dataset folder not found"),
        ("lri train --data nope --method erm --out o", "nope: dataset folder not found"),
        ("tracking train --graphs nope --out o", "nope: graph folder not found"),
        ("tracking curves --run nope", "nope: run folder not found"),
        ("tracking evaluate --model nope.pt --graphs g --out e", "nope.pt: checkpoint not found"),
        ("tracking display --model model.pt --graphs nope --out d.png", "nope: graph folder not found"),
    ],
)
def test_a_missing_input_is_one_line_before_any_heavy_import(tmp_path, command, message):
    (tmp_path / "model.pt").touch()  # exists: the check after it is the one that fails
    report, stderr = probe(*command.split(), cwd=tmp_path)
    assert report["exit_code"] == 2
    assert stderr.endswith(f": error: {message}\n")
    assert stderr.count("\n") == 1
    assert not report["imported"], offences(report["imported"])
