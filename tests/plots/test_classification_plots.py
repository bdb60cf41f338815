"""Classification plots return figures with the expected content."""

import numpy as np
from matplotlib.figure import Figure
from matplotlib.text import Text

from hepxai.metrics.classification import roc_curve
from hepxai.plots.classification import mass_sculpting_figure, roc_figure


def test_roc_figure_is_log_rejection_against_signal_efficiency():
    # Sorted: 0.9 H, 0.8 QCD, 0.7 H, 0.1 QCD. Cuts at 0.9 / 0.8 / 0.7 / 0.1 give (eps_S, eps_B) =
    # (0.5, 0) (left out: infinite rejection), (0.5, 0.5), (1, 0.5), (1, 1): rejections 2, 2, 1.
    background_efficiency, signal_efficiency, _ = roc_curve(
        np.array([0.9, 0.1, 0.8, 0.7]), np.array([1, 0, 0, 1])
    )
    figure = roc_figure(
        {"boosted tree (jet quantities)": (background_efficiency, signal_efficiency, 0.75)}, num_background=2
    )
    assert isinstance(figure, Figure)
    ax = figure.axes[0]
    assert ax.get_yscale() == "log"
    lines = ax.get_lines()
    assert lines[0].get_label() == "boosted tree (jet quantities): AUC = 0.750"  # no doubled brackets
    assert lines[1].get_label() == "random classifier"
    assert lines[1].get_linestyle() == "--"
    np.testing.assert_allclose(lines[0].get_xdata(), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(lines[0].get_ydata(), [2.0, 2.0, 1.0])
    assert len(ax.collections) == 1  # the uncertainty band
    assert "2 QCD jets" in "\n".join(t.get_text() for t in figure.findobj(Text))


def test_mass_sculpting_shows_both_classes_as_fractions_of_their_jets():
    mass = np.r_[np.linspace(50, 190, 100), np.full(50, 125.0)]
    label = np.r_[np.zeros(100, int), np.ones(50, int)]
    passed = np.r_[mass[:100] > 120, np.ones(50, bool)]  # masses 50 + 140 i / 99 > 120 for i >= 50
    figure = mass_sculpting_figure(mass, label, passed)
    ax = figure.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == [
        "H$\\to b\\bar{b}$, all (50)",
        "H$\\to b\\bar{b}$, after score cut (50)",
        "QCD, all (100)",
        "QCD, after score cut (50)",
    ]
    qcd_passing = ax.patches[3].get_data()[0]  # stairs: values, edges
    assert qcd_passing.sum() == 0.5  # its area is the cut's QCD efficiency, not 1
    assert "too few" not in "\n".join(t.get_text() for t in figure.findobj(Text))


def test_mass_sculpting_says_when_too_few_qcd_jets_pass():
    mass = np.linspace(50, 190, 100)
    label = np.r_[np.zeros(90, int), np.ones(10, int)]
    figure = mass_sculpting_figure(mass, label, mass > 185)
    drawn = "\n".join(t.get_text() for t in figure.findobj(Text))
    assert "only 0 of 90 QCD jets pass:\ntoo few to measure sculpting" in drawn
