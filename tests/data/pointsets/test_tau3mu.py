"""The Tau3Mu-like samples from hand-made tracks: truth, the station's bending, the radius graph."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepxai.data.pointsets.tau3mu import LAYERS_M, Tau3MuSettings, Tracks, radius_graph, sample, station_hits
from hepxai.errors import InputError

PERFECT = Tau3MuSettings(
    layer_efficiency=1.0, eta_resolution=0.0, phi_resolution=0.0, bend_resolution=0.0, scattering=0.0
)


def tracks(pt: list[float], eta: list[float], phi: list[float], charge: list[float]) -> Tracks:
    pt_array = np.asarray(pt, float)
    return Tracks(pt_array, pt_array * np.sinh(eta), np.asarray(phi, float), np.asarray(charge, float))


def test_a_hit_bends_by_half_the_turn_of_its_helix_in_proportion_to_the_field() -> None:
    muon = tracks([2.0], [1.8], [0.3], [1.0])
    rng = np.random.default_rng(0)
    track, eta, phi, bend = station_hits(muon, PERFECT, rng)
    assert len(track) == len(LAYERS_M)  # every layer, efficiency 1
    pz = 2.0 * np.sinh(1.8)
    psi = 0.299792458 * 3.8 * np.asarray(LAYERS_M) / pz  # the helix's turn at each |z|
    np.testing.assert_allclose(bend, -psi / 2)
    np.testing.assert_allclose(phi, 0.3 - psi / 2)
    _, _, _, weaker = station_hits(muon, Tau3MuSettings(**{**PERFECT.__dict__, "bfield": 1.9}), rng)
    np.testing.assert_allclose(weaker, bend / 2)
    _, _, _, opposite = station_hits(tracks([2.0], [1.8], [0.3], [-1.0]), PERFECT, rng)
    np.testing.assert_allclose(opposite, -bend)
    # the hit sits on the chord 2R sin(ψ/2) from the beam, R = pT / (0.3 B)
    radius = 2 * 2.0 / (0.299792458 * 3.8) * np.sin(psi / 2)
    np.testing.assert_allclose(eta, np.arcsinh(np.asarray(LAYERS_M) / radius))


def test_soft_or_central_tracks_leave_no_hit() -> None:
    soft = tracks([0.5], [1.8], [0.0], [1.0])  # p = 1.6 GeV < 3 GeV
    central = tracks([20.0], [0.5], [0.0], [1.0])
    for track in (soft, central):
        assert len(station_hits(track, PERFECT, np.random.default_rng(0))[0]) == 0


def test_a_positive_holds_the_three_muons_hits_as_truth_and_a_radius_graph() -> None:
    rng = np.random.default_rng(1)
    signal = tracks([3.0, 2.5, 4.0], [1.7, 1.75, 1.65], [1.0, 1.05, 0.95], [1.0, -1.0, 1.0])
    pileup = tracks(
        [2.0, 5.0, 3.0, 2.2], [-1.6, 2.0, 1.5, -2.1], [-2.0, 0.1, 2.5, 1.2], [1.0, -1.0, -1.0, 1.0]
    )
    positive = sample(signal, pileup, PERFECT, rng)
    assert int(positive.y) == 1
    assert int(positive.node_truth.sum()) == 3 * len(LAYERS_M)
    assert int((~positive.node_truth).sum()) == 4 * len(LAYERS_M)
    assert positive.x.shape == (positive.num_nodes, 1)
    assert (positive.pos[:, 2] == 0).all()
    distance = torch.cdist(positive.pos, positive.pos)
    edges = {tuple(edge) for edge in positive.edge_index.t().tolist()}
    close = {tuple(pair) for pair in (distance < 1.0).nonzero().tolist()}
    assert edges == close
    assert all((i, i) in edges for i in range(positive.num_nodes))
    negative = sample(None, pileup, PERFECT, rng)
    assert int(negative.y) == 0
    assert not negative.node_truth.any()


def test_a_decay_with_a_muon_outside_the_station_makes_no_positive() -> None:
    signal = tracks([3.0, 2.5, 30.0], [1.7, 1.75, 0.3], [1.0, 1.05, 0.95], [1.0, -1.0, 1.0])
    pileup = tracks([2.0, 5.0], [-1.6, 2.0], [-2.0, 0.1], [1.0, -1.0])
    assert sample(signal, pileup, PERFECT, np.random.default_rng(0)) is None


def test_the_radius_graph_joins_exactly_the_pairs_closer_than_the_radius() -> None:
    pos = torch.tensor([[0.0, 0.0, 0.0], [0.6, 0.0, 0.0], [1.5, 0.0, 0.0]])
    assert sorted(map(tuple, radius_graph(pos).t().tolist())) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (1, 1),
        (1, 2),
        (2, 1),
        (2, 2),
    ]


def test_settings_out_of_range_are_refused_naming_the_field() -> None:
    with pytest.raises(InputError, match="field 'layer_efficiency'"):
        Tau3MuSettings(layer_efficiency=0.0).check()
