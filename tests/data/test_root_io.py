from pathlib import Path

import awkward as ak
import numpy as np
import pytest
import uproot

from hepxai.data import read_jets
from hepxai.data.sanity import sanity_chunks, write_sanity
from hepxai.data.schema import load_schema
from hepxai.errors import InputError


def test_sanity_round_trip_reproduces_the_arrays_exactly(tmp_path):
    generated = next(sanity_chunks(300, seed=7))
    path = write_sanity(tmp_path / "sanity.root", 300, seed=7, progress=False)
    jets = read_jets(path, load_schema("sanity"), progress=False)
    expected = np.stack([ak.to_numpy(ak.flatten(generated[f"f{i}"])) for i in range(48)], axis=1)
    np.testing.assert_array_equal(jets.features, expected)
    np.testing.assert_array_equal(jets.label, generated["label_H_bb"])
    assert (jets.num_tracks == 10).all()


def test_sanity_labels_follow_the_paper_formula(tmp_path):
    jets = read_jets(
        write_sanity(tmp_path / "s.root", 500, seed=3, progress=False), load_schema("sanity"), progress=False
    )
    per_jet = jets.features.reshape(500, 10, 48)
    score = (per_jet[:, :, 0] + 2 * per_jet[:, :, 3]).mean(1)
    np.testing.assert_array_equal(jets.label, (score > 0).astype(int))
    assert set(np.unique(per_jet[:, :, 0])) <= {0.0, 10.0}
    assert set(np.unique(per_jet[:, :, 3])) <= {-20.0, -10.0, 0.0, 10.0}
    noise = per_jet[:, :, [1, 2, *range(4, 48)]]
    assert abs(noise.mean()) < 0.02
    assert abs(noise.std() - 1) < 0.02


def test_sanity_data_is_reproducible(tmp_path):
    a = read_jets(
        write_sanity(tmp_path / "a.root", 200, seed=1, progress=False), load_schema("sanity"), progress=False
    )
    b = read_jets(
        write_sanity(tmp_path / "b.root", 200, seed=1, progress=False), load_schema("sanity"), progress=False
    )
    np.testing.assert_array_equal(a.features, b.features)


def test_reader_builds_labels_features_and_truth(tmp_path, tiny_schema, tiny_branches, write_tiny):
    counts = [3, 2, 5, 1, 4, 2, 3, 2]
    branches = tiny_branches(counts)
    jets = read_jets(write_tiny(tmp_path / "t.root", branches), tiny_schema, progress=False)
    kept = np.array([0, 1, 2, 4, 5, 6])  # every fourth jet (3, 7) has no label and is dropped
    np.testing.assert_array_equal(jets.label, [1, 0, 0, 1, 0, 0])
    # max_tracks = 4 cuts the 5-track jet; the repeated feature fills both of its columns
    np.testing.assert_array_equal(jets.num_tracks, np.minimum(np.array(counts)[kept], 4))
    pt = ak.to_numpy(ak.flatten(branches["track_pt"][kept][:, :4]))
    np.testing.assert_array_equal(jets.features[:, 0], pt)
    np.testing.assert_array_equal(jets.features[:, 2], pt)
    np.testing.assert_array_equal(
        jets.track_truth["track_fromB"], ak.to_numpy(ak.flatten(branches["track_fromB"][kept][:, :4]))
    )
    np.testing.assert_array_equal(jets.jet_truth["fj_isH"], jets.label)


def test_zero_track_jets_are_dropped_and_one_track_jets_kept(
    tmp_path, tiny_schema, tiny_branches, write_tiny
):
    jets = read_jets(
        write_tiny(tmp_path / "t.root", tiny_branches([0, 1, 2, 3])), tiny_schema, progress=False
    )
    np.testing.assert_array_equal(jets.num_tracks, [1, 2])
    assert jets.to_batch().edge_index.shape[1] == 0 + 2


def test_selection_window_on_spectators(tmp_path, tiny_schema, tiny_branches, write_tiny):
    branches = tiny_branches([2] * 40)
    path = write_tiny(tmp_path / "t.root", branches)
    window = {"fj_sdmass": (40.0, 200.0), "fj_pt": (300.0, 2000.0)}
    jets = read_jets(path, tiny_schema, selection=window, progress=False)
    assert len(jets) > 0
    assert ((jets.spectators["fj_sdmass"] > 40) & (jets.spectators["fj_sdmass"] < 200)).all()
    assert (jets.spectators["fj_pt"] > 300).all()
    labelled = (np.arange(40) % 4) != 3
    inside = (branches["fj_sdmass"] > 40) & (branches["fj_sdmass"] < 200) & (branches["fj_pt"] > 300)
    assert len(jets) == int((labelled & inside).sum())


def test_many_files_and_chunks_give_the_same_jets(tmp_path, tiny_schema, tiny_branches, write_tiny):
    a = write_tiny(tmp_path / "a.root", tiny_branches([2, 3, 4, 1] * 10, seed=1))
    b = write_tiny(tmp_path / "b.root", tiny_branches([3, 1, 2, 2] * 10, seed=2))
    whole = read_jets([a, b], tiny_schema, progress=False)
    chunked = read_jets([a, b], tiny_schema, chunk_size=7, progress=False)
    np.testing.assert_array_equal(whole.features, chunked.features)
    np.testing.assert_array_equal(whole.num_tracks, chunked.num_tracks)
    assert len(read_jets([a, b], tiny_schema, max_jets=11, chunk_size=5, progress=False)) == 11


def test_an_interrupted_write_leaves_no_file(tmp_path):
    from hepxai.data import TreeWriter

    def write_then_fail() -> None:
        with TreeWriter(tmp_path / "out.root", "tree") as writer:
            writer.extend({"x": np.arange(3, dtype=np.float32)})
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        write_then_fail()
    assert list(tmp_path.iterdir()) == []


