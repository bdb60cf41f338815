"""``hepxai explain`` and ``hepxai sanity explain``: relevance files that read back as what LRP computed."""

from __future__ import annotations

import base64
import gzip
import re

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.cli import main
from hepxai.data import load_schema, read_jets
from hepxai.data.sanity import write_sanity
from hepxai.explain import LRP
from hepxai.explain.export import write_relevance
from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.explain.walks import relevant_walks, top_walks
from hepxai.models import DGCNN, save_checkpoint
from hepxai.plots.report import write_report


@pytest.fixture(scope="module")
def sanity_run(tmp_path_factory, make_model):
    """A folder with 40 sanity jets and a small random sanity-sized model (float32) as model/best.pt."""
    folder = tmp_path_factory.mktemp("sanity")
    write_sanity(folder / "sanity.root", 40, seed=3, progress=False)
    model = make_model(5, num_features=48, hidden=8, dtype=torch.float32)
    save_checkpoint(folder / "model" / "best.pt", model)
    return folder, model


def test_explain_file_round_trip(sanity_run, tmp_path):
    folder, model = sanity_run
    out = tmp_path / "relevance.h5"
    code = main(
        [
            "-q",
            "explain",
            "--model",
            str(folder / "model" / "best.pt"),
            "--data",
            str(folder / "sanity.root"),
            "--out",
            str(out),
            "--max-jets",
            "25",
            "--edges",
            "--chunk-size",
            "10",
            "--target",
            "H-QCD",
        ]
    )
    assert code == 0
    relevance = read_relevance_file(out)
    jets = read_jets(folder / "sanity.root", load_schema("sanity"), max_jets=25, progress=False)
    explanation = LRP(model).explain(jets.to_batch(), target="H-QCD")

    assert relevance.jets["jet_id"].tolist() == list(range(25))
    assert relevance.meta["method"] == "lrp"
    assert relevance.meta["target"] == "H-QCD"
    np.testing.assert_allclose(relevance.track_relevance(), explanation.node.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(relevance.jets["absorbed"], explanation.absorbed.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(relevance.jets["label"], jets.label)
    np.testing.assert_allclose(
        relevance.jets["explained_logit"],
        relevance.jets["logit_H"] - relevance.jets["logit_QCD"],
        rtol=1e-5,
        atol=1e-6,
    )
    np.testing.assert_allclose(relevance.jets["prob_H"] + relevance.jets["prob_QCD"], 1.0, rtol=1e-12)
    assert relevance.meta["rules"] == "Epsilon(epsilon=1e-06)"
    per_jet = relevance.tracks.groupby("jet_id")[relevance.relevance_columns].sum().sum(axis=1)
    np.testing.assert_allclose(
        per_jet + relevance.jets["absorbed"], relevance.jets["explained_logit"], rtol=1e-4, atol=1e-4
    )
    assert relevance.tracks.groupby("jet_id")["track"].apply(list).map(lambda t: t == list(range(10))).all()

    edges = relevance.edges
    assert len(edges) == 25 * 90
    np.testing.assert_allclose(edges.groupby("jet_id")["significance"].sum(), 1.0, rtol=1e-5)
    np.testing.assert_allclose(
        edges[[f"relevance_source_{i}" for i in range(48)]].to_numpy(),
        explanation.edge[:, :48].numpy(),
        rtol=1e-5,
        atol=1e-6,
    )
    first = edges[edges["jet_id"] == 1].iloc[0]
    assert (first["source"], first["target"]) == (0, 1)  # positions within the jet, source-major order
    # Plain pandas reads every table.
    assert len(pd.read_hdf(out, "tracks")) == 250


def test_a_single_logit_model_writes_its_own_class(sanity_run, tmp_path):
    # A DGCNN names one class; its jet table has that class's logit and σ(logit), and nothing of the HIN's.
    folder, _ = sanity_run
    schema = load_schema("sanity")
    jets = read_jets(folder / "sanity.root", schema, max_jets=6, progress=False)
    torch.manual_seed(0)
    model = DGCNN(num_features=schema.num_features, hidden=8, num_layers=2, edge_features=0).eval()
    out = write_relevance(tmp_path / "dgcnn.h5", LRP(model), model, jets, schema, edges=True, progress=False)
    relevance = read_relevance_file(out)
    assert relevance.meta["target"] == "signal"  # the model's default
    table = relevance.jets
    assert {"logit_signal", "prob_signal"} <= set(table.columns)
    assert not {"logit_H", "prob_H", "logit_QCD"} & set(table.columns)
    np.testing.assert_allclose(table["prob_signal"], 1 / (1 + np.exp(-table["logit_signal"])), rtol=1e-6)
    np.testing.assert_allclose(table["explained_logit"], table["logit_signal"], rtol=1e-5, atol=1e-6)


def test_explain_without_edges_keeps_significance_only(sanity_run, tmp_path):
    folder, _ = sanity_run
    out = tmp_path / "relevance.h5"
    assert (
        main(
            [
                "-q",
                "explain",
                "--model",
                str(folder / "model" / "best.pt"),
                "--data",
                str(folder / "sanity.root"),
                "--out",
                str(out),
                "--max-jets",
                "3",
                "--schema",
                "sanity",
            ]
        )
        == 0
    )
    edges = read_relevance_file(out).edges
    assert list(edges.columns) == ["jet_id", "source", "target", "significance"]


def test_explain_keeps_each_jets_top_walks(sanity_run, tmp_path):
    folder, model = sanity_run
    out = tmp_path / "walks.h5"
    arguments = ["-q", "explain", "--model", str(folder / "model" / "best.pt"), "--data"]
    arguments += [str(folder / "sanity.root"), "--out", str(out), "--max-jets", "7", "--walks", "4"]
    assert main([*arguments, "--chunk-size", "3"]) == 0
    relevance = read_relevance_file(out)
    walks = relevance.walks
    assert list(walks.columns) == ["jet_id", "source", "target", "relevance", "rank"]
    assert walks.groupby("jet_id")["rank"].apply(list).map(lambda r: r == [0, 1, 2, 3]).all()
    assert relevance.meta["walks"] == 4

    jets = read_jets(folder / "sanity.root", load_schema("sanity"), max_jets=7, progress=False)
    batch = jets.to_batch()
    top, _ = top_walks(relevant_walks(model, LRP(model).explain(batch), batch.edge_index), 4)
    np.testing.assert_allclose(walks["relevance"], top.relevance.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(walks["source"], top.source.numpy() - jets.offsets[top.batch.numpy()])
    # Largest |relevance| first within every jet.
    assert (walks.groupby("jet_id")["relevance"].apply(lambda r: np.all(np.diff(np.abs(r)) <= 0))).all()

    jet = jet_relevance(relevance, 2)
    rows = walks[walks["jet_id"] == 2]
    np.testing.assert_array_equal(jet.walk_relevance, rows["relevance"])
    np.testing.assert_array_equal(jet.track[jet.walk_source], rows["source"])
    np.testing.assert_array_equal(jet.track[jet.walk_target], rows["target"])
    page = write_report(relevance, tmp_path / "report.html", jet_ids=[2], progress=False).read_text()
    assert "Dashed lines in the 3D graph: each jet's top relevant walks" in page
    packed = re.search(r'<script type="application/gzip;base64" id="figures-2">([^<]+)</script>', page)[1]
    figures = gzip.decompress(base64.b64decode(packed)).decode()
    assert re.search(r'"legendgroup": ?"walks"', figures)  # the 3D graph's walk traces

    first, schema = jets.select(np.arange(2)), load_schema("sanity")
    plain = write_relevance(tmp_path / "p.h5", LRP(model), model, first, schema, progress=False)
    assert read_relevance_file(plain).walks.empty
    assert jet_relevance(read_relevance_file(plain), 0).walk_relevance is None


def test_explain_reports_bad_input_in_one_line(sanity_run, tmp_path, capsys):
    folder, _ = sanity_run
    code = main(
        [
            "-q",
            "explain",
            "--model",
            str(tmp_path / "missing.pt"),
            "--data",
            str(folder / "sanity.root"),
            "--out",
            str(tmp_path / "r.h5"),
        ]
    )
    assert code == 2
    assert "missing.pt: checkpoint not found" in capsys.readouterr().err
    assert not (tmp_path / "r.h5").exists()


def test_sanity_explain_prints_feature_shares_and_fails_an_untrained_model(sanity_run, capsys):
    folder, _ = sanity_run
    assert main(["-q", "sanity", "explain", "--out", str(folder)]) == 1  # a random model proves nothing
    printed = capsys.readouterr()
    assert "feature 3 is the most relevant feature in" in printed.out
    assert "sanity proof: FAILED" in printed.out
    assert "sanity proof failed: the model does not classify the sanity jets" in printed.err
    assert len(read_relevance_file(folder / "relevance.h5").jets) == 40
