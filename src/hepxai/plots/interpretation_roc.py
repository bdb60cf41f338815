"""Interpretation ROC curves: how well each method's point scores find the ground-truth points.

One curve per method: the true positive rate (share of the true points above a threshold on the score)
against the false positive rate (share of the other points above it), over the points of the positive test
samples pooled, as the interpretation AUC of the LRI protocol is computed. The diagonal is a random ranking.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.plots.style import new_figure, plot_style


def interpretation_roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    *,
    title: str = "",
    colors: Mapping[str, str] | None = None,
    emphasised: Collection[str] = (),
    ax: Axes | None = None,
) -> Figure:
    """True against false positive rate of the ground-truth points, one line per method, AUC in the legend.

    Args:
        curves: ``{method label: (false_positive_rate, true_positive_rate, auc)}``
            (:func:`hepxai.metrics.interpretation.interpretation_roc`), drawn in this order.
        title: Axes title.
        colors: Method label → line colour (default: the style's colour cycle).
        emphasised: Labels drawn with thicker lines (the LRI methods beside the baselines).
        ax: Draw into these axes instead of a new figure.
    """
    if ax is None:
        _, ax = new_figure(8.5, 7.5)
    colors = colors or {}
    with plot_style():
        for label, (false_positive, true_positive, auc) in curves.items():
            ax.plot(
                false_positive,
                true_positive,
                lw=2.6 if label in emphasised else 1.4,
                color=colors.get(label),
                label=f"{label}: AUC = {auc:.3f}",
            )
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="random ranking: AUC = 0.5")
        ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
        ax.set_xlabel("false positive rate (other points)")
        ax.set_ylabel("true positive rate (ground-truth points)")
        if title:
            ax.set_title(title, fontsize=12)
        ax.legend(loc="lower right", fontsize=9)
    return ax.figure
