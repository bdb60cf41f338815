"""Tagger performance plots: the ROC curve and the QCD soft-drop mass before and after a score cut."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import mplhep
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]], *, ax: Axes | None = None
) -> Figure:
    """Signal efficiency against background efficiency, with the random classifier dashed.

    Args:
        curves: ``{name: (background_efficiency, signal_efficiency, auc)}``, one line each.
        ax: Draw into these axes instead of a new figure.
    """
    with plt.style.context(mplhep.style.CMS):
        figure, ax = _figure_and_axes(ax)
        for name, (background_efficiency, signal_efficiency, auc) in curves.items():
            ax.plot(background_efficiency, signal_efficiency, label=f"{name} (AUC = {100 * auc:.1f}%)")
        ax.plot([0, 1], [0, 1], linestyle="--", color="grey", label="random classifier")
        ax.set(
            xlim=(0, 1),
            ylim=(0, 1),
            xlabel="False positive rate (QCD efficiency)",
            ylabel="True positive rate (H$\\to b\\bar{b}$ efficiency)",
        )
        ax.legend(loc="lower right", fontsize="small")
    return figure


def mass_sculpting_figure(
    mass: np.ndarray,
    passed: np.ndarray,
    *,
    cut_label: str = "after score cut",
    bins: np.ndarray | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Normalised QCD soft-drop mass distribution before and after a cut on the tagger score.

    A tagger that has learnt the jet mass turns the smoothly falling QCD spectrum into a peak near 125 GeV.

    Args:
        mass: ``[num_qcd_jets]`` soft-drop mass in GeV.
        passed: ``[num_qcd_jets]`` boolean, the jets passing the cut.
        cut_label: Legend text for the jets that pass.
        bins: Histogram bin edges in GeV; 40 bins from 40 to 200 GeV by default.
        ax: Draw into these axes instead of a new figure.
    """
    bins = np.linspace(40, 200, 41) if bins is None else bins
    with plt.style.context(mplhep.style.CMS):
        figure, ax = _figure_and_axes(ax)
        for values, label in (
            (mass, f"QCD, all ({len(mass)})"),
            (mass[passed], f"QCD, {cut_label} ({int(passed.sum())})"),
        ):
            if len(values):
                counts, _ = np.histogram(values, bins=bins, density=True)
                mplhep.histplot(counts, bins, ax=ax, label=label)
        ax.set(xlabel="Soft-drop mass $m_{SD}$ [GeV]", ylabel="Normalised to unit area")
        ax.legend(loc="upper right")
    return figure


def _figure_and_axes(ax: Axes | None) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax  # type: ignore[return-value]
    figure = Figure(figsize=(10, 10), layout="constrained")
    return figure, figure.subplots()
