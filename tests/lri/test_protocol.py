"""The protocol runner: finished runs skipped, the noise generator in checkpoints, one-line errors."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from hepxai.cli import main
from hepxai.data.graphs import distance_and_direction, knn_edge_index
from hepxai.data.pointsets.store import save_pointset
from hepxai.errors import InputError
from hepxai.lri import protocol
from hepxai.lri.protocol import RunSpec, load_run, run
from hepxai.lri.table import collect, summarise

from .conftest import clouds


def test_run_writes_a_result_and_skips_it_next_time(
    dataset_folder: Path, tmp_path: Path, monkeypatch
) -> None:
    out = tmp_path / "runs"
    spec = RunSpec(dataset_folder, "dgcnn", "gradgam", seed=0, epochs=2)
    first = run(spec, out, progress=False)
    assert (out / "synthetic" / "dgcnn" / "erm" / "seed0" / "best.pt").is_file()  # the model it explains
    assert first["k1"] == 4
    assert first["k2"] == 6
    assert 0 <= first["interp_auc"] <= 1
    assert 0 <= first["pred_auc"] <= 1
    assert first["positives"] == 4
    assert first["points"] > first["true_points"] > 0

    def refuse(*args, **kwargs):
        raise AssertionError("a finished run was trained again")

    monkeypatch.setattr(protocol, "train", refuse)
    monkeypatch.setattr(protocol, "_score", refuse)
    assert run(spec, out, progress=False) == first
    # Other settings are another run: the ERM training resumes (to more epochs) and scoring reruns.
    monkeypatch.undo()
    longer = run(RunSpec(dataset_folder, "dgcnn", "gradgam", seed=0, epochs=3), out, progress=False)
    history = torch.load(out / "synthetic" / "dgcnn" / "erm" / "seed0" / "last.pt", weights_only=False)[
        "history"
    ]
    assert len(history) == 3
    assert longer["epochs"] == 3


def test_an_interrupted_training_resumes(dataset_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run(RunSpec(dataset_folder, "dgcnn", "lri_bernoulli", seed=1, epochs=2), out, progress=False)
    folder = out / "synthetic" / "dgcnn" / "lri_bernoulli" / "seed1"
    (folder / "result.yaml").unlink()  # as if killed after its last epoch, before scoring
    # a run begun when config.yaml carried the jet tagger's fields resumes
    state = torch.load(folder / "last.pt", weights_only=False)
    state["run_config"]["data"].update(schema="pointset", selection="none", max_jets=None)
    state["run_config"]["train"].update(patience=1_000_000, reweight_pt=False, validation_fraction=0.2)
    torch.save(state, folder / "last.pt")
    result = run(RunSpec(dataset_folder, "dgcnn", "lri_bernoulli", seed=1, epochs=3), out, progress=False)
    history = torch.load(folder / "last.pt", weights_only=False)["history"]
    assert len(history) == 3
    assert result["epochs"] == 3
    with pytest.raises(InputError, match="trained 3 epochs, more than --epochs 2"):
        run(RunSpec(dataset_folder, "dgcnn", "lri_bernoulli", seed=1, epochs=2), out, progress=False)
    # The kept epoch is the first with the highest validation prediction AUC, not the lowest loss.
    aucs = [record["val_auc"] for record in history]
    assert result["best_epoch"] == aucs.index(max(aucs)) + 1


def test_the_run_config_holds_only_what_a_point_set_run_uses(dataset_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    run(
        RunSpec(dataset_folder, "dgcnn", "lri_bernoulli", seed=1, epochs=1, batch_size=4), out, progress=False
    )
    config = yaml.safe_load(
        (out / "synthetic" / "dgcnn" / "lri_bernoulli" / "seed1" / "config.yaml").read_text()
    )
    assert config == {
        "data": {"files": [str(dataset_folder.resolve())]},
        "model": {"kind": "dgcnn", "hidden": config["model"]["hidden"]},
        "train": {
            "epochs": 1,
            "lr": 1e-3,
            "batch_size": 4,
            "seed": 1,
            "select": "auc",
            "recompute_batchnorm": False,
        },
    }


def test_a_warm_up_starts_from_the_erm_run(dataset_folder: Path, tmp_path: Path) -> None:
    """LRI-Gaussian's backbone-only epochs are the ERM run: it trains only the epochs with noise."""
    out = tmp_path / "runs"
    result = run(RunSpec(dataset_folder, "dgcnn", "lri_gaussian", seed=0, epochs=3), out, progress=False)
    runs = out / "synthetic" / "dgcnn"
    assert result["warmup_epochs"] == 2
    assert len(torch.load(runs / "erm" / "seed0" / "last.pt", weights_only=False)["history"]) == 3
    folder = runs / "lri_gaussian" / "seed0"
    assert len(torch.load(folder / "last.pt", weights_only=False)["history"]) == 1
    options = yaml.safe_load((folder / "method.yaml").read_text())
    assert options["warm_start"] == "erm"
    assert options["warmup"] == 0
    # Its one epoch changed the ERM weights it started from.
    erm, _ = load_run(runs / "erm" / "seed0", RunSpec(dataset_folder, "dgcnn", "erm"))
    lri, _ = load_run(folder, RunSpec(dataset_folder, "dgcnn", "lri_gaussian"))
    assert lri.state_dict().keys() == erm.state_dict().keys()
    assert any(not torch.equal(lri.state_dict()[key], value) for key, value in erm.state_dict().items())


