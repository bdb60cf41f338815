"""Tracking figures draw the numbers they are given (the efficiency points sit on the given bins) and
import no tracking job."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np

from hepxai import plots
from hepxai.metrics.tracking import binned_efficiency
from hepxai.plots.tracks import efficiency_figure


def test_efficiency_points_are_the_given_bins() -> None:
    pt_edges = np.array([0.5, 0.75, 1.0, 100.0])
    pt = binned_efficiency(np.array([0.6, 0.6, 0.9, 5.0]), np.array([True, False, True, True]), pt_edges)
    eta = binned_efficiency(np.array([0.1]), np.array([True]), np.array([-1.0, 0.0, 1.0]))
    figure = efficiency_figure({"chain": {"pt": pt, "eta": eta}})
    pt_axis, eta_axis = figure.axes
    (pt_points,) = pt_axis.lines
    np.testing.assert_allclose(pt_points.get_xdata(), [0.625, 0.875, 50.5])  # bin centres from 0.5 GeV
    np.testing.assert_allclose(pt_points.get_ydata(), [0.5, 1.0, 1.0])
    np.testing.assert_allclose(eta_axis.lines[0].get_xdata(), [-0.5, 0.5])


def test_plots_import_no_tracking_job() -> None:
    for path in Path(plots.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            modules = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            assert not [name for name in modules if name.startswith("hepxai.tracking")], path.name


def test_track_display_legend_is_off_the_data_and_shows_the_edge_colours() -> None:
    import torch
    from matplotlib import colormaps, colors
    from torch_geometric.data import Data

    from hepxai.plots.tracks import track_display

    # four hits of particle 1 on a line, one noise hit; true edges along the track and one fake edge
    pos = torch.tensor([[30.0, 0, 0], [60, 5, 10], [90, 12, 20], [120, 20, 30], [40, 80, 5]])
    event = Data(
        pos=pos,
        edge_index=torch.tensor([[0, 1, 2, 0], [1, 2, 3, 4]]),
        y=torch.tensor([1.0, 1.0, 1.0, 0.0]),
        particle_id=torch.tensor([1, 1, 1, 1, 0]),
    )
    figure = track_display(event, np.array([0.9, 0.8, 0.7, 0.2]), 1)
    xy, rz = figure.axes[:2]
    assert xy.get_aspect() == 1.0  # x-y undistorted
    for ax in (xy, rz):
        legend = ax.get_legend()
        assert legend.get_bbox_to_anchor().transformed(ax.transAxes.inverted()).y1 < 0  # below the axes
        lines = {t.get_text(): h for t, h in zip(legend.get_texts(), legend.legend_handles, strict=True)}
        for label in ("true edges", "fake edges"):
            assert colors.to_hex(lines[label].get_color()) == colors.to_hex(colormaps["viridis"](0.5))
