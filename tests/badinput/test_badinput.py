"""Bad input, end to end: a small event, graph folder, point set and checkpoint made by the project's own
code, corrupted in every way a user (or a full disk) can, each run through the command line. Every case
must end in exit code 2 with one line on stderr naming the file, no traceback, and no output left behind.

Run alone with ``make test-badinput`` (the ``badinput`` marker); ``make test`` runs it too.
"""

from __future__ import annotations

import argparse
import pickle
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hepxai.cli import main
from hepxai.data.detector.events import GeneratedParticles
from hepxai.data.detector.geometry import load_geometry
from hepxai.data.detector.simulation import DetectorSettings, detect
from hepxai.data.detector.trackml_io import event_prefix, write_csv, write_hdf
from hepxai.data.pointsets.make import make_synthetic
from hepxai.data.sanity import write_sanity
from hepxai.io.lock import LOCK_FILE
from hepxai.models import InteractionNetwork, save_checkpoint
from hepxai.models.edge_classifier import EdgeClassifier
from hepxai.tracking.event_graph import (
    event_hits,
    graph_path,
    read_graph,
    true_edge_index,
    with_edges,
    write_graph,
    write_graph_record,
)

pytestmark = pytest.mark.badinput


def one_line_exit_2(arguments: list[str], capsys: pytest.CaptureFixture[str], *names: str) -> str:
    """Run ``hepxai ARGUMENTS``; it must exit 2 with one line naming each of ``names``; returns the line."""
    capsys.readouterr()
    assert main(["-q", *arguments]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    for name in names:
        assert name in err, err
    return err


def corrupt(path: Path, how: str) -> None:
    """Spoil a file the ways a disk, a copy or a user does."""
    data = path.read_bytes()
    if how == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif how == "empty":
        path.write_bytes(b"")
    elif how == "random bytes":
        path.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    elif how == "foreign pickle":
        torch.save(argparse.Namespace(weights=torch.zeros(2)), path)
    else:
        raise ValueError(how)


# --- a TrackML event -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def event():
    """One event of ten muons through the default detector: the project's propagation and digitisation."""
    rng = np.random.default_rng(5)
    pt, eta, phi = rng.uniform(2, 20, 10), rng.uniform(-2, 2, 10), rng.uniform(-np.pi, np.pi, 10)
    momentum = np.stack([pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=1)
    particles = GeneratedParticles(
        vertex=np.zeros((10, 3)),
        momentum=momentum,
        charge=rng.choice([-1.0, 1.0], 10),
        mass=np.full(10, 0.1057),
        pdg_id=np.full(10, 13),
        interaction=np.zeros(10, np.int64),
        from_z=np.zeros(10, bool),
    )
    return detect(particles, load_geometry(None), DetectorSettings(), rng, event_id=0)


@pytest.fixture
def event_folder(event, tmp_path: Path) -> Path:
    folder = tmp_path / "events"
    write_csv(event, folder)
    return folder


def _set_cell(path: Path, column: str, value: str) -> None:
    table = pd.read_csv(path, dtype=str)
    table.loc[3, column] = value
    table.to_csv(path, index=False)


EVENT_CASES: dict[str, tuple[str, Callable[[Path], None], str]] = {
    "NaN in x": ("hits", lambda p: _set_cell(p, "x", "nan"), "field 'x' is nan in row 3"),
    "inf in x": ("hits", lambda p: _set_cell(p, "x", "inf"), "field 'x' is inf in row 3"),
    "text in x": ("hits", lambda p: _set_cell(p, "x", "abc"), "field 'x' is 'abc' in row 3"),
    "a column missing": ("hits", lambda p: pd.read_csv(p).drop(columns="z").to_csv(p, index=False), "'z'"),
    "header-only hits": ("hits", lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "no hits"),
    "random bytes": ("hits", lambda p: corrupt(p, "random bytes"), "not a CSV text file"),
    "0-byte hits": ("hits", lambda p: corrupt(p, "empty"), "empty file"),
    "truth hit_id of no hit": ("truth", lambda p: _set_cell(p, "hit_id", "999999"), "matches no hit"),
    "truth cut in half": ("truth", lambda p: corrupt(p, "truncated"), "truth.csv: field"),
    "truth particle unknown": ("truth", lambda p: _set_cell(p, "particle_id", "4242"), "'particle_id' 4242"),
}


@pytest.mark.parametrize("command", ["inspect", "display"])
@pytest.mark.parametrize("case", EVENT_CASES)
def test_a_broken_csv_event(event_folder: Path, tmp_path: Path, capsys, command: str, case: str) -> None:
    table, spoil, message = EVENT_CASES[case]
    path = event_folder / f"{event_prefix(0)}-{table}.csv"
    spoil(path)
    out = tmp_path / "display.png"
    arguments = [str(event_folder)] if command == "inspect" else [str(event_folder), "--out", str(out)]
    one_line_exit_2(["detector", command, *arguments], capsys, path.name, message)
    assert not out.exists()
    assert not out.with_suffix(".html").exists()


def test_the_valid_event_passes(event_folder: Path, capsys) -> None:
    assert main(["-q", "detector", "inspect", str(event_folder)]) == 0


@pytest.mark.parametrize("how", ["truncated", "empty", "random bytes"])
def test_a_broken_hdf5_event_file(event, tmp_path: Path, capsys, how: str) -> None:
    path = write_hdf([event], tmp_path / "events.h5")
    corrupt(path, how)
    one_line_exit_2(["detector", "inspect", str(path)], capsys, "events.h5")


# --- a graph folder --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graph(event):
    data = event_hits(event)
    return with_edges(data, true_edge_index(data.particle_id.numpy(), data.hit_order.numpy()))


@pytest.fixture(scope="module")
def edge_model(tmp_path_factory) -> Path:
    model = EdgeClassifier(num_features=3, edge_features=5, hidden=8, iterations=1)
    return save_checkpoint(tmp_path_factory.mktemp("model") / "best.pt", model)


@pytest.fixture
def graph_folder(graph, tmp_path: Path) -> Path:
    folder = tmp_path / "graphs"
    write_graph(graph, graph_path(folder, "test", 0))
    write_graph_record(folder, {"setting": "pt1_mu200", "builder": "truth"})
    return folder


def _edit_graph(path: Path, edit: Callable[[dict], None]) -> None:
    content = read_graph(path).to_dict()
    edit(content)
    torch.save(content, path)


def _set(name: str, index: tuple, value: float) -> Callable[[dict], None]:
    def edit(content: dict) -> None:
        content[name] = content[name].clone()
        content[name][index] = value

    return edit


GRAPH_CASES: dict[str, tuple[Callable[[Path], None], str]] = {
    "truncated": (lambda p: corrupt(p, "truncated"), "not a readable graph file"),
    "0-byte": (lambda p: corrupt(p, "empty"), "graph file is empty"),
    "foreign pickle": (lambda p: corrupt(p, "foreign pickle"), "objects other than tensors"),
    "edge_index out of range": (lambda p: _edit_graph(p, _set("edge_index", (0, 0), 10**6)), "edge_index"),
    "no edge_attr": (lambda p: _edit_graph(p, lambda c: c.pop("edge_attr")), "'edge_attr' is missing"),
    "NaN in x": (lambda p: _edit_graph(p, _set("x", (0, 0), float("nan"))), "field 'x' holds nan"),
    "inf in edge_attr": (lambda p: _edit_graph(p, _set("edge_attr", (0, 0), float("inf"))), "'edge_attr'"),
}


@pytest.mark.parametrize("case", GRAPH_CASES)
def test_a_broken_graph_file(graph_folder: Path, edge_model: Path, tmp_path: Path, capsys, case: str) -> None:
    spoil, message = GRAPH_CASES[case]
    path = graph_path(graph_folder, "test", 0)
    spoil(path)
    out = tmp_path / "evaluation"
    arguments = ["tracking", "evaluate", "--model", str(edge_model), "--graphs", str(graph_folder)]
    one_line_exit_2([*arguments, "--out", str(out)], capsys, path.name, message)
    assert not out.exists()


@pytest.mark.parametrize("how", ["random bytes", "not YAML", "a list"])
def test_a_garbage_graphs_yaml(graph_folder: Path, edge_model: Path, tmp_path: Path, capsys, how) -> None:
    path = graph_folder / "graphs.yaml"
    if how == "random bytes":
        corrupt(path, how)
    else:
        path.write_text("setting: [pt1\n" if how == "not YAML" else "- a\n- b\n")
    arguments = ["tracking", "evaluate", "--model", str(edge_model), "--graphs", str(graph_folder)]
    one_line_exit_2([*arguments, "--out", str(tmp_path / "evaluation")], capsys, "graphs.yaml")


def test_the_valid_graph_folder_passes(graph_folder: Path, edge_model: Path, tmp_path: Path) -> None:
    arguments = ["tracking", "evaluate", "--model", str(edge_model), "--graphs", str(graph_folder)]
    assert main(["-q", *arguments, "--out", str(tmp_path / "evaluation"), "--threads", "1"]) == 0


# --- a point set -----------------------------------------------------------------------------------------


@pytest.fixture
def point_set(tmp_path: Path) -> Path:
    return make_synthetic(tmp_path / "points", samples=40, seed=0)


def _nan_in_pos(path: Path) -> None:
    graphs = torch.load(path, weights_only=False)
    graphs[2].pos[0, 0] = float("nan")
    torch.save(graphs, path)


POINT_SET_CASES: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "truncated split": (lambda f: corrupt(f / "train.pt", "truncated"), "train.pt", "not a readable"),
    "0-byte split": (lambda f: corrupt(f / "train.pt", "empty"), "train.pt", "is empty"),
    "foreign pickle": (lambda f: corrupt(f / "valid.pt", "foreign pickle"), "valid.pt", "other than tensors"),
    "train.pt replaced by test.pt": (
        lambda f: (f / "train.pt").write_bytes((f / "test.pt").read_bytes()),
        "dataset.yaml",
        "field 'splits.train'",
    ),
    "kind: tracking": (
        lambda f: (f / "dataset.yaml").write_text(
            yaml.safe_dump({**yaml.safe_load((f / "dataset.yaml").read_text()), "kind": "tracking"})
        ),
        "dataset.yaml",
        "field 'kind' is 'tracking'",
    ),
    "garbage dataset.yaml": (lambda f: corrupt(f / "dataset.yaml", "random bytes"), "dataset.yaml", "not"),
    "NaN in pos": (lambda f: _nan_in_pos(f / "test.pt"), "test.pt", "field 'pos' holds nan"),
}


@pytest.mark.parametrize("case", POINT_SET_CASES)
def test_a_broken_point_set(point_set: Path, capsys, case: str) -> None:
    spoil, name, message = POINT_SET_CASES[case]
    spoil(point_set)
    one_line_exit_2(["pointsets", "inspect", str(point_set)], capsys, name, message)


def test_the_valid_point_set_passes(point_set: Path) -> None:
    assert main(["-q", "pointsets", "inspect", str(point_set)]) == 0


# --- a checkpoint ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jets(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("jets")
    write_sanity(folder / "sanity.root", 20, seed=1, progress=False)
    save_checkpoint(folder / "best.pt", InteractionNetwork(48, 8, 2))
    return folder


@pytest.mark.parametrize("how", ["truncated", "empty", "random bytes", "foreign pickle"])
def test_a_broken_checkpoint(jets: Path, tmp_path: Path, capsys, how: str) -> None:
    checkpoint = tmp_path / "best.pt"
    checkpoint.write_bytes((jets / "best.pt").read_bytes())
    corrupt(checkpoint, how)
    out = tmp_path / "relevance.h5"
    arguments = ["explain", "--model", str(checkpoint), "--data", str(jets / "sanity.root")]
    one_line_exit_2([*arguments, "--out", str(out)], capsys, "best.pt")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["best.pt"]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (bytes(range(128, 256)), "not a text file"),
        (b"train: [1\n", "not valid YAML on line 2"),
        (b"- 1\n- 2\n", "expected a mapping of fields, got a list"),
    ],
)
def test_a_garbage_config(jets: Path, tmp_path: Path, capsys, content: bytes, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(content)
    out = tmp_path / "run"
    arguments = ["train", "--config", str(config), "--data", str(jets / "sanity.root"), "--out", str(out)]
    one_line_exit_2(arguments, capsys, "config.yaml", message)
    assert not out.exists()


# --- outputs owned by one run ----------------------------------------------------------------------------


def test_a_second_run_into_a_locked_output_stops_at_once(jets: Path, tmp_path: Path, capsys) -> None:
    """Another process holds the relevance file's lock: explain stops with one line naming its pid."""
    out = tmp_path / "relevance.h5"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from hepxai.io.lock import lock_file\n"
         "with lock_file(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(out)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        arguments = ["explain", "--model", str(jets / "best.pt"), "--data", str(jets / "sanity.root")]
        start = time.perf_counter()
        one_line_exit_2([*arguments, "--out", str(out)], capsys, f"pid {holder.pid}", "relevance.h5")
        assert time.perf_counter() - start < 5
    finally:
        holder.kill()
        holder.wait()
    assert main(["-q", *arguments, "--out", str(out), "--selection", "none"]) == 0  # released by the kernel
    assert sorted(path.name for path in tmp_path.iterdir()) == ["relevance.h5"]


def test_a_killed_run_leaves_no_lock_behind(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from hepxai.io.lock import lock_folder\n"
         "with lock_folder(sys.argv[1]):\n    print('held', flush=True); time.sleep(60)", str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": str(Path(__file__).parents[2] / "src")},
    )  # fmt: skip
    assert holder.stdout.readline().strip() == "held"
    holder.kill()  # SIGKILL: no cleanup runs; the kernel drops the lock
    holder.wait()
    assert (folder / LOCK_FILE).exists()
    from hepxai.io.lock import lock_folder

    with lock_folder(folder):
        assert (folder / LOCK_FILE).read_text().strip() == str(__import__("os").getpid())
    assert not (folder / LOCK_FILE).exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol:UserWarning")
def test_a_pickled_object_is_never_run(tmp_path: Path, capsys) -> None:
    """A split whose pickle would run code on load is refused before anything runs."""
    folder = make_synthetic(tmp_path / "points", samples=40, seed=0)
    marker = tmp_path / "ran"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    (folder / "train.pt").write_bytes(pickle.dumps(Exploit()))
    one_line_exit_2(["pointsets", "inspect", str(folder)], capsys, "train.pt")
    assert not marker.exists()


# --- settings recorded and checked on resume and reuse ---------------------------------------------------


def test_a_resume_on_graphs_of_another_builder_is_refused(graph, tmp_path: Path) -> None:
    from hepxai.errors import InputError
    from hepxai.tracking.edge_training import EdgeTrainConfig
    from hepxai.tracking.jobs import TRAINING_GRAPHS_FILE, train_edge_model

    def graph_folder(name: str, builder: str) -> Path:
        folder = tmp_path / name
        for split in ("train", "valid"):
            write_graph(graph, graph_path(folder, split, 0))
        write_graph_record(folder, {"setting": "pt1_mu200", "builder": builder})
        return folder

    config = EdgeTrainConfig(epochs=1, hidden=4, iterations=1)
    out = tmp_path / "run"
    train_edge_model(graph_folder("module_map", "module_map"), out, config, threads=1, progress=False)
    other = graph_folder("embedding", "embedding")
    resumed = EdgeTrainConfig(epochs=2, hidden=4, iterations=1)
    with pytest.raises(InputError, match=rf"{TRAINING_GRAPHS_FILE}: field 'builder' is 'module_map'"):
        train_edge_model(other, out, resumed, resume=True, threads=1, progress=False)
    assert (out / "last.pt").is_file()


def test_a_stored_module_map_of_another_cut_quantile_is_refused(graph, tmp_path: Path) -> None:
    from hepxai.errors import InputError
    from hepxai.tracking.builders import BuilderChoice, fitted_builder
    from hepxai.tracking.module_map import ModuleMap
    from hepxai.tracking.settings import get_setting

    setting = get_setting("pt1_mu200")
    path = setting.folder(tmp_path) / "module_map.npz"
    ModuleMap.fit([graph], cut_quantile=0.999).save(path)
    record = {"cut_quantile": 0.999, "train_events": [setting.train.start, setting.train.stop]}
    path.with_suffix(".yaml").write_text(yaml.safe_dump(record))
    with pytest.raises(InputError, match=r"module_map\.yaml: field 'cut_quantile' is 0\.999, .* 0\.5"):
        fitted_builder(setting, tmp_path, BuilderChoice(cut_quantile=0.5))
    _, reused = fitted_builder(setting, tmp_path, BuilderChoice(cut_quantile=0.999))
    assert reused["module_pairs"] > 0


def test_a_results_table_with_other_columns_is_refused(tmp_path: Path) -> None:
    from hepxai.errors import InputError
    from hepxai.tracking.results import update_results

    path = tmp_path / "results.csv"
    path.write_text("name,value\na,1\n")
    with pytest.raises(InputError, match=r"results\.csv: field 'method' \(column\) is missing"):
        update_results(path, [{"method": "m", "setting": "s", "edge_drop": 0.0, "graphs": "g"}])
    assert path.read_text() == "name,value\na,1\n"


def test_a_job_that_owns_its_output_holds_the_lock_while_it_runs(tmp_path: Path) -> None:
    """``owns_folder`` binds the output argument by position or name; the lock is held inside the job
    (re-entrant there) and gone after it, also when the job raises."""
    from hepxai.io.lock import lock_folder, owns_folder

    @owns_folder("out")
    def job(data: int, out: Path, *, fail: bool = False) -> str:
        with lock_folder(out):  # re-entrant: the job may lock its folder again
            text = (out / LOCK_FILE).read_text().strip()
        if fail:
            raise ValueError(data)
        return text

    pid = str(__import__("os").getpid())
    assert job(1, tmp_path / "a") == pid
    assert job(1, out=tmp_path / "b") == pid
    with pytest.raises(ValueError, match="2"):
        job(2, tmp_path / "c", fail=True)
    assert not any(path.name == LOCK_FILE for path in tmp_path.rglob("*"))
