"""Classification plots return figures with the expected content."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from hepxai.metrics.binomial import clopper_pearson
from hepxai.metrics.classification import roc_curve
from hepxai.plots.classification import mass_sculpting_figure, roc_figure


def _texts(figure: Figure) -> str:
    return "\n".join(t.get_text() for t in figure.findobj(Text))


def test_roc_figure_is_log_rejection_against_signal_efficiency():
    # Sorted: 0.9 H, 0.8 QCD, 0.7 H, 0.1 QCD. Cuts at 0.9 / 0.8 / 0.7 / 0.1 give (eps_S, eps_B) =
    # (0.5, 0) (left out: infinite rejection), (0.5, 0.5), (1, 0.5), (1, 1): rejections 2, 2, 1.
    background_efficiency, signal_efficiency, _ = roc_curve(
        np.array([0.9, 0.1, 0.8, 0.7]), np.array([1, 0, 0, 1])
    )
    figure = roc_figure(
        {"boosted tree (jet quantities)": (background_efficiency, signal_efficiency, 0.75, 0.0625)},
        num_background=2,
        num_signal=2,
    )
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert lines[0].get_label() == "boosted tree (jet quantities): AUC = 0.750 ± 0.062"
    np.testing.assert_allclose(lines[0].get_xdata(), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(lines[0].get_ydata(), [2.0, 2.0, 1.0])
    # working points 30% and 50%: both at the first cut, where no QCD jet passes: triangles at the lower end
    assert len(lines[1].get_xdata()) == 0
    np.testing.assert_allclose(lines[2].get_xdata(), [0.5, 0.5])
    np.testing.assert_allclose(lines[2].get_ydata(), 1 / clopper_pearson(0, 2)[1])
    assert "random classifier" in ax.get_legend_handles_labels()[1]
    assert ax.get_ylim()[1] == pytest.approx(6)  # the axis ends just above one jet of two passing
    band = ax.collections[0].get_paths()[0].vertices[:, 1]
    lower = clopper_pearson(1, 2)[0]  # one QCD jet of two passes: the band's top; both pass: rejection 1
    np.testing.assert_allclose([band.min(), band.max()], [1.0, 1 / lower])
    drawn = _texts(figure)
    assert "hepxai" in drawn
    assert "simulation" in drawn
    assert "2 H, 2 QCD jets" in drawn
    assert "one of the 2 QCD jets passes" in drawn


def test_mass_sculpting_shows_normalised_shapes_and_their_ratio():
    mass = np.r_[np.linspace(50, 190, 100), np.full(50, 125.0)]
    label = np.r_[np.zeros(100, int), np.ones(50, int)]
    passed = np.r_[mass[:100] > 120, np.ones(50, bool)]  # masses 50 + 140 i / 99 > 120 for i >= 50
    figure = mass_sculpting_figure(mass, label, passed, bins=np.linspace(40, 200, 17))
    ax, ratio_ax = figure.axes
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "H$\\to b\\bar{b}$, all (50)",
        "H$\\to b\\bar{b}$, after score cut (50)",
        "QCD, all (100)",
        "QCD, after score cut (50)",
    ]
    for stairs in ax.patches[-4:]:
        values, edges = stairs.get_data()[:2]
        assert np.sum(values * np.diff(edges)) == pytest.approx(1)  # shapes, each of unit area
    ratio = ratio_ax.lines[0].get_ydata()
    assert np.isnan(ratio[0])  # 40-50 GeV: no QCD jet at all
    assert np.all(ratio[1:8] == 0)  # 50-120 GeV: none passes
    assert np.all(ratio[9:15] > 1)  # above: the passing shape is the all shape scaled by 2
    assert "H window" in _texts(figure)
    assert "too few" not in _texts(figure)


def test_mass_sculpting_says_when_too_few_qcd_jets_pass():
    mass = np.linspace(50, 190, 100)
    label = np.r_[np.zeros(90, int), np.ones(10, int)]
    figure = mass_sculpting_figure(mass, label, mass > 185)
    assert "only 0 of 90 QCD jets pass:\ntoo few to measure sculpting" in _texts(figure)
