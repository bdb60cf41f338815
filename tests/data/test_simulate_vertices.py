"""The secondary-vertex finder on hand-built tracks: a displaced three-track vertex is found with the sum of
its tracks' momenta, prompt tracks stay out, a K0S-like pair is vetoed, and drminsv follows its definition."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.data.simulate import vertices

ERROR = 0.002  # cm, every track's dxy error


def _tracks(origins: np.ndarray, momenta: np.ndarray, charges: list[float]) -> dict[str, np.ndarray]:
    """Tracks through ``origins`` along ``momenta`` (pion mass), with their perigee w.r.t. the z axis as
    reference point and a significance of |ip3d| / ERROR."""
    p3 = np.asarray(momenta, float)
    unit = p3 / np.linalg.norm(p3, axis=1, keepdims=True)
    origins = np.asarray(origins, float)
    along = -np.einsum("ij,ij->i", origins, unit)  # the line's point nearest the origin
    reference = origins + along[:, None] * unit
    energy = np.sqrt(np.sum(p3**2, axis=1) + 0.13957**2)
    return {
        "reference": reference,
        "momentum": np.concatenate([p3, energy[:, None]], axis=1),
        "charge": np.array(charges),
        "significance": np.linalg.norm(reference, axis=1) / ERROR,
        "dxy_error": np.full(len(p3), ERROR),
        "primary_vertex": np.zeros(3),
    }


def test_a_displaced_vertex_is_found_and_prompt_tracks_are_not_in_it() -> None:
    decay = np.array([0.5, 0.05, 0.1])  # 5 mm along x
    momenta = [[20.0, 1.0, 0.5], [15.0, -0.5, 1.0], [10.0, 0.5, -0.5], [30.0, 1.0, 0.5], [25.0, -2.0, 1.0]]
    origins = [decay, decay, decay, np.zeros(3), np.zeros(3)]
    tracks = _tracks(np.array(origins), np.array(momenta), [1.0, -1.0, 1.0, 1.0, -1.0])
    found = vertices.secondary_vertices(**tracks)
    assert len(found) == 1
    assert found[0] == pytest.approx(tracks["momentum"][:3].sum(axis=0))
    dr = vertices.drminsv(tracks["momentum"], found)
    assert np.all(dr <= 0)
    assert np.all(dr > -vertices.DR_CAP)  # every track within 0.8 of the vertex direction
    assert np.all(vertices.drminsv(tracks["momentum"], np.zeros((0, 4))) == 0)


def test_an_opposite_charge_pair_of_k0s_mass_is_vetoed() -> None:
    # two pions of 5 GeV with an opening angle giving m = 0.4976 GeV
    p, mass = 5.0, vertices.K0S_MASS
    energy = np.hypot(p, 0.13957)
    cos_open = (2 * 0.13957**2 + 2 * energy**2 - mass**2) / (2 * p**2)  # m^2 = 2 m_pi^2 + 2 (E^2 - p^2 cos)
    half = np.arccos(cos_open) / 2
    momenta = [[p * np.cos(half), p * np.sin(half), 0.0], [p * np.cos(half), -p * np.sin(half), 0.0]]
    decay = np.array([2.0, 0.0, 0.0])
    tracks = _tracks(np.array([decay, decay]), np.array(momenta), [1.0, -1.0])
    pair = tracks["momentum"].sum(axis=0)
    assert np.sqrt(pair[3] ** 2 - pair[:3] @ pair[:3]) == pytest.approx(mass, abs=1e-3)
    assert len(vertices.secondary_vertices(**tracks)) == 0
    same_sign = _tracks(np.array([decay, decay]), np.array(momenta), [1.0, 1.0])
    assert len(vertices.secondary_vertices(**same_sign)) == 1
