"""LRI-Bernoulli on jets: ``hepxai train --lri``, its benchmark row, and what its keep-probabilities find."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hepxai.cli import main
from hepxai.config import ModelConfig, RunConfig, TrainConfig
from hepxai.data.root_io import read_jets
from hepxai.data.sanity import write_sanity
from hepxai.data.schema import load_schema
from hepxai.lri.jets import KeepProbability, load_lri_run, lri_objective
from hepxai.metrics.interpretation import interpretation_auc
from hepxai.models.registry import build_model
from hepxai.training import train

from ..test_benchmark import SCHEMA
from ..test_benchmark import write_jets as write_benchmark_jets


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A plain and an LRI run of one epoch on the same small jets with b-hadron truth."""
    folder = tmp_path_factory.mktemp("lri_jets")
    (folder / "bench.yml").write_text(SCHEMA)
    data = write_benchmark_jets(folder / "jets.root", num_jets=64)
    common = ["--data", str(data), "--schema", str(folder / "bench.yml"), "--selection", "none"]
    common += ["--epochs", "1", "--hidden", "8", "--batch-size", "16"]
    assert main(["-q", "train", *common, "--out", str(folder / "plain")]) == 0
    assert main(["-q", "train", *common, "--out", str(folder / "lri"), "--lri"]) == 0
    return {"folder": folder, "data": data, "schema": folder / "bench.yml", "common": common}


def test_lri_run_records_its_method_and_generator(runs):
    method = yaml.safe_load((runs["folder"] / "lri" / "method.yaml").read_text())
    assert method["method"] == "lri_bernoulli"
    assert (method["beta"], method["final_alpha"], method["alpha_interval"]) == (1.0, 0.7, 1)
    model, objective = load_lri_run(runs["folder"] / "lri" / "best.pt")
    batch = read_jets([runs["data"]], load_schema(runs["schema"]), progress=False).to_batch()
    keep = KeepProbability(model, objective).explain(batch).node
    assert keep.shape == (batch.num_nodes, 1)
    assert ((keep > 0) & (keep < 1)).all()


def test_benchmark_scores_the_lri_run_beside_the_explainers(runs, tmp_path):
    folder = runs["folder"]
    command = ["-q", "benchmark", "--model", str(folder / "plain" / "best.pt"), "--data", str(runs["data"])]
    command += ["--schema", str(runs["schema"]), "--out", str(tmp_path / "bench"), "--methods", "random"]
    assert main([*command, "--lri-model", str(folder / "lri" / "best.pt")]) == 0
    table = pd.read_csv(tmp_path / "bench" / "table.csv")
    assert list(table["method"]) == ["random", "lri_bernoulli"]
    assert table["interp_auc"].between(0, 1).all()
    assert "--lri-model" in (tmp_path / "bench" / "table.md").read_text()


def test_a_plain_run_is_not_an_lri_model_and_an_lri_run_resumes_only_with_lri(runs, tmp_path, capsys):
    folder = runs["folder"]
    bench = ["-q", "benchmark", "--model", str(folder / "plain" / "best.pt"), "--data", str(runs["data"])]
    bench += ["--schema", str(runs["schema"]), "--out", str(tmp_path / "b"), "--methods", "random"]
    assert main([*bench, "--lri-model", str(folder / "plain" / "best.pt")]) == 2
    assert "no method.yaml beside it" in capsys.readouterr().err
    resume = ["-q", "train", *runs["common"], "--epochs", "2", "--resume"]
    assert main([*resume, "--out", str(folder / "lri")]) == 2
    assert "an LRI-Bernoulli run; resume it with --lri" in capsys.readouterr().err
    assert main([*resume, "--out", str(folder / "plain"), "--lri"]) == 2
    assert "not an LRI run" in capsys.readouterr().err


@pytest.mark.slow  # 8-11 s on the shared 2-core machine: 10 epochs on 600 jets
def test_keep_probabilities_rank_the_tracks_that_carry_the_label_on_the_sanity_set(tmp_path):
    # Sanity jets: y = H iff the mean over tracks of c = f0 + 2 f3 is positive. A track whose c has the sign
    # of its jet's class carries the label: masking it moves the jet towards the other class; masking a
    # track of the opposite sign (or c = 0) cannot. The trained generator must keep the former more (chance:
    # AUC 0.5; an untrained generator or masks that reach no message stay there).
    train_file = write_sanity(tmp_path / "sanity.root", 600, progress=False)
    jets = read_jets([train_file], load_schema("sanity"), progress=False)
    config = RunConfig(model=ModelConfig(hidden=8), train=TrainConfig(epochs=10, lr=1e-2, batch_size=64))
    torch.manual_seed(0)
    model = build_model("interaction_network", num_features=48, hidden=8)
    objective = lri_objective(model, tmp_path / "run", epochs=10, seed=0)
    result = train(jets, config, tmp_path / "run", model=model, objective=objective, progress=False)
    assert result.history[-1].val_auc > 0.9
    model, objective = load_lri_run(result.last_path)  # the generator after its 10 epochs
    test_file = write_sanity(tmp_path / "test.root", 300, seed=1, progress=False)
    test = read_jets([test_file], load_schema("sanity"), progress=False)
    keep = KeepProbability(model, objective).explain(test.to_batch()).node[:, 0]
    contribution = test.features[:, 0] + 2 * test.features[:, 3]
    is_h = np.repeat(test.label == 1, test.num_tracks)
    carries_label = torch.from_numpy(np.where(is_h, contribution > 0, contribution < 0))
    # above chance by five standard deviations of the AUC of random scores (Mann-Whitney null)
    positives, negatives = int(carries_label.sum()), int((~carries_label).sum())
    null_sigma = ((positives + negatives + 1) / (12 * positives * negatives)) ** 0.5
    assert interpretation_auc(keep, carries_label) > 0.5 + 5 * null_sigma
