"""Simulated jets: schema validity, the physics checks of the generator, truth, and reproducibility."""

from __future__ import annotations

import re
from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepxai.cli import main
from hepxai.data import load_schema, read_jets
from hepxai.data.simulate import clustering, impact, simulate, tracks, truth
from hepxai.data.simulate.generation import make_pythia
from hepxai.errors import InputError

NUM_SIGNAL, NUM_BACKGROUND = 150, 150


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("simulated") / "jets.root"
    return simulate(
        path,
        num_signal=NUM_SIGNAL,
        num_background=NUM_BACKGROUND,
        seed=1,
        workers=2,
        tracker=False,
        progress=False,
    )


@pytest.fixture(scope="module")
def tree(simulated: Path) -> dict[str, ak.Array]:
    with uproot.open(simulated) as file:
        return file["deepntuplizer/tree"].arrays(library="ak")


@pytest.fixture(scope="module")
def track_branches(tree: dict[str, ak.Array]) -> dict[str, np.ndarray]:
    """Every per-track branch flattened over jets."""
    return {name: ak.to_numpy(ak.flatten(tree[name])) for name in tree.fields if tree[name].ndim == 2}


def test_file_has_every_branch_in_the_schema_with_its_type(simulated: Path) -> None:
    schema = load_schema("cms_hbb")
    with uproot.open(simulated) as file:
        branches = file[schema.tree]
        for name in (
            *schema.unique_features,
            *schema.spectators,
            "fj_mass",
            "fj_pvDz",
            "track_vx",
            "track_vy",
            "track_vz",
        ):
            assert branches[name].typename in ("float[]", "float"), name
        for name in (
            *schema.label_branches,
            "fj_isH",
            "fj_nbHadrons",
            "track_fromB",
            "track_fromPU",
            "track_pdgId",
        ):
            assert branches[name].typename in ("int32_t[]", "int32_t"), name
        assert branches.num_entries == NUM_SIGNAL + NUM_BACKGROUND


def test_reader_reads_every_jet_with_truth(simulated: Path) -> None:
    jets = read_jets(simulated, load_schema("cms_hbb"), progress=False)
    assert len(jets) == NUM_SIGNAL + NUM_BACKGROUND
    assert int(jets.label.sum()) == NUM_SIGNAL
    assert set(jets.track_truth) == {
        "track_fromB",
        "track_fromPU",
        "track_pdgId",
        "track_vx",
        "track_vy",
        "track_vz",
    }
    assert set(jets.jet_truth) == {"fj_isH", "fj_nbHadrons", "fj_mass", "fj_pvDz"}
    np.testing.assert_array_equal(jets.jet_truth["fj_isH"], jets.label)
    assert jets.num_tracks.min() >= 2
    assert jets.num_tracks.max() <= 60
    assert np.isfinite(jets.features).all()


def test_labels_are_exclusive_and_follow_the_b_hadron_count(tree: dict[str, ak.Array]) -> None:
    qcd = ["label_QCD_b", "label_QCD_bb", "label_QCD_c", "label_QCD_cc", "label_QCD_others"]
    is_higgs = ak.to_numpy(tree["label_H_bb"]) == 1
    qcd_sum = sum(ak.to_numpy(tree[name]) for name in qcd)
    np.testing.assert_array_equal(qcd_sum, ~is_higgs)
    np.testing.assert_array_equal(ak.to_numpy(tree["sample_isQCD"]), ~is_higgs)
    num_b = ak.to_numpy(tree["fj_nbHadrons"])
    assert (num_b[is_higgs] >= 2).all()  # both b hadrons of the Higgs decay are inside
    np.testing.assert_array_equal(ak.to_numpy(tree["label_QCD_bb"]) == 1, ~is_higgs & (num_b >= 2))
    np.testing.assert_array_equal(ak.to_numpy(tree["label_QCD_b"]) == 1, ~is_higgs & (num_b == 1))


