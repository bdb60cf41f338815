"""η–φ map of a jet: its tracks at (Δη, Δφ) from the jet axis with equal aspect, so ΔR reads as distance.

The 3D graph's third axis (p_T) makes a 30-track jet a tangle seen from most angles and puts lepton
markers over the labels of nearby tracks. The map lays the tracks flat instead: marker area ∝ track p_T
(with a size key), colour = signed relevance as in the 3D graph, muons and electrons as diamonds and
squares, the most significant edges coloured by significance. The most relevant tracks are labelled with
their heatmap number beside the markers, joined by a leader line, placed where no marker covers them
(:mod:`hepxai.plots.label_layout`).

:func:`jet_map` draws it with matplotlib (PNG/PDF); :func:`jet_map_plotly` builds the same picture for the
HTML report, beside the 3D scene.
"""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.plots.jet_graph import (
    B_HADRON_COLOR,
    EDGE_CMAP,
    EDGE_COLORS,
    MARKERS,
    edge_norm,
    eta_phi_half_width,
    labelled_tracks,
    node_norm,
    signed_relevance,
    track_kind,
    uniform_significance,
)
from hepxai.plots.label_layout import place_labels
from hepxai.plots.style import new_figure, plot_style

LARGEST_AREA = 900.0  # marker area [points²] of the jet's hardest track; the others in proportion to p_T
AXIS_LABELS = (r"$\Delta\eta$ to the jet axis ($\pm\eta_{rel}$)", r"$\Delta\phi$ to the jet axis")


def _check_kinematics(jet: JetRelevance) -> None:
    if not jet.has_kinematics:
        msg = (
            f"jet {jet.jet_id}: the η-φ map needs track_pt, track_etarel and track_phirel "
            "in the relevance file"
        )
        raise ValueError(msg)


def marker_areas(jet: JetRelevance, largest: float = LARGEST_AREA) -> np.ndarray:
    """``[num_tracks]`` marker areas ∝ track p_T, the hardest track's area ``largest``."""
    return largest * jet.pt / (jet.pt.max() or 1.0)


def key_momenta(largest_pt: float) -> list[float]:
    """Up to three round p_T values (1, 2, 5 × 10ᵏ GeV) for the size key, the largest at most the jet's."""
    values = []
    for exponent in range(math.floor(math.log10(max(largest_pt, 1e-3))), -3, -1):
        for mantissa in (5, 2, 1):
            value = mantissa * 10.0**exponent
            if value <= largest_pt and (not values or value <= values[-1] / 4):
                values.append(value)
    return values[:3]


def _pt_text(value: float) -> str:
    return f"{value:g} GeV"


