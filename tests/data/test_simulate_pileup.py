"""Pile-up and vertices: the primary vertex of a constructed event, CMS's association enumerations on hand
cases, the pile-up overlay's reproducibility, and jets that do not depend on the number of workers."""

from __future__ import annotations

from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepxai.cli import main
from hepxai.data.simulate import association, pileup, simulate
from hepxai.data.simulate.impact import ImpactParameters
from hepxai.data.simulate.primary_vertex import TrackLines, Vertices, find_vertices


def lines_from(
    vertex: tuple[float, float, float], pt: float, count: int, rng: np.random.Generator
) -> TrackLines:
    """``count`` tracks of ``pt`` from ``vertex`` (cm), their lines smeared by their errors (20, 40 um)."""
    phi = rng.uniform(-np.pi, np.pi, count)
    eta = rng.uniform(-1.5, 1.5, count)
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
    normal = np.stack([-np.sin(phi), np.cos(phi), np.zeros(count)], axis=1)
    reference = (
        np.array(vertex)
        + rng.normal(0, 0.002, count)[:, None] * normal
        + rng.normal(0, 0.004, count)[:, None] * np.array([0.0, 0.0, 1.0])
    )
    covariance = np.zeros((count, 2, 2))
    covariance[:, 0, 0], covariance[:, 1, 1] = 0.002**2, 0.004**2
    return TrackLines(reference, momentum, covariance)


def test_the_primary_vertex_is_the_hardest_not_the_busiest() -> None:
    """8 tracks of 20 GeV at z = 1 cm against 15 of 1.5 GeV at z = -2 cm and a lone track: two vertices,
    the hard one first, each at its true z within 3 of its fitted errors, its tracks in its fit."""
    rng = np.random.default_rng(0)
    hard, soft = lines_from((0.0, 0.0, 1.0), 20.0, 8, rng), lines_from((0.0, 0.0, -2.0), 1.5, 15, rng)
    lone = lines_from((0.0, 0.0, 5.0), 3.0, 1, rng)
    lines = TrackLines(
        *(
            np.concatenate([getattr(x, f) for x in (soft, hard, lone)])
            for f in ("reference", "momentum", "covariance")
        )
    )
    vertices = find_vertices(lines, np.zeros(24))
    assert len(vertices) == 2
    for index, (z, tracks) in enumerate(((1.0, slice(15, 23)), (-2.0, slice(0, 15)))):
        error = np.sqrt(vertices.covariance[index, 2, 2])
        assert abs(vertices.position[index, 2] - z) < 3 * error
        assert np.all(vertices.weight[index, tracks] > 0.5)
        assert np.all(np.delete(vertices.weight[index], np.r_[tracks]) < 1e-6)
    assert vertices.sum_pt2[0] == pytest.approx(8 * 20.0**2)
    assert vertices.ndof.tolist() == pytest.approx(
        [2 * vertices.weight[0].sum() - 3, 2 * vertices.weight[1].sum() - 3]
    )


def test_association_follows_cms_enumerations_on_hand_cases() -> None:
    """Tracks along x (dxy = y, dz = z - the vertex's z) against the primary vertex at z = 0, a good pile-up
    vertex at z = 2 and a poor one (ndof 2) at z = -3."""
    vertices = Vertices(
        position=np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 2.0], [0.0, 0.0, -3.0]]),
        covariance=np.tile(np.eye(3) * 1e-8, (3, 1, 1)),
        weight=np.zeros((3, 10)),
        ndof=np.array([20.0, 10.0, 2.0]),
        sum_pt2=np.array([900.0, 20.0, 5.0]),
    )
    # (vertex, weight), z, dxy, jet distance, pdg id -> VTX_ass, fromPV, puppiw
    cases = [
        ((0, 0.9), 0.0, 0.0, -1.0, 211, 7, 3, 1),  # in the primary vertex's fit
        ((0, 0.2), 0.0, 0.0, -1.0, 211, 6, 2, 1),  # loosely in it
        ((1, 0.9), 2.0, 0.0, -1.0, 211, 7, 0, 0),  # in a good pile-up vertex's fit
        ((2, 0.9), -3.0, 0.0, -1.0, 211, 7, 1, 0),  # in a poor vertex's fit
        ((1, 0.9), 2.0, 0.0, -1.0, 13, 7, 2, 0),  # a muon counts as from the primary vertex
        (None, 0.05, 0.0, -1.0, 211, 5, 2, 1),  # compatible in dz with the primary vertex
        (None, 2.1, 0.0, -1.0, 211, 5, 1, 0),  # compatible in dz with a pile-up vertex
        (None, 0.8, 0.05, -0.01, 211, 4, 2, 0),  # near the jet axis: b-tag compatible
        (None, 1.4, 0.001, -1.0, 211, 0, 1, 0),  # prompt, closest to the pile-up vertex: not reconstructed
        (None, 1.4, 0.5, -1.0, 211, 1, 1, 0),  # none of these
    ]
    for row, (fit, *_rest) in enumerate(cases):
        if fit is not None:
            vertices.weight[fit[0], row] = fit[1]
    z, dxy, jet_distance, pdg_id = (np.array([case[i] for case in cases], float) for i in range(1, 5))
    count = len(cases)
    covariance = np.zeros((count, 2, 2))
    covariance[:, 0, 0], covariance[:, 1, 1] = 0.002**2, 0.02**2
    lines = TrackLines(
        np.stack([np.zeros(count), dxy, z], axis=1), np.tile([10.0, 0.0, 0.0], (count, 1)), covariance
    )
    ips = ImpactParameters(
        dxy=dxy,
        dz=z,
        dxy_error=np.full(count, 0.002),
        dz_error=np.full(count, 0.02),
        sip2d=dxy,
        sip2d_error=np.full(count, 0.002),
        sip3d=dxy,
        sip3d_error=np.full(count, 0.002),
        jet_distance=jet_distance,
    )
    result = association.vertex_association(lines, vertices, vertices.weight, ips, pdg_id.astype(int))
    assert result["track_VTX_ass"].tolist() == [case[5] for case in cases]
    assert result["track_fromPV"].tolist() == [case[6] for case in cases]
    assert result["track_puppiw"].tolist() == [case[7] for case in cases]