def test_jets_and_tracks_pass_the_cuts(
    tree: dict[str, ak.Array], track_branches: dict[str, np.ndarray]
) -> None:
    assert ak.all(tree["fj_pt"] > 300)
    assert (track_branches["track_pt"] > 1).all()
    assert (np.abs(track_branches["trackBTag_Eta"]) < 2.5).all()
    assert (track_branches["track_charge"] != 0).all()
    sip = tree["trackBTag_Sip2dSig"]
    assert ak.all(sip[:, 1:] <= sip[:, :-1])  # sorted largest first, as in the CMS ntuples


def test_higgs_jets_have_the_higgs_mass_after_soft_drop(tree: dict[str, ak.Array]) -> None:
    is_higgs = ak.to_numpy(tree["fj_isH"]) == 1
    assert 110 < np.median(ak.to_numpy(tree["fj_sdmass"])[is_higgs]) < 135


def test_soft_drop_mass_never_exceeds_the_jet_mass(tree: dict[str, ak.Array]) -> None:
    soft_drop_mass, mass = ak.to_numpy(tree["fj_sdmass"]), ak.to_numpy(tree["fj_mass"])
    assert (soft_drop_mass <= mass * (1 + 1e-5) + 1e-4).all()


def test_soft_drop_grooms_qcd_jets(tree: dict[str, ak.Array]) -> None:
    is_qcd = ak.to_numpy(tree["sample_isQCD"]) == 1
    assert np.median(ak.to_numpy(tree["fj_sdmass"])[is_qcd]) < 0.5 * np.median(
        ak.to_numpy(tree["fj_mass"])[is_qcd]
    )


def test_higgs_jets_have_more_b_tracks(tree: dict[str, ak.Array]) -> None:
    from_b = ak.to_numpy(ak.sum(tree["track_fromB"], axis=1))
    is_higgs = ak.to_numpy(tree["fj_isH"]) == 1
    assert from_b[is_higgs].mean() > 3 * from_b[~is_higgs].mean()


def test_b_descendants_are_displaced(track_branches: dict[str, np.ndarray]) -> None:
    from_b = track_branches["track_fromB"] == 1
    displacement = np.abs(track_branches["track_dxy"])
    assert 0.01 < np.median(displacement[from_b]) < 0.04
    assert np.median(displacement[from_b]) > 3 * np.median(displacement[~from_b])
    significance = np.abs(track_branches["track_dxysig"])
    assert np.median(significance[from_b]) > 3 > np.median(significance[~from_b])


def test_prompt_tracks_are_smeared_around_zero(track_branches: dict[str, np.ndarray]) -> None:
    prompt = track_branches["track_fromB"] == 0
    pulls = track_branches["track_dxysig"][prompt]
    assert (track_branches["track_dxy"][prompt] != 0).all()
    assert 0.6 < np.median(np.abs(pulls)) / 0.6745 < 1.6  # Gaussian pulls: median |pull| = 0.6745 sigma


def test_significances_follow_their_definitions(track_branches: dict[str, np.ndarray]) -> None:
    np.testing.assert_allclose(
        track_branches["track_dxysig"],
        track_branches["track_dxy"] / np.sqrt(track_branches["track_dxydxy"]),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        track_branches["track_dzsig"],
        track_branches["track_dz"] / np.sqrt(track_branches["track_dzdz"]),
        rtol=1e-4,
        atol=1e-5,
    )
    np.testing.assert_allclose(
        np.abs(track_branches["trackBTag_Sip2dVal"]), np.abs(track_branches["track_dxy"]), rtol=1e-6
    )
    assert track_branches["trackBTag_Sip2dSig"].min() >= -1
    assert track_branches["trackBTag_Sip3dSig"].min() >= -1
    assert track_branches["trackBTag_PtRel"].max() <= 4
    assert (track_branches["trackBTag_JetDistVal"] <= 0).all()


