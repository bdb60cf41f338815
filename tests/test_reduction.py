"""Feature reduction: rankings, retraining on the top k, resuming, and models on a feature subset."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from hepxai.cli import main
from hepxai.config import RunConfig, TrainConfig
from hepxai.data.root_io import read_jets
from hepxai.data.schema import load_schema
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.feature_ranking import rank_features
from hepxai.models.checkpoint import load_checkpoint
from hepxai.reduction import COLUMNS
from hepxai.training import split_indices, train

from .cms_like import FEATURES, schema_yaml, write_jets

SCHEMA = schema_yaml("reduce", max_tracks=12)


def _jets_file(path: Path, num_jets: int, seed: int) -> Path:
    """H jets carry displaced tracks (track_dxysig shifted by +3 on their b tracks); all else is noise."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(3, 9, size=num_jets)
    is_h = np.arange(num_jets) % 2 == 0
    total = int(counts.sum())
    from_b = np.repeat(is_h, counts) & (rng.uniform(size=total) < 0.5)
    values = {name: rng.normal(size=total) for name in FEATURES}
    values["track_dxysig"] += 3.0 * from_b
    return write_jets(
        path,
        counts,
        is_h,
        values,
        from_b=from_b,
        sdmass=np.full(num_jets, 100.0),
        pt=np.full(num_jets, 500.0),
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("reduce")
    (folder / "reduce.yml").write_text(SCHEMA)
    return {
        "schema": folder / "reduce.yml",
        "train": _jets_file(folder / "train.root", 240, seed=0),
        "test": _jets_file(folder / "test.root", 120, seed=1),
    }


@pytest.fixture(scope="module")
def reduced(files: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """One seed, k = 2 and all 5 features, one epoch: the smoke configuration of ``hepxai reduce``."""
    folder = tmp_path_factory.mktemp("runs")
    command = _command(files, folder)
    assert main(command) == 0
    return {"out": folder / "runs", "results": folder / "reduction.csv", "command": command}


def _command(files: dict[str, Path], folder: Path) -> list[str]:
    return [
        "-q",
        "reduce",
        "--data",
        str(files["train"]),
        "--test",
        str(files["test"]),
        "--schema",
        str(files["schema"]),
        "--out",
        str(folder / "runs"),
        "--results",
        str(folder / "reduction.csv"),
        "--figure",
        str(folder / "reduction.png"),
        "--features-kept",
        "2",
        "5",
        "--seeds",
        "0",
        "--epochs",
        "1",
        "--hidden",
        "8",
        "--batch-size",
        "32",
        "--lr",
        "1e-2",
        "--bootstrap",
        "20",
    ]


def test_table_has_a_row_per_ranking_k_and_seed(reduced):
    table = pd.read_csv(reduced["results"])
    assert tuple(table.columns) == COLUMNS
    assert sorted(zip(table["ranking"], table["k"], strict=True)) == [
        (name, k) for name in ("lrp", "permutation", "random") for k in (2, 5)
    ]
    assert (table["test_jets"] == 120).all()
    assert ((table["auc_low"] <= table["auc"]) & (table["auc"] <= table["auc_high"])).all()
    assert (table["rejection_50_low"] <= table["rejection_50_high"]).all()
    # k = 5 is the model on all features, one model shared by the three rankings
    full = table[table["k"] == 5]
    assert full["auc"].nunique() == 1
    assert (full["features"] == "all").all()
    subsets = table[table["k"] == 2]["features"].str.split(";")
    assert all(len(names) == 2 and set(names) <= set(FEATURES) for names in subsets)
    sidecar = json.loads(reduced["results"].with_suffix(".json").read_text())
    assert "reduce" in str(sidecar)
    assert (reduced["results"].parent / "reduction.png").stat().st_size > 0


def test_subset_run_records_its_features_and_model_takes_k(reduced):
    ranking = pd.read_csv(reduced["out"] / "seed0" / "rankings.csv")
    lrp_top = list(ranking[ranking["ranking"] == "lrp"]["feature"])[:2]
    run = reduced["out"] / "seed0" / "lrp" / "k2"
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["data"]["features"] == lrp_top
    assert load_checkpoint(run / "best.pt").num_features == 2


def test_rerun_skips_finished_runs_and_resumes_unscored_ones(reduced, files):
    best = reduced["out"] / "seed0" / "random" / "k2" / "best.pt"
    before = (best.stat().st_mtime_ns, pd.read_csv(reduced["results"]))
    (reduced["out"] / "seed0" / "lrp" / "k2" / "result.yaml").unlink()  # as if stopped before scoring
    assert main(reduced["command"]) == 0
    assert (reduced["out"] / "seed0" / "lrp" / "k2" / "result.yaml").is_file()
    assert best.stat().st_mtime_ns == before[0]
    pd.testing.assert_frame_equal(pd.read_csv(reduced["results"]), before[1])


@pytest.mark.slow  # 5-30 s with the machine's load: three more commands, two with figures
def test_evaluate_benchmark_and_explain_read_a_subset_model_s_features(reduced, files, tmp_path):
    model = reduced["out"] / "seed0" / "permutation" / "k2" / "best.pt"
    common = ["--model", str(model), "--data", str(files["test"]), "--schema", str(files["schema"])]
    assert main(["-q", "evaluate", *common, "--out", str(tmp_path / "eval"), "--no-baselines"]) == 0
    assert yaml.safe_load((tmp_path / "eval" / "metrics.yaml").read_text())["num_jets"] == 120
    bench = ["-q", "benchmark", *common, "--out", str(tmp_path / "bench"), "--methods", "lrp_epsilon"]
    assert main(bench) == 0
    assert len(pd.read_csv(tmp_path / "bench" / "table.csv")) == 1
    assert main(["-q", "explain", *common, "--out", str(tmp_path / "relevance.h5"), "--max-jets", "5"]) == 0
    assert len(read_relevance_file(tmp_path / "relevance.h5").relevance_columns) == 2


def test_a_k_between_distinct_and_full_count_is_refused(files, tmp_path, capsys):
    command = _command(files, tmp_path)
    command[command.index("--features-kept") + 1] = "0"
    assert main(command) == 2
    assert "--features-kept: 0 is not a subset size" in capsys.readouterr().err


def test_lrp_and_permutation_rank_the_displacement_first(files, tmp_path):
    schema = load_schema(files["schema"])
    jets = read_jets([files["train"]], schema, progress=False)
    config = RunConfig(train=TrainConfig(epochs=4, lr=1e-2, batch_size=32, seed=0))
    result = train(jets, config, tmp_path / "run", progress=False)
    model = load_checkpoint(result.best_path)
    validation = jets.select(split_indices(len(jets), 0.2, 0)[1])
    for method in ("lrp", "permutation"):
        ranking = rank_features(method, model, validation)
        assert ranking.names[0] == "track_dxysig", (method, ranking)
        assert sorted(ranking.names) == sorted(FEATURES)
    random = [rank_features("random", model, validation, seed=seed).names for seed in (0, 1)]
    assert sorted(random[0]) == sorted(FEATURES)
    assert random[0] != random[1]
