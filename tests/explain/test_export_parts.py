"""``hepxai explain`` (and ``evaluate``) on the engine: parts on Dask workers hold what one process writes
(same ids, values to float rounding), a killed worker loses nothing, a killed run resumes, and every reader
takes the parts as one dataset."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.data import load_schema
from hepxai.errors import InputError
from hepxai.explain.export import explain_files
from hepxai.explain.export_parts import explain, explain_parts
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.explain.relevance_parts import read_index
from hepxai.models import save_checkpoint

from ..cms_like import FEATURES, schema_yaml, write_jets

# Every test here starts Dask workers or writes several parts: 25-80 s each on the shared 2-core machine at
# load 12-20 (a LocalCluster took 23-30 s to start there), so `make test` leaves them to `make test-all`.
pytestmark = pytest.mark.slow

SCHEMA = schema_yaml("parts", max_tracks=12)
JETS_PER_FILE = (90, 70, 110)


def _write_jets(path: Path, num_jets: int, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    counts = rng.integers(1, 16, size=num_jets)
    is_h = rng.uniform(size=num_jets) < 0.5
    total = int(counts.sum())
    values = {name: rng.normal(size=total) for name in FEATURES}
    from_b = rng.uniform(size=total) < 0.3
    sdmass, pt = rng.uniform(10, 250, num_jets), rng.uniform(350, 900, num_jets)
    return write_jets(path, counts, is_h, values, from_b=from_b, sdmass=sdmass, pt=pt)


@pytest.fixture(scope="module")
def files(tmp_path_factory, make_model) -> dict:
    folder = tmp_path_factory.mktemp("parts")
    (folder / "parts.yml").write_text(SCHEMA)
    model = make_model(3, num_features=len(FEATURES), hidden=8, dtype=torch.float32)
    data = [_write_jets(folder / f"jets{k}.root", n, k) for k, n in enumerate(JETS_PER_FILE)]
    settings = {"target": "H", "selection": "original", "edges": True, "chunk_size": 16}
    schema = load_schema(folder / "parts.yml")
    model_path = save_checkpoint(folder / "model.pt", model)
    single = explain_files(model_path, data, folder / "single.h5", schema, progress=False, **settings)
    return {
        "schema": schema,
        "schema_path": folder / "parts.yml",
        "data": data,
        "model": model_path,
        "settings": settings,
        "single": single,
    }


@pytest.fixture(scope="module")
def cluster():
    """Two one-thread worker processes, shared by the tests of this module through its address."""
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as local:
        yield local


# A jet is explained in a batch of other jets, and a part starts its own batches: float32 products then
# run in other orders. Changing --chunk-size alone in one process moves edge relevance by up to 5e-7 and
# edge significance by up to 3e-6 here (values of 1e-3 to 1).
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}


def assert_same_dataset(got, expected) -> None:
    """Same ids, rows and order; values to float32 rounding."""
    for table in ("jets", "tracks", "edges"):
        pd.testing.assert_frame_equal(getattr(got, table), getattr(expected, table), **TOLERANCE)
    assert got.meta["num_jets"] == expected.meta["num_jets"]
    assert got.feature_names == expected.feature_names


def test_parts_on_workers_equal_one_process(files, cluster, tmp_path):
    folder = explain_parts(
        files["model"],
        files["data"],
        tmp_path / "rel",
        files["schema"],
        part_size=40,
        scheduler=cluster.scheduler_address,
        progress=False,
        **files["settings"],
    )
    index = read_index(folder)
    assert index.complete
    assert len(index.parts) >= 6  # 3 files cut into ranges of 40 entries
    assert [p.name for p in index.parts] == sorted(p.name for p in folder.glob("part-*.h5"))
    got, expected = read_relevance_file(folder), read_relevance_file(files["single"])
    assert_same_dataset(got, expected)
    # The parts in index order are the single file cut into pieces: pandas reads them as one table.
    tracks = pd.concat(pd.read_hdf(folder / p.name, "tracks") for p in index.parts).reset_index(drop=True)
    pd.testing.assert_frame_equal(tracks, expected.tracks, **TOLERANCE)
    # One jet is read from its own part.
    jet_id = int(expected.jets["jet_id"].iloc[-3])
    for got_table, expected_table in zip(got.jet(jet_id), expected.jet(jet_id), strict=True):
        pd.testing.assert_frame_equal(got_table, expected_table, **TOLERANCE)


def test_single_file_output_joins_the_parts(files, cluster, tmp_path):
    out = explain(
        files["model"],
        files["data"],
        tmp_path / "joined.h5",
        files["schema"],
        part_size=50,
        scheduler=cluster.scheduler_address,
        progress=False,
        **files["settings"],
    )
    assert out == tmp_path / "joined.h5"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["joined.h5"]  # the parts folder is gone
    assert_same_dataset(read_relevance_file(out), read_relevance_file(files["single"]))


def test_max_jets_cuts_the_plan(files, tmp_path):
    stale = tmp_path / "rel" / "part-00099.h5"  # an earlier run's part: a glob reader must not see it
    stale.parent.mkdir()
    stale.write_bytes(b"")
    folder = explain_parts(
        files["model"],
        files["data"],
        tmp_path / "rel",
        files["schema"],
        part_size=30,
        progress=False,
        **{**files["settings"], "max_jets": 75},
    )
    got = read_relevance_file(folder)
    expected = read_relevance_file(files["single"])
    assert got.jets["jet_id"].tolist() == list(range(75))
    assert not stale.exists()
    pd.testing.assert_frame_equal(got.jets, expected.jets.head(75), **TOLERANCE)


def test_resume_makes_only_the_missing_parts(files, tmp_path):
    folder = tmp_path / "rel"
    kwargs = {"part_size": 40, "progress": False, **files["settings"]}
    explain_parts(files["model"], files["data"], folder, files["schema"], **kwargs)
    # A run stopped half way: some parts never written, the index still says incomplete.
    index = json.loads((folder / "index.json").read_text())
    index["complete"] = False
    (folder / "index.json").write_text(json.dumps(index))
    removed = [folder / "part-00001.h5", folder / "part-00004.h5"]
    for part in removed:
        part.unlink()
    with pytest.raises(InputError, match=r"part-00001\.h5 is missing.*--resume"):
        read_relevance_file(folder)
    kept = {p.name: p.stat().st_mtime_ns for p in folder.glob("part-*.h5")}
    explain_parts(files["model"], files["data"], folder, files["schema"], resume=True, **kwargs)
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("part-*.h5") if p.name in kept} == kept
    assert all(part.is_file() for part in removed)
    assert_same_dataset(read_relevance_file(folder), read_relevance_file(files["single"]))
    # Resuming with other settings is refused, naming the setting.
    with pytest.raises(InputError, match=r"settings\.epsilon"):
        explain_parts(
            files["model"], files["data"], folder, files["schema"], resume=True, epsilon=0.1, **kwargs
        )


def test_a_killed_worker_loses_nothing(files, tmp_path):
    """Kill one worker process while it explains: Dask runs its tasks again and the dataset is whole."""
    from dask.distributed import Client, LocalCluster

    folder = tmp_path / "rel"
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as local,
        Client(local) as client,
    ):
        pids = client.run(os.getpid)
        errors: list[BaseException] = []

        def run() -> None:
            try:
                explain_parts(
                    files["model"],
                    files["data"],
                    folder,
                    files["schema"],
                    part_size=10,
                    scheduler=local.scheduler_address,
                    progress=False,
                    **files["settings"],
                )
            except BaseException as err:  # handed to the test thread
                errors.append(err)

        thread = threading.Thread(target=run)
        thread.start()
        killed = None
        deadline = time.monotonic() + 60
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            busy = [address for address, tasks in client.processing().items() if tasks]
            if busy and any(folder.glob("part-*.h5")):
                killed = pids[busy[0]]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.01)
        thread.join(120)
        assert killed is not None, "the run ended before a worker could be killed"
        assert not errors, errors
        assert pids[busy[0]] not in client.run(os.getpid).values()  # that worker did die
    assert_same_dataset(read_relevance_file(folder), read_relevance_file(files["single"]))


def test_a_killed_run_resumes(files, tmp_path):
    """``kill -9`` the command after its first part; ``--resume`` makes the others and keeps that one."""
    folder = tmp_path / "rel"
    command = [
        sys.executable,
        "-m",
        "hepxai",
        "-q",
        "explain",
        "--model",
        str(files["model"]),
        "--data",
        *map(str, files["data"]),
        "--out",
        str(folder),
        "--schema",
        str(files["schema_path"]),
        "--selection",
        "original",
        "--edges",
        "--chunk-size",
        "16",
        "--workers",
        "1",
        "--part-size",
        "10",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen(command, env=env)
    deadline = time.monotonic() + 120
    while not (folder / "part-00000.h5").is_file() and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait()
    written = {p.name: p.stat().st_mtime_ns for p in folder.glob("part-*.h5")}
    assert 0 < len(written) < len(read_index(folder).parts)
    assert not read_index(folder).complete
    subprocess.run([*command, "--resume"], env=env, check=True)
    assert {name: (folder / name).stat().st_mtime_ns for name in written} == written
    assert_same_dataset(read_relevance_file(folder), read_relevance_file(files["single"]))


def test_evaluate_scores_on_workers_equal_one_process(files, cluster, make_model):
    """``hepxai evaluate --workers``: the jets' scores gathered from range tasks, in file order."""
    from hepxai.data.root_io import iter_jets, selection_window
    from hepxai.evaluation import JetScores, _score, score_files

    model = make_model(3, num_features=len(FEATURES), hidden=8, dtype=torch.float32)
    window = selection_window("original")
    expected = _score(
        model,
        iter_jets(files["data"], files["schema"], selection=window, progress=False),
        "data",
        16,
        True,
        False,
    )
    got = score_files(
        model,
        files["data"],
        files["schema"],
        selection="original",
        batch_size=16,
        scheduler=cluster.scheduler_address,
        max_jets=150,
    )
    assert isinstance(got, JetScores)
    np.testing.assert_array_equal(got.label, expected.label[:150])
    np.testing.assert_allclose(got.logits, expected.logits[:150], **TOLERANCE)
    np.testing.assert_allclose(got.quantities, expected.quantities[:150], **TOLERANCE)
    for name, values in expected.spectators.items():
        np.testing.assert_array_equal(got.spectators[name], values[:150])
