"""Particles built directly (no Pythia) for the propagation and digitisation tests."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.data.detector.geometry import Geometry, load_geometry
from hepxai.data.detector.propagation import Particles

MUON_MASS = 0.105658


@pytest.fixture(scope="session")
def geometry() -> Geometry:
    return load_geometry()


def make_particles(
    pt: np.ndarray | float,
    eta: np.ndarray | float,
    phi: np.ndarray | float,
    charge: np.ndarray | float,
    vertex: np.ndarray | None = None,
    mass: float = MUON_MASS,
) -> Particles:
    """Particles from pT (GeV), eta, phi and charge, produced at ``vertex`` (the origin if None)."""
    pt, eta, phi, charge = np.broadcast_arrays(
        *(np.atleast_1d(np.asarray(v, np.float64)) for v in (pt, eta, phi, charge))
    )
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
    return Particles(
        vertex=np.zeros((len(pt), 3)) if vertex is None else vertex,
        momentum=momentum,
        charge=charge.copy(),
        mass=np.full(len(pt), mass),
    )
