"""``hepxai benchmark`` on the engine: tasks of whole batches give the table of one process."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.benchmark import read_signal_jets, run_benchmark
from hepxai.benchmark_parts import (
    RangeJets,
    Segment,
    benchmark_files,
    find_range_jets,
    plan_tasks,
    read_task_jets,
)
from hepxai.cli import main
from hepxai.data import load_schema
from hepxai.errors import InputError
from hepxai.explain.trivial import RandomRanking
from hepxai.models import InteractionNetwork, save_checkpoint

from .cms_like import FEATURES
from .test_benchmark import SCHEMA, write_jets

# Methods whose scores depend on more than each jet alone: the random ranking draws in track order,
# BernMask-P fits one generator on all jets, the deletion curves and walk pairs number the jets.
METHODS = ["lrp_epsilon", "bernmask_p", "random", "impact_parameter"]


@pytest.fixture
def two_files(tmp_path: Path) -> dict:
    """12 signal jets over two files (5 and 7): batches of 4 put jets of both files in the second batch."""
    schema = tmp_path / "bench.yml"
    schema.write_text(SCHEMA)
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=len(FEATURES), hidden=8).eval()
    return {
        "schema": schema,
        "model": model,
        "model_path": save_checkpoint(tmp_path / "model.pt", model),
        "data": [
            write_jets(tmp_path / "a.root", num_jets=10, seed=1),
            write_jets(tmp_path / "b.root", seed=2),
        ],
    }


def test_tasks_give_the_numbers_of_one_process(two_files: dict) -> None:
    """Two tasks in this process (8 and 4 jets, the first across both files) against one pass over all."""
    schema = load_schema(two_files["schema"])
    settings = {"methods": METHODS, "batch_size": 4, "deletion_steps": 3, "walks": 2, "progress": False}
    settings["score_features"] = ["track_dxysig"]
    jets = read_signal_jets(two_files["data"], schema=schema, max_jets=12, progress=False)
    expected = run_benchmark(two_files["model"], jets, **settings)
    got = benchmark_files(
        two_files["model"], two_files["data"], schema, selection="none", max_jets=12, workers=1, **settings
    )
    timing = "seconds_per_1000_jets"
    pd.testing.assert_frame_equal(got.table.drop(columns=timing), expected.table.drop(columns=timing))
    assert list(got.deletion_curves) == list(expected.deletion_curves)
    for name, curve in expected.deletion_curves.items():
        assert torch.equal(got.deletion_curves[name], curve), name
    assert got.pairs == expected.pairs
    assert (got.num_jets, got.num_tracks, got.num_true_tracks) == (
        12,
        jets.num_tracks.sum(),
        expected.num_true_tracks,
    )


def test_task_jets_are_whole_batches_of_one_process(two_files: dict) -> None:
    """Each task reads the jets of whole batches of one process, so every method sees the same batches."""
    schema = load_schema(two_files["schema"])
    ranges = [(str(path), 0, 10 if path.name == "a.root" else 24) for path in two_files["data"]]
    found = [find_range_jets(entries, schema, "none") for entries in ranges]
    tasks = plan_tasks(ranges, found, batch_size=3, max_jets=11, num_tasks=3, paths=two_files["data"])
    whole = read_signal_jets(two_files["data"], schema=schema, max_jets=11, progress=False)
    assert [task.first_jet for task in tasks] == [0, 6]  # 4 batches of 3 (the last of 2), 2 per task
    for task in tasks:
        jets = read_task_jets(task, schema, "none")
        expected = whole.select(np.arange(task.first_jet, task.first_jet + task.num_jets))
        np.testing.assert_array_equal(jets.features, expected.features)
        np.testing.assert_array_equal(jets.track_truth["track_fromB"], expected.track_truth["track_fromB"])
        assert task.first_track == whole.num_tracks[: task.first_jet].sum()


def test_plan_cuts_whole_batches_across_files() -> None:
    ranges = [("a", 0, 10), ("a", 10, 20), ("b", 0, 10), ("c", 0, 10)]
    found = [
        RangeJets(4, True, np.array([3, 1, 2])),
        RangeJets(0, True, np.zeros(0, dtype=np.int64)),  # no jet passes: left out
        RangeJets(6, True, np.array([5, 5, 1, 1, 2])),
        RangeJets(2, False, np.array([4])),  # no truth: reading stops here, as read_signal_jets does
    ]
    tasks = plan_tasks(ranges, found, batch_size=2, max_jets=7, num_tasks=2, paths=[Path("a")])
    # 7 jets, 4 batches of 2: tasks of 2 batches, cut inside file b's range
    assert [(task.first_jet, task.num_jets, task.first_track) for task in tasks] == [(0, 4, 0), (4, 3, 11)]
    assert tasks[0].segments == (Segment("a", 0, 10, 0, 3), Segment("b", 0, 10, 0, 1))
    assert tasks[1].segments == (Segment("b", 0, 10, 1, 3),)


def test_plan_without_truth_or_signal_is_one_line() -> None:
    no_truth = [RangeJets(3, False, np.array([2]))]
    with pytest.raises(InputError, match="no 'track_fromB' branch"):
        plan_tasks([("a", 0, 3)], no_truth, batch_size=2, max_jets=None, num_tasks=2, paths=[Path("a")])
    background = [RangeJets(3, True, np.zeros(0, dtype=np.int64))]
    with pytest.raises(InputError, match="no signal"):
        plan_tasks([("a", 0, 3)], background, batch_size=2, max_jets=None, num_tasks=2, paths=[Path("a")])


def test_random_ranking_skips_to_a_part() -> None:
    """A part that starts at track 7 draws the scores the whole run draws from track 7 on."""
    model = InteractionNetwork(num_features=3, hidden=4)
    whole = torch.Generator().manual_seed(5)
    expected = torch.rand(10, generator=whole, dtype=torch.float64)[7:]
    ranking = RandomRanking(model, seed=5)
    ranking.skip(7)
    assert torch.equal(torch.rand(3, generator=ranking.generator, dtype=torch.float64), expected)


@pytest.mark.slow  # a local Dask cluster of two workers: 20-60 s on the shared 2-core machine
def test_cli_two_workers_write_the_table_of_one(two_files: dict, tmp_path: Path) -> None:
    command = [
        "-q",
        "benchmark",
        "--model",
        str(two_files["model_path"]),
        "--data",
        *map(str, two_files["data"]),
    ]
    command += ["--schema", str(two_files["schema"]), "--max-jets", "12", "--chunk-size", "4"]
    command += [
        "--methods",
        *METHODS,
        "lrp_gamma",  # LRP's generic path: hooks on the model a worker fetched from another
        "--score-features",
        "track_dxysig",
        "--deletion-steps",
        "3",
    ]
    for workers in ("1", "2"):
        assert main([*command, "--out", str(tmp_path / workers), "--workers", workers]) == 0
    one, two = (pd.read_csv(tmp_path / workers / "table.csv") for workers in ("1", "2"))
    timing = "seconds_per_1000_jets"
    pd.testing.assert_frame_equal(two.drop(columns=timing), one.drop(columns=timing), rtol=1e-6)
    curves = [pd.read_csv(tmp_path / workers / "deletion_curves.csv") for workers in ("1", "2")]
    pd.testing.assert_frame_equal(curves[1], curves[0], rtol=1e-6)
    markdown = [(tmp_path / workers / "table.md").read_text().splitlines()[:2] for workers in ("1", "2")]
    assert markdown[1] == markdown[0]  # jets, tracks, selection, target, walk pairs
