"""Relevance heatmap of one jet: features as rows, tracks as columns by increasing pT (seed Figs. 6-12)."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.plots.style import new_figure, plot_style

B_HADRON_COLOR = "#d35400"


MIN_ROW_SHARE = 0.002  # features with less of the jet's |R| are left out (the plot says how many)


def relevance_heatmap(
    jet: JetRelevance,
    *,
    magnitude: bool = False,
    limit: float | None = None,
    all_features: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Draw a jet's relevance per track and feature.

    Rows are the features by decreasing share of the jet's ``|R|``; features below :data:`MIN_ROW_SHARE` are
    left out and counted under the plot. Signed relevance uses a diverging colour map centred on 0;
    ``magnitude`` shows ``|R|`` instead. The colour scale ends at the 99th percentile of the jet's ``|R|``
    (arrows on the colour bar mark larger cells), so one dominant track does not wash out the others; pass
    ``limit`` to put several jets on one scale. Muon and electron tracks carry ``μ``/``e`` in their column
    label; tracks from b-hadron decays (truth) are orange.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        magnitude: Show ``|R|`` instead of signed relevance.
        limit: End of the colour scale; default: the jet's 99th percentile of ``|R|``.
        all_features: Keep every feature, in schema order.
        ax: Axes to draw on; a new figure sized to the jet otherwise.
    """
    share = np.abs(jet.relevance).sum(axis=0)
    share = share / (share.sum() or 1.0)
    if all_features:
        rows = np.arange(len(jet.feature_names))
    else:
        rows = np.argsort(-share, kind="stable")
        rows = rows[share[rows] >= MIN_ROW_SHARE]
    if ax is None:
        _, ax = new_figure(max(7.0, 4.0 + 0.24 * jet.num_tracks), 3.2 + 0.22 * max(len(rows), 4))
    with plot_style():
        values = np.abs(jet.relevance.T[rows]) if magnitude else jet.relevance.T[rows]
        if limit is None:
            limit = float(np.percentile(np.abs(values), 99)) if values.size else 1.0
        limit = limit or 1.0
        image = ax.imshow(
            values,
            aspect="auto",
            interpolation="nearest",
            cmap="Reds" if magnitude else "RdBu_r",
            vmin=0.0 if magnitude else -limit,
            vmax=limit,
        )
        ax.minorticks_off()
        names = [jet.feature_names[i] for i in rows]
        ax.set_yticks(range(len(rows)), names, fontsize=9)
        ax.set_xticks(range(jet.num_tracks), jet.track_labels(), rotation=90, fontsize=9)
        ax.tick_params(top=False, right=False)
        if jet.from_b is not None:
            for tick, from_b in zip(ax.get_xticklabels(), jet.from_b, strict=True):
                if from_b:
                    tick.set_color(B_HADRON_COLOR)
                    tick.set_fontweight("bold")
        order = "increasing track $p_T$" if jet.pt is not None else "position (no $p_T$ in file)"
        notes = ["μ: muon, e: electron"]
        if jet.from_b is not None:
            notes.append("orange: from b-hadron decay (truth)")
        dropped = len(jet.feature_names) - len(rows)
        if dropped:
            notes.append(f"{dropped} features with < {100 * MIN_ROW_SHARE:.1f}% of |R| not shown")
        ax.set_xlabel(f"track number, ordered by {order}\n{'; '.join(notes)}", loc="center", fontsize=11)
        ax.set_ylabel("feature, by share of |R|" if not all_features else "feature", loc="center")
        if jet.pt is not None:
            top = ax.secondary_xaxis("top")
            top.set_xticks(range(jet.num_tracks), [f"{pt:.1f}" for pt in jet.pt], rotation=90, fontsize=8)
            top.set_xlabel("track $p_T$ [GeV]", fontsize=11, loc="center")
            top.minorticks_off()
        clipped = np.abs(values).max(initial=0.0) > limit
        colorbar = ax.figure.colorbar(
            image,
            ax=ax,
            fraction=0.04,
            pad=0.02,
            extend=("max" if magnitude else "both") if clipped else "neither",
        )
        colorbar.set_label(
            f"|relevance| for logit {jet.target}" if magnitude else f"relevance for logit {jet.target}"
        )
        ax.set_title(jet.title, fontsize=12, loc="left", pad=50 if jet.pt is not None else 8)
    return ax.figure