# non-diffractive events initialise in a fraction of a second, inelastic ones in ~5 s: the tests use them
FAST_LIBRARY = "SoftQCD:nonDiffractive = on"


@pytest.fixture(scope="module")
def library() -> pileup.PileupLibrary:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pileup, "LIBRARY_PROCESS", FAST_LIBRARY)
        return pileup.make_library(5, tau0_max=1000.0, num_events=20)


def test_pileup_is_reproducible_and_follows_its_settings(
    library: pileup.PileupLibrary, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pileup, "LIBRARY_PROCESS", FAST_LIBRARY)
    again = pileup.make_library(5, tau0_max=1000.0, num_events=20)
    assert np.array_equal(library.momentum, again.momentum)
    first = pileup.overlay(library, 30.0, np.random.default_rng(1))
    second = pileup.overlay(library, 30.0, np.random.default_rng(1))
    other = pileup.overlay(library, 30.0, np.random.default_rng(2))
    for name in ("momentum", "vertex", "pdg_id", "interaction"):
        assert np.array_equal(getattr(first, name), getattr(second, name)), name
    assert not np.array_equal(first.momentum[:10], other.momentum[:10])
    counts = [
        pileup.overlay(library, 30.0, np.random.default_rng(s)).interaction.max() + 1 for s in range(100)
    ]
    assert abs(np.mean(counts) - 30) < 4 * np.sqrt(30 / 100)
    # every interaction is moved as a whole: its prompt particles share one vertex, spread along z
    prompt_z = [
        np.median(first.vertex[(first.interaction == k), 2]) for k in range(first.interaction.max() + 1)
    ]
    assert 2.0 < np.std(prompt_z) < 5.5
    assert np.all(np.abs(first.vertex[:, :2]).min(axis=0) < 0.01)


def test_jets_do_not_depend_on_the_number_of_workers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pileup, "LIBRARY_EVENTS", 20)
    monkeypatch.setattr(pileup, "LIBRARY_PROCESS", FAST_LIBRARY)

    def branches(workers: int) -> ak.Array:
        path = simulate(
            tmp_path / f"{workers}.root",
            num_signal=2,
            num_background=2,
            seed=7,
            workers=workers,
            progress=False,
        )
        with uproot.open(path) as file:
            return file["deepntuplizer/tree"].arrays(library="ak")

    one, two = branches(1), branches(2)
    assert ak.sum(one["track_fromPU"]) > 0
    for name in one.fields:
        assert ak.all(one[name] == two[name]), name


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--pileup", "-1"], "--pileup must be at least 0"),
        (["--resolution-model", "--pileup", "5"], "--pileup needs the tracker"),
    ],
)
def test_bad_pileup_options_are_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], options: list[str], message: str
) -> None:
    out = tmp_path / "jets.root"
    command = ["data", "simulate", "--signal", "1", "--background", "1", "--out", str(out), *options]
    assert main(command) == 2
    error = capsys.readouterr().err.strip()
    assert message in error
    assert len(error.splitlines()) == 1
    assert not out.exists()
