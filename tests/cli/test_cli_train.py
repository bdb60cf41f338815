"""``hepxai train``, ``hepxai evaluate`` and ``hepxai sanity train`` end to end, and their one-line errors."""

import awkward as ak
import numpy as np
import pytest
import torch
import yaml

from hepxai.cli import main
from hepxai.data.root_io import TreeWriter
from hepxai.data.sanity import sanity_chunks, write_sanity
from hepxai.data.schema import load_schema
from hepxai.models import InteractionNetwork, save_checkpoint
from hepxai.models.checkpoint import read_checkpoint

FAST = ["--epochs", "1", "--batch-size", "64", "--lr", "1e-3"]


@pytest.fixture(scope="module")
def sanity_file(tmp_path_factory):
    return write_sanity(tmp_path_factory.mktemp("data") / "sanity.root", 400, seed=0, progress=False)


def test_train_then_evaluate(tmp_path, sanity_file):
    code = main(
        ["-q", "train", "--data", str(sanity_file), "--out", str(tmp_path / "run"), "--hidden", "8", *FAST]
    )
    assert code == 0
    config = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["data"] == {
        "files": [str(sanity_file)],
        "schema": "sanity",
        "selection": "none",
        "max_jets": None,
        "features": [],
    }
    assert config["model"]["hidden"] == 8
    assert config["train"]["lr"] == 1e-3
    code = main(
        [
            "-q",
            "evaluate",
            "--model",
            str(tmp_path / "run" / "best.pt"),
            "--data",
            str(sanity_file),
            "--out",
            str(tmp_path / "eval"),
            "--no-baselines",
        ]
    )
    assert code == 0
    metrics = yaml.safe_load((tmp_path / "eval" / "metrics.yaml").read_text())
    assert metrics["num_jets"] == 400
    assert [t["tagger"] for t in metrics["taggers"]] == ["HIN"]
    assert 0 <= metrics["taggers"][0]["auc"] <= 1
    assert {p.name for p in (tmp_path / "eval").iterdir()} == {"metrics.yaml", "predictions.h5", "roc.png"}


def cms_like_file(path, num_jets=300):
    """Random jets in the CMS H->bb schema, with masses and pTs partly outside the original window."""
    rng = np.random.default_rng(0)
    schema = load_schema("cms_hbb")
    counts = rng.integers(1, 8, num_jets)
    is_higgs = rng.uniform(size=num_jets) < 0.3
    branches = {
        name: ak.unflatten(rng.standard_normal(counts.sum()).astype(np.float32), counts)
        for name in schema.unique_features
    }
    branches["fj_sdmass"] = np.where(is_higgs, rng.normal(125, 10, num_jets), rng.uniform(20, 220, num_jets))
    branches["fj_pt"] = rng.uniform(250, 1000, num_jets)
    branches["label_H_bb"] = is_higgs.astype(np.int32)
    branches["sample_isQCD"] = (~is_higgs).astype(np.int32)
    for name in schema.background_labels:
        branches[name] = np.zeros(num_jets, np.int32)
    branches["label_QCD_others"] = (~is_higgs).astype(np.int32)
    with TreeWriter(path, schema.tree) as writer:
        writer.extend(branches)
    return path


def test_cms_schema_with_selection_reweighting_and_mass_sculpting(tmp_path):
    data = str(cms_like_file(tmp_path / "cms.root"))
    out = tmp_path / "run"
    assert (
        main(["-q", "train", "--data", data, "--out", str(out), "--hidden", "8", "--reweight-pt", *FAST]) == 0
    )
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert (config["data"]["schema"], config["data"]["selection"]) == ("cms_hbb", "original")
    assert config["train"]["reweight_pt"] is True
    assert (
        main(
            [
                "-q",
                "evaluate",
                "--model",
                str(out / "best.pt"),
                "--data",
                data,
                "--out",
                str(tmp_path / "eval"),
            ]
        )
        == 0
    )
    metrics = yaml.safe_load((tmp_path / "eval" / "metrics.yaml").read_text())
    assert metrics["num_jets"] < 300  # the window 40 < m_SD < 200 GeV, 300 < pT < 2000 GeV cut some jets
    assert [t["tagger"] for t in metrics["taggers"]] == [
        "HIN",
        "soft-drop mass",
        "boosted tree (jet quantities)",
    ]
    assert metrics["taggers"][1]["auc"] > 0.8  # signal masses sit at 125 GeV, QCD spread flat
    assert (tmp_path / "eval" / "mass_sculpting.png").is_file()


def test_resume_reads_the_run_config(tmp_path, sanity_file):
    out = str(tmp_path / "run")
    assert main(["-q", "train", "--data", str(sanity_file), "--out", out, "--hidden", "8", *FAST]) == 0
    assert main(["-q", "train", "--out", out, "--resume", "--epochs", "2"]) == 0
    assert yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["train"]["epochs"] == 2


