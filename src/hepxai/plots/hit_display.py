"""Display of one point cloud with a method's per-point importance: tracker hits, or a plain cloud.

Each point coloured by its importance, the ground-truth points (the Z's muons in ActsTrack, the planted
track of the synthetic clouds) ringed. Tracker hits (``geometry="tracker"``) get the views of a tracker:
the transverse plane (x-y), the same zoomed on the inner layers, and r-z. A cloud that no detector made
(``geometry="cloud"``, the synthetic sets) gets its three coordinate planes, x-y, x-z and y-z: a radius
or a zoom on inner layers would mean nothing there. For LRI-Gaussian, each point's learned noise
covariance Σ is drawn as its 1σ ellipse projected onto the view: in a coordinate plane the marginal of
its two coordinates; in r-z the covariance of (z, r) to first order, ``J Σ Jᵀ`` with
``J = ∂(z, r)/∂(x, y, z)`` at the hit. A small ellipse is a point whose position the model needs
precisely; the KL term pulls the unimportant ones towards the prior's width.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from matplotlib import colormaps, colors
from matplotlib.axes import Axes
from matplotlib.cm import ScalarMappable
from matplotlib.collections import EllipseCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from hepxai.plots.style import SIGNAL_COLOR, plot_style

Geometry = Literal["tracker", "cloud"]
IMPORTANCE_CMAP = "viridis"
ZOOM_QUANTILE, ZOOM_MARGIN = 1 / 3, 1.15
"""The middle view zooms on the transverse plane out to 1.15 times the radius of the innermost third of
the hits, where the tracks cross the dense inner layers and ellipses of a few mm can be seen."""


def transverse_covariance(covariance: np.ndarray) -> np.ndarray:
    """``[points, 2, 2]`` the covariance of (x, y): the marginal of ``[points, 3, 3]`` Σ."""
    return plane_covariance(covariance, (0, 1))


def plane_covariance(covariance: np.ndarray, axes: tuple[int, int]) -> np.ndarray:
    """``[points, 2, 2]`` the marginal covariance of the two coordinates ``axes`` of ``[points, 3, 3]`` Σ."""
    index = np.asarray(axes)
    return covariance[:, index[:, None], index[None, :]]


def rz_covariance(pos: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``[points, 2, 2]`` the covariance of (z, r), ``r = √(x² + y²)``, to first order at each position.

    Args:
        pos: ``[points, 3]`` positions (x, y, z).
        covariance: ``[points, 3, 3]`` covariance of (x, y, z) in the same units.
    """
    radius = np.hypot(pos[:, 0], pos[:, 1])
    safe = np.where(radius > 0, radius, 1.0)
    jacobian = np.zeros((len(pos), 2, 3))
    jacobian[:, 0, 2] = 1.0  # ∂z/∂z
    jacobian[:, 1, 0] = np.where(radius > 0, pos[:, 0] / safe, 1.0)  # ∂r/∂x (on the axis: along x)
    jacobian[:, 1, 1] = np.where(radius > 0, pos[:, 1] / safe, 0.0)  # ∂r/∂y
    return jacobian @ covariance @ jacobian.transpose(0, 2, 1)


