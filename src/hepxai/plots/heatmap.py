"""Relevance heatmap of one jet: features as rows, tracks as columns by increasing pT (seed Figs. 6-12)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.explain.relevance_summary import merge_repeated_features
from hepxai.plots.labels import feature_category, feature_label, grouped_order
from hepxai.plots.style import new_figure, plot_style

B_HADRON_COLOR = "#d35400"


MIN_ROW_SHARE = 0.002  # with rows by share, features with less of the jet's |R| are left out (and counted)


def merged_relevance(jet: JetRelevance) -> tuple[list[str], np.ndarray]:
    """The jet's distinct feature names and ``[num_tracks, num_distinct]`` relevance (repeats added)."""
    names, merge = merge_repeated_features(jet.feature_names)
    return names, jet.relevance @ merge


def shared_limit(jets: Sequence[JetRelevance]) -> float:
    """One colour-scale end for several jets: the 99th percentile of |R| over all their cells."""
    cells = [np.abs(merged_relevance(jet)[1]).ravel() for jet in jets]
    values = np.concatenate(cells) if cells else np.zeros(0)
    return float(np.percentile(values, 99)) if values.size else 1.0


def _rows(names: list[str], relevance: np.ndarray, *, by_share: bool) -> np.ndarray:
    """The features drawn, top to bottom: grouped by category, or by the jet's share of ``|R|`` (small ones
    left out)."""
    if not by_share:
        return grouped_order(names)
    share = np.abs(relevance).sum(axis=0)
    share = share / (share.sum() or 1.0)
    rows = np.argsort(-share, kind="stable")
    return rows[share[rows] >= MIN_ROW_SHARE]


def relevance_heatmap(
    jet: JetRelevance,
    *,
    magnitude: bool = False,
    limit: float | None = None,
    by_share: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Draw a jet's relevance per track and feature.

    Rows are the features (an input the schema repeats is one row, its copies' relevance added) with their
    physics names, in one fixed order grouped by category (kinematics, impact parameter, ...), so heatmaps of
    different jets line up row by row; ``by_share`` orders them by decreasing share of the jet's ``|R|``
    instead and leaves out those below :data:`MIN_ROW_SHARE`. Signed relevance uses a diverging colour map
    centred on 0; ``magnitude`` shows ``|R|`` instead. Pass ``limit`` (:func:`shared_limit`) to put several
    jets on one scale; by default the scale ends at the jet's own 99th percentile of ``|R|``. Arrows on the
    colour bar mark larger cells. Muon and electron tracks carry ``μ``/``e`` in their column label; tracks
    from b-hadron decays (truth) are orange.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        magnitude: Show ``|R|`` instead of signed relevance.
        limit: End of the colour scale; default: the jet's 99th percentile of ``|R|``.
        by_share: Rows by the jet's share of ``|R|``, small ones left out, instead of the fixed order.
        ax: Axes to draw on; a new figure sized to the jet otherwise.
    """
    names, relevance = merged_relevance(jet)
    rows = _rows(names, relevance, by_share=by_share)
    if ax is None:
        _, ax = new_figure(max(7.0, 4.0 + 0.24 * jet.num_tracks), 3.2 + 0.22 * max(len(rows), 4))
    with plot_style():
        values = np.abs(relevance.T[rows]) if magnitude else relevance.T[rows]
        if limit is None:
            limit = shared_limit([jet])
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
        ax.set_yticks(range(len(rows)), [feature_label(names[i]) for i in rows], fontsize=9)
        if not by_share:
            categories = [feature_category(names[i]) for i in rows]
            for row in np.flatnonzero(np.array(categories[1:]) != np.array(categories[:-1])):
                ax.axhline(row + 0.5, color="black", lw=0.8)
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
        dropped = len(names) - len(rows)
        if dropped:
            notes.append(f"{dropped} features with < {100 * MIN_ROW_SHARE:.1f}% of |R| not shown")
        ax.set_xlabel(f"track number, ordered by {order}\n{'; '.join(notes)}", loc="center", fontsize=11)
        ax.set_ylabel(
            "feature, by share of |R|" if by_share else "feature, grouped by category", loc="center"
        )
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


def relevance_heatmap_plotly(
    jet: JetRelevance, *, magnitude: bool = False, limit: float | None = None, by_share: bool = False
) -> go.Figure:
    """The heatmap of :func:`relevance_heatmap` as a plotly figure: hover a cell for its value; the page
    highlights the hovered track in the jet's other figures (column ``i`` is ``jet.track[i]``).

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        magnitude: Show ``|R|`` instead of signed relevance.
        limit: End of the colour scale; default: the jet's 99th percentile of ``|R|``.
        by_share: Rows by the jet's share of ``|R|``, small ones left out, instead of the fixed order.
    """
    names, relevance = merged_relevance(jet)
    rows = _rows(names, relevance, by_share=by_share)
    values = np.abs(relevance.T[rows]) if magnitude else relevance.T[rows]
    limit = (limit if limit is not None else shared_limit([jet])) or 1.0
    labels = [feature_label(names[i]) for i in rows]
    columns = jet.track_labels()
    if jet.from_b is not None:
        columns = [
            f'<span style="color:{B_HADRON_COLOR}"><b>{c}</b></span>' if b else c
            for c, b in zip(columns, jet.from_b, strict=True)
        ]
    hover = [
        [
            f"track {jet.track[t]}"
            + (f" (p<sub>T</sub> {jet.pt[t]:.1f} GeV)" if jet.pt is not None else "")
            + f"<br>{labels[r]}<br>R = {values[r, t]:+.3g}"
            for t in range(jet.num_tracks)
        ]
        for r in range(len(rows))
    ]
    figure = go.Figure(
        go.Heatmap(
            z=np.round(values, 5),
            x=list(range(jet.num_tracks)),
            y=list(range(len(rows))),
            colorscale="Reds" if magnitude else "RdBu",
            reversescale=not magnitude,
            zmin=0.0 if magnitude else -limit,
            zmax=limit,
            hovertext=hover,
            hoverinfo="text",
            colorbar={
                "title": {"text": f"{'|R|' if magnitude else 'R'}, logit {jet.target}"},
                "thickness": 14,
            },
        )
    )
    order = "increasing p<sub>T</sub>" if jet.pt is not None else "position"
    if not by_share:
        categories = np.array([feature_category(names[i]) for i in rows])
        for row in np.flatnonzero(categories[1:] != categories[:-1]):
            figure.add_hline(y=row + 0.5, line={"color": "black", "width": 1})
    figure.update_layout(
        meta={"tracks": jet.track.tolist()},
        template="plotly_white",
        width=max(520, 260 + 16 * jet.num_tracks),
        height=170 + 15 * len(rows),
        margin={"l": 10, "r": 10, "t": 40, "b": 60},
        title={
            "text": "relevance per track and feature (hover a column: its track in the map and 3D)",
            "font": {"size": 12},
            "x": 0.01,
        },
        xaxis={
            "tickmode": "array",
            "tickvals": list(range(jet.num_tracks)),
            "ticktext": columns,
            "tickangle": -90,
            "tickfont": {"size": 10},
            "title": {"text": f"track, by {order}; orange: from b-hadron decay", "font": {"size": 11}},
        },
        yaxis={
            "tickmode": "array",
            "tickvals": list(range(len(rows))),
            "ticktext": labels,
            "autorange": "reversed",
            "tickfont": {"size": 10},
        },
    )
    return figure