def jet_map(jet: JetRelevance, *, edge_threshold: float | None = None, ax: Axes | None = None) -> Figure:
    """Draw a jet's tracks in the (Δη, Δφ) plane with equal aspect.

    Args:
        jet: One jet with track kinematics, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is drawn; default: the jet's top 2% of edges.
        ax: Axes to draw on; a new figure otherwise.

    Raises:
        ValueError: The jet has no track p_T, η_rel or φ_rel.
    """
    _check_kinematics(jet)
    if ax is None:
        _, ax = new_figure(10.5, 9.0)
    positions = np.column_stack([jet.etarel, jet.phirel])
    areas = marker_areas(jet)
    side = eta_phi_half_width(jet)
    with plot_style():
        ax.set(xlim=(-side, side), ylim=(-side, side), aspect="equal")
        ax.axhline(0, color="grey", lw=0.6, ls=":", zorder=0)
        ax.axvline(0, color="grey", lw=0.6, ls=":", zorder=0)
        significant = jet.significant_edges(edge_threshold)
        figure = ax.figure
        if significant.any():
            segments = np.stack(
                [positions[jet.edge_source[significant]], positions[jet.edge_target[significant]]], axis=1
            )
            edges = LineCollection(
                segments, cmap=EDGE_CMAP, norm=edge_norm(jet, significant), linewidths=2.0, zorder=1
            )
            edges.set_array(100 * jet.edge_significance[significant])
            ax.add_collection(edges)
            edge_bar = edges
        kinds = track_kind(jet)
        rim = (
            np.where(jet.from_b, B_HADRON_COLOR, "black")
            if jet.from_b is not None
            else np.full(jet.num_tracks, "black")
        )
        nodes = None
        by_area = np.argsort(-areas, kind="stable")  # small markers drawn over large ones, leptons last
        for kind, (marker, _) in MARKERS.items():
            chosen = by_area[kinds[by_area] == kind]
            if len(chosen):
                nodes = ax.scatter(
                    *positions[chosen].T,
                    s=areas[chosen],
                    marker=marker,
                    c=signed_relevance(jet)[chosen],
                    cmap="RdBu_r",
                    norm=node_norm(jet),
                    edgecolors=rim[chosen],
                    linewidths=np.where(rim[chosen] == B_HADRON_COLOR, 2.2, 0.6),
                    alpha=0.75,
                    zorder=2,
                )
        colorbar = figure.colorbar(nodes, ax=ax, shrink=0.8, pad=0.02, extend="both")
        colorbar.set_label(f"track relevance (sum over features), logit {jet.target}", fontsize=11)
        if significant.any():
            colorbar = figure.colorbar(edge_bar, ax=ax, shrink=0.8, pad=0.1)
            colorbar.set_label("edge significance [% of the jet's edge relevance]", fontsize=11)
            colorbar.ax.axhline(uniform_significance(jet), color="black", lw=1.5)
            colorbar.ax.text(
                -0.2,
                uniform_significance(jet),
                "1/E",
                transform=colorbar.ax.get_yaxis_transform(),
                va="center",
                ha="right",
                fontsize=10,
            )
        ax.plot(0, 0, marker="+", color="black", ms=14, mew=1.5, zorder=3, ls="")
        ax.set_xlabel(AXIS_LABELS[0])
        ax.set_ylabel(AXIS_LABELS[1])
        ax.set_title(jet.title, fontsize=12, loc="left")
        ax.legend(
            handles=_legend_handles(jet, significant.any()),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.1),
            ncol=3,
            fontsize=10,
            frameon=False,
            columnspacing=1.5,
            labelspacing=1.3,
            handletextpad=1.3,
            borderpad=1.0,
        )
        _draw_labels(jet, ax, positions, areas)
    return figure


def _draw_labels(jet: JetRelevance, ax: Axes, positions: np.ndarray, areas: np.ndarray) -> None:
    """The most relevant tracks' numbers beside their markers, in the free spot :func:`place_labels` finds
    (in display pixels, after the layout is fixed), with a leader line to the marker's edge."""
    figure = ax.figure
    ax.apply_aspect()
    canvas = figure.canvas if hasattr(figure.canvas, "get_renderer") else FigureCanvasAgg(figure)
    renderer = canvas.get_renderer()
    pixels_per_point = figure.dpi / 72
    centres = ax.transData.transform(positions)
    radii = np.sqrt(areas) / 2 * pixels_per_point
    chosen = labelled_tracks(jet)
    names = jet.track_labels()
    texts = [
        ax.text(0, 0, names[i], fontsize=11, fontweight="bold", ha="center", va="center", zorder=5)
        for i in chosen
    ]
    sizes = np.array(
        [[t.get_window_extent(renderer).width, t.get_window_extent(renderer).height] for t in texts]
    )
    box = ax.get_window_extent(renderer)
    padding = 3 * pixels_per_point
    spots = place_labels(
        centres,
        radii,
        chosen,
        sizes + 2 * padding,
        (box.x0, box.x1, box.y0, box.y1),
        gap=4 * pixels_per_point,
    )
    inverse = ax.transData.inverted()
    for text, index, spot in zip(texts, chosen, spots, strict=True):
        text.remove()
        ax.annotate(
            names[index],
            xy=positions[index],
            xytext=inverse.transform(spot),
            textcoords="data",
            fontsize=11,
            fontweight="bold",
            ha="center",
            va="center",
            zorder=5,
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            arrowprops={
                "arrowstyle": "-",
                "color": "black",
                "lw": 0.8,
                "shrinkA": 0,
                "shrinkB": float(np.sqrt(areas[index]) / 2),
            },
        )


