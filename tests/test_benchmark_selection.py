"""``hepxai benchmark`` explains the jets the model was trained on: its training selection by default."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hepxai.cli import main
from hepxai.data import TreeWriter
from hepxai.models import InteractionNetwork, save_checkpoint

from .cms_like import FEATURES, schema_yaml, write_jets

SCHEMA = schema_yaml("bench", max_tracks=20)
NUM_JETS = 40


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    """Signal jets only, half of them with a soft-drop mass outside the original window."""
    rng = np.random.default_rng(0)
    counts = rng.integers(3, 10, size=NUM_JETS)
    total = int(counts.sum())
    write_jets(
        tmp_path / "jets.root",
        counts,
        np.ones(NUM_JETS, dtype=bool),
        {name: rng.normal(size=total) for name in FEATURES},
        from_b=rng.uniform(size=total) < 0.3,
        sdmass=np.where(np.arange(NUM_JETS) % 2 == 0, 100.0, 250.0),
        pt=np.full(NUM_JETS, 500.0),
    )
    (tmp_path / "bench.yml").write_text(SCHEMA)
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=len(FEATURES), hidden=8).eval()
    return {
        "data": tmp_path / "jets.root",
        "schema": tmp_path / "bench.yml",
        "old_model": save_checkpoint(tmp_path / "old.pt", model),
        "model_none": save_checkpoint(
            tmp_path / "none.pt", model, run_config={"data": {"selection": "none"}}
        ),
    }


def _benchmark(files: dict[str, Path], model: str, out: Path, *extra: str) -> str:
    command = ["-q", "benchmark", "--model", str(files[model]), "--data", str(files["data"])]
    command += ["--out", str(out), "--schema", str(files["schema"]), "--methods", "random", *extra]
    assert main(command) == 0
    assert len(pd.read_csv(out / "table.csv")) == 1
    return (out / "table.md").read_text()


@pytest.mark.parametrize(
    ("model", "extra", "num_jets", "selection"),
    [
        ("model_none", (), NUM_JETS, "none (none)"),  # trained without a window
        ("old_model", (), NUM_JETS // 2, "original (40 < fj_sdmass < 200, 300 < fj_pt < 2000)"),  # not stored
        ("model_none", ("--selection", "original"), NUM_JETS // 2, "original"),
    ],
)
def test_benchmark_uses_the_training_selection(files, tmp_path, model, extra, num_jets, selection):
    table = _benchmark(files, model, tmp_path / "out", *extra)
    first_line = table.splitlines()[0]
    assert first_line.startswith(f"{num_jets} signal jets,")
    assert f"jet selection: {selection}" in first_line


@pytest.mark.parametrize(("model", "num_jets"), [("model_none", NUM_JETS), ("old_model", NUM_JETS // 2)])
def test_evaluate_uses_the_training_selection(files, tmp_path, model, num_jets):
    # The same jets as above, with every other pair of jets relabelled QCD so both classes are there.
    labelled = tmp_path / "labelled.root"
    rng = np.random.default_rng(1)
    counts = rng.integers(3, 10, size=NUM_JETS)
    total = int(counts.sum())
    branches = {name: ak.unflatten(rng.normal(size=total).astype(np.float32), counts) for name in FEATURES}
    is_qcd = (np.arange(NUM_JETS) // 2) % 2 == 1
    branches |= {
        "fj_sdmass": np.where(np.arange(NUM_JETS) % 2 == 0, 100.0, 250.0).astype(np.float32),
        "fj_pt": np.full(NUM_JETS, 500.0, dtype=np.float32),
        "label_H_bb": (~is_qcd).astype(np.int32),
        "sample_isQCD": is_qcd.astype(np.int32),
        "label_QCD_others": is_qcd.astype(np.int32),
    }
    with TreeWriter(labelled, "deepntuplizer/tree") as writer:
        writer.extend(branches)
    out = tmp_path / "eval"
    command = ["-q", "evaluate", "--model", str(files[model]), "--data", str(labelled), "--out", str(out)]
    assert main([*command, "--schema", str(files["schema"]), "--no-baselines"]) == 0
    assert yaml.safe_load((out / "metrics.yaml").read_text())["num_jets"] == num_jets
