"""``hepxai lri figures``: the figures of runs made by ``hepxai lri train``, logged; one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepxai.cli import main


@pytest.fixture(scope="module")
def made(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic dataset of 40 clouds and an LRI-Gaussian run of 3 epochs on it."""
    root = tmp_path_factory.mktemp("lri_figures")
    data, runs = root / "synthetic", root / "runs"
    assert main(["-q", "pointsets", "make", "synthetic", "--out", str(data), "--samples", "40"]) == 0
    train = ["-q", "lri", "train", "--data", str(data), "--out", str(runs), "--epochs", "3"]
    assert main([*train, "--method", "lri_gaussian"]) == 0
    return data, runs


def test_figures_are_written_and_listed(made, tmp_path, capsys):
    data, runs = made
    out = tmp_path / "figures"
    code = main(
        ["lri", "figures", "--runs", str(runs), "--data", str(data), "--out", str(out), "--samples", "1"]
    )
    assert code == 0
    folder = out / "synthetic" / "dgcnn"
    expected = [folder / name for name in ("roc.png", "display_lri_gaussian_sample0.png")]
    assert sorted(folder.iterdir()) == sorted(expected)
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in expected)
    logged = capsys.readouterr().err
    assert all(f"wrote {path}" in logged for path in expected)
    assert f"wrote 2 figures under {out}" in logged


def test_help_names_the_files(capsys):
    with pytest.raises(SystemExit):
        main(["lri", "figures", "--help"])
    text = capsys.readouterr().out
    assert "roc.png" in text
    assert "display_<method>_sample<i>.png" in text
    assert "molecules.png" in text


def test_bad_input_is_one_line(made, tmp_path, capsys):
    data, runs = made
    other = tmp_path / "other" / "synthetic"  # the same name, other clouds
    assert (
        main(["-q", "pointsets", "make", "synthetic", "--out", str(other), "--samples", "40", "--seed", "5"])
        == 0
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = [
        (
            ["--runs", str(empty), "--data", str(data)],
            "no finished run of dataset 'synthetic' with scores.pt",
        ),
        (["--runs", str(runs), "--data", str(other)], "(another dataset?)"),
        (["--runs", str(runs), "--data", str(data), "--samples", "0"], "--samples must be at least 1"),
        (
            ["--runs", str(runs), "--data", str(data), "--methods", "gradgam"],
            "with scores for method gradgam",
        ),
        (["--runs", str(runs), "--data", str(tmp_path)], "not a point-set dataset"),
    ]
    for arguments, message in cases:
        capsys.readouterr()
        assert main(["-q", "lri", "figures", "--out", str(tmp_path / "figures"), *arguments]) == 2
        error = capsys.readouterr().err
        assert error.count("\n") == 1, error
        assert message in error
