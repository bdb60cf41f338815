"""The writing layer: a full disk (a faked ENOSPC) ends in one line and leaves nothing behind."""

from __future__ import annotations

import errno
import os

import pandas as pd
import pytest
import torch

from hepxai.cli import main
from hepxai.data.detector.trackml_io import TrackMLEvent, write_csv, write_hdf
from hepxai.data.sanity import write_sanity
from hepxai.errors import OutputError
from hepxai.explain.relevance_file import RelevanceWriter
from hepxai.io.atomic import atomic_path, write_text
from hepxai.models import InteractionNetwork, save_checkpoint

pytestmark = pytest.mark.badinput

FULL = OSError(errno.ENOSPC, "No space left on device")


def fail(*args, **kwargs):
    raise FULL


def write(path, text, *, error=None):
    with atomic_path(path) as temporary:
        temporary.write_text(text)
        if error is not None:
            raise error


def write_relevance(path, **tables):
    with RelevanceWriter(path, ["a"], ["a"], {"method": "lrp"}) as writer:
        writer.append(**tables)


def leftovers(folder):
    return sorted(path.name for path in folder.rglob("*") if path.is_file())


def test_a_complete_write_is_renamed_into_place(tmp_path):
    path = write_text(tmp_path / "sub" / "a.txt", "one")
    assert path.read_text() == "one"
    assert leftovers(tmp_path) == ["a.txt"]


@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_a_full_disk_is_one_line_and_leaves_the_old_file(tmp_path, monkeypatch, where):
    path = tmp_path / "a.txt"
    path.write_text("old")
    if where == "fsync":
        monkeypatch.setattr(os, "fsync", fail)
    if where == "replace":
        monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OutputError) as raised:
        write(path, "new", error=FULL if where == "write" else None)
    assert str(raised.value) == f"no space left on the device writing {path}"
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == ["a.txt"]


def test_a_killed_writer_s_temporary_file_is_removed_by_the_next_write(tmp_path):
    stale = tmp_path / ".a.txt.999999999.partial"  # no such pid: its writer was killed
    alive = tmp_path / f".a.txt.{os.getppid()}.partial"  # a running writer's: kept
    stale.write_text("half")
    alive.write_text("half")
    write_text(tmp_path / "a.txt", "whole")
    assert leftovers(tmp_path) == [alive.name, "a.txt"]


def test_other_write_errors_name_their_reason(tmp_path):
    with pytest.raises(OutputError, match=r"^disk quota exceeded writing .*a\.txt$"):
        write(tmp_path / "a.txt", "x", error=OSError(errno.EDQUOT, "Disk quota exceeded"))
    assert leftovers(tmp_path) == []


def test_an_error_that_is_not_the_disk_passes_through(tmp_path):
    with pytest.raises(RuntimeError, match="bug"):
        write(tmp_path / "a.txt", "x", error=RuntimeError("bug"))
    assert leftovers(tmp_path) == []


def test_hdf5_that_silently_loses_rows_is_not_renamed(tmp_path, monkeypatch):
    """HDF5 reports no error on a full disk: the check after writing finds the missing rows."""
    append = pd.HDFStore.append

    def drop_tracks(store, key, value, **kwargs):
        if key != "tracks":
            append(store, key, value, **kwargs)

    monkeypatch.setattr(pd.HDFStore, "append", drop_tracks)
    jets, tracks = pd.DataFrame({"jet_id": [0, 1]}), pd.DataFrame({"jet_id": [0, 0, 1]})
    with pytest.raises(OutputError, match=r"r\.h5.*table 'tracks' is missing"):
        write_relevance(tmp_path / "r.h5", jets=jets, tracks=tracks)
    assert leftovers(tmp_path) == []


def test_a_full_disk_while_appending_leaves_no_relevance_file(tmp_path, monkeypatch):
    monkeypatch.setattr(pd.HDFStore, "append", fail)
    with pytest.raises(OutputError, match=r"no space left on the device writing .*r\.h5"):
        write_relevance(tmp_path / "r.h5", jets=pd.DataFrame({"jet_id": [0]}))
    assert leftovers(tmp_path) == []


def _event(event_id: int) -> TrackMLEvent:
    hits = pd.DataFrame({"hit_id": [1, 2], "x": [1.0, 2.0], "y": 0.0, "z": 0.0, "volume_id": 8})
    hits = hits.assign(layer_id=2, module_id=[1, 2])
    particles = pd.DataFrame({"particle_id": [7], "particle_type": 13, "vx": 0.0, "vy": 0.0, "vz": 0.0})
    particles = particles.assign(px=1.0, py=0.0, pz=0.0, q=1, nhits=2)
    truth = pd.DataFrame({"hit_id": [1, 2], "particle_id": 7, "tx": [1.0, 2.0], "ty": 0.0, "tz": 0.0})
    truth = truth.assign(tpx=1.0, tpy=0.0, tpz=0.0, weight=0.5)
    return TrackMLEvent(event_id, hits, particles, truth)


def test_a_csv_event_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    to_csv = pd.DataFrame.to_csv

    def full_on_truth(frame, path, **kwargs):
        if "truth" in str(path):
            raise FULL
        return to_csv(frame, path, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full_on_truth)
    with pytest.raises(OutputError, match=r"no space left on the device writing .*event000000003-truth\.csv"):
        write_csv(_event(3), tmp_path)
    assert leftovers(tmp_path) == []  # no hits-only event that a reader would take for a whole one


def test_an_hdf5_part_without_its_truth_is_not_renamed(tmp_path, monkeypatch):
    append = pd.HDFStore.append

    def drop_truth(store, key, value, **kwargs):
        if key != "truth":
            append(store, key, value, **kwargs)

    monkeypatch.setattr(pd.HDFStore, "append", drop_truth)
    monkeypatch.setattr(pd.HDFStore, "create_table_index", lambda *args, **kwargs: None)
    with pytest.raises(OutputError, match=r"part\.h5.*table 'truth' is missing"):
        write_hdf([_event(0)], tmp_path / "part.h5")
    assert leftovers(tmp_path) == []


def test_a_checkpoint_on_a_full_disk(tmp_path, monkeypatch):
    monkeypatch.setattr(torch, "save", fail)
    with pytest.raises(OutputError, match=r"no space left on the device writing .*best\.pt"):
        save_checkpoint(tmp_path / "best.pt", InteractionNetwork(4, 8, 2))
    assert leftovers(tmp_path) == []


@pytest.fixture(scope="module")
def sanity_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sanity")
    write_sanity(folder / "sanity.root", 20, seed=1, progress=False)
    save_checkpoint(folder / "best.pt", InteractionNetwork(48, 8, 2))
    return folder


@pytest.mark.parametrize("edges", [False, True])
def test_explain_on_a_full_disk_exits_2_with_one_line(sanity_model, tmp_path, monkeypatch, capsys, edges):
    monkeypatch.setattr(os, "fsync", fail)
    out = tmp_path / "r.h5"
    arguments = ["-q", "explain", "--model", str(sanity_model / "best.pt"), "--data"]
    arguments += [str(sanity_model / "sanity.root"), "--out", str(out), "--selection", "none"]
    assert main(arguments + (["--edges"] if edges else [])) == 2
    assert capsys.readouterr().err == f"hepxai explain: error: no space left on the device writing {out}\n"
    assert leftovers(tmp_path) == []
