"""3D jet graph: tracks at (η_rel, φ_rel, p_T), size ∝ ‖relevance‖, colour = signed relevance, the most
significant edges coloured by significance (seed Figs. 7-13).

:func:`jet_graph` draws it with matplotlib (PNG/PDF); :func:`jet_graph_plotly` builds the same picture as an
interactive plotly figure for the HTML report. Where a file has no track kinematics the tracks sit on a ring
in their order, with the track position as height, and the axes say so.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, Normalize, TwoSlopeNorm, to_hex
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.plots.heatmap import merged_relevance
from hepxai.plots.labels import feature_label
from hepxai.plots.style import new_figure, plot_style

B_HADRON_COLOR = "#f89c20"
# plasma without its pale yellow end, reversed: orange (low) to dark purple (high), all visible on white
EDGE_COLORS = [to_hex(colormaps["plasma"](x)) for x in np.linspace(0.75, 0.0, 8)]
EDGE_CMAP = LinearSegmentedColormap.from_list("edges", EDGE_COLORS)
# matplotlib and plotly markers that look alike: circle, diamond, square.
MARKERS = {"hadron": ("o", "circle"), "muon": ("D", "diamond"), "electron": ("s", "square")}
LABELLED_TRACKS = 6  # the most relevant tracks (by ‖R‖) carry their number
HEIGHT_RATIO = 0.8  # height of the 3D box (p_T) over its sides (Δη, Δφ, equal so that ΔR is not distorted)


def labelled_tracks(jet: JetRelevance, count: int = LABELLED_TRACKS) -> np.ndarray:
    """Indices of the ``count`` tracks with the largest ‖R‖, largest first."""
    return np.argsort(-jet.node_relevance, kind="stable")[:count]


def eta_phi_half_width(jet: JetRelevance) -> float:
    """Half the side of one square (Δη, Δφ) window for both axes: every track inside, room for labels."""
    reach = float(np.max(np.abs(np.concatenate([jet.etarel, jet.phirel])), initial=0.0))
    return 1.35 * (reach or 0.4)


def _positions(jet: JetRelevance) -> tuple[np.ndarray, tuple[str, str, str]]:
    """``[num_tracks, 3]`` node positions and the three axis labels."""
    if jet.has_kinematics:
        return (
            np.column_stack([jet.etarel, jet.phirel, jet.pt]),
            ("track η_rel", "track φ_rel", "track p_T [GeV]"),
        )
    angle = 2 * np.pi * np.arange(jet.num_tracks) / max(jet.num_tracks, 1)
    return (
        np.column_stack([np.cos(angle), np.sin(angle), np.arange(jet.num_tracks)]),
        ("ring layout (no η_rel in file)", "ring layout (no φ_rel in file)", "track (no p_T in file)"),
    )


def track_kind(jet: JetRelevance) -> np.ndarray:
    kind = np.full(jet.num_tracks, "hadron", dtype=object)
    if jet.is_electron is not None:
        kind[jet.is_electron] = "electron"
    if jet.is_muon is not None:
        kind[jet.is_muon] = "muon"
    return kind


def _node_sizes(jet: JetRelevance, smallest: float, largest: float) -> np.ndarray:
    norm = jet.node_relevance
    return smallest + (largest - smallest) * norm / (norm.max() or 1.0)


def _edge_segments(jet: JetRelevance, positions: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``[num_edges, 2, 3]`` start and end of each selected edge."""
    return np.stack([positions[jet.edge_source[mask]], positions[jet.edge_target[mask]]], axis=1)


def signed_relevance(jet: JetRelevance) -> np.ndarray:
    """``[num_tracks]`` each track's relevance summed over features: > 0 pushes the explained logit up."""
    return jet.relevance.sum(axis=1)


def node_norm(jet: JetRelevance) -> TwoSlopeNorm:
    """Colours of the signed track relevance, centred on 0 and ending at the 90th percentile of its size, so
    that one dominant track (a muon, say) does not leave the others white; stronger tracks saturate."""
    signed = np.abs(signed_relevance(jet))
    limit = float(np.percentile(signed, 90)) if len(signed) else 1.0
    return TwoSlopeNorm(0.0, -(limit or 1.0), limit or 1.0)


