"""Interpretation ROC curves: how well each method's point scores find the ground-truth points.

One curve per method: the true positive rate (share of the true points above a threshold on the score)
against the false positive rate (share of the other points above it), over the points of the positive test
samples pooled, as the interpretation AUC of the LRI protocol is computed. The diagonal is a random ranking.

Curves that are point for point the same (LRP-ε with a tiny ε and gradient × input on a ReLU network can be)
are drawn once with their labels joined, instead of one hiding the other; panels hold at most
:data:`MAX_CURVES` lines each (the diagonal included) and their legends sit below the axes, off the curves.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from hepxai.plots.style import plot_style

MAX_CURVES = 8  # lines per axes, the diagonal included: more cannot be told apart


def merge_identical(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
) -> dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, float]]:
    """Curves by the labels that share them: labels whose curves are equal point for point go together."""
    merged: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray, float]] = {}
    for label, curve in curves.items():
        same = next(
            (
                key
                for key, other in merged.items()
                if len(other[0]) == len(curve[0])
                and np.array_equal(other[0], curve[0])
                and np.array_equal(other[1], curve[1])
            ),
            None,
        )
        if same is None:
            merged[(label,)] = curve
        else:
            merged[(*same, label)] = merged.pop(same)
    return merged


def interpretation_roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    *,
    title: str = "",
    colors: Mapping[str, str] | None = None,
    linestyles: Mapping[str, str] | None = None,
    emphasised: Collection[str] = (),
    panels: Sequence[tuple[str, Sequence[str]]] | None = None,
) -> Figure:
    """True against false positive rate of the ground-truth points, one line per method, AUC in the legend.

    Args:
        curves: ``{method label: (false_positive_rate, true_positive_rate, auc)}``
            (:func:`hepxai.metrics.interpretation.interpretation_roc`), drawn in this order.
        title: Figure title.
        colors: Method label → line colour (default: the style's colour cycle).
        linestyles: Method label → line style (default: solid).
        emphasised: Labels drawn with thicker lines (the LRI methods beside the baselines).
        panels: ``(panel title, labels)`` per axes, side by side; default: the curves in order, at most
            ``MAX_CURVES - 1`` per panel.

    Raises:
        ValueError: A panel would hold more than ``MAX_CURVES - 1`` distinct curves.
    """
    colors, linestyles = colors or {}, linestyles or {}
    merged = merge_identical(curves)
    owner = {label: key for key in merged for label in key}
    if panels is None:
        keys = list(merged)
        size = MAX_CURVES - 1
        panels = [("", [key[0] for key in keys[i : i + size]]) for i in range(0, len(keys), size)]
    panel_keys = [
        (name, list(dict.fromkeys(owner[label] for label in labels if label in owner)))
        for name, labels in panels
    ]
    panel_keys = [(name, keys) for name, keys in panel_keys if keys]
    for name, keys in panel_keys:
        if len(keys) > MAX_CURVES - 1:
            msg = f"panel {name!r} holds {len(keys)} curves, at most {MAX_CURVES - 1} beside the diagonal"
            raise ValueError(msg)
    rows = max(len(keys) for _, keys in panel_keys) + 1
    with plot_style():
        figure = Figure(figsize=(7.0 * len(panel_keys), 6.2 + 0.3 * rows), layout="constrained")
        axes = figure.subplots(1, len(panel_keys), squeeze=False)[0]
        for ax, (name, keys) in zip(axes, panel_keys, strict=True):
            for key in keys:
                false_positive, true_positive, auc = merged[key]
                label = " = ".join(key) + f": AUC = {auc:.3f}"
                if len(key) > 1:
                    label += " (identical curves)"
                ax.plot(
                    false_positive,
                    true_positive,
                    lw=2.8 if key[0] in emphasised else 1.8,
                    color=colors.get(key[0]),
                    ls=linestyles.get(key[0], "-"),
                    label=label,
                )
            ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="random ranking: AUC = 0.5")
            ax.set(xlim=(0, 1), ylim=(0, 1), aspect="equal")
            ax.set_xlabel("false positive rate (other points)")
            ax.set_ylabel("true positive rate (ground-truth points)")
            if name:
                ax.set_title(name, fontsize=13)
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=11, frameon=False)
        if title:
            figure.suptitle(title, fontsize=13)
    return figure