def ellipse_axes(covariance: np.ndarray, *, sigmas: float = 1.0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Full widths along the major and minor axes and the major axis' angle (degrees) of 2D ellipses.

    Args:
        covariance: ``[points, 2, 2]`` symmetric positive semi-definite.
        sigmas: The ellipse's size in standard deviations: width ``2·sigmas·√λ`` per eigenvalue ``λ``.
    """
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
    eigenvalues = np.clip(eigenvalues, 0.0, None)
    major = eigenvectors[:, :, 1]
    angle = np.degrees(np.arctan2(major[:, 1], major[:, 0]))
    return 2 * sigmas * np.sqrt(eigenvalues[:, 1]), 2 * sigmas * np.sqrt(eigenvalues[:, 0]), angle


def hit_display(
    pos: np.ndarray,
    importance: np.ndarray,
    truth: np.ndarray,
    *,
    covariance: np.ndarray | None = None,
    unit: str = "mm",
    title: str = "",
    importance_label: str = "importance",
    point_name: str = "hit",
    geometry: Geometry = "tracker",
) -> Figure:
    """Three views of one sample's points coloured by importance, true points ringed, Σ as 1σ ellipses.

    Args:
        pos: ``[points, 3]`` positions (x, y, z), in ``unit``.
        importance: ``[points]`` the colour of each point (e.g. its rank within the sample, in [0, 1]).
        truth: ``[points]`` bool, the ground-truth points.
        covariance: ``[points, 3, 3]`` LRI-Gaussian's noise covariance in ``unit``² (omit for other methods).
        unit: The length unit of the axes ("" for unitless positions).
        title: Figure title.
        importance_label: Colour bar label.
        point_name: What a point is called in the legend.
        geometry: ``"tracker"``: x-y, x-y zoomed on the inner layers, r-z; ``"cloud"``: x-y, x-z, y-z.
    """
    truth = np.asarray(truth, bool)
    views = _tracker_views(pos, covariance, unit) if geometry == "tracker" else _cloud_views(pos, covariance)
    suffix = f" [{unit}]" if unit else ""
    norm = colors.Normalize(0.0, 1.0)
    cmap = colormaps[IMPORTANCE_CMAP]
    with plot_style():
        figure = Figure(figsize=(22, 7.2))
        axes = figure.subplots(1, 3, gridspec_kw={"width_ratios": [1, 1, 1.2]})
        order = np.argsort(importance)  # the most important points on top
        for ax, view in zip(axes, views, strict=True):
            if view.covariance is not None:
                _ellipses(ax, view.xy, view.covariance, cmap(norm(importance)))
            xy = view.xy[order]
            ax.scatter(*xy.T, c=importance[order], cmap=cmap, norm=norm, s=22, edgecolors="none", zorder=3)
            ax.scatter(
                *view.xy[truth].T, s=90, facecolors="none", edgecolors=SIGNAL_COLOR, linewidths=1.4, zorder=4
            )
            ax.set_title(view.title, fontsize=13)
            ax.set(xlabel=f"{view.labels[0]}{suffix}", ylabel=f"{view.labels[1]}{suffix}")
            if view.equal_aspect:
                ax.set(aspect="equal")
            if view.limit is not None:
                ax.set(xlim=(-view.limit, view.limit), ylim=(-view.limit, view.limit))
        axes[0].legend(  # below the axes, off the points
            handles=_legend_handles(covariance is not None, point_name),
            loc="upper center",
            bbox_to_anchor=(0.5, -0.13),
            ncols=2,
            fontsize=11,
            frameon=False,
        )
        figure.colorbar(ScalarMappable(norm, cmap), ax=axes.tolist(), label=importance_label, shrink=0.9)
        if title:
            figure.suptitle(title, fontsize=13)
    return figure


@dataclass(frozen=True)
class _View:
    title: str
    xy: np.ndarray  # [points, 2] the plotted coordinates
    covariance: np.ndarray | None  # [points, 2, 2] of those coordinates
    labels: tuple[str, str]
    equal_aspect: bool = True
    limit: float | None = None  # both axes in [-limit, limit]


def _tracker_views(pos: np.ndarray, covariance: np.ndarray | None, unit: str) -> list[_View]:
    radius = np.hypot(pos[:, 0], pos[:, 1])
    transverse = None if covariance is None else transverse_covariance(covariance)
    zoom = ZOOM_MARGIN * float(np.quantile(radius, ZOOM_QUANTILE))
    zoomed = f"x-y, |x|, |y| < {zoom:.3g}{' ' + unit if unit else ''}"
    return [
        _View("x-y", pos[:, :2], transverse, ("x", "y")),
        _View(zoomed, pos[:, :2], transverse, ("x", "y"), limit=zoom),
        _View(
            "r-z",
            np.stack([pos[:, 2], radius], 1),
            None if covariance is None else rz_covariance(pos, covariance),
            ("z", "r"),
            equal_aspect=False,
        ),
    ]


def _cloud_views(pos: np.ndarray, covariance: np.ndarray | None) -> list[_View]:
    names = ("x", "y", "z")
    return [
        _View(
            f"{names[first]}-{names[second]}",
            pos[:, [first, second]],
            None if covariance is None else plane_covariance(covariance, (first, second)),
            (names[first], names[second]),
        )
        for first, second in ((0, 1), (0, 2), (1, 2))
    ]


def _ellipses(ax: Axes, xy: np.ndarray, covariance: np.ndarray, edge_colors: np.ndarray) -> None:
    widths, heights, angles = ellipse_axes(covariance)
    ax.add_collection(
        EllipseCollection(
            widths,
            heights,
            angles,
            units="xy",
            offsets=xy,
            offset_transform=ax.transData,
            facecolors="none",
            edgecolors=edge_colors,
            linewidths=0.9,
            zorder=2,
        )
    )
    ax.autoscale_view()


def _legend_handles(with_ellipses: bool, point_name: str) -> list[Line2D]:
    ring = {"ls": "", "marker": "o", "markerfacecolor": "none"}
    handles = [Line2D([], [], markersize=10, color=SIGNAL_COLOR, label=f"ground-truth {point_name}", **ring)]
    if with_ellipses:
        handles.append(Line2D([], [], markersize=12, color="grey", label="1σ of the learned noise Σ", **ring))
    return handles
