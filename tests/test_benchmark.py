"""``hepxai benchmark`` end to end on a small file with planted b-hadron tracks, and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.utils import scatter

from hepxai.benchmark import METHODS, _deletion_curve, run_benchmark, signal_jets, walk_pairs
from hepxai.cli import main
from hepxai.data import Jets, load_schema, read_jets
from hepxai.errors import InputError
from hepxai.explain import LRP, track_scores
from hepxai.metrics.interpretation import deletion_area, interpretation_auc, pair_chance
from hepxai.models import InteractionNetwork, load_checkpoint, save_checkpoint
from hepxai.models.registry import GraphModel

from .cms_like import FEATURES, schema_yaml
from .cms_like import write_jets as write_jets_file

SCHEMA = schema_yaml("bench", max_tracks=20)


def write_jets(path: Path, *, num_jets: int = 24, truth: bool = True, seed: int = 0) -> Path:
    """Half H, half QCD; in H jets about a third of the tracks are 'from B' and have |dxysig| > 3."""
    rng = np.random.default_rng(seed)
    counts = rng.integers(4, 15, size=num_jets)
    is_h = np.arange(num_jets) % 2 == 0
    total = int(counts.sum())
    from_b = (rng.uniform(size=total) < 0.35) & np.repeat(is_h, counts)
    values = {name: rng.normal(size=total).astype(np.float32) for name in FEATURES}
    values["track_dxysig"] = np.where(from_b, rng.uniform(3, 10, total), rng.normal(0, 1, total)).astype(
        np.float32
    )
    return write_jets_file(
        path,
        counts,
        is_h,
        values,
        from_b=from_b if truth else None,
        sdmass=rng.uniform(50, 200, num_jets),
        pt=rng.uniform(300, 900, num_jets),
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    torch.manual_seed(0)
    schema = tmp_path / "bench.yml"
    schema.write_text(SCHEMA)
    return {
        "schema": schema,
        "model": save_checkpoint(
            tmp_path / "model.pt", InteractionNetwork(num_features=len(FEATURES), hidden=8).eval()
        ),
        "data": write_jets(tmp_path / "jets.root"),
        "no_truth": write_jets(tmp_path / "no_truth.root", truth=False),
    }


def test_benchmark_command_writes_table_and_plot(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    code = main(
        [
            "-q",
            "benchmark",
            "--model",
            str(files["model"]),
            "--data",
            str(files["data"]),
            "--out",
            str(out),
            "--schema",
            str(files["schema"]),
            "--max-jets",
            "10",
            "--batch-size",
            "4",
            "--deletion-steps",
            "4",
            "--workers",
            "1",
        ]
    )
    assert code == 0
    table = pd.read_csv(out / "table.csv")
    assert list(table.columns) == [
        "method",
        "interp_auc",
        "prec@3",
        "prec@5",
        "prec@10",
        "deletion_auc",
        "seconds_per_1000_jets",
    ]
    assert list(table.method) == list(METHODS)
    assert table.drop(columns="method").notna().all().all()
    by_method = table.set_index("method")
    # The planted truth is |dxysig| > 3 exactly: the impact-parameter ranking finds it perfectly.
    assert by_method.loc["impact_parameter", "interp_auc"] == pytest.approx(1.0)
    assert by_method.loc["impact_parameter", "prec@3"] > by_method.loc["random", "prec@3"]
    metrics = table[["interp_auc", "prec@3", "prec@5", "prec@10"]]
    assert ((metrics >= 0) & (metrics <= 1)).all().all()
    markdown = (out / "table.md").read_text()
    assert "10 signal jets" in markdown
    assert "--max-jets 10" in markdown
    assert markdown.count("\n| ") == len(METHODS) + 1
    curves = pd.read_csv(out / "deletion_curves.csv", index_col=0)
    assert curves.shape == (5, len(METHODS))
    assert (curves.iloc[0] == 0).all()
    assert (out / "deletion.png").stat().st_size > 0


def test_score_features_rows_and_results_csv(files: dict[str, Path], tmp_path: Path) -> None:
    out, results = tmp_path / "out", tmp_path / "results" / "benchmark_jets.csv"
    arguments = ["benchmark", "--model", str(files["model"]), "--data", str(files["data"]), "--out", str(out)]
    arguments += ["--schema", str(files["schema"]), "--max-jets", "6", "--chunk-size", "4"]
    arguments += ["--methods", "lrp_epsilon", "gradgam", "random", "--score-features", "track_dxysig"]
    arguments += ["--workers", "1"]
    assert main([*arguments, "--deletion-steps", "2", "--results", str(results), "-q"]) == 0
    table = pd.read_csv(out / "table.csv").set_index("method")
    # The trivial ranking and GradGAM (one score per track) have no restricted row; LRP has one of its own.
    assert list(table.index) == ["lrp_epsilon", "lrp_epsilon[track_dxysig]", "gradgam", "random"]
    csv = pd.read_csv(results)
    assert list(csv.columns) == [
        "method",
        "interp_auc",
        "prec_at_3",
        "prec_at_5",
        "prec_at_10",
        "deletion_auc",
        "jets",
        "model",
    ]
    assert (csv.jets == 6).all()
    assert (csv.model == str(files["model"])).all()
    assert csv.interp_auc.tolist() == pytest.approx(table.interp_auc.tolist(), abs=1e-4)
    assert "--chunk-size 4" in (out / "table.md").read_text()
    (provenance,) = json.loads(results.with_suffix(".json").read_text())["writes"]
    assert provenance["command"].startswith("hepxai benchmark --model")


def test_target_and_walk_pairs(files: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "out"
    arguments = ["benchmark", "--model", str(files["model"]), "--data", str(files["data"]), "--out", str(out)]
    arguments += ["--schema", str(files["schema"]), "--max-jets", "8", "--chunk-size", "3", "--walks", "2"]
    arguments += ["--methods", "lrp_epsilon", "random", "--target", "H-QCD", "--deletion-steps", "2", "-q"]
    arguments += ["--workers", "1"]
    assert main(arguments) == 0
    markdown = (out / "table.md").read_text()
    assert "Explained: the difference of the logits H − QCD." in markdown
    assert "--target H-QCD --walks 2" in markdown
    assert "b-hadron track pairs among each jet's top 2 pairs (LRP-ε): walks i → j → jet" in markdown
    # The table's LRP row scores the relevance of H − QCD, not of H.
    schema = load_schema(files["schema"])
    jets = signal_jets(read_jets(files["data"], schema, progress=False), max_jets=8)
    model = load_checkpoint(files["model"])
    truth = torch.from_numpy(jets.track_truth["track_fromB"]).bool()
    batch = jets.to_batch()
    scores = {t: track_scores(LRP(model).explain(batch, target=t)) for t in ("H", "H-QCD")}
    table = pd.read_csv(out / "table.csv").set_index("method")
    assert table.loc["lrp_epsilon", "interp_auc"] == pytest.approx(interpretation_auc(scores["H-QCD"], truth))
    assert interpretation_auc(scores["H"], truth) != pytest.approx(interpretation_auc(scores["H-QCD"], truth))
    pairs = walk_pairs(model, [batch], truth, k=2, target="H-QCD")
    assert pairs.chance == pytest.approx(pair_chance(truth, batch.batch))
    assert f"chance {pairs.chance:.1%}" in markdown
    assert f"walks i → j → jet {pairs.walks:.1%}" in markdown


def test_score_features_unknown_feature(files: dict[str, Path], tmp_path: Path, capsys) -> None:
    arguments = ["benchmark", "--model", str(files["model"]), "--data", str(files["data"])]
    arguments += ["--out", str(tmp_path), "--schema", str(files["schema"]), "--score-features", "Sip3d"]
    assert main(arguments) == 2
    assert "--score-features: unknown feature 'Sip3d' (valid: track_pt," in capsys.readouterr().err


def test_benchmark_without_truth_is_one_line_error(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "-q",
            "benchmark",
            "--model",
            str(files["model"]),
            "--data",
            str(files["no_truth"]),
            "--out",
            str(tmp_path / "out"),
            "--schema",
            str(files["schema"]),
        ]
    )
    assert code == 2
    error = capsys.readouterr().err.strip()
    assert "\n" not in error
    assert "track_fromB" in error


def test_benchmark_unknown_method(
    files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "-q",
            "benchmark",
            "--model",
            str(files["model"]),
            "--data",
            str(files["data"]),
            "--out",
            str(tmp_path / "out"),
            "--methods",
            "lrp_epsilon",
            "shap",
        ]
    )
    assert code == 2
    assert "unknown method 'shap'" in capsys.readouterr().err


def test_help_lists_every_method(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["benchmark", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in METHODS:
        assert name in help_text


def test_deletion_curve_of_a_decisive_track() -> None:
    # A model whose H logit is large only while track 0 of each jet is present: removing the top-ranked track
    # drops P(H) for a ranking that puts track 0 first, not for one that puts it last.
    model = InteractionNetwork(num_features=len(FEATURES), hidden=4).double()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.weight.fill_(1.0)
                module.running_mean.zero_()
                module.running_var.fill_(1.0)
                module.eps = 0.0
        model.node_mlp_2[0].weight[0, 1] = 1.0  # reads track_dxysig
        model.node_mlp_2[3].weight[0, 0] = 1.0
        model.global_mlp[0].weight[0, 0] = 1.0
        model.global_mlp[3].weight[1, 0] = 10.0
    model.eval()
    counts = np.array([4, 6, 5])
    features = np.zeros((counts.sum(), len(FEATURES)))
    first = np.cumsum(counts) - counts
    features[first, 1] = 5.0
    from_b = np.zeros(counts.sum(), dtype=np.int32)
    from_b[first] = 1
    jets = Jets(
        features=features,
        num_tracks=counts,
        label=np.ones(3, dtype=np.int64),
        feature_names=tuple(FEATURES),
        track_truth={"track_fromB": from_b},
    )
    result = run_benchmark(
        model, jets, methods=["impact_parameter", "lrp_epsilon", "random"], deletion_steps=3, progress=False
    )
    curves = result.deletion_curves
    # P(H) with track 0: softmax of (0, 10 * 5 / n) ~ 1; without it: 1/2. Drop ~ 1/2 from k = 1 on.
    assert curves["impact_parameter"][1:].min() > 0.45
    torch.testing.assert_close(curves["impact_parameter"], curves["lrp_epsilon"])
    table = result.table.set_index("method")
    assert table.loc["impact_parameter", "deletion_auc"] > table.loc["random", "deletion_auc"]
    assert table.loc["lrp_epsilon", "interp_auc"] == pytest.approx(1.0)


def test_signal_jets_needs_truth() -> None:
    jets = Jets(
        features=np.zeros((3, 2)),
        num_tracks=np.array([1, 2]),
        label=np.array([1, 0]),
        feature_names=("a", "b"),
    )
    with pytest.raises(InputError, match="no 'track_fromB' branch"):
        signal_jets(jets)


class MeanFirstFeature(GraphModel):
    """logit_H = 4 × (mean over a jet's tracks of feature 0), logit_QCD = 0: every track counts equally."""

    kind = "mean_first_feature"
    classes = ("QCD", "H")
    default_target = "H"

    def forward(self, batch: Batch) -> torch.Tensor:
        mean = scatter(batch.x[:, 0], batch.batch, dim=0, dim_size=batch.num_graphs, reduce="mean")
        return torch.stack([torch.zeros_like(mean), 4 * mean], dim=1)


def _truth_sorted_batches(*, truth_first: bool, num_jets: int = 12_000, size: int = 2000) -> list[Batch]:
    """Jets of 3-15 tracks, ~40% 'from B' with feature 0 = +1 (else -1), stored sorted truth first or last."""
    rng = np.random.default_rng(5)
    counts = rng.integers(3, 16, size=num_jets)
    jet = np.repeat(np.arange(num_jets), counts)
    from_b = rng.uniform(size=counts.sum()) < 0.4
    order = np.lexsort((~from_b if truth_first else from_b, jet))
    features = np.where(from_b[order], 1.0, -1.0)[:, None]
    jets = Jets(
        features=features,
        num_tracks=counts,
        label=np.ones(num_jets, dtype=np.int64),
        feature_names=("f0",),
    )
    return [jets.select(np.arange(s, min(s + size, num_jets))).to_batch() for s in range(0, num_jets, size)]


@pytest.mark.parametrize("truth_first", [True, False])
def test_constant_score_deletes_like_random(truth_first: bool) -> None:
    model = MeanFirstFeature()
    batches = _truth_sorted_batches(truth_first=truth_first)
    num_tracks = sum(batch.num_nodes for batch in batches)
    random = torch.rand(num_tracks, generator=torch.Generator().manual_seed(0))
    area = {
        name: deletion_area(_deletion_curve(model, batches, score, 10, seed=1))
        for name, score in {
            "constant": torch.zeros(num_tracks),
            "random": random,
            "stored_order": -torch.arange(num_tracks).double(),  # what ties by track order amounted to
        }.items()
    }
    assert area["constant"] == pytest.approx(area["random"], abs=0.01)
    # The setting is one where track order would be far off (b tracks carry the H evidence here).
    assert abs(area["stored_order"] - area["random"]) > 0.1


def test_deletion_curve_does_not_depend_on_batching() -> None:
    model = MeanFirstFeature()
    batches = _truth_sorted_batches(truth_first=True, num_jets=600)
    rebatched = _truth_sorted_batches(truth_first=True, num_jets=600, size=250)
    score = torch.zeros(sum(batch.num_nodes for batch in batches))
    torch.testing.assert_close(
        _deletion_curve(model, batches, score, 5, seed=3), _deletion_curve(model, rebatched, score, 5, seed=3)
    )
