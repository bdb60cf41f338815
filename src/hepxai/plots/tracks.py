"""Displays of reconstructed tracks: one particle's edges coloured by score, one edge's explanation, one
hit–supernode assignment's explanation, the tracking efficiency against pT and η, and the supernodes of a
hierarchical model against the particles.

The track display draws, in x-y and r-z, the hits of one particle and every graph edge touching them: its
true edges solid, the fake ones dashed, coloured by the edge classifier's score. Beside them, the relevance
of one edge's explanation: the hits and edges around the explained edge whose relevance reaches 2% of the
largest, coloured by it (red pushes the logit up, blue down), the explained edge drawn thick.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from torch_geometric.data import Data

from hepxai.explain.edge_relevance import EdgeRelevance
from hepxai.plots.style import plot_style

if TYPE_CHECKING:
    from hepxai.metrics.tracking import BinnedEfficiency

GREY = "#9c9ca1"
TRACK_COLOR = "#e42536"
VISIBLE = 0.02
_EDGE_STYLES = (("solid", "true edges"), ("dashed", "fake edges"))
"""Relevance below this share of the largest |relevance| of an explanation is drawn grey."""


def track_display(
    event: Data, scores: np.ndarray, particle_id: int, relevance: EdgeRelevance | None = None
) -> Figure:
    """x-y and r-z views of one particle's hits and edges, coloured by score; with ``relevance``, a second
    row shows that edge explanation's relevance on the hits and edges around it.

    Args:
        event: The graph with ``pos``, ``edge_index``, ``y`` and ``particle_id``.
        scores: ``[num_edges]`` edge scores.
        particle_id: The particle whose track is drawn.
        relevance: An explanation of one edge (:func:`hepxai.explain.edge_relevance.explain_edge`).
    """
    pos = event.pos.double().numpy()
    coordinates = {"x-y": pos[:, :2], "r-z": np.stack([pos[:, 2], np.hypot(pos[:, 0], pos[:, 1])], 1)}
    edge_index = event.edge_index.numpy()
    truth = event.y.numpy() > 0.5
    on_track = event.particle_id.numpy() == particle_id
    touching = on_track[edge_index[0]] | on_track[edge_index[1]]
    rows = 1 if relevance is None else 2
    with plot_style():
        figure = Figure(figsize=(15, 6.5 * rows))
        axes = figure.subplots(rows, 2, squeeze=False)
        score_norm = colors.Normalize(0.0, 1.0)
        for ax, (view, xy) in zip(axes[0], coordinates.items(), strict=True):
            ax.scatter(*xy[~on_track].T, s=2, c=GREY, rasterized=True, label="other hits")
            for chosen, (style, label) in zip(
                (touching & truth, touching & ~truth), _EDGE_STYLES, strict=True
            ):
                _edges(ax, xy, edge_index[:, chosen], scores[chosen], "viridis", score_norm, style, label)
            ax.scatter(*xy[on_track].T, s=40, c=TRACK_COLOR, zorder=3, label=f"particle {particle_id}")
            _zoom(ax, xy[on_track | _ends(edge_index[:, touching], len(on_track))], equal=view == "x-y")
            ax.set_title(f"event {_event_id(event)}, {view}: edges by score")
            _legend_below(ax, _score_handles(ax))
        figure.colorbar(ScalarMappable(score_norm, "viridis"), ax=axes[0].tolist(), label="edge score")
        if relevance is not None:
            _relevance_row(figure, axes[1], coordinates, edge_index, relevance, event)
        for row in axes:
            row[0].set(xlabel="x [mm]", ylabel="y [mm]")
            row[1].set(xlabel="z [mm]", ylabel="r [mm]")
    return figure


def efficiency_figure(binned: Mapping[str, Mapping[str, BinnedEfficiency]]) -> Figure:
    """Tracking efficiency of reconstructable particles against pT and η, one series per chain.

    Args:
        binned: Chain name → ``{"pt": ..., "eta": ...}`` efficiencies in bins with their intervals
            (:func:`hepxai.tracking.evaluation.binned_efficiencies`).
    """
    with plot_style():
        figure = Figure(figsize=(14, 6.0))
        pt_ax, eta_ax = figure.subplots(1, 2)  # one legend below both, off the points
        for name, chain in binned.items():
            for ax, quantity in ((pt_ax, "pt"), (eta_ax, "eta")):
                result = chain[quantity]
                centres = (result.edges[1:] + result.edges[:-1]) / 2
                error = np.stack([result.efficiency - result.lower, result.upper - result.efficiency])
                ax.errorbar(
                    centres,
                    result.efficiency,
                    yerr=error,
                    xerr=np.diff(result.edges) / 2,
                    fmt="o",
                    label=name,
                )
        pt_ax.set(xscale="log", xlabel="particle $p_T$ [GeV]", ylabel="tracking efficiency")
        eta_ax.set(xlabel="particle $\\eta$", ylabel="tracking efficiency")
        pt_ax.legend(loc="upper left", bbox_to_anchor=(0.0, -0.14), ncols=len(binned), frameon=False)
    return figure


def supernodes_figure(
    supernodes: np.ndarray, particles: np.ndarray, reconstructable: np.ndarray, *, title: str = ""
) -> Figure:
    """Supernodes per event against the event's particles with hits and its reconstructable particles, with
    the line y = x (as many supernodes as particles).

    Args:
        supernodes: ``[events]`` supernodes the pooling made.
        particles: ``[events]`` particles with hits.
        reconstructable: ``[events]`` reconstructable particles.
        title: Drawn above the axes (the chain's name).
    """
    with plot_style():
        figure = Figure(figsize=(7.5, 7.0))
        ax = figure.subplots()
        ax.scatter(reconstructable, supernodes, s=30, c="C1", label="reconstructable particles")
        ax.scatter(
            particles,
            supernodes,
            s=70,
            facecolors="none",
            edgecolors="C0",
            zorder=3,
            label="particles with hits",
        )
        values = np.concatenate([supernodes, particles, reconstructable]).astype(np.float64)
        high = 1.05 * max(values.max(initial=0.0), 1.0)
        ax.plot([0.0, high], [0.0, high], c="black", lw=1, ls="--", label="y = x")
        ax.set(
            xlim=(0.0, high), ylim=(0.0, high), xlabel="particles per event", ylabel="supernodes per event"
        )
        ax.set_aspect("equal", adjustable="box")
        ax.set_title(title, fontsize=14)
        ax.legend(loc="upper left", frameon=False)
    return figure


def assignment_display(
    event: Data,
    relevance: EdgeRelevance,
    hit: int,
    members: np.ndarray,
    *,
    supernode: int,
    score: float,
    truth: bool,
) -> Figure:
    """x-y and r-z views of one hit–supernode assignment's explanation: the hits and graph edges whose
    relevance reaches 2% of the largest, coloured by it; the explained hit starred, the supernode's member
    hits (its component) ringed in black, the hit's own particle's hits ringed in red.

    Args:
        event: The graph with ``pos``, ``edge_index`` and ``particle_id``.
        relevance: The explanation of the assignment (``relevance.edge`` is its index).
        hit: Row of the explained hit.
        members: ``[num_hits]`` bool, the hits of the supernode's component.
        supernode: The supernode's index.
        score: The assignment's score.
        truth: Whether the hit's particle is the one matched to the supernode.
    """
    pos = event.pos.double().numpy()
    coordinates = {"x-y": pos[:, :2], "r-z": np.stack([pos[:, 2], np.hypot(pos[:, 0], pos[:, 1])], 1)}
    edge_index = event.edge_index.numpy()
    particle = int(event.particle_id[hit])
    own = event.particle_id.numpy() == particle
    if particle == 0:  # a noise hit: itself only
        own = np.zeros(len(pos), bool)
        own[hit] = True
    with plot_style():
        figure = Figure(figsize=(15, 7.0))
        axes = figure.subplots(1, 2)
        norm, shown_hits = _relevance_views(axes, coordinates, edge_index, relevance)
        for ax, (view, xy) in zip(axes, coordinates.items(), strict=True):
            ax.scatter(*xy[own].T, s=150, facecolors="none", edgecolors=TRACK_COLOR, lw=1.2, zorder=4,
                       label=f"hits of particle {particle}")  # fmt: skip
            ax.scatter(*xy[members].T, s=90, facecolors="none", edgecolors="black", lw=1.2, zorder=4,
                       label=f"supernode {supernode}'s hits")  # fmt: skip
            ax.scatter(
                *xy[hit], s=400, marker="*", c="gold", edgecolors="black", zorder=5, label="explained hit"
            )
            _zoom(ax, xy[shown_hits | members | own], equal=view == "x-y")
            ax.set_title(
                f"{view}: {relevance.method} of hit → supernode {supernode}\n"
                f"(assignment {relevance.edge}, score {score:.3f}, logit {relevance.logit:.2f}, "
                f"{'true' if truth else 'false'})",
                fontsize=14,
            )
            _legend_below(ax, ax.get_legend_handles_labels()[0])
        axes[0].set(xlabel="x [mm]", ylabel="y [mm]")
        axes[1].set(xlabel="z [mm]", ylabel="r [mm]")
        _relevance_colorbar(figure, axes, norm)
    return figure


def _relevance_row(
    figure: Figure,
    axes: np.ndarray,
    coordinates: dict[str, np.ndarray],
    edge_index: np.ndarray,
    relevance: EdgeRelevance,
    event: Data,
) -> None:
    """Hits and edges whose |relevance| reaches ``VISIBLE`` of the largest one, coloured by relevance."""
    norm, shown_hits = _relevance_views(axes, coordinates, edge_index, relevance)
    explained = edge_index[:, relevance.edge]
    for ax, (view, xy) in zip(axes, coordinates.items(), strict=True):
        ax.plot(*xy[explained].T, c="black", lw=4, zorder=2, label=f"explained edge {relevance.edge}")
        ends = _ends(edge_index[:, [relevance.edge]], len(shown_hits))
        _zoom(ax, xy[shown_hits | ends], equal=view == "x-y")
        ax.set_title(
            f"{view}: {relevance.method} of edge {relevance.edge} "
            f"(logit {relevance.logit:.2f}, y = {int(event.y[relevance.edge] > 0.5)})"
        )
        _legend_below(ax, ax.get_legend_handles_labels()[0])
    _relevance_colorbar(figure, axes, norm)


def _relevance_views(
    axes: np.ndarray, coordinates: dict[str, np.ndarray], edge_index: np.ndarray, relevance: EdgeRelevance
) -> tuple[colors.Normalize, np.ndarray]:
    """In each view, the hits and graph edges whose |relevance| reaches ``VISIBLE`` of the largest one,
    coloured by it, the other hits grey; returns the colour scale and the hits drawn in colour."""
    hit = relevance.hit
    geometry = relevance.edge_geometry if relevance.edge_attr is not None else np.zeros(edge_index.shape[1])
    scale = max(np.abs(hit).max(), np.abs(geometry).max(), 1e-12)
    shown_hits = np.abs(hit) >= VISIBLE * scale
    shown_edges = np.abs(geometry) >= VISIBLE * scale
    norm = colors.TwoSlopeNorm(0.0, -scale, scale)
    for ax, xy in zip(axes, coordinates.values(), strict=True):
        ax.scatter(*xy[~shown_hits].T, s=2, c=GREY, rasterized=True)
        _edges(ax, xy, edge_index[:, shown_edges], geometry[shown_edges], "coolwarm", norm, "solid", None)
        order = np.argsort(np.abs(hit[shown_hits]))  # the most relevant hits on top
        ax.scatter(
            *xy[shown_hits][order].T,
            s=40,
            c=hit[shown_hits][order],
            cmap="coolwarm",
            norm=norm,
            edgecolors="black",
            linewidths=0.3,
            zorder=3,
        )
    return norm, shown_hits


def _relevance_colorbar(figure: Figure, axes: np.ndarray, norm: colors.Normalize) -> None:
    figure.colorbar(
        ScalarMappable(norm, "coolwarm"),
        ax=list(axes),
        label=f"relevance (hits: features summed; edges: geometry); |R| < {VISIBLE:.0%} of max in grey",
    )


def _score_handles(ax: Axes) -> list:
    """The legend of a score view: the hit markers as drawn, edges as lines of the score map's middle colour
    (a line collection's own swatch has the default colour, not its map's)."""
    middle = colormaps["viridis"](0.5)
    edges = [Line2D([], [], color=middle, ls=style, lw=1.8, label=label) for style, label in _EDGE_STYLES]
    return [h for h in ax.get_legend_handles_labels()[0] if not isinstance(h, LineCollection)] + edges


def _legend_below(ax: Axes, handles: list) -> None:
    """A legend under the axes, off the hits and edges."""
    ax.legend(
        handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.12), ncols=4, fontsize=11, frameon=False
    )


def _edges(
    ax: Axes,
    xy: np.ndarray,
    edge_index: np.ndarray,
    values: np.ndarray,
    cmap: str,
    norm: colors.Normalize,
    style: str,
    label: str | None,
) -> None:
    segments = np.stack([xy[edge_index[0]], xy[edge_index[1]]], axis=1)
    lines = LineCollection(segments, cmap=cmap, norm=norm, linestyles=style, linewidths=1.8, label=label)
    lines.set_array(values)
    ax.add_collection(lines)


def _ends(edge_index: np.ndarray, num_hits: int) -> np.ndarray:
    mask = np.zeros(num_hits, bool)
    mask[edge_index.reshape(-1)] = True
    return mask


def _zoom(ax: Axes, xy: np.ndarray, *, equal: bool = False) -> None:
    """Limits around ``xy``; ``equal``: both axes span the same length and are drawn to one scale."""
    if len(xy) == 0:
        return
    low, high = xy.min(axis=0), xy.max(axis=0)
    if equal:
        centre, half = (low + high) / 2, (high - low).max() / 2
        low, high = centre - half, centre + half
        ax.set_aspect("equal", adjustable="box")
    margin = np.maximum(0.08 * (high - low), 5.0)
    ax.set_xlim(low[0] - margin[0], high[0] + margin[0])
    ax.set_ylim(low[1] - margin[1], high[1] + margin[1])


def _event_id(event: Data) -> int:
    return int(event.event_id.reshape(-1)[0]) if "event_id" in event else -1
