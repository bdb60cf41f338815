import os

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


def test_quiet_and_verbose_after_the_subcommand(tmp_path, capsys):
    assert main(["data", "sanity", "--out", str(tmp_path), "--jets", "20", "-q"]) == 0
    assert main(["data", "inspect", str(tmp_path / "sanity.root"), "-v"]) == 0
    assert "jets: 20" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--chunk-size", "0"], "--chunk-size must be at least 1 (got 0)"),
        (["--epsilon", "-1"], "--epsilon must be at least 0 (got -1.0)"),
        (["--max-jets", "0"], "--max-jets must be at least 1 (got 0)"),
    ],
)
def test_explain_refuses_bad_numbers_in_one_line(tmp_path, capsys, option, message):
    write_sanity(tmp_path / "s.root", 10, progress=False)
    capsys.readouterr()
    arguments = ["explain", "--model", str(tmp_path / "m.pt"), "--data", str(tmp_path / "s.root")]
    assert main([*arguments, "--out", str(tmp_path / "r.h5"), *option]) == 2
    err = capsys.readouterr().err
    assert err == f"hepxai explain: error: {message}\n"
    assert not (tmp_path / "r.h5").exists()


def test_truncated_root_file_is_one_line(tmp_path, capsys):
    write_sanity(tmp_path / "s.root", 2000, progress=False)
    data = (tmp_path / "s.root").read_bytes()
    (tmp_path / "cut.root").write_bytes(data[: len(data) // 2])
    capsys.readouterr()
    assert main(["data", "inspect", str(tmp_path / "cut.root")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"hepxai data inspect: error: {tmp_path / 'cut.root'}: could not read tree 'tree'")


def test_inspect_names_the_schemas_tried(tmp_path, capsys):
    import numpy as np
    import uproot

    with uproot.recreate(tmp_path / "other.root") as file:
        file["tree"] = {"x": np.arange(5)}
    assert main(["data", "inspect", str(tmp_path / "other.root")]) == 2
    err = capsys.readouterr().err
    assert "cms_hbb: no tree 'deepntuplizer/tree'" in err
    assert "sanity: tree 'tree' lacks branch 'f0'" in err


def help_text(capsys, *command) -> str:
    with pytest.raises(SystemExit):
        main([*command, "--help"])
    return " ".join(capsys.readouterr().out.split())


def test_help_texts_show_the_values_used(capsys):
    evaluate = help_text(capsys, "evaluate")
    assert "30% and 50%" in evaluate
    assert "--chunk-size N" in evaluate
    assert "--batch-size" not in evaluate
    demo = help_text(capsys, "demo")
    assert "maximum epochs (default: 8)" in demo
    assert "Adam learning rate (default: 0.001)" in demo
    assert "maximum epochs (default: 10)" in help_text(capsys, "sanity", "all")
    workers = f"worker processes of a local Dask cluster (default: all CPU cores, {os.cpu_count()} here)"
    assert workers in help_text(capsys, "data", "simulate")
    benchmark = help_text(capsys, "benchmark")
    assert "None" not in benchmark
    assert "--chunk-size N" in benchmark
    assert "--batch-size" not in benchmark  # the old name still works, unlisted
    everything = help_text(capsys, "all")
    for option in ("--schema", "--selection", "--hidden", "--data FILE"):
        assert option in everything
    assert "--jet-ids ID" in help_text(capsys, "plot")