def test_streamed_training_resumes_exactly(tmp_path, sanity_file):
    stream = ["--data", str(sanity_file), "--hidden", "8", *FAST, "--stream", "--shuffle-buffer", "400"]
    full, resumed = str(tmp_path / "full"), str(tmp_path / "resumed")
    assert main(["-q", "train", "--out", full, *stream, "--epochs", "2"]) == 0
    assert main(["-q", "train", "--out", resumed, *stream]) == 0
    assert main(["-q", "train", "--out", resumed, "--resume", "--epochs", "2"]) == 0
    settings = yaml.safe_load((tmp_path / "resumed" / "config.yaml").read_text())["train"]
    assert (settings["stream"], settings["shuffle_buffer"]) == (True, 400)
    expected, got = (read_checkpoint(tmp_path / run / "last.pt") for run in ("full", "resumed"))
    assert [{**r, "seconds": 0} for r in got["history"]] == [{**r, "seconds": 0} for r in expected["history"]]
    assert all(torch.equal(got["state_dict"][key], value) for key, value in expected["state_dict"].items())


@pytest.mark.slow  # three times two processes that import torch: a minute on the shared 2-core machine
def test_two_processes_train_stream_resume_and_fail_in_one_line(tmp_path, sanity_file, inputs, capsys):
    out = str(tmp_path / "run")
    arguments = ["-q", "train", "--out", out, "--hidden", "8", *FAST, "--nproc", "2"]
    assert main([*arguments, "--data", str(sanity_file), "--stream", "--shuffle-buffer", "100"]) == 0
    assert main([*arguments, "--resume", "--epochs", "2"]) == 0
    state = read_checkpoint(tmp_path / "run" / "last.pt")
    assert (state["processes"], len(state["history"])) == (2, 2)
    assert main(["-q", "train", "--out", out, "--resume", "--epochs", "3"]) == 2
    assert "trained on 2 process(es), cannot resume it on 1 (--nproc 2)" in capsys.readouterr().err
    code = main(
        ["-q", "train", "--data", inputs["SINGLE"], "--out", str(tmp_path / "single"), "--nproc", "2"]
    )
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert error == "hepxai train: error: training data: only one class (0 H, 200 QCD jets)"


def test_sanity_train_writes_data_and_run(tmp_path):
    assert main(["-q", "sanity", "train", "--out", str(tmp_path), "--jets", "300", *FAST]) == 0
    assert (tmp_path / "sanity.root").is_file()
    assert (tmp_path / "model" / "best.pt").is_file()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, sanity_file):
    """Named input files for the bad-input cases."""
    folder = tmp_path_factory.mktemp("inputs")
    branches = next(sanity_chunks(200, seed=0))
    branches["label_H_bb"] = np.zeros(200, np.int32)
    branches["sample_isQCD"] = branches["label_QCD_others"] = np.ones(200, np.int32)
    with TreeWriter(folder / "single.root", "tree") as writer:
        writer.extend(branches)
    save_checkpoint(folder / "other.pt", InteractionNetwork(num_features=6, hidden=8))
    (folder / "junk.pt").write_text("junk")
    (folder / "bad.yaml").write_text("train:\n  learning_rate: 0.1\n")
    return {
        "SANITY": str(sanity_file),
        "SINGLE": str(folder / "single.root"),
        "CONFIG": str(folder / "bad.yaml"),
        "OTHER": str(folder / "other.pt"),
        "JUNK": str(folder / "junk.pt"),
    }


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["train", "--data", "missing.root"], "missing.root: file not found"),
        (["train", "--data", "SANITY", "--lr", "-1"], "command line: 'train.lr' must be positive (got -1.0)"),
        (["train", "--data", "SANITY", "--reweight-pt"], "reweight_pt needs the spectator 'fj_pt'"),
        (["train", "--data", "SINGLE"], "training data: only one class (0 H, 200 QCD jets)"),
        (["train", "--config", "CONFIG"], "unknown key 'train.learning_rate'"),
        (["train"], "no data files given"),
        (["train", "--resume"], "config.yaml: config file not found"),
        (
            ["train", "--data", "SANITY", "--stream", "--max-jets", "10"],
            "data.max_jets (--max-jets) needs all jets at once; it is not available with train.stream",
        ),
        (["train", "--data", "SANITY", "--shuffle-buffer", "0"], "'train.shuffle_buffer' must be at least 1"),
        (["train", "--data", "SANITY", "--nproc", "0"], "--nproc must be at least 1 (got 0)"),
        (
            ["train", "--data", "SANITY", "--nproc", "4", "--batch-size", "2"],
            "--batch-size 2 is below --nproc 4",
        ),
        (
            ["evaluate", "--model", "OTHER", "--data", "SANITY"],
            "the data has 48 track features, the model expects 6",
        ),
        (["evaluate", "--model", "JUNK", "--data", "SANITY"], "junk.pt: not a readable checkpoint"),
        (
            ["evaluate", "--model", "OTHER", "--data", "SANITY", "--sculpting-qcd-efficiency", "2"],
            "--sculpting-qcd-efficiency must be in (0, 1]",
        ),
    ],
)
def test_bad_input_gives_one_line(tmp_path, inputs, capsys, arguments, message):
    arguments = [inputs.get(a, a) for a in arguments]
    code = main(["-q", *arguments, "--out", str(tmp_path / "out")])
    error = capsys.readouterr().err.strip()
    assert code == 2
    assert message in error
    assert error.count("\n") == 0
