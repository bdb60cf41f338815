"""Relevance heatmap of one jet: features as rows, tracks as columns by increasing pT (seed Figs. 6-12)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.plots.style import new_figure, plot_style

B_HADRON_COLOR = "#d35400"


def relevance_heatmap(jet: JetRelevance, *, magnitude: bool = False, ax: Axes | None = None) -> Figure:
    """Draw a jet's relevance per track and feature.

    Signed relevance uses a diverging colour map centred on 0; ``magnitude`` shows ``|R|`` instead. Muon and
    electron tracks carry ``μ``/``e`` in their column label; tracks from b-hadron decays (truth) are orange.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        magnitude: Show ``|R|`` instead of signed relevance.
        ax: Axes to draw on; a new figure sized to the jet otherwise.
    """
    if ax is None:
        _, ax = new_figure(max(7.0, 3.5 + 0.24 * jet.num_tracks), 2.5 + 0.2 * len(jet.feature_names))
    with plot_style():
        values = np.abs(jet.relevance.T) if magnitude else jet.relevance.T
        limit = float(np.abs(values).max()) or 1.0
        image = ax.imshow(
            values,
            aspect="auto",
            interpolation="nearest",
            cmap="Reds" if magnitude else "RdBu_r",
            vmin=0.0 if magnitude else -limit,
            vmax=limit,
        )
        ax.minorticks_off()
        ax.set_yticks(range(len(jet.feature_names)), jet.feature_names, fontsize=9)
        ax.set_xticks(range(jet.num_tracks), jet.track_labels(), rotation=90, fontsize=9)
        ax.tick_params(top=False, right=False)
        if jet.from_b is not None:
            for tick, from_b in zip(ax.get_xticklabels(), jet.from_b, strict=True):
                if from_b:
                    tick.set_color(B_HADRON_COLOR)
                    tick.set_fontweight("bold")
        order = "increasing track $p_T$" if jet.pt is not None else "position (no $p_T$ in file)"
        ax.set_xlabel(f"track, ordered by {order}", loc="center")
        ax.set_ylabel("feature", loc="center")
        if jet.pt is not None:
            top = ax.secondary_xaxis("top")
            top.set_xticks(range(jet.num_tracks), [f"{pt:.1f}" for pt in jet.pt], rotation=90, fontsize=8)
            top.set_xlabel("track $p_T$ [GeV]", fontsize=11, loc="center")
            top.minorticks_off()
        colorbar = ax.figure.colorbar(image, ax=ax, fraction=0.04, pad=0.02)
        colorbar.set_label(
            f"|relevance| for logit {jet.target}" if magnitude else f"relevance for logit {jet.target}"
        )
        legend = "  (orange track labels: from b-hadron decay)" if jet.from_b is not None else ""
        ax.set_title(f"{jet.caption}{legend}", fontsize=13, loc="left", pad=50 if jet.pt is not None else 8)
    return ax.figure