# --- bad input: one line that names the file and the branch --------------------------------------------


def test_missing_file(tmp_path, tiny_schema):
    with pytest.raises(InputError, match=r"nope\.root: file not found"):
        read_jets(tmp_path / "nope.root", tiny_schema)


def test_not_a_root_file(tmp_path, tiny_schema):
    path = tmp_path / "notes.root"
    path.write_text("these are not jets\n" * 100)
    with pytest.raises(InputError, match=r"notes\.root: not a readable ROOT file"):
        read_jets(path, tiny_schema)


def test_truncated_file(tmp_path, tiny_schema, tiny_branches, write_tiny):
    whole = write_tiny(tmp_path / "whole.root", tiny_branches([5] * 2000))
    truncated = tmp_path / "truncated.root"
    truncated.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(InputError, match=r"truncated\.root: (not a readable ROOT file|could not read)"):
        read_jets(truncated, tiny_schema, progress=False)


def test_missing_tree(tmp_path, tiny_schema, tiny_branches, write_tiny):
    path = write_tiny(tmp_path / "t.root", tiny_branches([2, 2]), tree="other")
    with pytest.raises(InputError, match=r"t\.root: no tree 'events/jets' \(trees in file: other\)"):
        read_jets(path, tiny_schema)


def test_misspelled_branch_names_the_closest(tmp_path, tiny_schema, tiny_branches, write_tiny):
    branches = tiny_branches([2, 3])
    branches["track_dxyy"] = branches.pop("track_dxy")
    path = write_tiny(tmp_path / "t.root", branches)
    with pytest.raises(
        InputError, match=r"t\.root: branch 'track_dxy' not found .* \(closest: 'track_dxyy'\)"
    ):
        read_jets(path, tiny_schema)


def test_flat_branch_where_jagged_expected(tmp_path, tiny_schema, tiny_branches, write_tiny):
    branches = tiny_branches([2, 3])
    branches["track_dxy"] = np.zeros(2, dtype=np.float32)
    path = write_tiny(tmp_path / "t.root", branches)
    with pytest.raises(
        InputError, match=r"t\.root: branch 'track_dxy' is flat, expected one value per track"
    ):
        read_jets(path, tiny_schema)


def test_jagged_branch_where_flat_expected(tmp_path, tiny_schema, tiny_branches, write_tiny):
    branches = tiny_branches([2, 3])
    branches["fj_pt"] = branches["track_pt"]
    path = write_tiny(tmp_path / "t.root", branches)
    with pytest.raises(InputError, match=r"branch 'fj_pt' is jagged, expected one value per jet"):
        read_jets(path, tiny_schema)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_features(tmp_path, tiny_schema, bad, tiny_branches, write_tiny):
    branches = tiny_branches([2, 3, 2])
    values = ak.to_numpy(ak.flatten(branches["track_dxy"])).copy()
    values[3] = bad
    branches["track_dxy"] = ak.unflatten(values, [2, 3, 2])
    path = write_tiny(tmp_path / "t.root", branches)
    with pytest.raises(
        InputError, match=r"t\.root: branch 'track_dxy' has 1 NaN/inf values \(first in jet 1\)"
    ):
        read_jets(path, tiny_schema, progress=False)


@pytest.mark.parametrize("chunk_size", [2, 3, 100])
def test_non_finite_error_names_the_jet_that_holds_it(
    tmp_path, tiny_schema, tiny_branches, write_tiny, chunk_size
):
    # Jets of 2, 5, 1, 6, 3 tracks (max_tracks 4 cuts jets 1 and 3). Track 5 of jet 1 is cut, so its NaN is
    # never read; the inf at track 1 of jet 3 and the NaN at track 2 of jet 4 are. Jets count file entries.
    counts = [2, 5, 1, 6, 3]
    branches = tiny_branches(counts)
    values = ak.to_numpy(ak.flatten(branches["track_dxy"])).copy()
    first = np.cumsum(counts) - counts
    values[first[1] + 4] = np.nan
    values[first[3] + 1] = np.inf
    values[first[4] + 2] = np.nan
    branches["track_dxy"] = ak.unflatten(values, counts)
    path = write_tiny(tmp_path / "t.root", branches)
    with pytest.raises(InputError, match=r"NaN/inf values \(first in jet 3\)"):
        read_jets(path, tiny_schema, chunk_size=chunk_size, progress=False)


def test_empty_file(tmp_path, tiny_schema, tiny_branches):
    path = tmp_path / "empty.root"
    with uproot.recreate(path) as file:
        file.mkdir("events")
        types = {name: _type(values) for name, values in tiny_branches([1]).items()}
        file.mktree("events/jets", types)
    with pytest.raises(InputError, match=r"empty\.root: tree 'events/jets' has no entries"):
        read_jets(path, tiny_schema)


def test_no_jet_passing_the_selection(tmp_path, tiny_schema, tiny_branches, write_tiny):
    path = write_tiny(tmp_path / "t.root", tiny_branches([2, 3]))
    with pytest.raises(InputError, match="no jet passed"):
        read_jets(path, tiny_schema, selection={"fj_pt": (5000.0, 6000.0)}, progress=False)


def _type(values):
    if isinstance(values, ak.Array):
        return "var * " + str(ak.flatten(values).layout.dtype)
    return values.dtype


def test_one_bad_file_among_good_ones_fails_before_reading(tmp_path, tiny_schema, tiny_branches, write_tiny):
    good = write_tiny(tmp_path / "good.root", tiny_branches([2, 3]))
    with pytest.raises(InputError, match=r"missing\.root"):
        read_jets([good, Path(tmp_path / "missing.root")], tiny_schema)
