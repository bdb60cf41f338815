"""``--workers``: every data-parallel command defaults to all CPU cores."""

from __future__ import annotations

import os

import pytest

from hepxai.cli import build_parser


@pytest.mark.parametrize(
    "command",
    [
        ["data", "simulate", "--signal", "1", "--background", "1", "--out", "j.root"],
        ["detector", "simulate", "--events", "1", "--out", "events"],
        ["tracking", "events"],
        ["pointsets", "make", "synthetic", "--out", "clouds"],
        ["all"],
        ["benchmark", "--model", "m.pt", "--data", "j.root", "--out", "bench"],
    ],
    ids=lambda command: " ".join(command[:2]),
)
def test_workers_default_to_all_cores(command):
    assert build_parser().parse_args(command).workers == os.cpu_count()
