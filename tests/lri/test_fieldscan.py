"""The field scan: curvature against the field, Σ's axis and eigen-ratio, the origin fit, the command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.cli import main
from hepxai.data.detector.geometry import load_geometry
from hepxai.data.detector.propagation import Particles, propagate
from hepxai.data.pointsets.actstrack import ActsTrackSettings, settings_record
from hepxai.data.pointsets.store import save_pointset
from hepxai.lri.directions import axis_angle, fit_power_law, fit_through_origin, principal_axes
from hepxai.lri.fieldscan import COLUMNS


def sagitta(bfield: float) -> float:
    """The largest distance in x-y of a 100 GeV muon's barrel hits from the chord of its first and last."""
    particles = Particles(
        vertex=np.zeros((1, 3)),
        momentum=np.array([[100.0, 0.0, 0.0]]),
        charge=np.array([1.0]),
        mass=np.array([0.10566]),
    )
    points = propagate(particles, load_geometry(), bfield).position[:, :2]
    chord = points[-1] - points[0]
    offsets = points - points[0]
    return float(np.abs(offsets[:, 0] * chord[1] - offsets[:, 1] * chord[0]).max() / np.linalg.norm(chord))


def test_the_sagitta_of_a_stiff_track_grows_in_proportion_to_the_field() -> None:
    at_two = sagitta(2.0)
    # s = L² / (8R), R = pT / (0.3 B) = 166.7 m at 2 T; the chord from the 32 mm to the 1020 mm layer: 0.73 mm
    assert at_two == pytest.approx(988.0**2 / (8 * 1000 * 100 / (0.3 * 2.0)), rel=0.01)
    for bfield in (6.0, 20.0):
        assert sagitta(bfield) / at_two == pytest.approx(bfield / 2.0, rel=0.01)


def rotated_covariance(angle_deg: float, lengths: tuple[float, float]) -> torch.Tensor:
    angle = math.radians(angle_deg)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    return (rotation @ torch.diag(torch.tensor(lengths) ** 2) @ rotation.T).unsqueeze(0)


@pytest.mark.parametrize(
    ("direction_deg", "expected"), [(30.0, 0.0), (210.0, 0.0), (120.0, 90.0), (75.0, 45.0)]
)
def test_the_angle_to_sigmas_first_axis_ignores_its_sign(direction_deg: float, expected: float) -> None:
    axis, ratio = principal_axes(rotated_covariance(30.0, (2.0, 0.5)))
    direction = torch.tensor([[math.cos(math.radians(direction_deg)), math.sin(math.radians(direction_deg))]])
    assert float(axis_angle(axis.float(), direction)) == pytest.approx(expected, abs=1e-3)
    assert float(ratio) == pytest.approx(4.0)


def test_the_origin_fit_recovers_a_proportional_law_and_rejects_a_constant() -> None:
    field = torch.tensor([2.0, 6.0, 10.0, 14.0, 20.0])
    exact = fit_through_origin(field, 0.3 * field)
    assert exact.slope == pytest.approx(0.3)
    assert exact.r_squared == pytest.approx(1.0)
    noisy = fit_through_origin(field, 0.3 * field + torch.tensor([0.1, -0.1, 0.05, -0.05, 0.0]))
    assert 0.9 < noisy.r_squared < 1.0
    # slope = Σxy/Σx² = 2·52/736 for points around 2: the line misses them, worse than their mean
    flat = fit_through_origin(field, torch.tensor([2.1, 1.9, 2.0, 2.1, 1.9]))
    assert flat.slope == pytest.approx((2.1 * 2 + 1.9 * 6 + 2.0 * 10 + 2.1 * 14 + 1.9 * 20) / 736)
    assert flat.r_squared < 0


def test_the_power_law_finds_the_sign_of_the_exponent() -> None:
    field = torch.tensor([2.0, 6.0, 10.0, 14.0, 20.0])
    proportional = fit_power_law(field, 0.3 * field)
    assert proportional.exponent == pytest.approx(1.0)
    assert proportional.prefactor == pytest.approx(0.3)
    assert proportional.r_squared == pytest.approx(1.0)
    inverse = fit_power_law(field, 19.0 / field)
    assert inverse.exponent == pytest.approx(-1.0)
    assert inverse.prefactor == pytest.approx(19.0)
    # a ratio that does not follow B at all: exponent ~ 0, the line explains little
    flat = fit_power_law(field, torch.tensor([2.1, 1.9, 2.0, 2.1, 1.9]))
    assert abs(flat.exponent) < 0.05
    assert flat.r_squared < 0.5


def hits(count: int, seed: int) -> list:
    """ActsTrack-like samples: 12 hits on a few radial lines, the first 4 true in positives."""
    from torch_geometric.data import Data

    rng = np.random.default_rng(seed)
    samples = []
    for index in range(count):
        label = index % 2
        angle = rng.uniform(-np.pi, np.pi, 12)
        radius = rng.uniform(0.01, 0.3, 12)
        pos = np.stack([radius * np.cos(angle), radius * np.sin(angle), rng.uniform(-0.5, 0.5, 12)], 1)
        truth = np.zeros(12, bool)
        truth[:4] = bool(label)
        if label:
            pos[:4, :2] = np.outer(np.linspace(0.02, 0.3, 4), [1.0, 0.5])
        momentum = np.concatenate([pos[:, :2] * 100 + rng.normal(0, 1, (12, 2)), np.ones((12, 1))], 1)
        samples.append(
            Data(
                x=torch.ones(12, 1),
                pos=torch.tensor(pos, dtype=torch.float32),
                y=torch.tensor([label]),
                node_truth=torch.from_numpy(truth),
                momentum=torch.tensor(momentum, dtype=torch.float32),
            )
        )
    return samples


def test_the_fieldscan_command_writes_the_table_of_every_method_and_field(tmp_path: Path) -> None:
    settings = settings_record(ActsTrackSettings(samples=40, bfield=2.0))
    save_pointset(
        tmp_path / "data" / "B2T",
        "actstrack",
        {"train": hits(24, 1), "valid": hits(8, 2), "test": hits(8, 3)},
        {"settings": settings},
    )
    results = tmp_path / "fieldscan.csv"
    argv = ["-q", "lri", "fieldscan", "--fields", "2", "--data", str(tmp_path / "data"), "--out"]
    argv += [str(tmp_path / "runs"), "--results", str(results), "--samples", "40"]
    assert main([*argv, "--f-epochs", "1", "--g-epochs", "1"]) == 0
    table = pd.read_csv(results)
    assert tuple(table.columns) == COLUMNS
    assert set(zip(table["method"], table["subset"], strict=True)) == {
        (method, subset)
        for method in ("lri_gaussian", "gradgeo", "radial", "random")
        for subset in ("all", "low_pt")
    }
    everything = table[table["subset"] == "all"]
    assert (everything["points"] == 4 * 4).all()  # four true hits in each of the four positive test samples
    assert table["angle_mean"].between(0, 90).all()
    assert table.loc[table["method"] == "lri_gaussian", "eigen_ratio"].ge(1).all()
    assert results.with_suffix(".json").is_file()
    assert (tmp_path / "runs" / "B2T" / "g" / "last.pt").is_file()
