"""The tuning grid: one folder per setting, one ERM run for all, the settings really used, the choice on
validation AUC only."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from hepxai.cli import main
from hepxai.errors import InputError
from hepxai.lri.protocol import RunSpec
from hepxai.lri.table import settings_label
from hepxai.lri.tuning import grid, selected_setting, tune, write_tuning


def test_the_grid_is_every_combination_of_the_methods_settings() -> None:
    settings = grid("lri_gaussian", [1.0, 0.1, 0.01], scales=[200.0, 300.0])
    assert len(settings) == 6
    assert {(s["beta"], s["scale"]) for s in settings} == {(b, c) for b in (1, 0.1, 0.01) for c in (200, 300)}
    assert all(s["alpha"] is None for s in settings)
    assert len(grid("lri_bernoulli", [1.0, 0.1], alphas=[0.5, 0.7])) == 4
    with pytest.raises(InputError, match="--alphas: method 'lri_gaussian' has no such setting"):
        grid("lri_gaussian", [1.0], alphas=[0.5])
    with pytest.raises(InputError, match="--scales: method 'lri_bernoulli'"):
        grid("lri_bernoulli", [1.0], scales=[10.0])
    with pytest.raises(InputError, match="--betas: method 'gradgeo'"):
        grid("gradgeo", [1.0])


def test_a_setting_names_its_folder_and_the_erm_run_is_shared(tmp_path: Path) -> None:
    spec = RunSpec(tmp_path / "actstrack", "dgcnn", "lri_gaussian", beta=0.1, scale=300.0)
    assert spec.folder(tmp_path).parent.name == "lri_gaussian-beta0.1-c300"
    assert spec.erm().folder(tmp_path).parent.name == "erm"
    assert spec.erm().settings() == RunSpec(tmp_path / "actstrack", "dgcnn", "erm").settings()
    # α is LRI-Bernoulli's only, c LRI-Gaussian's only: a benchmark's --beta reaches every method that has β.
    bernoulli = RunSpec(tmp_path / "a", "dgcnn", "lri_bernoulli", beta=1.0, alpha=0.5, scale=300.0)
    assert bernoulli.folder(tmp_path).parent.name == "lri_bernoulli-beta1-alpha0.5"
    assert RunSpec(tmp_path / "a", "dgcnn", "gradgeo", beta=1.0).folder(tmp_path).parent.name == "gradgeo"
    # runs recorded before the options keep matching
    assert "beta" not in RunSpec(tmp_path / "a", "dgcnn", "lri_gaussian").settings()
    assert settings_label(spec.settings(), "lri_gaussian") == "batchnorm=running beta=0.1 c=300"


def test_tune_trains_each_setting_with_its_values_and_selects_on_validation(
    dataset_folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "runs"
    settings = grid("lri_gaussian", [1.0, 0.01], scales=[5.0])
    table = tune(dataset_folder, "dgcnn", "lri_gaussian", settings, out, epochs=3, progress=False)
    assert list(table.beta) == [1.0, 0.01]
    assert list(table.c) == [5.0, 5.0]
    assert table.selected.sum() == 1
    assert table.loc[table.selected, "val_auc"].item() == table.val_auc.max()
    for beta in ("1", "0.01"):
        options = yaml.safe_load(
            (
                out / "synthetic" / "dgcnn" / f"lri_gaussian-beta{beta}-c5" / "seed0" / "method.yaml"
            ).read_text()
        )
        assert options["beta"] == float(beta)
        assert options["scale"] == 5.0
    assert sorted(path.name for path in (out / "synthetic" / "dgcnn").iterdir()) == [
        "erm",
        "lri_gaussian-beta0.01-c5",
        "lri_gaussian-beta1-c5",
    ]


def test_the_tune_command_adds_its_rows_to_the_table(dataset_folder: Path, tmp_path: Path, capsys) -> None:
    out, results = tmp_path / "runs", tmp_path / "tuning.csv"
    common = [
        "-q",
        "lri",
        "tune",
        "--data",
        str(dataset_folder),
        "--out",
        str(out),
        "--results",
        str(results),
    ]
    gaussian = ["--betas", "0.1", "--scales", "5", "8", "--epochs", "3", "--final-epochs", "4"]
    bernoulli = ["--method", "lri_bernoulli", "--betas", "1", "--alphas", "0.7", "--epochs", "2"]
    assert main([*common, *gaussian]) == 0
    assert main([*common, *bernoulli]) == 0
    frame = pd.read_csv(results)
    assert list(frame.method) == ["lri_gaussian"] * 3 + ["lri_bernoulli"]
    assert list(frame.epochs) == [3, 3, 4, 2]
    chosen = frame[frame.selected & (frame.epochs == 3)].iloc[0]
    assert (frame.c[frame.epochs == 4] == chosen.c).all()  # the chosen setting, trained longer
    assert frame.groupby(["method", "epochs"]).selected.sum().to_dict() == {
        ("lri_bernoulli", 2): 1,
        ("lri_gaussian", 3): 1,
        ("lri_gaussian", 4): 1,
    }
    assert (results.with_suffix(".json")).is_file()
    # the same command again reads its runs and replaces its rows
    assert main([*common, *gaussian]) == 0
    again, order = pd.read_csv(results), ["method", "epochs", "c"]
    pd.testing.assert_frame_equal(
        again.sort_values(order).reset_index(drop=True), frame.sort_values(order).reset_index(drop=True)
    )
    capsys.readouterr()
    assert main([*common, "--beta", "0.1", "--epochs", "3"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "give --betas, --alphas, --scales" in err


def test_the_selected_setting_leaves_blank_cells_to_the_authors() -> None:
    table = pd.DataFrame(
        {"beta": [1.0, 0.1], "alpha": [None, None], "c": [float("nan")] * 2, "selected": [False, True]}
    )
    assert selected_setting(table) == {"beta": 0.1, "alpha": None, "scale": None}


def test_write_tuning_keeps_other_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    row = {
        "dataset": "a",
        "backbone": "dgcnn",
        "method": "lri_gaussian",
        "seed": 0,
        "epochs": 30,
        "val_auc": 0.9,
    }
    write_tuning(pd.DataFrame([row]), path)
    write_tuning(pd.DataFrame([{**row, "dataset": "b"}]), path)
    write_tuning(pd.DataFrame([{**row, "val_auc": 0.8}]), path)
    frame = pd.read_csv(path)
    assert sorted(zip(frame.dataset, frame.val_auc, strict=True)) == [("a", 0.8), ("b", 0.9)]


def test_rows_of_two_methods_keep_one_number_format(tmp_path: Path) -> None:
    """LRI-Gaussian's rows have no α, LRI-Bernoulli's no c: the blanks must not turn 200.0000 into 200.0."""
    path = tmp_path / "t.csv"
    columns = ["dataset", "method", "beta", "alpha", "c", "seed", "epochs"]
    gaussian = ["a", "lri_gaussian", 0.1, None, 200.0, 0, 30]
    bernoulli = ["a", "lri_bernoulli", 0.1, 0.5, None, 0, 30]
    write_tuning(pd.DataFrame([gaussian], columns=columns).assign(backbone="dgcnn"), path)
    write_tuning(pd.DataFrame([bernoulli], columns=columns).assign(backbone="dgcnn"), path)
    lines = path.read_text().splitlines()
    assert lines[1].startswith("a,lri_gaussian,0.1000,,200.0000,")
    assert lines[2].startswith("a,lri_bernoulli,0.1000,0.5000,,")