def edge_norm(jet: JetRelevance, significant: np.ndarray) -> Normalize:
    """Colours of edge significance [%] from 0 to the largest, so that close values look close: a scale over
    the coloured edges' own range would make 1.35% and 1.53% look as different as 0 and 100%."""
    values = 100 * jet.edge_significance[significant]
    return Normalize(0.0, float(values.max(initial=0.0)) or 1.0)


def uniform_significance(jet: JetRelevance) -> float:
    """The significance [%] of every edge if the edge relevance were spread evenly: 100 / E."""
    return 100 / max(len(jet.edge_significance), 1)


def jet_graph(jet: JetRelevance, *, edge_threshold: float | None = None, ax: Axes | None = None) -> Figure:
    """Draw a jet as a 3D graph of its tracks and edges.

    Tracks sit at (η_rel, φ_rel, p_T) with a drop line to the η-φ plane, so their p_T reads off the axis
    whatever the perspective. Node size grows with ‖R‖; node colour is the signed relevance (red pushes
    the explained logit up, blue down); b-hadron tracks (truth) have an orange rim. The most significant edges
    are coloured by their significance (colour bar); the others are faint grey. The most relevant tracks
    carry their number (the heatmap's column label). Δη and Δφ share one range and one length in the box,
    so that ΔR is not distorted; the η-φ map (:func:`hepxai.plots.jet_map.jet_map`) shows the same plane flat.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is coloured; default: the jet's top 2% of edges.
        ax: A 3D axes to draw on; a new figure otherwise.
    """
    if ax is None:
        _, ax = new_figure(11.0, 8.5, projection="3d")
    with plot_style():
        positions, axis_labels = _positions(jet)
        significant = jet.significant_edges(edge_threshold)
        if len(significant):
            ax.add_collection3d(
                Line3DCollection(
                    _edge_segments(jet, positions, ~significant), colors="grey", linewidths=0.5, alpha=0.25
                )
            )
            edges = Line3DCollection(
                _edge_segments(jet, positions, significant),
                cmap=EDGE_CMAP,
                norm=edge_norm(jet, significant),
                linewidths=2.0,
                alpha=0.9,
            )
            edges.set_array(100 * jet.edge_significance[significant])
            ax.add_collection3d(edges)
            colorbar = ax.figure.colorbar(edges, ax=ax, shrink=0.5, pad=0.0, location="left")
            colorbar.set_label("edge significance [% of the jet's edge relevance]", fontsize=10)
            colorbar.ax.axhline(uniform_significance(jet), color="black", lw=1.5)
            colorbar.ax.text(
                1.1,
                uniform_significance(jet),
                "1/E",
                transform=colorbar.ax.get_yaxis_transform(),
                va="center",
            )
        floor = positions[:, 2].min() if not jet.has_kinematics else 0.0
        ax.add_collection3d(
            Line3DCollection(
                np.stack([positions, np.column_stack([positions[:, :2], np.full(jet.num_tracks, floor)])], 1),
                colors="black",
                linewidths=0.6,
                linestyles=":",
                alpha=0.5,
            )
        )
        sizes = _node_sizes(jet, 30.0, 600.0)
        rim = np.where(jet.from_b, B_HADRON_COLOR, "black") if jet.from_b is not None else None
        kinds = track_kind(jet)
        nodes = None
        for kind, (marker, _) in MARKERS.items():
            chosen = kinds == kind
            if chosen.any():
                nodes = ax.scatter(
                    *positions[chosen].T,
                    s=sizes[chosen],
                    marker=marker,
                    depthshade=False,
                    c=signed_relevance(jet)[chosen],
                    cmap="RdBu_r",
                    norm=node_norm(jet),
                    edgecolors=rim[chosen] if rim is not None else "black",
                    linewidths=np.where(rim[chosen] == B_HADRON_COLOR, 2.2, 0.6) if rim is not None else 0.6,
                    alpha=0.95,
                )
        colorbar = ax.figure.colorbar(nodes, ax=ax, shrink=0.5, pad=0.1, extend="both")
        colorbar.set_label(f"track relevance (sum over features), logit {jet.target}", fontsize=10)
        lift = 0.07 * (np.ptp(positions[:, 2]) or 1.0)
        for index in labelled_tracks(jet):
            x, y, z = positions[index]
            ax.text(
                x,
                y,
                z + lift,
                jet.track_labels()[index],
                fontsize=10,
                fontweight="bold",
                ha="center",
                zorder=10,
                bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
            )
        ax.computed_zorder = False  # the numbers over every node, not sorted into the scene by depth
        for set_label, label in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), axis_labels, strict=True):
            set_label(
                label.replace("η_rel", r"$\eta_{rel}$")
                .replace("φ_rel", r"$\phi_{rel}$")
                .replace("p_T", "$p_T$"),
                fontsize=12,
                labelpad=10,
            )
        if jet.has_kinematics:
            side = eta_phi_half_width(jet)
            ax.set(xlim=(-side, side), ylim=(-side, side))
        ax.set_box_aspect((1.0, 1.0, HEIGHT_RATIO))
        ax.minorticks_off()
        ax.tick_params(labelsize=9)
        ax.set_title(jet.title, fontsize=12)
        ax.legend(  # below the box, off the tracks
            handles=_legend_handles(jet),
            loc="upper center",
            bbox_to_anchor=(0.5, 0.02),
            ncols=2,
            fontsize=10,
            frameon=False,
        )
        if jet.walk_relevance is not None:
            draw_walks(ax, jet)
    return ax.figure


