"""Jets through the tracker: the CMS covariance parametrisation, lifetime signs of fitted tracks, and the
default (tracker) file read back with the CMS schema, its measured features varying."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepxai.cli import main
from hepxai.data import load_schema, read_jets
from hepxai.data.simulate import impact, pileup, tracker

MEASURED = (
    "track_dptdpt",
    "track_detadeta",
    "track_dphidphi",
    "track_dxydxy",
    "track_dzdz",
    "track_dxydz",
    "track_dphidxy",
    "track_dlambdadz",
    "track_normchi2",
    "track_lostInnerHits",
    "track_quality",
    "track_drminsv",
    "track_VTX_ass",
    "track_fromPV",
    "track_puppiw",
)


def test_covariance_in_the_cms_parametrisation_on_a_hand_case() -> None:
    # tan(lambda) = 0.75: cos(lambda) = 0.8, d cos(lambda) / d tan(lambda) = -0.75 * 0.8^3 = -0.384
    parameters = np.array([[0.3, 10.0, 0.1, 0.75, 0.5]])  # d0, z0 (mm), phi, tan(lambda), q/pT
    covariance = np.diag([4e-4, 9e-4, 1e-6, 1e-6, 1e-4])[None].copy()
    covariance[0, 0, 2] = covariance[0, 2, 0] = -2e-5  # cov(d0, phi), mm rad
    cms = tracker.cms_covariance(parameters, covariance)[0]
    assert cms[0, 0] == pytest.approx(0.64 * 1e-4 + (0.5 * 0.384) ** 2 * 1e-6)  # var(q/p)
    assert cms[1, 1] == pytest.approx(0.8**4 * 1e-6)  # var(lambda) = cos^4 var(tan lambda)
    assert cms[2, 2] == pytest.approx(1e-6)
    assert cms[3, 3] == pytest.approx(4e-6)  # var(dxy), cm^2
    assert cms[2, 3] == pytest.approx(-2e-6)  # cov(phi, dxy), rad cm
    assert cms[4, 4] == pytest.approx(0.08**2 * 9e-4 + 0.384**2 * 1e-6)  # var(dsz), dsz = z0 cos(lambda)
    assert cms[1, 4] == pytest.approx(0.64 * -0.384 * 1e-6)  # cov(lambda, dsz) through tan(lambda)
    assert cms[3, 4] == 0.0
    features = tracker.covariance_features(
        tracker.Tracks(*(np.zeros(1),) * 4, cms[None], *(np.zeros(1),) * 3)
    )
    assert features["track_dlambdadz"][0] == cms[1, 4]
    assert features["track_dptdpt"][0] == cms[0, 0]


def test_fitted_track_lifetime_sign_follows_the_jet_axis() -> None:
    # a track along x whose perigee lies 100 um to its left (+y) and 200 um up in z
    reference = np.array([[0.0, 0.01, 0.02]])
    p3 = np.array([[5.0, 0.0, 0.0]])
    errors = np.array([0.001]), np.array([0.002])
    pv = np.zeros(3)
    ahead = impact.impact_parameters(reference, p3, *errors, pv, np.array([1.0, 1.0, 1.0]), 1e-6)
    assert ahead.dxy[0] == pytest.approx(0.01)
    assert ahead.dz[0] == pytest.approx(0.02)
    assert ahead.sip2d[0] == pytest.approx(0.01)  # the perigee lies on the jet's side: positive
    assert ahead.sip3d[0] == pytest.approx(np.hypot(0.01, 0.02))
    behind = impact.impact_parameters(reference, p3, *errors, pv, np.array([1.0, -1.0, -1.0]), 1e-6)
    assert behind.sip2d[0] == pytest.approx(-0.01)
    assert behind.sip3d[0] < 0
    assert behind.dxy[0] == ahead.dxy[0]  # the geometric sign ignores the jet
    # sigma(ip3d)^2 = (dxy^2 s_xy^2 + dz^2 s_z^2 + 2 dxy dz cov) / ip3d^2 at sin(theta) = 1
    s_xy_sq = 0.001**2 + impact.PRIMARY_VERTEX_RESOLUTION_CM[0] ** 2
    s_z_sq = 0.002**2 + impact.PRIMARY_VERTEX_RESOLUTION_CM[2] ** 2
    expected = (0.01**2 * s_xy_sq + 0.02**2 * s_z_sq + 2 * 0.01 * 0.02 * 1e-6) / (0.01**2 + 0.02**2)
    assert ahead.sip3d_error[0] == pytest.approx(np.sqrt(expected))


@pytest.mark.parametrize(("jet_x", "sign"), [(1.0, 1.0), (-1.0, -1.0)])
def test_a_track_fitted_from_its_hits_gets_the_lifetime_sign_of_its_displacement(
    jet_x: float, sign: float
) -> None:
    """Two 10 GeV pions made 2 mm downstream along x, at a small angle, beside four prompt ones that make
    the primary vertex at the origin: their lines pass it at dxy = -0.2 / sqrt(101) cm (geometric sign),
    and the lifetime sign is + for a jet along x, - against."""
    phi = np.array([0.1, 0.1, 0.5, 1.5, 2.5, -2.0])
    p3 = np.stack([10 * np.cos(phi), 10 * np.sin(phi), np.full(6, 2.0)], axis=1)
    momentum = np.concatenate([p3, np.sqrt(np.sum(p3**2, axis=1) + 0.13957**2)[:, None]], axis=1)
    production = np.zeros((6, 3))
    production[:2, 0] = 0.2
    measured = tracker.measure_jet_tracks(
        tracker.Tracker(),
        momentum,
        np.array([1.0, -1.0, 1.0, -1.0, 1.0, -1.0]),
        np.array([211, -211, 211, -211, 211, -211]),
        production,
        jet_direction=np.array([jet_x, 0.0, 0.0]),
        rng=np.random.default_rng(3),
    )
    assert measured is not None
    displaced = np.flatnonzero(measured.particle < 2)
    assert len(displaced) == 2
    expected = -0.2 * np.sin(0.1)
    ips = measured.ips
    assert np.all(np.abs(ips.dxy[displaced] - expected) < 5 * ips.dxy_error[displaced])
    assert np.all(np.sign(ips.sip2d[displaced]) == sign)
    assert np.all(np.sign(ips.sip3d[displaced]) == sign)


@pytest.fixture(scope="module")
def tracker_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tracker") / "jets.root"
    arguments = ["-q", "data", "simulate", "--signal", "10", "--background", "10"]
    with pytest.MonkeyPatch.context() as patch:  # a library of non-diffractive events initialises faster
        patch.setattr(pileup, "LIBRARY_PROCESS", "SoftQCD:nonDiffractive = on")
        assert main([*arguments, "--out", str(out), "--workers", "1", "--seed", "4"]) == 0
    return out


def test_tracker_file_reads_back_with_the_cms_schema(tracker_file: Path) -> None:
    jets = read_jets(tracker_file, load_schema("cms_hbb"), progress=False)
    assert len(jets) == 20
    assert np.all(np.isfinite(jets.features))


def test_every_measured_feature_varies(tracker_file: Path) -> None:
    with uproot.open(tracker_file) as file:
        tree = file["deepntuplizer/tree"].arrays(library="ak")
    values = {name: ak.to_numpy(ak.flatten(tree[name])) for name in MEASURED}
    for name in MEASURED:
        assert len(np.unique(values[name])) > 1, name
    assert np.all(values["track_dxydxy"] > 0)
    assert np.all(values["track_dzdz"] > 0)
    assert set(np.unique(values["track_lostInnerHits"])) <= {-1, 0, 1, 2}
    assert set(np.unique(values["track_quality"])) <= {1, 5}
    assert set(np.unique(values["track_VTX_ass"])) <= {0, 1, 4, 5, 6, 7}
    assert set(np.unique(values["track_fromPV"])) <= {1, 2, 3}  # NoPV tracks are left out of the jets
    assert set(np.unique(values["track_puppiw"])) <= {0, 1}
    assert set(np.unique(values["track_fromPV"])) <= {1, 2, 3}


def test_reconstructed_jets_pass_the_jet_cuts_and_hold_their_tracks(tracker_file: Path) -> None:
    """The jets are reclustered from tracks and calorimeter-smeared particles; the cuts apply to them."""
    with uproot.open(tracker_file) as file:
        branches = ["fj_pt", "fj_sdmass", "fj_mass", "track_ptrel"]
        tree = file["deepntuplizer/tree"].arrays(branches, library="ak")
    assert np.all(ak.to_numpy(tree["fj_pt"]) > 300)
    assert np.all(ak.to_numpy(tree["fj_sdmass"]) <= ak.to_numpy(tree["fj_mass"]) + 1e-3)
    assert np.all(ak.to_numpy(ak.sum(tree["track_ptrel"], axis=1)) < 1.0)


def test_decays_in_flight_leave_displaced_tracks(tracker_file: Path) -> None:
    """K0S, Lambda and heavy-flavour decay products keep their production vertex: some tracks start
    centimetres from the beam line, and no long-lived neutral hadron is among the tracks."""
    with uproot.open(tracker_file) as file:
        tree = file["deepntuplizer/tree"].arrays(["track_vx", "track_vy", "track_pdgId"], library="ak")
    radius = np.hypot(ak.to_numpy(ak.flatten(tree["track_vx"])), ak.to_numpy(ak.flatten(tree["track_vy"])))
    assert np.any(radius > 1.0)
    assert not np.isin(np.abs(ak.to_numpy(ak.flatten(tree["track_pdgId"]))), [310, 3122]).any()
