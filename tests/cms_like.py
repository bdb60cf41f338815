"""Small ROOT files in the CMS open-data schema (five track features, H→bb̄ and QCD labels, b-hadron truth)."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np

from hepxai.data import TreeWriter

FEATURES = ["track_pt", "track_dxysig", "track_etarel", "track_phirel", "track_quality"]


def schema_yaml(name: str, max_tracks: int) -> str:
    """The schema text of these files."""
    return f"""
name: {name}
tree: deepntuplizer/tree
max_tracks: {max_tracks}
features: [{", ".join(FEATURES)}]
spectators: [fj_sdmass, fj_pt]
labels:
  signal: [label_H_bb]
  background_flag: sample_isQCD
  background: [label_QCD_others]
truth:
  track: [track_fromB]
"""


def write_jets(
    path: Path,
    counts: np.ndarray,
    is_h: np.ndarray,
    values: dict[str, np.ndarray],
    *,
    from_b: np.ndarray | None,
    sdmass: np.ndarray,
    pt: np.ndarray,
) -> Path:
    """One tree: flat per-track ``values`` and ``from_b`` cut into jets of ``counts`` tracks (no truth branch
    when ``from_b`` is None), labels from ``is_h``."""
    branches = {name: ak.unflatten(np.asarray(v, dtype=np.float32), counts) for name, v in values.items()}
    if from_b is not None:
        branches["track_fromB"] = ak.unflatten(from_b.astype(np.int32), counts)
    branches |= {
        "fj_sdmass": sdmass.astype(np.float32),
        "fj_pt": pt.astype(np.float32),
        "label_H_bb": is_h.astype(np.int32),
        "sample_isQCD": (~is_h).astype(np.int32),
        "label_QCD_others": (~is_h).astype(np.int32),
    }
    with TreeWriter(path, "deepntuplizer/tree") as writer:
        writer.extend(branches)
    return path
