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