def test_relative_kinematics_follow_their_definitions(
    tree: dict[str, ak.Array], track_branches: dict
) -> None:
    np.testing.assert_allclose(
        track_branches["track_deltaR"],
        np.hypot(track_branches["track_etarel"], track_branches["track_phirel"]),
        rtol=1e-5,
    )
    np.testing.assert_array_equal(track_branches["trackBTag_DeltaR"], track_branches["track_deltaR"])
    jet_pt = ak.to_numpy(ak.flatten(ak.broadcast_arrays(tree["fj_pt"], tree["track_pt"])[0]))
    np.testing.assert_allclose(track_branches["track_ptrel"] * jet_pt, track_branches["track_pt"], rtol=1e-5)
    ratio = track_branches["trackBTag_PParRatio"].astype(np.float64)
    well_conditioned = ratio < 0.999  # atanh amplifies float32 rounding near 1
    np.testing.assert_allclose(
        track_branches["trackBTag_EtaRel"][well_conditioned], np.arctanh(ratio[well_conditioned]), rtol=1e-4
    )
    assert (track_branches["track_erel"] <= 1).all()


def test_lepton_flags_agree_with_pdg_ids(track_branches: dict[str, np.ndarray]) -> None:
    pdg = np.abs(track_branches["track_pdgId"])
    np.testing.assert_array_equal(track_branches["track_isEl"] == 1, pdg == 11)
    np.testing.assert_array_equal(track_branches["track_isMu"] == 1, pdg == 13)
    np.testing.assert_array_equal(track_branches["track_isChargedHad"] == 1, (pdg != 11) & (pdg != 13))
    assert (track_branches["track_mass"][pdg > 100] == np.float32(0.1396)).all()


@pytest.mark.parametrize("workers", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_same_seed_same_file_other_seed_other_file(tmp_path: Path, workers: int) -> None:
    def arrays(name: str, seed: int) -> ak.Array:
        path = simulate(
            tmp_path / name,
            num_signal=6,
            num_background=6,
            seed=seed,
            workers=workers,
            tracker=False,
            progress=False,
        )
        with uproot.open(path) as file:
            return file["deepntuplizer/tree"].arrays(library="ak")

    first, again, other = arrays("a.root", 3), arrays("b.root", 3), arrays("c.root", 4)
    for name in first.fields:
        assert ak.all(first[name] == again[name]), name
    assert not ak.all(ak.num(first["track_pt"]) == ak.num(other["track_pt"])) or not ak.all(
        first["track_pt"] == other["track_pt"]
    )


def test_from_b_walk_agrees_with_is_ancestor() -> None:
    pythia = make_pythia("signal", seed=11, pthat_min=300.0)
    checked = 0
    for _ in range(4):
        assert pythia.next()
        event = pythia.event
        b_hadrons = [p.index() for p in event if truth.hadron_flavour(p.id()) == truth.BOTTOM]
        for particle in event:
            if particle.isFinal() and particle.isCharged():
                expected = any(particle.isAncestor(b) for b in b_hadrons)
                assert truth.descends_from_b_hadron(event, particle.index()) == expected
                checked += expected
    assert checked > 10


@pytest.mark.parametrize(
    ("pdg_id", "flavour"),
    [
        (521, 5),
        (-511, 5),
        (5122, 5),
        (10521, 5),
        (541, 5),
        (553, 0),
        (421, 4),
        (4122, 4),
        (443, 0),
        (211, 0),
        (5101, 0),
        (11, 0),
        (2212, 0),
    ],
)
def test_hadron_flavour(pdg_id: int, flavour: int) -> None:
    assert truth.hadron_flavour(pdg_id) == flavour


def test_soft_drop_removes_a_soft_wide_prong_and_keeps_a_balanced_pair() -> None:
    def particle(pt: float, eta: float, phi: float) -> list[float]:
        px, py, pz = pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)
        return [px, py, pz, np.sqrt(px**2 + py**2 + pz**2)]

    hard = [particle(200, 0.0, 0.0), particle(150, 0.05, 0.02)]
    soft_wide = np.array([*hard, particle(10, 0.5, 0.4)])  # z = 10 / 360 < 0.1: groomed away
    groomed = clustering.soft_drop(soft_wide)
    mass_of_hard = np.sqrt(max(np.sum(hard, axis=0)[3] ** 2 - np.sum(np.sum(hard, axis=0)[:3] ** 2), 0))
    assert groomed.mass == pytest.approx(mass_of_hard, rel=1e-9)
    balanced = np.array([particle(200, 0.0, 0.0), particle(100, 0.4, 0.3)])  # z = 1/3 passes
    result = clustering.soft_drop(balanced)
    assert len(result.subjets) == 2
    assert np.hypot(*result.subjets[0][:2]) == pytest.approx(200)


