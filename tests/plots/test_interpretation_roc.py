"""Interpretation ROC curves: the curve and AUC of hand-computed scores, the legend and the chance line."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepxai.errors import InputError
from hepxai.metrics.interpretation import interpretation_auc, interpretation_roc
from hepxai.plots.interpretation_roc import interpretation_roc_figure


def test_roc_of_hand_computed_scores():
    # True points score 0.9 and 0.3, the others 0.8 and 0.1: 3 of the 4 (true, other) pairs are ordered right.
    score, truth = torch.tensor([0.9, 0.8, 0.3, 0.1]), torch.tensor([True, False, True, False])
    false_positive, true_positive, auc = interpretation_roc(score, truth)
    assert auc == pytest.approx(0.75)
    # Thresholds 0.9, 0.8, 0.3, 0.1 (and above all): one point crosses at each.
    np.testing.assert_allclose(false_positive, [0, 0, 0.5, 0.5, 1])
    np.testing.assert_allclose(true_positive, [0, 0.5, 0.5, 1, 1])
    with pytest.raises(InputError, match="needs both kinds"):
        interpretation_roc(score, torch.ones(4, dtype=torch.bool))


def test_figure_has_one_line_per_method_with_its_auc_and_the_diagonal():
    generator = torch.Generator().manual_seed(0)
    truth = torch.rand(200, generator=generator) < 0.3
    good = truth.double() + torch.rand(200, generator=generator, dtype=torch.float64)
    noise = torch.rand(200, generator=generator, dtype=torch.float64)
    curves = {"good": interpretation_roc(good, truth), "noise": interpretation_roc(noise, truth)}
    figure = interpretation_roc_figure(curves, colors={"good": "#e42536"}, emphasised=["good"])
    ax = figure.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == [
        f"good: AUC = {interpretation_auc(good, truth):.3f}",
        f"noise: AUC = {interpretation_auc(noise, truth):.3f}",
        "random ranking: AUC = 0.5",
    ]
    assert labels[0] == "good: AUC = 1.000"  # every true point scores above 1, every other below
    good_line, noise_line, diagonal = ax.get_lines()
    np.testing.assert_allclose(good_line.get_xdata(), curves["good"][0])
    np.testing.assert_allclose(good_line.get_ydata(), curves["good"][1])
    assert good_line.get_linewidth() > noise_line.get_linewidth()
    assert good_line.get_color() == "#e42536"
    np.testing.assert_allclose(diagonal.get_xydata(), [[0, 0], [1, 1]])


def _random_curves(count: int) -> dict:
    generator = torch.Generator().manual_seed(1)
    truth = torch.rand(300, generator=generator) < 0.3
    return {
        f"method {i}": interpretation_roc(
            truth.double() * (i + 1) / count + torch.rand(300, generator=generator, dtype=torch.float64),
            truth,
        )
        for i in range(count)
    }


def test_identical_curves_are_drawn_once_with_joined_labels():
    curves = _random_curves(3)
    curves["copy of method 1"] = curves["method 1"]  # as LRP-ε and gradient × input can be
    figure = interpretation_roc_figure(curves)
    ax = figure.axes[0]
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    auc = curves["method 1"][2]
    assert f"method 1 = copy of method 1: AUC = {auc:.3f} (identical curves)" in labels
    assert len(ax.get_lines()) == 3 + 1  # three distinct curves and the diagonal
    legend_box = ax.get_legend().get_bbox_to_anchor().transformed(ax.transAxes.inverted())
    assert legend_box.y1 < 0  # below the axes, off the curves


def test_panels_hold_at_most_eight_lines():
    curves = _random_curves(11)
    figure = interpretation_roc_figure(curves)  # default: in order, seven curves and the diagonal per panel
    assert [len(ax.get_lines()) for ax in figure.axes] == [8, 5]
    groups = [("LRI", ["method 0", "method 1"]), ("baselines", [f"method {i}" for i in range(2, 11)])]
    with pytest.raises(ValueError, match="'baselines' holds 9 curves"):
        interpretation_roc_figure(curves, panels=groups)
    styles = {"method 0": "--"}
    figure = interpretation_roc_figure(curves, panels=[("LRI", ["method 0", "method 1"])], linestyles=styles)
    assert [line.get_linestyle() for line in figure.axes[0].get_lines()] == ["--", "-", ":"]
