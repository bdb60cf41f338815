"""Tagger performance plots: background rejection against signal efficiency, and the soft-drop mass of both
classes before and after a cut on the tagger score."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.metrics.classification import rejection_interval
from hepxai.plots.style import BACKGROUND_COLOR, SIGNAL_COLOR, new_figure, plot_style, simulation_label

MIN_PASSING = 20  # fewer jets passing a cut give no measurable mass shape; the plot says so


WORKING_POINTS = (0.3, 0.5)  # H efficiencies analyses quote


def roc_figure(
    curves: Mapping[str, tuple[np.ndarray, np.ndarray, float, float]],
    *,
    num_background: int,
    num_signal: int | None = None,
    ax: Axes | None = None,
) -> Figure:
    """QCD rejection (1 / QCD efficiency, log scale) against H→bb̄ efficiency, one line per tagger.

    The physics view of a ROC curve: at the working points analyses use (30-50% signal efficiency) the
    rejections differ by factors that a linear plot of efficiencies hides. Bands are the exact 68%
    Clopper–Pearson intervals of the QCD efficiency, so a rejection resting on one QCD jet shows as the
    factor-20 interval it is; points where no QCD jet passes (rejection unmeasured) are left out and the
    axis ends just above ``num_background``, the largest rejection the jets can show. Markers are the
    working points of :data:`WORKING_POINTS`.

    Args:
        curves: ``{name: (background_efficiency, signal_efficiency, auc, auc_error)}``, one line each.
        num_background: QCD jets behind the efficiencies.
        num_signal: H jets behind them, for the label.
        ax: Draw into these axes instead of a new figure.
    """
    if ax is None:
        _, ax = new_figure(9.0, 7.5)
    with plot_style():
        for name, (background_efficiency, signal_efficiency, auc, auc_error) in curves.items():
            passed = background_efficiency > 0
            efficiency, fraction = signal_efficiency[passed], background_efficiency[passed]
            label = f"{name}: AUC = {auc:.3f} ± {auc_error:.3f}"
            (line,) = ax.plot(efficiency, 1 / fraction, lw=2, label=label)
            ax.fill_between(
                efficiency,
                *rejection_interval(fraction, num_background),
                color=line.get_color(),
                alpha=0.2,
                lw=0,
            )
            at = [int(np.argmax(signal_efficiency >= point - 1e-12)) for point in WORKING_POINTS]
            low = rejection_interval(background_efficiency[at], num_background)[0]
            measured = background_efficiency[at] > 0  # else only the interval's lower end: a triangle
            for marker, shown in (("o", measured), ("^", ~measured)):
                ax.plot(
                    signal_efficiency[at][shown],
                    np.where(measured, 1 / np.maximum(background_efficiency[at], 1e-300), low)[shown],
                    marker,
                    ms=8,
                    color=line.get_color(),
                    mec="black",
                    mew=0.8,
                )
        grid = np.linspace(0.01, 1, 100)
        ax.plot(grid, 1 / grid, ls="--", color="grey", label="random classifier")
        ax.set_yscale("log")
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 3 * num_background)
        ax.axhline(num_background, color="black", lw=0.8, ls="-.")
        ax.text(
            0.02,
            num_background * 1.15,
            f"one of the {num_background} QCD jets passes: no larger rejection measurable",
            fontsize=10,
            va="bottom",
        )
        ax.set_xlabel(r"H$\to b\bar{b}$ efficiency $\varepsilon_S$")
        ax.set_ylabel(r"QCD rejection $1/\varepsilon_B$")
        for point in WORKING_POINTS:
            ax.axvline(point, color="black", lw=0.8, ls=":")
        jets = f"{num_signal} H, {num_background} QCD jets" if num_signal else f"{num_background} QCD jets"
        simulation_label(ax, jets)
        ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            frameon=False,
            title="bands: 68% Clopper–Pearson\nmarkers: 30%, 50% H eff.\n(▲: no QCD jet passes, lower end)",
            title_fontsize=10,
            fontsize=10,
        )
    return ax.figure


HIGGS_WINDOW = (110.0, 140.0)  # GeV, the soft-drop mass window of an H→bb̄ search


def mass_sculpting_figure(
    mass: np.ndarray,
    label: np.ndarray,
    passed: np.ndarray,
    *,
    cut_label: str = "after score cut",
    bins: np.ndarray | None = None,
    window: tuple[float, float] = HIGGS_WINDOW,
) -> Figure:
    """Normalised soft-drop mass of H→bb̄ and QCD jets, all and after a cut on the tagger score, with the
    ratio of the QCD shapes after and before the cut.

    Shapes are normalised to unit area, so the ratio panel shows sculpting directly: a tagger that has
    learnt the jet mass lifts the ratio inside the Higgs ``window`` (shaded) above 1. Cut at a fixed QCD
    efficiency (5-10%) so that enough QCD jets pass to have a shape; error bars are Poisson, and with fewer
    than :data:`MIN_PASSING` QCD jets passing the plot says the shape is not measured.

    Args:
        mass: ``[num_jets]`` soft-drop mass in GeV.
        label: ``[num_jets]`` 1 for H→bb̄, 0 for QCD.
        passed: ``[num_jets]`` boolean, the jets passing the cut.
        cut_label: Legend text for the jets that pass.
        bins: Histogram bin edges in GeV; 10 GeV bins from 40 to 200 GeV by default.
        window: The mass window drawn, in GeV.
    """
    bins = np.linspace(40, 200, 17) if bins is None else bins
    width, centres = np.diff(bins), (bins[1:] + bins[:-1]) / 2
    with plot_style():
        figure = Figure(figsize=(9.0, 8.5))
        ax, ratio_ax = figure.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": (3, 1), "hspace": 0.05}
        )
    warning = None
    with plot_style():
        for ax_ in (ax, ratio_ax):
            ax_.axvspan(*window, color="grey", alpha=0.15, lw=0)
        shapes = {}
        for value, name, color in ((1, r"H$\to b\bar{b}$", SIGNAL_COLOR), (0, "QCD", BACKGROUND_COLOR)):
            in_class = label == value
            if not in_class.any():
                continue
            for chosen, style, text in ((in_class, "--", "all"), (in_class & passed, "-", cut_label)):
                counts = np.histogram(mass[chosen], bins=bins)[0]
                area = max(counts.sum(), 1) * width
                shapes[value, style] = (counts / area, np.sqrt(counts) / area)
                ax.stairs(
                    counts / area, bins, color=color, ls=style, lw=2, label=f"{name}, {text} ({chosen.sum()})"
                )
                if style == "-":
                    ax.errorbar(centres, counts / area, np.sqrt(counts) / area, fmt="none", ecolor=color)
            num_passing = int((in_class & passed).sum())
            if value == 0 and num_passing < MIN_PASSING:
                warning = (
                    f"only {num_passing} of {in_class.sum()} QCD jets pass:\ntoo few to measure sculpting"
                )
        if (0, "-") in shapes:
            (after, error), (before, _) = shapes[0, "-"], shapes[0, "--"]
            with np.errstate(invalid="ignore", divide="ignore"):
                ratio_ax.errorbar(
                    centres,
                    after / before,
                    error / before,
                    xerr=width / 2,
                    fmt="o",
                    ms=4,
                    color=BACKGROUND_COLOR,
                )
        ratio_ax.axhline(1, color="black", lw=0.8)
        ratio_ax.set_ylim(0, 3)
        ratio_ax.set_ylabel("QCD after / all", fontsize=12)
        ratio_ax.set_xlabel("Soft-drop mass $m_{SD}$ [GeV]")
        ax.set_ylabel("normalised to unit area [1/GeV]")
        ratio_ax.text(np.mean(window), 2.9, "H window", ha="center", va="top", fontsize=10)
        simulation_label(ax)
        legend = ax.legend(  # beside the axes, off the histograms
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            fontsize=10,
            frameon=False,
            title=warning,
            title_fontsize=10,
        )
        if warning:
            legend.get_title().set_color(BACKGROUND_COLOR)
    return figure
