"""``hepxai explain`` streams its input: the relevance file equals the one of all jets explained at once, and
the jet selection is the model's training selection unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.cli import main
from hepxai.data import load_schema, read_jets
from hepxai.data.root_io import ORIGINAL_SELECTION
from hepxai.data.sanity import write_sanity
from hepxai.explain import LRP
from hepxai.explain.export import explain_files, write_relevance
from hepxai.explain.relevance_file import RelevanceFile, read_relevance_file
from hepxai.models import save_checkpoint

from ..cms_like import FEATURES, schema_yaml, write_jets

SCHEMA = schema_yaml("stream", max_tracks=12)
NUM_JETS = 45


def _write_jets(path: Path) -> Path:
    """H and QCD jets of 1 to 15 tracks (some cut at 12); soft-drop masses 10 to 250 GeV, some outside the
    original window."""
    rng = np.random.default_rng(7)
    counts = rng.integers(1, 16, size=NUM_JETS)
    is_h = rng.uniform(size=NUM_JETS) < 0.5
    total = int(counts.sum())
    values = {name: rng.normal(size=total) for name in FEATURES}
    from_b = rng.uniform(size=total) < 0.3
    sdmass, pt = rng.uniform(10, 250, NUM_JETS), rng.uniform(350, 900, NUM_JETS)
    return write_jets(path, counts, is_h, values, from_b=from_b, sdmass=sdmass, pt=pt)


@pytest.fixture(scope="module")
def files(tmp_path_factory, make_model) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("stream")
    (folder / "stream.yml").write_text(SCHEMA)
    model = make_model(3, num_features=len(FEATURES), hidden=8, dtype=torch.float32)
    return {
        "schema": folder / "stream.yml",
        "data": _write_jets(folder / "jets.root"),
        # A checkpoint of this project from before runs stored their config, and one trained without a window.
        "old_model": save_checkpoint(folder / "old.pt", model),
        "model_none": save_checkpoint(folder / "none.pt", model, run_config={"data": {"selection": "none"}}),
    }


def test_streamed_file_equals_all_jets_at_once(files, make_model, tmp_path):
    schema = load_schema(files["schema"])
    model = make_model(3, num_features=len(FEATURES), hidden=8, dtype=torch.float32)
    jets = read_jets(files["data"], schema, selection=ORIGINAL_SELECTION, progress=False)
    at_once = write_relevance(
        tmp_path / "at_once.h5", LRP(model), model, jets, schema, edges=True, chunk_size=8, progress=False
    )
    # Reading 5 entries at a time: reading chunks and explained chunks never line up.
    streamed = explain_files(
        files["old_model"],
        [files["data"]],
        tmp_path / "streamed.h5",
        schema,
        edges=True,
        chunk_size=8,
        read_chunk_size=5,
        progress=False,
    )
    expected, got = read_relevance_file(at_once), read_relevance_file(streamed)
    assert 0 < len(got.jets) < NUM_JETS  # the selection removed jets
    pd.testing.assert_frame_equal(got.jets, expected.jets)
    pd.testing.assert_frame_equal(got.tracks, expected.tracks)
    pd.testing.assert_frame_equal(got.edges, expected.edges)
    assert got.meta["num_jets"] == expected.meta["num_jets"] == len(jets)


def _explain(files: dict[str, Path], model: str, out: Path, *extra: str) -> RelevanceFile:
    command = ["-q", "explain", "--model", str(files[model]), "--data", str(files["data"]), "--out", str(out)]
    assert main([*command, "--schema", str(files["schema"]), *extra]) == 0
    return read_relevance_file(out)


def test_selection_defaults_to_the_models_training_selection(files, tmp_path):
    schema = load_schema(files["schema"])
    in_window = read_jets(files["data"], schema, selection=ORIGINAL_SELECTION, progress=False)
    every = read_jets(files["data"], schema, progress=False)
    assert len(in_window) < len(every)

    trained_without = _explain(files, "model_none", tmp_path / "none.h5")
    assert (trained_without.meta["selection"], trained_without.meta["selection_window"]) == ("none", "none")
    np.testing.assert_array_equal(trained_without.jets["fj_sdmass"], every.spectators["fj_sdmass"])

    # No stored selection: the schema's rule, as `hepxai train` applies it (the original window here).
    old = _explain(files, "old_model", tmp_path / "old.h5")
    assert old.meta["selection"] == "original"
    assert old.meta["selection_window"] == "40 < fj_sdmass < 200, 300 < fj_pt < 2000"
    np.testing.assert_array_equal(old.jets["fj_sdmass"], in_window.spectators["fj_sdmass"])

    overridden = _explain(files, "model_none", tmp_path / "original.h5", "--selection", "original")
    assert len(overridden.jets) == len(in_window)


def test_selection_on_data_without_the_spectators_is_one_line(make_model, tmp_path, capsys):
    sanity = write_sanity(tmp_path / "sanity.root", 4, seed=0, progress=False)
    model = save_checkpoint(tmp_path / "m.pt", make_model(0, num_features=48, hidden=4, dtype=torch.float32))
    command = ["-q", "explain", "--model", str(model), "--data", str(sanity)]
    assert main([*command, "--out", str(tmp_path / "r.h5"), "--selection", "original"]) == 2
    assert "selection on 'fj_sdmass': not a spectator of schema 'sanity'" in capsys.readouterr().err


@pytest.mark.parametrize("chunk_size", [1, 7, 10_000])
def test_track_chunks_hold_whole_jets(files, tmp_path, chunk_size):
    relevance = _explain(files, "old_model", tmp_path / "r.h5")
    chunks = list(relevance.iter_tracks(chunk_size=chunk_size))
    pd.testing.assert_frame_equal(pd.concat(chunks), relevance.tracks)
    seen = [set(chunk["jet_id"]) for chunk in chunks]
    assert all(a.isdisjoint(b) for i, a in enumerate(seen) for b in seen[i + 1 :])


def test_one_jet_is_read_with_or_without_a_jet_id_column(files, tmp_path):
    relevance = _explain(files, "old_model", tmp_path / "r.h5")
    tracks, edges = relevance.tracks, relevance.edges
    # A file written before jet_id was a queryable column: every table rewritten without data columns.
    old = tmp_path / "old.h5"
    with pd.HDFStore(relevance.path, "r") as source, pd.HDFStore(old, "w") as target:
        for key in source.keys():  # noqa: SIM118
            table = source[key]
            storer_format = "table" if key.lstrip("/") in ("jets", "tracks", "edges") else "fixed"
            target.put(key, table, format=storer_format, track_times=False)
    for path in (relevance.path, old):
        got_tracks, got_edges = read_relevance_file(path).jet(3)
        pd.testing.assert_frame_equal(got_tracks, tracks[tracks["jet_id"] == 3].reset_index(drop=True))
        pd.testing.assert_frame_equal(got_edges, edges[edges["jet_id"] == 3].reset_index(drop=True))
