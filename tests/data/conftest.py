"""Small ROOT files written with the project's own writer, in a tiny schema of three features."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest

from hepxai.data import TreeWriter, load_schema

TINY_SCHEMA = """
name: tiny
tree: events/jets
max_tracks: 4
features: [track_pt, track_dxy, track_pt]
spectators: [fj_sdmass, fj_pt]
labels:
  signal: [label_H_bb]
  background_flag: sample_isQCD
  background: [label_QCD_b, label_QCD_others]
truth:
  track: [track_fromB]
  jet: [fj_isH]
"""


@pytest.fixture
def tiny_schema(tmp_path: Path):
    path = tmp_path / "tiny.yml"
    path.write_text(TINY_SCHEMA)
    return load_schema(path)


def _tiny_branches(num_tracks: list[int], seed: int = 0) -> dict:
    """Branches of jets with the given track counts; labels alternate H, QCD b, QCD others, unlabelled."""
    rng = np.random.default_rng(seed)
    n = len(num_tracks)
    total = sum(num_tracks)

    def jagged(values: np.ndarray) -> ak.Array:
        return ak.unflatten(values, np.asarray(num_tracks))

    kind = np.arange(n) % 4
    return {
        "track_pt": jagged(rng.uniform(1, 100, total).astype(np.float32)),
        "track_dxy": jagged(rng.normal(0, 0.01, total).astype(np.float32)),
        "track_fromB": jagged((rng.uniform(size=total) < 0.3).astype(np.int32)),
        "fj_sdmass": rng.uniform(20, 220, n).astype(np.float32),
        "fj_pt": rng.uniform(250, 900, n).astype(np.float32),
        "label_H_bb": (kind == 0).astype(np.int32),
        "sample_isQCD": ((kind == 1) | (kind == 2)).astype(np.int32),
        "label_QCD_b": (kind == 1).astype(np.int32),
        "label_QCD_others": (kind == 2).astype(np.int32),
        "fj_isH": (kind == 0).astype(np.int32),
    }


def _write_tiny(path: Path, branches: dict, tree: str = "events/jets") -> Path:
    with TreeWriter(path, tree) as writer:
        writer.extend(branches)
    return path


@pytest.fixture
def tiny_branches():
    """Factory: branches of jets with given track counts."""
    return _tiny_branches


@pytest.fixture
def write_tiny():
    """Factory: write branches to a ROOT file with the project's TreeWriter."""
    return _write_tiny
