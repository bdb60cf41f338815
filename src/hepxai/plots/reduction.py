"""The feature-reduction figure: background rejection at 50% signal efficiency against the features kept."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.plots.style import new_figure, simulation_label

_STYLE = {  # colour, marker, line: curves that coincide stay visible
    "lrp": ("#e42536", "o", "-"),
    "permutation": ("#5790fc", "s", "--"),
    "random": ("#7a7a7a", "^", ":"),
}


def plot_reduction(table: pd.DataFrame, *, num_background: int, ax: Axes | None = None) -> Figure:
    """One curve per ranking: the mean over seeds of ``rejection_50`` against ``k``, the band spanning the
    seeds' mean 68% bootstrap interval, every seed's value as a small marker.

    A rejection of ``inf`` (no background jet passes the cut) is drawn at ``num_background``, the largest
    rejection the test jets can measure, and the axis ends just above it.

    Args:
        table: Rows of the feature-reduction table (columns ``ranking, k, seed, rejection_50,
            rejection_50_low, rejection_50_high``).
        num_background: Background (QCD) test jets.
        ax: Draw into these axes instead of a new figure.
    """
    if ax is None:
        figure, ax = new_figure(8, 6)
    figure = ax.get_figure()
    ceiling = float(max(num_background, 1))
    columns = ["rejection_50", "rejection_50_low", "rejection_50_high"]
    values = table.assign(**{c: np.minimum(table[c].astype(float), ceiling) for c in columns})
    for number, (name, rows) in enumerate(values.groupby("ranking", sort=False)):
        color, marker, line = _STYLE.get(name, (f"C{number}", "D", "-."))
        mean = rows.groupby("k")[columns].mean()
        ax.fill_between(
            mean.index, mean["rejection_50_low"], mean["rejection_50_high"], color=color, alpha=0.2, lw=0
        )
        ax.plot(mean.index, mean["rejection_50"], color=color, marker=marker, ls=line, mfc="none", label=name)
        ax.plot(rows["k"], rows["rejection_50"], ls="none", marker=marker, ms=3, color=color, alpha=0.6)
    ax.axhline(ceiling, color="black", lw=0.8, ls=":")
    ax.text(ax.get_xlim()[0], ceiling, " no QCD jet passes", va="bottom", fontsize=10)
    ax.set_yscale("log")
    ax.set_ylim(top=ceiling * 1.5)
    ax.set_xlabel("input features kept, k")
    ax.set_ylabel("QCD rejection at 50% H efficiency")
    ax.legend(title=f"ranking, seeds: {table['seed'].nunique()}", loc="lower right")
    simulation_label(ax, f"{num_background} QCD test jets")
    return figure
