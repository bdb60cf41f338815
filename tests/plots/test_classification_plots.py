"""Classification plots return figures with the expected content."""

import numpy as np
from matplotlib.figure import Figure

from hepxai.metrics.classification import roc_curve
from hepxai.plots.classification import mass_sculpting_figure, roc_figure


def test_roc_figure_has_the_curve_and_the_dashed_random_line():
    background_efficiency, signal_efficiency, _ = roc_curve(np.array([0.9, 0.1, 0.8]), np.array([1, 0, 0]))
    figure = roc_figure({"HIN": (background_efficiency, signal_efficiency, 0.5)})
    assert isinstance(figure, Figure)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["HIN (AUC = 50.0%)", "random classifier"]
    assert lines[1].get_linestyle() == "--"
    np.testing.assert_allclose(lines[0].get_xdata(), background_efficiency)


def test_mass_sculpting_figure_draws_before_and_after():
    mass = np.linspace(50, 190, 100)
    figure = mass_sculpting_figure(mass, mass > 120)
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels == [
        "QCD, all (100)",
        "QCD, after score cut (50)",
    ]  # masses 50 + 140 i / 99 > 120 for i >= 50
