"""The HIN-LRP paper's synthetic sanity-check jets: only features 0 and 3 carry the label.

Every jet has 10 tracks and 48 features. All features are N(0, 1) noise except feature 0, drawn per track
from {0, 10}, and feature 3, drawn per track from {-20, -10, 0, 10}; both carry no noise. The label is
``y = sign(mean over tracks of (f0 + 2 f3))``: y = +1 is H (``label_H_bb``), y <= 0 is QCD
(``sample_isQCD`` and ``label_QCD_others``), as the original code mapped it. The original code added both
signals onto feature 3; this follows the paper, which puts them in features 0 and 3. About a quarter of
the jets are H, since ``f0 + 2 f3`` has mean -5 per track.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from hepxai.data.root_io import TreeWriter
from hepxai.data.schema import load_schema

TRACKS_PER_JET = 10
NUM_FEATURES = 48
_CHUNK = 50_000  # fixed, so the output depends only on the seed and the number of jets


def sanity_chunks(num_jets: int, *, seed: int = 0) -> Iterator[dict[str, np.ndarray | ak.Array]]:
    """Yield the sanity set as branches of the sanity schema, ``_CHUNK`` jets at a time."""
    rng = np.random.default_rng(seed)
    for start in range(0, num_jets, _CHUNK):
        size = min(_CHUNK, num_jets - start)
        features = rng.standard_normal((size, TRACKS_PER_JET, NUM_FEATURES), dtype=np.float32)
        features[:, :, 0] = rng.choice(np.array([0.0, 10.0], np.float32), size=(size, TRACKS_PER_JET))
        features[:, :, 3] = rng.choice(
            np.array([-20.0, -10.0, 0.0, 10.0], np.float32), size=(size, TRACKS_PER_JET)
        )
        is_higgs = np.mean(features[:, :, 0] + 2 * features[:, :, 3], axis=1) > 0
        branches: dict[str, np.ndarray | ak.Array] = {
            f"f{i}": ak.from_regular(ak.Array(features[:, :, i])) for i in range(NUM_FEATURES)
        }
        branches["label_H_bb"] = is_higgs.astype(np.int32)
        branches["sample_isQCD"] = (~is_higgs).astype(np.int32)
        branches["label_QCD_others"] = (~is_higgs).astype(np.int32)
        yield branches


def write_sanity(path: str | Path, num_jets: int, *, seed: int = 0, progress: bool = True) -> Path:
    """Write ``num_jets`` sanity jets to ``path`` as a compressed TTree in the sanity schema."""
    if num_jets < 1:
        msg = f"number of sanity jets must be positive (got {num_jets})"
        raise ValueError(msg)
    tree = load_schema("sanity").tree
    with (
        TreeWriter(path, tree) as writer,
        tqdm(total=num_jets, unit="jet", desc="sanity data", disable=not progress, leave=False) as bar,
    ):
        for branches in sanity_chunks(num_jets, seed=seed):
            writer.extend(branches)
            bar.update(len(branches["label_H_bb"]))
    return Path(path)
