"""Start-up time of the ``hepxai`` command: ``--help``, a missing input, and the imports that cost most.

    python bench/bench_startup.py [--runs 5] [--top 12]
    PYTHONPATH=/other/checkout/src python bench/bench_startup.py   # the same bench on another checkout

Each case runs ``python -m hepxai ARGS`` in a fresh process (wall time of the subprocess), the cases
interleaved for ``--runs`` rounds; prints the median and the fastest run of each and its exit code (0 for
``--help``, 2 for the missing input), beside a bare ``python -c pass``. Then the ``--top`` imports of
``hepxai --help`` by cumulative time, from ``python -X importtime`` (indented by depth, as Python prints
them). The package is this checkout's ``src`` unless ``PYTHONPATH`` is set.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"
CASES = {  # the arguments of python
    "python -c pass": "-c pass",
    "hepxai --help": "-m hepxai --help",
    "hepxai explain, missing model": "-m hepxai explain --model nope.pt --data x.root --out r.h5",
}
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH") or str(SOURCE)}


def run_once(arguments: str, folder: str) -> tuple[float, int]:
    """Wall time and exit code of one fresh ``python ARGS``."""
    start = time.perf_counter()
    command = [sys.executable, *arguments.split()]
    result = subprocess.run(command, cwd=folder, env=environment(), capture_output=True, check=False)
    return time.perf_counter() - start, result.returncode


def top_imports(count: int, folder: str) -> list[tuple[float, float, int, str]]:
    """The ``count`` imports of ``hepxai --help`` with the largest cumulative time: (cumulative s, self s,
    depth, module)."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hepxai", "--help"],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [
        (int(cumulative) / 1e6, int(own) / 1e6, (len(indent) - 1) // 2, module)
        for own, cumulative, indent, module in _IMPORT_LINE.findall(result.stderr)
    ]
    return sorted(rows, reverse=True)[:count]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5, help="rounds of every case")
    parser.add_argument("--top", type=int, default=12, help="imports to list")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        located = subprocess.run(
            [sys.executable, "-c", "import hepxai; print(hepxai.__file__)"],
            env=environment(),
            capture_output=True,
            text=True,
            check=True,
        )
        print(f"package: {Path(located.stdout.strip()).parent}")
        times: dict[str, list[float]] = {name: [] for name in CASES}
        exit_codes: dict[str, int] = {}
        run_once(CASES["hepxai --help"], folder)  # warm-up: the file cache
        for _ in range(args.runs):
            for name, arguments in CASES.items():
                wall, exit_codes[name] = run_once(arguments, folder)
                times[name].append(wall)
        print(f"\n{'case':<32}{'median s':>10}{'fastest s':>11}{'exit':>6}   ({args.runs} runs each, wall)")
        for name, values in times.items():
            print(f"{name:<32}{statistics.median(values):>10.3f}{min(values):>11.3f}{exit_codes[name]:>6}")

        print(f"\nimports of hepxai --help, the {args.top} largest by cumulative time")
        print(f"{'cumulative s':>12}{'self s':>9}  module")
        for cumulative, own, depth, module in top_imports(args.top, folder):
            print(f"{cumulative:>12.3f}{own:>9.3f}  {'  ' * depth}{module}")


if __name__ == "__main__":
    main()