def test_a_warm_start_does_not_depend_on_when_erm_ran(dataset_folder: Path, tmp_path: Path) -> None:
    """The same LRI-Gaussian run whether its ERM run was trained in the same call or in another process."""
    spec = RunSpec(dataset_folder, "dgcnn", "lri_gaussian", seed=0, epochs=3)
    together, apart = tmp_path / "together", tmp_path / "apart"
    run(spec, together, progress=False)
    run(RunSpec(dataset_folder, "dgcnn", "erm", seed=0, epochs=3), apart, progress=False)
    torch.rand(7)  # another process: another state of the global generator
    run(spec, apart, progress=False)
    first, second = (
        torch.load(out / "synthetic" / "dgcnn" / "lri_gaussian" / "seed0" / "best.pt", weights_only=False)
        for out in (together, apart)
    )
    for key, value in first["objective"].items():
        torch.testing.assert_close(second["objective"][key], value)


def test_checkpoint_keeps_the_noise_generator(dataset_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    spec = RunSpec(dataset_folder, "dgcnn", "lri_gaussian", seed=0, epochs=3)
    result = run(spec, out, progress=False)
    assert result["warmup_epochs"] == 2
    assert result["best_epoch"] == 1  # the one epoch with noise after the ERM warm start
    folder = spec.folder(out)
    stored = torch.load(folder / "best.pt", weights_only=False)["objective"]
    assert any(key.startswith("extractor.") for key in stored)
    assert any(key.startswith("distance_weight.") for key in stored)
    _model, objective = load_run(folder, spec)
    for key, value in objective.state_dict().items():
        torch.testing.assert_close(value, stored[key])
    assert yaml.safe_load((folder / "method.yaml").read_text())["weighting"] == "learned"


def test_a_checkpoint_of_another_backbone_is_one_line(dataset_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    spec = RunSpec(dataset_folder, "dgcnn", "erm", epochs=1)
    run(spec, out, progress=False)
    other = RunSpec(dataset_folder, "egnn", "erm", epochs=1)
    with pytest.raises(InputError, match=r"best\.pt: a checkpoint of backbone 'dgcnn', expected 'egnn'"):
        load_run(spec.folder(out), other)


def test_summary_has_means_over_seeds(dataset_folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "runs"
    for seed in (0, 1):
        run(RunSpec(dataset_folder, "dgcnn", "gradgeo", seed=seed, epochs=1), out, progress=False)
    table = summarise(collect(out))
    row = table[table.method == "gradgeo"].iloc[0]
    values = [r["interp_auc"] for r in collect(out) if r["method"] == "gradgeo"]
    assert row["seeds"] == 2
    assert row["interp_auc_mean"] == pytest.approx(sum(values) / 2)
    assert set(table.method) == {"erm", "gradgeo"}
    assert (
        table[table.method == "erm"].iloc[0]["interp_auc_mean"] is None
        or table[table.method == "erm"].interp_auc_mean.isna().all()
    )


def _cli(capsys, *argv: str) -> tuple[int, str]:
    code = main(["-q", "lri", "train", *argv])
    return code, capsys.readouterr().err.strip()


def test_one_line_errors(tmp_path: Path, capsys, dataset_folder: Path) -> None:
    other = save_pointset(tmp_path / "tracks", "tracking", {"train": clouds(4, 0), "valid": clouds(4, 1)})
    code, err = _cli(capsys, "--data", str(other), "--method", "erm", "--out", str(tmp_path / "r"))
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "field 'kind' is 'tracking'" in err

    empty = save_pointset(
        tmp_path / "empty", "synthetic", {"train": clouds(6, 0), "valid": clouds(6, 1), "test": []}
    )
    code, err = _cli(capsys, "--data", str(empty), "--method", "erm", "--out", str(tmp_path / "r"))
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "split 'test' is empty" in err

    code, err = _cli(capsys, "--data", str(dataset_folder), "--method", "nope", "--out", str(tmp_path / "r"))
    assert code == 2
    assert "unknown method 'nope'" in err

    code, err = _cli(
        capsys,
        "--data",
        str(dataset_folder),
        "--backbone",
        "nonet",
        "--method",
        "erm",
        "--out",
        str(tmp_path / "r"),
    )
    assert code == 2
    assert len(err.splitlines()) == 1
    assert "unknown model kind 'nonet'" in err


def test_benchmark_command_writes_the_table(dataset_folder: Path, tmp_path: Path) -> None:
    out, table = tmp_path / "runs", tmp_path / "lri.csv"
    common = ["--data", str(dataset_folder), "--out", str(out), "--epochs", "1", "--seeds", "0"]
    methods = ["--methods", "erm", "gradgeo"]
    assert main(["-q", "lri", "benchmark", *common, *methods, "--results", str(table)]) == 0
    frame = pd.read_csv(table)
    expected = {"dataset", "backbone", "method", "interp_auc_mean", "interp_auc_std", "prec_at_k1"}
    expected |= {"prec_at_k2", "k1", "k2", "pred_auc_mean", "seeds", "epochs", "variant"}
    assert expected <= set(frame.columns)
    assert sorted(frame.method) == ["erm", "gradgeo"]
    assert (frame.settings == "batchnorm=running").all()
    assert (frame.seeds == 1).all()
    assert (frame.failed_seeds == 0).all()
    assert frame.pred_auc_std.isna().all()  # one seed: no spread to report
    sidecar = json.loads(table.with_suffix(".json").read_text())
    assert "lri benchmark" in sidecar["writes"][0]["command"]
    again = tmp_path / "again.csv"
    assert main(["-q", "lri", "benchmark", *common, "--table-only", "--results", str(again)]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(again), frame)


def test_actstrack_graphs_and_models_use_hit_directions(tmp_path: Path) -> None:
    """ActsTrack hits are joined by their directions from the origin (as the LRI code does): in the graphs
    of the dataset and in the options of the methods that rebuild graphs."""
    folder = save_pointset(
        tmp_path / "acts", "actstrack", {"train": clouds(4, 1), "valid": clouds(2, 2), "test": clouds(2, 3)}
    )
    graph = protocol.load_dataset(folder).splits["train"].graphs[0]
    direction = graph.pos / graph.pos.norm(dim=1, keepdim=True)
    assert torch.equal(graph.edge_index, knn_edge_index(direction, None, 5, loop=True))
    assert not torch.equal(graph.edge_index, knn_edge_index(graph.pos, None, 5, loop=True))
    torch.testing.assert_close(graph.edge_attr, distance_and_direction(direction, graph.edge_index))
    spec = RunSpec(folder, "dgcnn", "lri_gaussian", epochs=2, batch_size=4)
    options, _ = protocol._method_options(spec, protocol.load_dataset(folder))
    assert options["unit_directions"] is True


def test_recomputed_batchnorm_is_a_setting_only_when_asked(tmp_path):
    """Runs finished before the option keep matching their recorded settings; runs with it do not."""
    plain = RunSpec(tmp_path, "dgcnn", "erm")
    assert "recompute_batchnorm" not in plain.settings()
    assert RunSpec(tmp_path, "dgcnn", "erm", recompute_batchnorm=True).settings()["recompute_batchnorm"]


def test_the_ablation_keeps_the_datasets_graph_and_no_weights(dataset_folder: Path, tmp_path: Path) -> None:
    spec = RunSpec(dataset_folder, "dgcnn", "lri_gaussian_fixed_graph", seed=0, epochs=3)
    result = run(spec, tmp_path / "runs", progress=False)
    options = yaml.safe_load((spec.folder(tmp_path / "runs") / "method.yaml").read_text())
    assert options["rebuild"] is False
    assert options["weighting"] == "none"
    assert options["warm_start"] == "erm"
    assert result["variant"].startswith("ablation")


def test_a_shifted_run_validates_and_tests_on_the_other_folder(dataset_folder: Path, tmp_path: Path) -> None:
    shifted = save_pointset(
        tmp_path / "shifted",
        "synthetic",
        {"train": clouds(4, 7), "valid": clouds(6, 8), "test": clouds(10, 9)},
    )
    spec = RunSpec(dataset_folder, "dgcnn", "gradgeo", seed=0, epochs=1, test_data=shifted)
    result = run(spec, tmp_path / "runs", progress=False)
    assert spec.folder(tmp_path / "runs").parts[-4] == "synthetic-on-shifted"
    assert result["dataset"] == "synthetic-on-shifted"
    assert result["positives"] == sum(int(cloud.y) for cloud in clouds(10, 9))
    erm = yaml.safe_load(
        (spec.folder(tmp_path / "runs").parent.parent / "erm" / "seed0" / "result.yaml").read_text()
    )
    assert erm["settings"]["test_data"] == str(shifted.resolve())
    assert "test_data" not in RunSpec(dataset_folder, "dgcnn", "erm").settings()  # earlier runs keep matching


def test_the_papers_shift_validates_on_one_folder_and_tests_on_another(
    dataset_folder: Path, tmp_path: Path
) -> None:
    """The LRI paper's Table 5: column 25-40 chooses the epoch on 25 tracks, tests on 40 tracks."""
    splits = {"train": clouds(4, 7), "valid": clouds(6, 8), "test": clouds(5, 9)}
    valid = save_pointset(tmp_path / "tracks25", "synthetic", splits)
    splits = {"train": clouds(4, 1), "valid": clouds(3, 2), "test": clouds(9, 3)}
    test = save_pointset(tmp_path / "tracks40", "synthetic", splits)
    dataset = protocol.load_dataset(dataset_folder, test, valid)
    assert [len(dataset.splits[split].graphs) for split in ("valid", "test")] == [6, 9]
    assert dataset.name == "synthetic-valid-tracks25-on-tracks40"
    spec = RunSpec(dataset_folder, "dgcnn", "erm", seed=0, epochs=1, test_data=test, valid_data=valid)
    run(spec, tmp_path / "runs", progress=False)
    folder = spec.folder(tmp_path / "runs")
    assert folder.parts[-4] == dataset.name
    settings = yaml.safe_load((folder / "result.yaml").read_text())["settings"]
    assert settings["valid_data"] == str(valid.resolve())
    assert "valid_data" not in replace(spec, valid_data=None).settings()  # earlier runs keep matching


def _pairs_within(pos: torch.Tensor, radius: float) -> set[tuple[int, int]]:
    """Every ordered pair (self pairs included) of points within ``radius``, by brute force."""
    distance = torch.cdist(pos, pos)
    return {(j, i) for i in range(len(pos)) for j in range(len(pos)) if distance[i, j] <= radius}


def test_tau3mu_graphs_join_the_points_within_a_radius(tmp_path: Path) -> None:
    """The authors' Tau3Mu graph: every pair of hits within 1 in (η, φ) (not the 5 nearest), and LRI-Gaussian
    rebuilds by their radius 1.5, PointMask by the dataset's."""
    folder = save_pointset(
        tmp_path / "tau", "tau3mu", {"train": clouds(4, 1), "valid": clouds(2, 2), "test": clouds(2, 3)}
    )
    dataset = protocol.load_dataset(folder)
    for graph in dataset.splits["train"].graphs:
        edges = set(map(tuple, graph.edge_index.t().tolist()))
        assert edges == _pairs_within(graph.pos, 1.0)
        assert len(edges) != graph.num_nodes * 6  # not the 5 nearest plus the self loop
    options, _ = protocol._method_options(RunSpec(folder, "dgcnn", "lri_gaussian", epochs=2), dataset)
    assert (options["radius"], options["plane"]) == (1.5, True)
    options, _ = protocol._method_options(RunSpec(folder, "dgcnn", "pointmask", epochs=2), dataset)
    assert options["radius"] == 1.0
    # the objective rebuilds the graph of moved points by its radius
    spec = RunSpec(folder, "dgcnn", "lri_gaussian", epochs=2, batch_size=4)
    result = run(spec, tmp_path / "runs", progress=False)
    assert 0 <= result["interp_auc"] <= 1
    _, objective = load_run(spec.folder(tmp_path / "runs"), spec)
    batch = dataset.splits["test"].to_batch()
    moved = objective.graph(batch, batch.pos * 0.7)
    for index in range(batch.num_graphs):
        points = (batch.batch == index).nonzero().flatten()
        inside = (moved.edge_index[1][:, None] == points).any(dim=1)
        local = moved.edge_index[:, inside] - points[0]
        assert set(map(tuple, local.t().tolist())) == _pairs_within(batch.pos[points] * 0.7, 1.5)
