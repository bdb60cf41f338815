"""Hit displays: Σ projected onto x-y and r-z, ellipse axes from its eigenvalues, true hits ringed."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import EllipseCollection

from hepxai.plots.hit_display import ellipse_axes, hit_display, rz_covariance, transverse_covariance


def _rotation_z(degrees: float) -> np.ndarray:
    angle = np.radians(degrees)
    return np.array(
        [[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]], dtype=float
    )


def test_ellipse_axes_are_the_square_roots_of_the_eigenvalues():
    # Variances 9 and 1 along axes turned by 30° in x-y: a 1σ ellipse 6 wide and 2 high at 30°.
    rotation = _rotation_z(30.0)
    covariance = rotation @ np.diag([9.0, 1.0, 4.0]) @ rotation.T
    widths, heights, angles = ellipse_axes(transverse_covariance(covariance[None]))
    np.testing.assert_allclose(widths, [6.0])
    np.testing.assert_allclose(heights, [2.0])
    assert angles[0] % 180 == pytest.approx(30.0)
    widths, heights, _ = ellipse_axes(transverse_covariance(covariance[None]), sigmas=2.0)
    np.testing.assert_allclose([widths[0], heights[0]], [12.0, 4.0])


def test_rz_covariance_is_the_first_order_propagation():
    covariance = np.array([[4.0, 1.0, 0.5], [1.0, 9.0, -2.0], [0.5, -2.0, 16.0]])
    pos = np.array([[0.0, 2.0, 5.0], [3.0, 4.0, 0.0]])
    projected = rz_covariance(pos, np.stack([covariance, covariance]))
    # On the y axis r moves with y: the (z, r) covariance is that of (z, y).
    np.testing.assert_allclose(projected[0], [[16.0, -2.0], [-2.0, 9.0]])
    # At (3, 4): r = 0.6 x + 0.8 y, Var r = 0.36·4 + 0.64·9 + 2·0.48·1, Cov(z, r) = 0.6·0.5 + 0.8·(−2).
    np.testing.assert_allclose(projected[1], [[16.0, -1.3], [-1.3, 1.44 + 5.76 + 0.96]])


def test_display_draws_one_ellipse_per_hit_and_rings_the_true_hits():
    rng = np.random.default_rng(0)
    pos = rng.normal(0.0, 300.0, size=(7, 3))
    truth = np.array([True, False, True, False, False, False, True])
    covariance = np.stack(
        [
            _rotation_z(15.0 * i) @ np.diag([25.0 * (i + 1), 4.0, 9.0]) @ _rotation_z(15.0 * i).T
            for i in range(7)
        ]
    )
    importance = np.linspace(0.0, 1.0, 7)
    figure = hit_display(pos, importance, truth, covariance=covariance, title="sample 0")
    transverse, zoomed, rz = figure.axes[:3]
    for ax, view_covariance in (
        (transverse, transverse_covariance(covariance)),
        (zoomed, transverse_covariance(covariance)),
        (rz, rz_covariance(pos, covariance)),
    ):
        (ellipses,) = [c for c in ax.collections if isinstance(c, EllipseCollection)]
        widths, heights, _ = ellipse_axes(view_covariance)
        np.testing.assert_allclose(ellipses.get_widths(), widths)
        np.testing.assert_allclose(ellipses.get_heights(), heights)
        rings = [c for c in ax.collections if not isinstance(c, EllipseCollection)][-1]
        assert len(rings.get_offsets()) == truth.sum()
    np.testing.assert_allclose(
        ellipses.get_offsets(), np.stack([pos[:, 2], np.hypot(pos[:, 0], pos[:, 1])], 1)
    )
    np.testing.assert_allclose(rings.get_offsets(), np.stack([pos[truth, 2], np.hypot(*pos[truth, :2].T)], 1))
    # The x-y marginal of hit i has variances 25(i + 1) and 4: its ellipse is 10√(i + 1) by 4.
    np.testing.assert_allclose(
        next(c for c in transverse.collections if isinstance(c, EllipseCollection)).get_widths(),
        10 * np.sqrt(np.arange(1, 8)),
    )
    # The zoom shows the transverse plane out to 1.15 times the radius of the innermost third of the hits.
    zoom = 1.15 * np.quantile(np.hypot(pos[:, 0], pos[:, 1]), 1 / 3)
    np.testing.assert_allclose([zoomed.get_xlim(), zoomed.get_ylim()], [[-zoom, zoom], [-zoom, zoom]])
    without = hit_display(pos, importance, truth)
    assert not any(isinstance(c, EllipseCollection) for ax in without.axes for c in ax.collections)


def test_a_cloud_is_drawn_in_its_coordinate_planes():
    rng = np.random.default_rng(1)
    pos = rng.uniform(-1.0, 1.0, size=(6, 3))
    covariance = np.stack([np.diag([0.01 * (i + 1), 0.04, 0.09]) for i in range(6)])
    truth = np.array([True, True, False, False, False, False])
    figure = hit_display(pos, np.linspace(0, 1, 6), truth, covariance=covariance, unit="", geometry="cloud")
    axes = figure.axes[:3]
    assert [ax.get_title() for ax in axes] == ["x-y", "x-z", "y-z"]
    assert [(ax.get_xlabel(), ax.get_ylabel()) for ax in axes] == [("x", "y"), ("x", "z"), ("y", "z")]
    (ellipses,) = [c for c in axes[2].collections if isinstance(c, EllipseCollection)]
    np.testing.assert_allclose(ellipses.get_offsets(), pos[:, 1:])
    # the y-z marginal of point i has variances 0.04 and 0.09: its ellipse is 0.6 by 0.4
    np.testing.assert_allclose(ellipses.get_widths(), np.full(6, 0.6))
    np.testing.assert_allclose(ellipses.get_heights(), np.full(6, 0.4))
