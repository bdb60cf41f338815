"""Deletion curves of the explainer benchmark: drop of P(H) as the top-ranked tracks are removed."""

from __future__ import annotations

import matplotlib as mpl
import mplhep
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

_MARKERS = ("o", "s", "^", "v", "D", "x", "+")


def plot_deletion_curves(
    curves: dict[str, Tensor], *, reference: str = "random", ax: Axes | None = None
) -> Figure:
    """One line per method, ``reference`` (removing random tracks) dashed in black.

    Args:
        curves: Method name to ``[K + 1]`` mean drop of P(H) after removing ``k = 0 ... K`` tracks per jet.
        reference: The curve drawn as the baseline, if present.
        ax: Draw into these axes instead of a new figure.
    """
    with mpl.style.context(mplhep.style.CMS):
        if ax is None:
            figure = Figure(figsize=(9, 7))
            ax = figure.add_subplot()
        figure = ax.get_figure()
        colors = mpl.colormaps["tab20"].colors
        for index, (name, drop) in enumerate(curves.items()):
            steps = range(len(drop))
            if name == reference:
                ax.plot(steps, drop.tolist(), "k--", linewidth=2, label=f"{name} (reference)")
            else:
                ax.plot(
                    steps,
                    drop.tolist(),
                    marker=_MARKERS[index % len(_MARKERS)],  # methods that coincide stay visible
                    markersize=5,
                    markerfacecolor="none",
                    color=colors[index % len(colors)],
                    label=name,
                )
        ax.set_xlabel("tracks removed per jet (top-ranked first)")
        ax.set_ylabel("mean drop of P(H)")
        ax.legend(fontsize=10, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    return figure
