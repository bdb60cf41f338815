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
