"""TrackML files: CSV and HDF5 round trips, real-TrackML-style files without the extra columns, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hepxai.data.detector.trackml_io import (
    HIT_COLUMNS,
    PARTICLE_COLUMNS,
    TRUTH_COLUMNS,
    TrackMLEvent,
    list_events,
    read_csv,
    read_events,
    read_hdf,
    write_csv,
    write_hdf,
)
from hepxai.errors import InputError


def make_event(event_id: int, num_hits: int = 50, seed: int = 0) -> TrackMLEvent:
    """A small event with random values in every TrackML column plus the extra ones."""
    rng = np.random.default_rng(seed)
    particles = pd.DataFrame(
        {
            "particle_id": np.arange(1, 11),
            "particle_type": rng.choice([-13, 13, 211, -211], 10),
            **{name: rng.normal(size=10).astype(np.float32) for name in ("vx", "vy", "vz", "px", "py", "pz")},
            "q": rng.choice([-1, 1], 10),
            "nhits": rng.integers(0, 10, 10),
            "pt": rng.uniform(0, 5, 10).astype(np.float32),
            "eta": rng.normal(size=10).astype(np.float32),
            "vertex_id": rng.integers(0, 3, 10),
            "from_z": rng.integers(0, 2, 10),
        }
    )
    hit_id = np.arange(1, num_hits + 1)
    hits = pd.DataFrame(
        {
            "hit_id": hit_id,
            **{name: rng.normal(0, 500, num_hits).astype(np.float32) for name in ("x", "y", "z")},
            "volume_id": rng.choice([7, 8, 9], num_hits),
            "layer_id": rng.choice([2, 4], num_hits),
            "module_id": rng.integers(1, 100, num_hits),
        }
    )
    truth = pd.DataFrame(
        {
            "hit_id": hit_id,
            "particle_id": rng.integers(0, 11, num_hits),
            **{
                name: rng.normal(size=num_hits).astype(np.float32)
                for name in ("tx", "ty", "tz", "tpx", "tpy", "tpz")
            },
            "weight": np.full(num_hits, 1 / num_hits, np.float32),
            "hit_order": rng.integers(-1, 10, num_hits),
        }
    )
    return TrackMLEvent(event_id=event_id, hits=hits, particles=particles, truth=truth)


def _assert_same(first: TrackMLEvent, second: TrackMLEvent) -> None:
    assert first.event_id == second.event_id
    for table in ("hits", "particles", "truth"):
        pd.testing.assert_frame_equal(getattr(first, table), getattr(second, table), check_dtype=False)


def test_csv_round_trip(tmp_path: Path) -> None:
    event = make_event(42)
    prefix = write_csv(event, tmp_path)
    assert prefix.name == "event000000042"
    assert [path.name for path in sorted(tmp_path.iterdir())] == [
        "event000000042-hits.csv",
        "event000000042-particles.csv",
        "event000000042-truth.csv",
    ]
    assert pd.read_csv(f"{prefix}-hits.csv").columns.tolist() == list(HIT_COLUMNS)
    _assert_same(read_csv(prefix), event)
    _assert_same(next(read_events(tmp_path)), event)
    _assert_same(next(read_events(f"{prefix}-truth.csv")), event)  # any of its files names the event


def test_hdf5_round_trip_reads_one_event_at_a_time(tmp_path: Path) -> None:
    events = [make_event(k, num_hits=20 + k, seed=k) for k in (3, 5, 9)]
    path = write_hdf(events, tmp_path / "events.h5")
    for read, written in zip(read_hdf(path), events, strict=True):
        _assert_same(read, written)
    _assert_same(next(read_hdf(path, [5])), events[1])
    assert [event_id for _, event_id in list_events(tmp_path)] == [3, 5, 9]
    with pytest.raises(InputError, match="field 'event_id' has no event 4"):
        next(read_events(path, [4]))


def test_real_trackml_files_without_extra_columns_and_without_truth(tmp_path: Path) -> None:
    event = make_event(1000)
    prefix = tmp_path / "event000001000"
    event.hits.to_csv(f"{prefix}-hits.csv", index=False)
    event.particles[list(PARTICLE_COLUMNS)].to_csv(f"{prefix}-particles.csv", index=False)
    event.truth[list(TRUTH_COLUMNS)].to_csv(f"{prefix}-truth.csv", index=False)
    pd.DataFrame({"hit_id": [1], "ch0": [1], "ch1": [2], "value": [0.1]}).to_csv(
        f"{prefix}-cells.csv", index=False
    )
    read = read_csv(prefix)
    assert list(read.truth.columns) == list(TRUTH_COLUMNS)
    test_event = tmp_path / "test"
    test_event.mkdir()
    event.hits.to_csv(test_event / "event000000007-hits.csv", index=False)
    only_hits = next(read_events(test_event))
    assert only_hits.truth is None
    assert only_hits.particles is None


def test_bad_files_give_one_line_errors(tmp_path: Path) -> None:
    event = make_event(1)
    write_csv(event, tmp_path)
    event.truth.drop(columns="weight").to_csv(tmp_path / "event000000001-truth.csv", index=False)
    with pytest.raises(InputError, match=r"event000000001-truth.csv: field 'weight' \(column\) is missing"):
        read_csv(tmp_path / "event000000001")
    with pytest.raises(InputError, match="no such file"):
        list_events(tmp_path / "event000000002")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no TrackML events"):
        list_events(tmp_path / "empty")
    with pytest.raises(InputError, match="hits file not found"):
        read_csv(tmp_path / "event000000003")
