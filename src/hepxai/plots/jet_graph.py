"""3D jet graph: tracks at (η_rel, φ_rel, p_T), size ∝ ‖relevance‖, significant edges red (seed Figs. 7-13).

:func:`jet_graph` draws it with matplotlib (PNG/PDF); :func:`jet_graph_plotly` builds the same picture as an
interactive plotly figure for the HTML report. Where a file has no track kinematics the tracks sit on a ring
in their order, with the track position as height, and the axes say so.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from mpl_toolkits.mplot3d.art3d import Line3DCollection

from hepxai.explain.jet_relevance import JetRelevance
from hepxai.plots.style import new_figure, plot_style

TRACK_COLOR = "#5790fc"
B_HADRON_COLOR = "#f89c20"
EDGE_COLOR = "#e42536"
_MARKERS = {"hadron": ("o", "circle"), "muon": ("^", "diamond"), "electron": ("s", "square")}


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


def _track_kind(jet: JetRelevance) -> np.ndarray:
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


def jet_graph(jet: JetRelevance, *, edge_threshold: float | None = None, ax: Axes | None = None) -> Figure:
    """Draw a jet as a 3D graph of its tracks and edges.

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is red; default: the jet's top 2% of edges.
        ax: A 3D axes to draw on; a new figure otherwise.
    """
    if ax is None:
        _, ax = new_figure(10.0, 8.5, projection="3d")
    with plot_style():
        positions, axis_labels = _positions(jet)
        significant = jet.significant_edges(edge_threshold)
        if len(significant):
            ax.add_collection3d(
                Line3DCollection(
                    _edge_segments(jet, positions, ~significant), colors="grey", linewidths=0.4, alpha=0.12
                )
            )
            strength = jet.edge_significance[significant] / jet.edge_significance[significant].max()
            ax.add_collection3d(
                Line3DCollection(
                    _edge_segments(jet, positions, significant),
                    colors=EDGE_COLOR,
                    linewidths=0.8 + 2.2 * strength,
                    alpha=0.85,
                )
            )
        sizes = _node_sizes(jet, 15.0, 600.0)
        colors = np.where(jet.from_b, B_HADRON_COLOR, TRACK_COLOR) if jet.from_b is not None else TRACK_COLOR
        kinds = _track_kind(jet)
        for kind, (marker, _) in _MARKERS.items():
            chosen = kinds == kind
            if chosen.any():
                ax.scatter(
                    *positions[chosen].T,
                    s=sizes[chosen],
                    marker=marker,
                    depthshade=False,
                    c=np.broadcast_to(colors, (jet.num_tracks,))[chosen],
                    edgecolors="black",
                    linewidths=0.6,
                    alpha=0.9,
                )
        lift = 0.06 * (np.ptp(positions[:, 2]) or 1.0)
        for index in np.argsort(jet.node_relevance)[-3:]:
            x, y, z = positions[index]
            ax.text(x, y, z + lift, f"track {jet.track[index]}", fontsize=10, fontweight="bold")
        for set_label, label in zip((ax.set_xlabel, ax.set_ylabel, ax.set_zlabel), axis_labels, strict=True):
            set_label(
                label.replace("η_rel", r"$\eta_{rel}$")
                .replace("φ_rel", r"$\phi_{rel}$")
                .replace("p_T", "$p_T$"),
                fontsize=12,
                labelpad=10,
            )
        ax.minorticks_off()
        ax.tick_params(labelsize=9)
        ax.set_title(jet.caption, fontsize=14)
        ax.legend(handles=_legend_handles(jet, significant), loc="upper left", fontsize=9, frameon=True)
    return ax.figure


def _legend_handles(jet: JetRelevance, significant: np.ndarray) -> list[Line2D]:
    handles = [
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            color=TRACK_COLOR,
            markeredgecolor="black",
            label="track (size grows with ‖R‖)",
        )
    ]
    if jet.from_b is not None:
        handles.append(
            Line2D(
                [],
                [],
                ls="",
                marker="o",
                color=B_HADRON_COLOR,
                markeredgecolor="black",
                label="track from b-hadron decay",
            )
        )
    kinds = set(_track_kind(jet))
    handles += [
        Line2D([], [], ls="", marker=_MARKERS[kind][0], color="white", markeredgecolor="black", label=kind)
        for kind in ("muon", "electron")
        if kind in kinds
    ]
    if len(significant):
        handles += [
            Line2D([], [], color=EDGE_COLOR, label=f"edge significance: top {significant.sum()} edges"),
            Line2D([], [], color="grey", alpha=0.4, label="other edges"),
        ]
    return handles


def jet_graph_plotly(jet: JetRelevance, *, edge_threshold: float | None = None) -> go.Figure:
    """The same jet graph as an interactive plotly figure (rotate, zoom, hover a track for its values).

    Args:
        jet: One jet, from :func:`hepxai.explain.jet_relevance.jet_relevance`.
        edge_threshold: Edge significance above which an edge is red; default: the jet's top 2% of edges.
    """
    positions, axis_labels = _positions(jet)
    significant = jet.significant_edges(edge_threshold)
    figure = go.Figure()
    for mask, color, width, name in (
        (~significant, "rgba(128,128,128,0.15)", 1, "other edges"),
        (significant, EDGE_COLOR, 4, "most significant edges"),
    ):
        if mask.any():
            segments = _edge_segments(jet, positions, mask)
            gaps = np.full((len(segments), 1, 3), np.nan)
            x, y, z = np.concatenate([segments, gaps], axis=1).reshape(-1, 3).T
            figure.add_trace(
                go.Scatter3d(
                    x=x,
                    y=y,
                    z=z,
                    mode="lines",
                    name=name,
                    hoverinfo="skip",
                    line={"color": color, "width": width},
                )
            )
    top_feature = np.asarray(jet.feature_names)[np.argmax(np.abs(jet.relevance), axis=1)]
    hover = [
        f"track {t}<br>‖R‖ = {r:.3g}<br>top feature: {f}"
        + (f"<br>p_T = {pt:.1f} GeV" if jet.pt is not None else "")
        for t, r, f, pt in zip(
            jet.track,
            jet.node_relevance,
            top_feature,
            jet.pt if jet.pt is not None else jet.track,
            strict=True,
        )
    ]
    sizes = _node_sizes(jet, 4.0, 30.0)
    kinds = _track_kind(jet)
    from_b = jet.from_b if jet.from_b is not None else np.zeros(jet.num_tracks, dtype=bool)
    for kind, (_, symbol) in _MARKERS.items():
        for is_b in (False, True):
            chosen = (kinds == kind) & (from_b == is_b)
            if chosen.any():
                figure.add_trace(
                    go.Scatter3d(
                        x=positions[chosen, 0],
                        y=positions[chosen, 1],
                        z=positions[chosen, 2],
                        mode="markers",
                        name=kind + (" from b-hadron decay" if is_b else ""),
                        marker={
                            "size": sizes[chosen],
                            "symbol": symbol,
                            "color": B_HADRON_COLOR if is_b else TRACK_COLOR,
                            "line": {"color": "black", "width": 1},
                        },
                        hovertext=np.asarray(hover, dtype=object)[chosen],
                        hoverinfo="text",
                    )
                )
    figure.update_layout(
        template="plotly",
        title={"text": jet.caption, "x": 0.02},
        height=560,
        margin={"l": 0, "r": 0, "t": 40, "b": 0},
        legend={"x": 0.0, "y": 0.92},
        scene={
            f"{axis}axis_title": label.replace("_rel", "<sub>rel</sub>").replace("p_T", "p<sub>T</sub>")
            for axis, label in zip("xyz", axis_labels, strict=True)
        },
    )
    return figure