def _legend_handles(jet: JetRelevance) -> list[Line2D]:
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color="lightgrey",
            markeredgecolor="black",
            label="track: size grows with ‖R‖, number = heatmap column",
        )
    ]
    if jet.from_b is not None and jet.from_b.any():
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                color="lightgrey",
                markeredgecolor=B_HADRON_COLOR,
                markeredgewidth=2.2,
                label="track from b-hadron decay",
            )
        )
    kinds = set(track_kind(jet))
    handles += [
        Line2D([], [], ls="", marker=MARKERS[kind][0], color="white", markeredgecolor="black", label=kind)
        for kind in ("muon", "electron")
        if kind in kinds
    ]
    return handles


def jet_graph_plotly(jet: JetRelevance, *, edge_threshold: float | None = None) -> go.Figure:
    """The same jet graph as an interactive plotly figure (rotate, zoom, hover a track for its values).

    Same encoding as :func:`jet_graph`: colour = signed relevance, orange rim = b-hadron track, the numbers
    of the most relevant tracks above their nodes (every track's on hover), drop lines to the η-φ plane, the
    most significant edges coloured by significance, Δη and Δφ on one scale. Marker traces carry
    ``[track number, x, y, z]`` per point in ``customdata`` so that a page can ring a track across figures.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is coloured; default: the jet's top 2% of edges.
    """
    positions, axis_labels = _positions(jet)
    significant = jet.significant_edges(edge_threshold)
    figure = go.Figure()

    def lines(segments: np.ndarray, name: str, line: dict, **options: object) -> None:
        gaps = np.full((len(segments), 1, 3), np.nan)
        x, y, z = np.concatenate([segments, gaps], axis=1).reshape(-1, 3).T
        figure.add_trace(
            go.Scatter3d(x=x, y=y, z=z, mode="lines", name=name, hoverinfo="skip", line=line, **options)
        )

    floor = positions[:, 2].min() if not jet.has_kinematics else 0.0
    drops = np.stack([positions, np.column_stack([positions[:, :2], np.full(jet.num_tracks, floor)])], 1)
    lines(drops, "drop lines to the η-φ plane", {"color": "rgba(0,0,0,0.35)", "width": 2, "dash": "dot"})
    if (~significant).any():
        lines(
            _edge_segments(jet, positions, ~significant),
            "other edges",
            {"color": "rgba(90,90,90,0.35)", "width": 2},
        )
    if significant.any():
        segments = _edge_segments(jet, positions, significant)
        # A line's colour varies along its points: each segment's two ends and the gap share its value.
        value = np.repeat(100 * jet.edge_significance[significant], 3)
        norm = edge_norm(jet, significant)
        colorbar = {
            "title": {"text": f"edge<br>significance [%]<br>(uniform 1/E: {uniform_significance(jet):.2g})"},
            "x": 1.0,
            "len": 0.45,
            "y": 0.25,
        }
        scale = [[i / (len(EDGE_COLORS) - 1), color] for i, color in enumerate(EDGE_COLORS)]
        line = {"color": value, "colorscale": scale, "cmin": norm.vmin, "cmax": norm.vmax, "width": 6}
        lines(
            segments,
            "most significant edges",
            line | {"showscale": True, "colorbar": colorbar},
            showlegend=False,
        )
        # a line coloured along its points shows a black legend swatch: the legend gets one of the top colour
        lines(np.full((1, 2, 3), np.nan), "most significant edges", {"color": EDGE_COLORS[-1], "width": 6})
    names, relevance = merged_relevance(jet)
    top_feature = [feature_label(names[i]) for i in np.argmax(np.abs(relevance), axis=1)]
    signed = signed_relevance(jet)
    hover = [
        f"track {t}<br>ΣR = {r:+.3g}, ‖R‖ = {n:.3g}<br>top feature: {f}"
        + (f"<br>p<sub>T</sub> = {pt:.1f} GeV" if jet.pt is not None else "")
        for t, r, n, f, pt in zip(
            jet.track,
            signed,
            jet.node_relevance,
            top_feature,
            jet.pt if jet.pt is not None else jet.track,
            strict=True,
        )
    ]
    sizes = _node_sizes(jet, 8.0, 34.0)
    kinds = track_kind(jet)
    from_b = jet.from_b if jet.from_b is not None else np.zeros(jet.num_tracks, dtype=bool)
    limit = node_norm(jet).vmax
    first = True
    for kind, (_, symbol) in MARKERS.items():
        for is_b in (False, True):
            chosen = (kinds == kind) & (from_b == is_b)
            if not chosen.any():
                continue
            figure.add_trace(
                go.Scatter3d(
                    x=positions[chosen, 0],
                    y=positions[chosen, 1],
                    z=positions[chosen, 2],
                    mode="markers",
                    customdata=np.column_stack([jet.track[chosen], positions[chosen]]).tolist(),
                    name=(kind if kind != "hadron" else "track") + (" from b-hadron decay" if is_b else ""),
                    marker={
                        "size": sizes[chosen],
                        "symbol": symbol,
                        "color": signed[chosen],
                        "colorscale": "RdBu",
                        "reversescale": True,
                        "cmin": -limit,
                        "cmax": limit,
                        "showscale": first,
                        "colorbar": {"title": {"text": "track ΣR"}, "x": 1.0, "len": 0.45, "y": 0.75},
                        "line": {"color": B_HADRON_COLOR if is_b else "black", "width": 6 if is_b else 1},
                        "opacity": 1.0,
                    },
                    hovertext=np.asarray(hover, dtype=object)[chosen],
                    hoverinfo="text",
                )
            )
            first = False
    # Numbers above the most relevant tracks, lifted clear of their markers; the others on hover.
    chosen = labelled_tracks(jet)
    lift = 0.06 * (np.ptp(positions[:, 2]) or 1.0)
    figure.add_trace(
        go.Scatter3d(
            x=positions[chosen, 0],
            y=positions[chosen, 1],
            z=positions[chosen, 2] + lift,
            mode="text",
            text=[f"<b>{jet.track_labels()[i]}</b>" for i in chosen],
            textfont={"size": 13},
            name="numbers of the most relevant tracks",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    ranges = {}
    if jet.has_kinematics:
        side = eta_phi_half_width(jet)
        ranges = {"xaxis_range": [-side, side], "yaxis_range": [-side, side]}
    figure.update_layout(
        template="plotly",
        title={"text": jet.title.replace("\n", "<br>"), "x": 0.02, "font": {"size": 14}},
        height=680,
        margin={"l": 0, "r": 0, "t": 60, "b": 0},
        legend={"orientation": "h", "x": 0.0, "y": 0.0, "yanchor": "top"},
        scene={
            "aspectmode": "manual",
            "aspectratio": {"x": 1.0, "y": 1.0, "z": HEIGHT_RATIO},
            **ranges,
            **{
                f"{axis}axis_title": label.replace("_rel", "<sub>rel</sub>").replace("p_T", "p<sub>T</sub>")
                for axis, label in zip("xyz", axis_labels, strict=True)
            },
        },
    )
    return figure if jet.walk_relevance is None else add_walks_plotly(figure, jet)


# --- relevant walks (hepxai explain --walks K): drawn over either figure, only where the file has them ---

# RdBu's ends: the walk pushes the explained logit up (True) or down (False)
WALK_COLORS = {True: "#b2182b", False: "#2166ac"}
WALK_NOTE = "dashed: top walks track i → track j → jet (red: for, blue: against; ring: self walk j → j)"


def _walk_widths(jet: JetRelevance, thinnest: float, thickest: float) -> np.ndarray:
    magnitude = np.abs(jet.walk_relevance)
    return thinnest + (thickest - thinnest) * magnitude / (magnitude.max(initial=0.0) or 1.0)


def draw_walks(ax: Axes, jet: JetRelevance) -> None:
    """Draw the jet's top walks on a 3D axes of :func:`jet_graph`: a dashed line from track ``i`` to track
    ``j`` ending in a dot at ``j``, a ring around ``j`` for a self walk; width grows with ``|R|``."""
    positions, _ = _positions(jet)
    widths = _walk_widths(jet, 1.0, 5.0)
    for source, target, relevance, width in zip(
        jet.walk_source, jet.walk_target, jet.walk_relevance, widths, strict=True
    ):
        color = WALK_COLORS[bool(relevance >= 0)]
        if source == target:
            ring = {"facecolors": "none", "edgecolors": color, "linewidths": 1.5}
            ax.scatter(*positions[target], s=60 * width**2, **ring)
            continue
        ax.plot(*positions[[source, target]].T, color=color, lw=width, ls="--", alpha=0.85)
        ax.scatter(*positions[target], s=12 * width, color=color, depthshade=False)
    ax.text2D(0.0, -0.02, WALK_NOTE, transform=ax.transAxes, fontsize=9)


def add_walks_plotly(figure: go.Figure, jet: JetRelevance) -> go.Figure:
    """Add the jet's top walks to a figure of :func:`jet_graph_plotly`: a dashed line per walk ``i → j``
    with a dot at ``j``, an open ring around ``j`` for a self walk; width grows with ``|R|``; hover: R."""
    positions, _ = _positions(jet)
    widths = _walk_widths(jet, 2.0, 10.0)
    for number, (source, target, relevance, width) in enumerate(
        zip(jet.walk_source, jet.walk_target, jet.walk_relevance, widths, strict=True)
    ):
        color = WALK_COLORS[bool(relevance >= 0)]
        hover = f"walk {jet.track[source]} → {jet.track[target]} → jet<br>R = {relevance:+.3g}"
        points = positions[[target]] if source == target else positions[[source, target]]
        figure.add_trace(
            go.Scatter3d(
                x=points[:, 0],
                y=points[:, 1],
                z=points[:, 2],
                mode="markers" if source == target else "lines+markers",
                line={"color": color, "width": width, "dash": "dash"},
                marker={
                    "size": [3 * width] if source == target else [0, 1.5 * width],
                    "symbol": "circle-open" if source == target else "circle",
                    "color": color,
                },
                name="top walks i → j → jet",
                legendgroup="walks",
                showlegend=number == 0,
                hovertext=[hover] * len(points),
                hoverinfo="text",
            )
        )
    return figure
