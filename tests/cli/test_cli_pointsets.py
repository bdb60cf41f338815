"""``hepxai pointsets``: make (idempotent, refusing other settings), inspect, one-line errors."""

from __future__ import annotations

import pytest
import yaml

from hepxai.cli import main
from hepxai.data.pointsets.store import load_pointset, pointset_info


def test_make_synthetic_then_inspect(tmp_path, capsys):
    folder = tmp_path / "clouds"
    assert main(["-q", "pointsets", "make", "synthetic", "--out", str(folder), "--samples", "40"]) == 0
    info = pointset_info(folder)
    assert info["splits"] == {"train": 28, "valid": 6, "test": 6}
    assert info["positives"] == {"train": 14, "valid": 3, "test": 3}  # split within each class
    sample = load_pointset(folder, "train", kind="synthetic").graphs[0]
    record = yaml.safe_load((folder / "dataset.yaml").read_text())
    assert len(record["features"]) == sample.x.shape[1]  # one name per feature column
    assert set(record["units"]) == {"pos", "x"}
    assert "edge_index" not in sample  # points only: models build the graph
    assert main(["pointsets", "inspect", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "synthetic dataset" in out
    assert out.splitlines()[2].split()[:2] == ["train", "28"]


def test_the_same_command_again_reuses_the_folder_and_other_settings_are_refused(tmp_path, capsys):
    folder = tmp_path / "clouds"
    command = ["-q", "pointsets", "make", "synthetic", "--out", str(folder), "--samples", "20"]
    assert main(command) == 0
    written = (folder / "train.pt").stat().st_mtime_ns
    assert main(command) == 0
    assert (folder / "train.pt").stat().st_mtime_ns == written
    capsys.readouterr()
    assert main([*command[:-1], "30"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "field 'settings.samples' is 20, this command asks for 30" in error
    assert main(["-q", "pointsets", "make", "synmol", "--out", str(folder)]) == 2
    assert "field 'kind' is 'synthetic'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["make", "actstrack", "--positive-fraction", "1.5"], "field 'positive_fraction'"),
        (["make", "synmol", "--samples", "1"], "field 'samples'"),
        (["make", "actstrack", "--workers", "0"], "--workers must be at least 1"),
        (["inspect"], "not a point-set dataset"),
    ],
)
def test_bad_input_is_one_line(tmp_path, capsys, arguments, message):
    command = (
        [*arguments, str(tmp_path)] if arguments == ["inspect"] else [*arguments, "--out", str(tmp_path)]
    )
    assert main(["-q", "pointsets", *command]) == 2
    error = capsys.readouterr().err
    assert message in error
    assert error.count("\n") == 1