def _legend_handles(jet: JetRelevance, with_edges: bool) -> list[Line2D]:
    """The size key (area ∝ p_T), the marker kinds present, the b-hadron rim and the drawn edges."""
    largest_pt = float(jet.pt.max())
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            markersize=math.sqrt(LARGEST_AREA * value / largest_pt),
            color="lightgrey",
            markeredgecolor="black",
            label=f"track p_T {_pt_text(value)}",
        )
        for value in key_momenta(largest_pt)
    ]
    kinds = set(track_kind(jet))
    handles += [
        Line2D(
            [], [], ls="", marker=MARKERS[kind][0], ms=9, color="white", markeredgecolor="black", label=kind
        )
        for kind in ("muon", "electron")
        if kind in kinds
    ]
    if jet.from_b is not None and jet.from_b.any():
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                ms=9,
                color="lightgrey",
                markeredgecolor=B_HADRON_COLOR,
                markeredgewidth=2.2,
                label="from b-hadron decay",
            )
        )
    if with_edges:
        handles.append(
            Line2D([], [], color=EDGE_COLORS[-1], lw=2, label="most significant edges (colour: significance)")
        )
    handles.append(Line2D([], [], ls="", marker="+", ms=12, mew=1.5, color="black", label="jet axis"))
    for handle in handles:
        handle.set_label(handle.get_label().replace("p_T", "$p_T$"))
    return handles


PLOT_SIZE = 520  # plotly: pixels of the square plot area
_MARGIN = {"l": 70, "r": 110, "t": 70, "b": 150}
_FONT_PIXELS = 12


