import pytest

from hepxai.cli import main
from hepxai.data.sanity import write_sanity


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for command in (
        "data",
        "train",
        "evaluate",
        "explain",
        "plot",
        "report",
        "benchmark",
        "all",
        "sanity",
        "demo",
        "detector",
    ):
        assert command in out


def test_data_sanity_then_inspect(tmp_path, capsys):
    assert main(["-q", "data", "sanity", "--out", str(tmp_path), "--jets", "300", "--seed", "2"]) == 0
    assert main(["-q", "data", "inspect", str(tmp_path / "sanity.root")]) == 0
    out = capsys.readouterr().out
    assert "jets: 300" in out
    assert "median 10" in out
    assert "f47" in out


def test_inspect_counts_nan_instead_of_failing(tmp_path, capsys):
    import awkward as ak
    import numpy as np

    from hepxai.data import TreeWriter
    from hepxai.data.sanity import sanity_chunks

    branches = next(sanity_chunks(20, seed=0))
    values = ak.to_numpy(ak.flatten(branches["f5"])).copy()
    values[:3] = np.nan
    branches["f5"] = ak.from_regular(ak.unflatten(values, 10))
    with TreeWriter(tmp_path / "nan.root", "tree") as writer:
        writer.extend(branches)
    assert main(["-q", "data", "inspect", str(tmp_path / "nan.root")]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("f5 "))
    assert line.split()[-1] == "3"


def test_bad_input_is_one_line_without_traceback(tmp_path, capsys):
    path = tmp_path / "jets.root"
    path.write_text("not root")
    assert main(["data", "inspect", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "jets.root" in err
    assert "Traceback" not in err


def test_inspect_with_the_wrong_schema_names_the_tree(tmp_path, capsys):
    write_sanity(tmp_path / "s.root", 10, progress=False)
    assert main(["data", "inspect", "--schema", "cms_hbb", str(tmp_path / "s.root")]) == 2
    assert "no tree 'deepntuplizer/tree'" in capsys.readouterr().err
