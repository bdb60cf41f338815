"""``evaluate`` on a stream of jet chunks writes what it writes for all jets at once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from PIL import Image

from hepxai.data import Jets
from hepxai.evaluation import evaluate
from hepxai.models import InteractionNetwork

FEATURES = ("track_pt", "track_dxysig", "track_pt", "track_quality")  # a repeated name, as in CMS


def _jets(num_jets: int = 60, seed: int = 0) -> Jets:
    rng = np.random.default_rng(seed)
    num_tracks = rng.integers(1, 9, size=num_jets)
    label = rng.integers(0, 2, size=num_jets)
    return Jets(
        features=rng.normal(size=(int(num_tracks.sum()), len(FEATURES))).astype(np.float32),
        num_tracks=num_tracks,
        label=label,
        feature_names=FEATURES,
        spectators={
            "fj_sdmass": (rng.uniform(40, 200, num_jets) + 20 * label).astype(np.float32),
            "fj_pt": rng.uniform(300, 900, num_jets).astype(np.float32),
        },
    )


def test_streamed_evaluation_equals_all_jets_at_once(tmp_path):
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=len(FEATURES), hidden=8).eval()
    jets = _jets()
    at_once = evaluate(model, jets, tmp_path / "at_once", batch_size=16)
    chunks = (jets.select(np.arange(start, min(start + 7, len(jets)))) for start in range(0, len(jets), 7))
    streamed = evaluate(model, chunks, tmp_path / "streamed", batch_size=16)

    assert streamed == at_once
    assert [r.tagger for r in streamed] == ["HIN", "soft-drop mass", "boosted tree (jet quantities)"]
    pd.testing.assert_frame_equal(
        pd.read_hdf(tmp_path / "streamed" / "predictions.h5"),
        pd.read_hdf(tmp_path / "at_once" / "predictions.h5"),
    )
    assert (tmp_path / "streamed" / "metrics.yaml").read_text() == (
        tmp_path / "at_once" / "metrics.yaml"
    ).read_text()
    for name in ("roc", "mass_sculpting"):
        with Image.open(tmp_path / "streamed" / f"{name}.png") as image:
            assert min(image.info["dpi"]) >= 149.9  # print resolution