def jet_map_plotly(jet: JetRelevance, *, edge_threshold: float | None = None) -> go.Figure:
    """The η–φ map as an interactive plotly figure; hovering a track shows its values.

    Marker traces carry ``[track number, Δη, Δφ]`` per point in ``customdata`` so that a page can ring a
    track across the heatmap, this map and the 3D graph.

    Args:
        jet: One jet with track kinematics, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is drawn; default: the jet's top 2% of edges.

    Raises:
        ValueError: The jet has no track p_T, η_rel or φ_rel.
    """
    _check_kinematics(jet)
    positions = np.column_stack([jet.etarel, jet.phirel])
    side = eta_phi_half_width(jet)
    units_per_pixel = 2 * side / PLOT_SIZE
    diameters = np.sqrt(marker_areas(jet))  # pixels; area ∝ p_T as in the matplotlib map
    figure = go.Figure()
    significant = jet.significant_edges(edge_threshold)
    if significant.any():
        segments = np.stack(
            [positions[jet.edge_source[significant]], positions[jet.edge_target[significant]]], axis=1
        )
        norm = edge_norm(jet, significant)
        for segment, value in zip(segments, 100 * jet.edge_significance[significant], strict=True):
            figure.add_trace(
                go.Scatter(
                    x=segment[:, 0],
                    y=segment[:, 1],
                    mode="lines",
                    line={"color": to_hex(EDGE_CMAP(norm(value))), "width": 2.5},
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup="edges",
                )
            )
        scale = [[i / (len(EDGE_COLORS) - 1), color] for i, color in enumerate(EDGE_COLORS)]
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name="most significant edges",
                legendgroup="edges",
                marker={
                    "color": [norm.vmax],
                    "colorscale": scale,
                    "cmin": norm.vmin,
                    "cmax": norm.vmax,
                    "showscale": True,
                    "colorbar": {
                        "title": {"text": f"edge sig. [%]<br>(1/E: {uniform_significance(jet):.2g})"},
                        "x": 1.02,
                        "len": 0.45,
                        "y": 0.25,
                        "thickness": 14,
                    },
                },
                hoverinfo="skip",
            )
        )
    signed = signed_relevance(jet)
    limit = node_norm(jet).vmax
    kinds = track_kind(jet)
    names = jet.track_labels()
    from_b = jet.from_b if jet.from_b is not None else np.zeros(jet.num_tracks, dtype=bool)
    first = True
    for kind, (_, symbol) in MARKERS.items():
        chosen = kinds == kind
        if not chosen.any():
            continue
        figure.add_trace(
            go.Scatter(
                x=positions[chosen, 0],
                y=positions[chosen, 1],
                mode="markers",
                name=kind if kind != "hadron" else "track (area ∝ p<sub>T</sub>)",
                customdata=np.column_stack([jet.track[chosen], positions[chosen]]).tolist(),
                marker={
                    "size": diameters[chosen],
                    "symbol": symbol,
                    "color": signed[chosen],
                    "colorscale": "RdBu",
                    "reversescale": True,
                    "cmin": -limit,
                    "cmax": limit,
                    "showscale": first,
                    "colorbar": {
                        "title": {"text": "track ΣR"},
                        "x": 1.02,
                        "len": 0.45,
                        "y": 0.77,
                        "thickness": 14,
                    },
                    "line": {
                        "color": [B_HADRON_COLOR if b else "black" for b in from_b[chosen]],
                        "width": [3 if b else 1 for b in from_b[chosen]],
                    },
                    "opacity": 0.9,
                },
                hovertext=[
                    f"track {names[i]}<br>ΣR = {signed[i]:+.3g}, ‖R‖ = {jet.node_relevance[i]:.3g}<br>"
                    f"p<sub>T</sub> = {jet.pt[i]:.1f} GeV, "
                    f"Δη = {jet.etarel[i]:+.3f}, Δφ = {jet.phirel[i]:+.3f}"
                    + ("<br>from b-hadron decay" if from_b[i] else "")
                    for i in np.flatnonzero(chosen)
                ],
                hoverinfo="text",
            )
        )
        first = False
    figure.add_trace(
        go.Scatter(
            x=[0],
            y=[0],
            mode="markers",
            name="jet axis",
            marker={"symbol": "cross-thin", "size": 14, "line": {"width": 2, "color": "black"}},
            hoverinfo="skip",
        )
    )
    chosen = labelled_tracks(jet)
    label_sizes = np.array([[0.62 * _FONT_PIXELS * len(names[i]) + 8, _FONT_PIXELS + 6] for i in chosen])
    spots = place_labels(
        positions,
        diameters / 2 * units_per_pixel,
        chosen,
        label_sizes * units_per_pixel,
        (-side, side, -side, side),
        gap=5 * units_per_pixel,
    )
    largest_pt = float(jet.pt.max())
    for value in key_momenta(largest_pt):  # the size key: legend entries at the size of round p_T values
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="markers",
                name=f"p<sub>T</sub> {_pt_text(value)}",
                legendgroup="size key",
                marker={
                    "size": math.sqrt(LARGEST_AREA * value / largest_pt),
                    "color": "lightgrey",
                    "line": {"color": "black", "width": 1},
                },
                hoverinfo="skip",
            )
        )
    figure.update_layout(
        template="plotly_white",
        width=PLOT_SIZE + _MARGIN["l"] + _MARGIN["r"],
        height=PLOT_SIZE + _MARGIN["t"] + _MARGIN["b"],
        margin=_MARGIN,
        title={"text": jet.title.replace("\n", "<br>"), "x": 0.02, "font": {"size": 13}},
        xaxis={
            "range": [-side, side],
            "title": {"text": "Δη to the jet axis (±η<sub>rel</sub>)"},
            "zeroline": True,
        },
        yaxis={
            "range": [-side, side],
            "scaleanchor": "x",
            "scaleratio": 1,
            "title": {"text": "Δφ to the jet axis"},
            "zeroline": True,
        },
        legend={"orientation": "h", "x": 0.0, "y": -0.14, "yanchor": "top", "itemsizing": "trace"},
        annotations=[
            {
                "x": positions[index, 0],
                "y": positions[index, 1],
                "ax": spot[0],
                "ay": spot[1],
                "axref": "x",
                "ayref": "y",
                "text": f"<b>{names[index]}</b>",
                "showarrow": True,
                "arrowhead": 0,
                "arrowwidth": 1,
                "standoff": float(diameters[index] / 2),
                "bgcolor": "rgba(255,255,255,0.85)",
                "font": {"size": _FONT_PIXELS},
            }
            for index, spot in zip(chosen, spots, strict=True)
        ],
    )
    return figure
