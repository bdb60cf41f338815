"""Tagger performance plots: background rejection against signal efficiency, and the soft-drop mass of both
classes before and after a cut on the tagger score."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.plots.style import BACKGROUND_COLOR, SIGNAL_COLOR, new_figure, plot_style

MIN_PASSING = 20  # fewer jets passing a cut give no measurable mass shape; the plot says so


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float]],
    *,
    num_background: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """QCD rejection (1 / QCD efficiency, log scale) against H→bb̄ efficiency, one line per tagger.

    The physics view of a ROC curve: at the working points analyses use (30-50% signal efficiency) the
    rejections differ by factors that a linear plot of efficiencies hides. Points where no QCD jet passes
    (infinite rejection) are left out. With ``num_background``, a band shows the binomial uncertainty of the
    QCD efficiency, which dominates where few QCD jets pass.

    Args:
        curves: ``{name: (background_efficiency, signal_efficiency, auc)}``, one line each.
        num_background: QCD jets behind the efficiencies, for the uncertainty band.
        ax: Draw into these axes instead of a new figure.
    """
    if ax is None:
        _, ax = new_figure(9.0, 7.5)
    with plot_style():
        for name, (background_efficiency, signal_efficiency, auc) in curves.items():
            passed = background_efficiency > 0
            efficiency, rejection = signal_efficiency[passed], 1.0 / background_efficiency[passed]
            (line,) = ax.plot(efficiency, rejection, lw=2, label=f"{name}: AUC = {auc:.3f}")
            if num_background:
                fraction = background_efficiency[passed]
                error = np.sqrt(fraction * (1 - fraction) / num_background)
                ax.fill_between(
                    efficiency,
                    1.0 / (fraction + error),
                    1.0 / np.maximum(fraction - error, 0.5 / num_background),
                    color=line.get_color(),
                    alpha=0.2,
                    lw=0,
                )
        grid = np.linspace(0.01, 1, 100)
        ax.plot(grid, 1 / grid, ls="--", color="grey", label="random classifier")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_ylim(bottom=1)
        ax.set_xlabel(r"H$\to b\bar{b}$ efficiency $\varepsilon_S$")
        ax.set_ylabel(r"QCD rejection $1/\varepsilon_B$")
        for efficiency in (0.3, 0.5):
            ax.axvline(efficiency, color="black", lw=0.8, ls=":")
        if num_background:
            ax.text(
                0.98,
                0.98,
                f"{num_background} QCD jets; bands: binomial uncertainty",
                transform=ax.transAxes,
                ha="right",
                va="top",
                fontsize=11,
            )
        ax.legend(loc="lower left", frameon=True)
    return ax.figure


def mass_sculpting_figure(
    mass: np.ndarray,
    label: np.ndarray,
    passed: np.ndarray,
    *,
    cut_label: str = "after score cut",
    bins: np.ndarray | None = None,
    ax: Axes | None = None,
) -> Figure:
    """Soft-drop mass of H→bb̄ and QCD jets, all and after a cut on the tagger score.

    Each histogram is the fraction of its class's jets per bin, so the jets passing the cut keep their true
    size (their area is the cut's efficiency) and a handful of passing jets cannot pose as a shape. A tagger
    that has learnt the jet mass turns the falling QCD spectrum into a peak near 125 GeV. Error bars are
    Poisson; with fewer than :data:`MIN_PASSING` QCD jets passing, the plot says the shape is not measured.

    Args:
        mass: ``[num_jets]`` soft-drop mass in GeV.
        label: ``[num_jets]`` 1 for H→bb̄, 0 for QCD.
        passed: ``[num_jets]`` boolean, the jets passing the cut.
        cut_label: Legend text for the jets that pass.
        bins: Histogram bin edges in GeV; 5 GeV bins from 40 to 200 GeV by default.
        ax: Draw into these axes instead of a new figure.
    """
    bins = np.linspace(40, 200, 33) if bins is None else bins
    centres = (bins[1:] + bins[:-1]) / 2
    if ax is None:
        _, ax = new_figure(9.0, 7.5)
    warning = None
    with plot_style():
        for value, name, color in ((1, r"H$\to b\bar{b}$", SIGNAL_COLOR), (0, "QCD", BACKGROUND_COLOR)):
            in_class = label == value
            total = int(in_class.sum())
            if total == 0:
                continue
            counts = np.histogram(mass[in_class], bins=bins)[0]
            ax.stairs(counts / total, bins, color=color, ls="--", lw=1.5, label=f"{name}, all ({total})")
            chosen = in_class & passed
            counts = np.histogram(mass[chosen], bins=bins)[0]
            passing = f"{name}, {cut_label} ({chosen.sum()})"
            ax.stairs(counts / total, bins, color=color, lw=2.5, label=passing)
            shown = counts > 0
            ax.errorbar(
                centres[shown],
                counts[shown] / total,
                yerr=np.sqrt(counts[shown]) / total,
                fmt="none",
                ecolor=color,
                lw=1.2,
            )
            if value == 0 and chosen.sum() < MIN_PASSING:
                warning = f"only {chosen.sum()} of {total} QCD jets pass:\ntoo few to measure sculpting"
        ax.set_yscale("log")
        ax.set_ylim(0.3 / max(len(label), 1), 10 * ax.get_ylim()[1])  # room for the legend
        ax.set_xlabel("Soft-drop mass $m_{SD}$ [GeV]")
        ax.set_ylabel(f"fraction of the class's jets / {bins[1] - bins[0]:.0f} GeV")
        ax.axvline(125, color="grey", lw=0.8, ls=":")
        legend = ax.legend(loc="upper right", fontsize=10, frameon=True, title=warning, title_fontsize=10)
        legend.get_title().set_color(BACKGROUND_COLOR)
    return ax.figure
