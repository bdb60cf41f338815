import itertools

import numpy as np
import pytest
import torch

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.data.jets import Jets


@pytest.mark.parametrize("counts", [[3], [1, 2, 5], [0, 4, 1, 60], [2] * 50])
def test_fully_connected_has_n_n_minus_1_edges_within_each_jet(counts):
    counts_t = torch.tensor(counts)
    edges = fully_connected_edge_index(counts_t)
    assert edges.shape == (2, sum(n * (n - 1) for n in counts))
    jet_of_track = torch.repeat_interleave(torch.arange(len(counts)), counts_t)
    source, target = edges
    assert not (source == target).any()
    assert torch.equal(jet_of_track[source], jet_of_track[target])
    pairs = set(zip(source.tolist(), target.tolist(), strict=True))
    assert len(pairs) == edges.shape[1]


def test_edge_order_is_permutations_order_of_the_original_graphs():
    edges = fully_connected_edge_index(torch.tensor([4]))
    assert edges.T.tolist() == [list(p) for p in itertools.permutations(range(4), 2)]


def make_jets(counts, num_features=3, seed=0):
    rng = np.random.default_rng(seed)
    counts = np.asarray(counts)
    return Jets(
        features=rng.normal(size=(counts.sum(), num_features)).astype(np.float32),
        num_tracks=counts,
        label=np.arange(len(counts)) % 2,
        feature_names=tuple(f"f{i}" for i in range(num_features)),
        spectators={"fj_pt": rng.uniform(300, 500, len(counts)).astype(np.float32)},
        track_truth={"track_fromB": (np.arange(counts.sum()) % 3 == 0).astype(np.int32)},
    )


def test_select_gathers_whole_jets_in_order():
    jets = make_jets([2, 3, 1, 4])
    picked = jets.select(np.array([3, 1]))
    offsets = jets.offsets
    expected = np.concatenate(
        [jets.features[offsets[3] : offsets[3] + 4], jets.features[offsets[1] : offsets[1] + 3]]
    )
    np.testing.assert_array_equal(picked.features, expected)
    np.testing.assert_array_equal(picked.num_tracks, [4, 3])
    np.testing.assert_array_equal(picked.label, jets.label[[3, 1]])
    assert len(picked.track_truth["track_fromB"]) == 7


def test_batch_and_padded_views_agree():
    jets = make_jets([2, 3, 1])
    batch = jets.to_batch()
    assert batch.num_graphs == 3
    assert batch.edge_index.shape[1] == 2 + 6 + 0
    assert batch.u.shape == (3, 1)
    x, mask = jets.to_padded()
    assert x.shape == (3, 3, 3)
    assert mask.sum(1).tolist() == [2, 3, 1]
    torch.testing.assert_close(x[mask], batch.x)
    assert (x[~mask] == 0).all()


def test_consecutive_selection_equals_a_gather():
    jets = make_jets([2, 3, 1, 4, 2])
    sliced = jets.select(np.arange(1, 4))  # consecutive: slices
    gathered = jets.select(np.array([1, 2, 3])[::-1]).select(np.array([2, 1, 0]))  # reversed twice: gathers
    np.testing.assert_array_equal(sliced.features, gathered.features)
    np.testing.assert_array_equal(sliced.num_tracks, [3, 1, 4])
    np.testing.assert_array_equal(sliced.track_truth["track_fromB"], gathered.track_truth["track_fromB"])
    np.testing.assert_array_equal(sliced.spectators["fj_pt"], jets.spectators["fj_pt"][1:4])


@pytest.mark.parametrize(
    "jet_index",
    [np.arange(1, 4), np.array([3, 1]), np.array([True, False, True, True, False]), np.arange(5)],
    ids=["consecutive", "gathered", "mask", "all"],
)
def test_select_returns_independent_data(jet_index):
    jets = make_jets([2, 3, 1, 4, 2])
    jets.jet_truth["fj_isH"] = np.ones(5, dtype=np.int32)
    original = {
        "features": jets.features.copy(),
        "label": jets.label.copy(),
        "num_tracks": jets.num_tracks.copy(),
    }
    picked = jets.select(jet_index)
    arrays = [
        picked.features,
        picked.num_tracks,
        picked.label,
        *picked.spectators.values(),
        *picked.track_truth.values(),
        *picked.jet_truth.values(),
    ]
    sources = [
        jets.features,
        jets.num_tracks,
        jets.label,
        *jets.spectators.values(),
        *jets.track_truth.values(),
        *jets.jet_truth.values(),
    ]
    for array in arrays:
        assert not any(np.shares_memory(array, source) for source in sources)
        array[...] = 0  # writing to the selection leaves the jets unchanged
    for name, values in original.items():
        np.testing.assert_array_equal(getattr(jets, name), values)