def test_impact_parameter_signs_on_a_hand_built_track(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(impact, "DXY_RESOLUTION_CM", (1e-9, 0.0))
    monkeypatch.setattr(impact, "DZ_RESOLUTION_CM", (1e-9, 0.0))
    # Made 1 mm along the jet (x), at a small angle: dxy = (-x py + y px) / pT = -0.1 * 1 / hypot(10, 1)
    momentum = np.array([[10.0, 1.0, 0.0, np.sqrt(101.0)]])
    result = impact.measure(
        momentum,
        np.array([[0.1, 0.0, 0.0]]),
        np.zeros(3),
        np.array([1.0, 0.0, 0.0]),
        np.random.default_rng(0),
    )
    assert result.dxy[0] == pytest.approx(-0.1 / np.hypot(10, 1), rel=1e-6)
    assert result.sip2d[0] == pytest.approx(
        0.1 / np.hypot(10, 1), rel=1e-6
    )  # downstream of the jet: positive
    assert result.sip3d[0] == pytest.approx(0.1 / np.hypot(10, 1), rel=1e-6)
    assert result.jet_distance[0] == pytest.approx(0.0, abs=1e-8)  # the lines cross
    upstream = impact.measure(
        momentum,
        np.array([[-0.1, 0.0, 0.0]]),
        np.zeros(3),
        np.array([1.0, 0.0, 0.0]),
        np.random.default_rng(0),
    )
    assert upstream.sip2d[0] < 0 < upstream.dxy[0]


def test_bad_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="numbers of jets"):
        simulate(tmp_path / "x.root", num_signal=0, num_background=0)
    with pytest.raises(InputError, match="workers"):
        simulate(tmp_path / "x.root", num_signal=1, num_background=1, workers=0)
    with pytest.raises(InputError, match="pthat_min"):
        simulate(tmp_path / "x.root", num_signal=1, num_background=1, pthat_min=-5)
    assert not (tmp_path / "x.root").exists()


def test_command_line_writes_a_readable_file(tmp_path: Path) -> None:
    out = tmp_path / "cli.root"
    code = main(
        [
            "-q",
            "data",
            "simulate",
            "--signal",
            "3",
            "--background",
            "3",
            "--out",
            str(out),
            "--workers",
            "1",
            "--seed",
            "2",
        ]
    )
    assert code == 0
    assert len(read_jets(out, load_schema("cms_hbb"), progress=False)) == 6


def test_docs_table_lists_every_feature_and_each_constant() -> None:
    text = (Path(__file__).parents[2] / "docs" / "simulation.md").read_text()
    rows = dict(
        (int(index), (name, kind))
        for index, name, kind in re.findall(r"^\| (\d+) \| `(\w+)` \| ([\w ]+) \|", text, re.M)
    )
    assert [rows[i][0] for i in range(len(rows))] == list(load_schema("cms_hbb").features)
    assert {name for name, kind in rows.values() if kind == "constant"} == set(tracks.CONSTANT_FEATURES)
