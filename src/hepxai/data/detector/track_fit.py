"""The transverse momentum of a track from its hits: a least-squares circle fit in the x-y plane."""

from __future__ import annotations

import numpy as np

from hepxai.data.detector.propagation import C_LIGHT


def fit_circle(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre ``[2]`` and radius of the circle through ``points [N, 2]`` (N >= 3), in the points' units.

    The algebraic fit of Kasa: ``x^2 + y^2 + D x + E y + F = 0`` by linear least squares, solved in
    coordinates centred on the points' mean for conditioning. Unbiased enough for tracks whose hits span a
    large arc; the first step of most track fits.
    """
    mean = points.mean(axis=0)
    x, y = (points - mean).T
    design = np.stack([x, y, np.ones_like(x)], axis=1)
    (d, e, f), *_ = np.linalg.lstsq(design, -(x**2 + y**2), rcond=None)
    centre = np.array([-d / 2, -e / 2])
    return centre + mean, float(np.sqrt(centre @ centre - f))


def fitted_pt(points: np.ndarray, bfield: float, charge: float = 1.0) -> float:
    """pT in GeV of a particle of ``charge`` whose hits ``points [N, 2]`` (mm) lie on a circle, field in T."""
    return C_LIGHT * abs(charge) * bfield * fit_circle(points)[1]
