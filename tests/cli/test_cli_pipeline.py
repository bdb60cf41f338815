"""The whole chain, small: sanity data -> train -> evaluate -> explain -> plots -> report."""

import pytest

from hepxai.cli import main


@pytest.fixture(scope="module")
def sanity_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("sanity")
    code = main(
        [
            "-q",
            "sanity",
            "all",
            "--out",
            str(out),
            "--jets",
            "1500",
            "--epochs",
            "2",
            "--lr",
            "1e-3",
            "--explain-jets",
            "100",
            "--report-jets",
            "1",  # one H and one QCD jet: each drawn jet is two figures
        ]
    )
    return out, code


def test_sanity_all_writes_every_output(sanity_run, capsys):
    out, code = sanity_run
    assert code == 0
    for name in (
        "sanity.root",
        "sanity_test.root",
        "model/best.pt",
        "model/config.yaml",
        "evaluation/metrics.yaml",
        "relevance.h5",
        "report.html",
    ):
        assert (out / name).is_file(), name
    assert list((out / "plots").rglob("*.png"))


def test_sanity_steps_rerun_on_the_same_folder(sanity_run, capsys):
    out, _ = sanity_run
    assert main(["-q", "sanity", "explain", "--out", str(out), "--max-jets", "50"]) == 0
    printed = capsys.readouterr().out
    assert "feature 3 is the most relevant feature in" in printed
    assert main(["-q", "sanity", "plot", "--out", str(out), "--report-jets", "1"]) == 0
    assert (out / "report.html").stat().st_size > 0


def test_all_refuses_a_missing_training_file(tmp_path, capsys):
    assert main(["-q", "all", "--data", str(tmp_path / "nope.root"), "--out", str(tmp_path / "run")]) == 2
    assert "nope.root: file not found" in capsys.readouterr().err
