"""The figures of finished runs: AUCs as in result.yaml, Σ / c² as ellipses, truth atoms ringed, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from matplotlib.collections import EllipseCollection

from hepxai.data.pointsets.store import save_pointset
from hepxai.data.pointsets.synmol import molecule_sample
from hepxai.errors import InputError
from hepxai.lri import figures
from hepxai.lri.figures import within_sample_importance, write_figures
from hepxai.lri.protocol import RunSpec, run
from hepxai.lri.scores import positive_test_samples, read_run_scores
from hepxai.metrics.interpretation import interpretation_auc
from hepxai.plots.hit_display import ellipse_axes

from .conftest import clouds

SPLITS = {"train": (16, 1), "valid": (8, 2), "test": (8, 3)}


@pytest.fixture(scope="module")
def synthetic_runs(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic dataset and runs of LRI-Gaussian (seed 0), LRI-Bernoulli (seeds 0, 1) and GradGeo."""
    root = tmp_path_factory.mktemp("figures")
    data = save_pointset(root / "synthetic", "synthetic", {k: clouds(n, s) for k, (n, s) in SPLITS.items()})
    for method, seed in (("lri_gaussian", 0), ("lri_bernoulli", 0), ("lri_bernoulli", 1), ("gradgeo", 0)):
        run(RunSpec(data, "dgcnn", method, seed=seed, epochs=3), root / "runs", progress=False)
    return data, root / "runs"


@pytest.fixture
def drawn(monkeypatch) -> dict[str, object]:
    """Figures by file stem instead of files."""
    figures_by_stem: dict[str, object] = {}

    def keep(figure, stem, formats=("png",), *, dpi):
        figures_by_stem[Path(stem).name] = figure
        figure.saved_dpi = dpi
        return [Path(stem).with_suffix(".png")]

    monkeypatch.setattr(figures, "save_figure", keep)
    return figures_by_stem


def test_roc_legend_holds_the_runs_aucs(synthetic_runs, drawn, tmp_path):
    data, runs = synthetic_runs
    written = write_figures(runs, [data], tmp_path, seeds=[0], samples=2, progress=False)
    assert tmp_path / "synthetic" / "dgcnn" / "roc.png" in written
    labels = [text.get_text() for ax in drawn["roc"].axes for text in ax.get_legend().get_texts()]
    expected = []
    for method, label in (
        ("lri_bernoulli", "LRI-Bernoulli"),
        ("lri_gaussian", "LRI-Gaussian"),
        ("gradgeo", "GradGeo"),
    ):
        result = yaml.safe_load((runs / "synthetic" / "dgcnn" / method / "seed0" / "result.yaml").read_text())
        expected.append(f"{label}: AUC = {result['interp_auc']:.3f}")
    # the LRI methods, then the baselines, in two panels each with its diagonal
    chance = "random ranking: AUC = 0.5"
    assert labels == [*expected[:2], chance, expected[2], chance]
    assert drawn["roc"].saved_dpi >= 150  # the default resolution
    # Two seeds: LRI-Bernoulli's curve pools the points of both runs.
    write_figures(runs, [data], tmp_path, seeds=[0, 1], samples=1, progress=False)
    both = [read_run_scores(runs / "synthetic" / "dgcnn" / "lri_bernoulli" / f"seed{s}") for s in (0, 1)]
    pooled = interpretation_auc(torch.cat([r.score for r in both]), torch.cat([r.truth for r in both]))
    labels = [text.get_text() for ax in drawn["roc"].axes for text in ax.get_legend().get_texts()]
    # The methods run with seed 0 only say so.
    assert labels == [
        f"LRI-Bernoulli: AUC = {pooled:.3f}",
        expected[1].replace("LRI-Gaussian:", "LRI-Gaussian (seed 0):"),
        chance,
        expected[2].replace("GradGeo:", "GradGeo (seed 0):"),
        chance,
    ]
    assert "seeds pooled: 0, 1" in drawn["roc"].get_suptitle()


