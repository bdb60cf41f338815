"""Simulated events end to end: ids, truth, reproducibility whatever the workers, pile-up, resume."""

from __future__ import annotations

import filecmp
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepxai.data.detector import DetectorSettings, read_events, simulate_events
from hepxai.data.detector.simulation import MIN_RECONSTRUCTABLE_HITS
from hepxai.data.detector.trackml_io import TrackMLEvent, event_prefix
from hepxai.errors import InputError

EVENTS = 4


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("zmumu")
    simulate_events(folder, process="zmumu", events=EVENTS, seed=3, workers=1, progress=False)
    return folder


@pytest.fixture(scope="module")
def events(run: Path) -> list[TrackMLEvent]:
    return list(read_events(run))


def test_ids_are_consistent_across_hits_truth_and_particles(events: list[TrackMLEvent]) -> None:
    assert [event.event_id for event in events] == list(range(EVENTS))
    for event in events:
        hits, truth, particles = event.hits, event.truth, event.particles
        np.testing.assert_array_equal(hits["hit_id"], np.arange(1, len(hits) + 1))
        np.testing.assert_array_equal(truth["hit_id"], hits["hit_id"])
        np.testing.assert_array_equal(particles["particle_id"], np.arange(1, len(particles) + 1))
        assert set(truth["particle_id"]) <= {0, *particles["particle_id"]}
        counts = truth.loc[truth.particle_id > 0, "particle_id"].value_counts()
        nhits = particles.set_index("particle_id")["nhits"]
        pd.testing.assert_series_equal(nhits[nhits > 0].sort_index(), counts.sort_index(), check_names=False)
        # hits ordered by volume, layer, module
        key = hits[["volume_id", "layer_id", "module_id"]].to_numpy()
        assert np.all(np.diff(key[:, 0] * 10**8 + key[:, 1] * 10**6 + key[:, 2]) >= 0)


def test_truth_weight_rule(events: list[TrackMLEvent]) -> None:
    for event in events:
        truth = event.truth
        nhits = event.particles.set_index("particle_id")["nhits"].reindex(truth.particle_id).to_numpy()
        reconstructable = (truth.particle_id > 0).to_numpy() & (nhits >= MIN_RECONSTRUCTABLE_HITS)
        np.testing.assert_allclose(truth.weight.sum(), 1.0, rtol=1e-5)
        assert np.all(truth.weight[~reconstructable] == 0)
        np.testing.assert_allclose(truth.weight[reconstructable], 1 / reconstructable.sum(), rtol=1e-6)


def test_z_muons_are_flagged_and_leave_hits(events: list[TrackMLEvent]) -> None:
    for event in events:
        muons = event.particles.query("from_z == 1 and abs(particle_type) == 13")
        assert len(muons) == 2
        assert sorted(muons.particle_type) == [-13, 13]
        assert set(event.particles.query("from_z == 1").vertex_id) == {0}
        central = muons[muons.eta.abs() < 1.0]
        assert np.all(central.nhits >= 9)  # ten barrel layers at 99% efficiency


def test_hit_order_follows_the_distance_from_the_vertex(events: list[TrackMLEvent]) -> None:
    event = events[0]
    truth = event.truth[event.truth.particle_id > 0].merge(event.particles, on="particle_id")
    truth["distance"] = np.linalg.norm(
        truth[["tx", "ty", "tz"]].to_numpy() - truth[["vx", "vy", "vz"]].to_numpy(), axis=1
    )
    high_pt = truth[truth.pt > 1.0].sort_values(["particle_id", "hit_order"])
    assert high_pt.groupby("particle_id")["distance"].apply(lambda d: d.is_monotonic_increasing).all()


def test_same_seed_same_events_whatever_the_workers(run: Path, tmp_path: Path) -> None:
    simulate_events(tmp_path, process="zmumu", events=EVENTS, seed=3, workers=2, progress=False)
    for index in range(EVENTS):
        for table in ("hits", "particles", "truth"):
            name = f"{event_prefix(index)}-{table}.csv"
            assert filecmp.cmp(run / name, tmp_path / name, shallow=False), name


def test_other_seed_other_events(run: Path, tmp_path: Path) -> None:
    simulate_events(tmp_path, process="zmumu", events=1, seed=4, workers=1, progress=False)
    assert not filecmp.cmp(
        run / "event000000000-hits.csv", tmp_path / "event000000000-hits.csv", shallow=False
    )


def test_a_stopped_run_resumes_without_redoing_finished_events(run: Path, tmp_path: Path) -> None:
    simulate_events(tmp_path, process="zmumu", events=EVENTS, seed=3, workers=1, progress=False)
    finished = {path: path.stat().st_mtime_ns for path in tmp_path.glob("event00000000[023]-*.csv")}
    (tmp_path / "event000000001-truth.csv").unlink()  # as if stopped while writing event 1
    timings = simulate_events(tmp_path, process="zmumu", events=EVENTS, seed=3, workers=2, progress=False)
    assert [timing.event_id for timing in timings] == [1]
    assert all(path.stat().st_mtime_ns == mtime for path, mtime in finished.items())
    assert filecmp.cmp(run / "event000000001-truth.csv", tmp_path / "event000000001-truth.csv", shallow=False)
    with pytest.raises(InputError, match=r"run.yaml: field 'pileup' is 0.0, this run asks for 1.0"):
        simulate_events(tmp_path, process="zmumu", events=EVENTS, pileup=1, seed=3, progress=False)


def test_pileup_in_hdf5_files_same_events_as_csv_with_one_worker(tmp_path: Path) -> None:
    settings = DetectorSettings(bfield=3.0)
    common = {
        "process": "minbias",
        "events": 3,
        "pileup": 3,
        "settings": settings,
        "seed": 5,
        "progress": False,
    }
    simulate_events(tmp_path / "h5", output_format="hdf5", events_per_file=2, workers=2, **common)
    assert sorted(path.name for path in (tmp_path / "h5").glob("*.h5")) == [
        "events000000000-000000001.h5",
        "events000000002-000000002.h5",
    ]
    assert not (tmp_path / "h5" / "parts").exists()
    events = list(read_events(tmp_path / "h5"))
    assert [event.event_id for event in events] == [0, 1, 2]
    assert sum(event.particles.vertex_id.max() for event in events) > 3  # Poisson(3) pile-up per event
    for event in events:
        per_vertex = event.particles.groupby("vertex_id")[["vx", "vy", "vz"]].median()
        assert per_vertex.vz.nunique() == len(per_vertex)  # each interaction at its own point
    # one worker and CSV files: the same events
    simulate_events(tmp_path / "csv", output_format="csv", workers=1, **common)
    for from_hdf, from_csv in zip(events, read_events(tmp_path / "csv"), strict=True):
        for table in ("hits", "particles", "truth"):
            pd.testing.assert_frame_equal(
                getattr(from_hdf, table), getattr(from_csv, table), check_dtype=False
            )
    assert simulate_events(tmp_path / "h5", output_format="hdf5", events_per_file=2, **common) == []