def test_displays_draw_sigma_over_c_squared_and_ring_the_truth(synthetic_runs, drawn, tmp_path):
    data, runs = synthetic_runs
    write_figures(runs, [data], tmp_path, seeds=[0], samples=2, progress=False)
    assert {
        f"display_{m}_sample{i}" for m in ("lri_gaussian", "lri_bernoulli", "gradgeo") for i in (0, 1)
    } < set(drawn)
    folder = runs / "synthetic" / "dgcnn" / "lri_gaussian" / "seed0"
    stored = torch.load(folder / "scores.pt", weights_only=False)
    scale = yaml.safe_load((folder / "method.yaml").read_text())["scale"]
    assert scale == 10.0  # the synthetic kind's c
    sample = positive_test_samples(data)[1]
    points = stored["sample"] == 1
    transverse = drawn["display_lri_gaussian_sample1"].axes[0]
    (ellipses,) = [c for c in transverse.collections if isinstance(c, EllipseCollection)]
    widths, heights, _ = ellipse_axes(stored["covariance"][points][:, :2, :2].double().numpy() / scale**2)
    np.testing.assert_allclose(ellipses.get_widths(), widths)
    np.testing.assert_allclose(ellipses.get_heights(), heights)
    np.testing.assert_allclose(ellipses.get_offsets(), sample.pos[:, :2].numpy(), rtol=1e-6)
    rings = transverse.collections[-1]
    np.testing.assert_allclose(
        rings.get_offsets(), sample.pos[sample.node_truth.bool(), :2].numpy(), rtol=1e-6
    )
    gradgeo = drawn["display_gradgeo_sample1"].axes[0]
    assert not any(isinstance(c, EllipseCollection) for c in gradgeo.collections)
    # a cloud no detector made is drawn in its coordinate planes, with no r-z view and no zoom on layers
    display = drawn["display_lri_gaussian_sample1"]
    assert [ax.get_title() for ax in display.axes[:3]] == ["x-y", "x-z", "y-z"]
    (ellipses,) = [c for c in display.axes[1].collections if isinstance(c, EllipseCollection)]
    np.testing.assert_allclose(ellipses.get_offsets(), sample.pos[:, [0, 2]].numpy(), rtol=1e-6)
    x_z = stored["covariance"][points][:, [0, 2]][:, :, [0, 2]].double().numpy() / scale**2
    np.testing.assert_allclose(ellipses.get_widths(), ellipse_axes(x_z)[0])


def test_importance_is_the_rank_within_each_sample():
    score = torch.tensor([3.0, 1.0, 2.0, 5.0, 5.0, 7.0])
    sample = torch.tensor([0, 0, 0, 1, 1, 2])
    # Sample 0: ranks 3, 1, 2 of 3 -> 1, 0, 0.5; sample 1: a tie shares the middle; a lone point is the top.
    np.testing.assert_allclose(within_sample_importance(score, sample), [1.0, 0.0, 0.5, 0.5, 0.5, 1.0])


def test_runs_of_another_dataset_are_refused(synthetic_runs, tmp_path):
    data, runs = synthetic_runs
    other = save_pointset(
        tmp_path / "synthetic", "synthetic", {k: clouds(n, s + 10) for k, (n, s) in SPLITS.items()}
    )
    with pytest.raises(InputError, match=r"scores.pt: field 'sample' gives .* \(another dataset\?\)"):
        write_figures(runs, [other], tmp_path / "figures", progress=False)
    relabelled = save_pointset(
        tmp_path / "kind" / "synthetic", "actstrack", {k: clouds(n, s) for k, (n, s) in SPLITS.items()}
    )
    with pytest.raises(InputError, match=r"field 'dataset_kind' is 'synthetic', but .* has kind 'actstrack'"):
        write_figures(runs, [relabelled], tmp_path / "figures", progress=False)
    with pytest.raises(
        InputError, match=r"no finished run of dataset 'synthetic' with scores\.pt for seed 7"
    ):
        write_figures(runs, [data], tmp_path / "figures", seeds=[7], progress=False)


def test_molecules_ring_the_truth_atoms(tmp_path, monkeypatch):
    positive = ["CCCC(=O)O", "CCCCC(=O)N", "CCCCCC(=O)OC", "O=C(CCCC)N1CCC(Br)CC1", "CCCCCCC(=O)C", "CCCCC=O"]
    negative = ["c1ccccc1", "CCCCO", "CC(=O)c1ccccc1", "OCCCN", "C1CCCC1", "c1ccncc1"]
    samples = {s: molecule_sample(s, seed=0)[1] for s in positive + negative}
    assert [int(samples[s].y) for s in positive + negative] == [1] * 6 + [0] * 6
    splits = {
        "train": [samples[s] for s in positive[:3] + negative[:3]],
        "valid": [samples[s] for s in positive[3:4] + negative[3:4]],
        "test": [samples[s] for s in [negative[4], positive[4], negative[5], positive[5]]],
    }
    data = save_pointset(tmp_path / "synmol", "synmol", splits)
    run(RunSpec(data, "dgcnn", "lri_bernoulli", seed=0, epochs=2), tmp_path / "runs", progress=False)
    highlights = []

    def kept(*args, **kwargs):
        highlights.append(figures_molecule_highlight(*args, **kwargs))
        return highlights[-1]

    figures_molecule_highlight = figures.molecule_highlight
    monkeypatch.setattr(figures, "molecule_highlight", kept)
    written = write_figures(tmp_path / "runs", [data], tmp_path / "figures", samples=5, progress=False)
    folder = tmp_path / "figures" / "synmol" / "dgcnn"
    assert written == [
        folder / "roc.png",
        folder / "molecule_lri_bernoulli_sample0.png",
        folder / "molecule_lri_bernoulli_sample1.png",
        folder / "molecules.png",
    ]
    assert all(path.read_bytes().startswith(b"\x89PNG") for path in written)
    # The positive test molecules, in test order: CCCCCCC(=O)C and CCCCC=O; their truth atoms are ringed.
    assert [h.truth_atoms for h in highlights] == [(0, 1, 2, 3, 4, 5, 6, 7), (0, 1, 2, 3, 4, 5)]
    assert [h.truth_atoms for h in highlights] == [
        tuple(torch.nonzero(s.node_truth).reshape(-1).tolist()) for s in positive_test_samples(data)
    ]
