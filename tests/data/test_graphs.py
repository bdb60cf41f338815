import itertools

import numpy as np
import pytest
import torch

from hepxai.data import graphs
from hepxai.data.graphs import (
    distance_and_direction,
    fully_connected_edge_index,
    knn_edge_index,
    radius_edge_index,
)
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


# ---------------------------------------------------------------------------------------------------------
# kNN and radius graphs, against a brute-force search written from the definition.


def brute_force_edges(pos, batch, *, k=None, r=None, loop=False) -> list[tuple[int, int]]:
    """(source, target): per point, the other points of its graph by (distance, index), cut by k and r."""
    edges = []
    for target in range(len(pos)):
        candidates = [
            (float(((pos[source] - pos[target]) ** 2).sum()), source)
            for source in range(len(pos))
            if source != target and batch[source] == batch[target]
        ]
        candidates = sorted(c for c in candidates if r is None or c[0] <= r * r)
        edges += [(source, target) for _, source in candidates[:k]]
        if loop:
            edges.append((target, target))
    return sorted(edges, key=lambda edge: (edge[1], edge[0]))


def random_points(seed, counts, *, grid=False, dims=3, shuffle=False):
    generator = torch.Generator().manual_seed(seed)
    total = sum(counts)
    if grid:  # small integer coordinates: many exactly equal distances
        pos = torch.randint(0, 3, (total, dims), generator=generator).double()
    else:
        pos = torch.rand(total, dims, generator=generator, dtype=torch.float64)
    batch = torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts))
    if shuffle:
        permutation = torch.randperm(total, generator=generator)
        pos, batch = pos[permutation], batch[permutation]
    return pos, batch


CASES = [
    ([7], False, False),
    ([12, 1, 3, 40, 5], False, False),
    ([30, 2, 17], True, False),  # ties on a grid, and duplicate points
    ([9, 4, 25, 1, 6], False, True),  # graphs interleaved in storage
    ([20, 20, 3], True, True),
]


@pytest.mark.parametrize(("counts", "grid", "shuffle"), CASES)
@pytest.mark.parametrize("k", [1, 5, 8])
@pytest.mark.parametrize("loop", [False, True])
def test_knn_matches_brute_force(counts, grid, shuffle, k, loop):
    pos, batch = random_points(sum(counts) + k, counts, grid=grid, shuffle=shuffle)
    edges = knn_edge_index(pos, batch, k, loop=loop)
    assert edges.T.tolist() == [list(e) for e in brute_force_edges(pos, batch, k=k, loop=loop)]
    in_degree = torch.bincount(edges[1], minlength=len(pos))
    graph_size = torch.bincount(batch)[batch]
    assert torch.equal(in_degree, torch.clamp(graph_size - 1, max=k) + int(loop))


@pytest.mark.parametrize(("counts", "grid", "shuffle"), CASES)
@pytest.mark.parametrize(("r", "max_neighbors"), [(0.3, None), (0.5, 3), (1.0, None), (0.0, None)])
@pytest.mark.parametrize("loop", [False, True])
def test_radius_matches_brute_force(counts, grid, shuffle, r, max_neighbors, loop):
    pos, batch = random_points(sum(counts), counts, grid=grid, shuffle=shuffle)
    edges = radius_edge_index(pos, batch, r, max_neighbors=max_neighbors, loop=loop)
    expected = brute_force_edges(pos, batch, k=max_neighbors, r=r, loop=loop)
    assert edges.T.tolist() == [list(e) for e in expected]


def test_neighbour_search_in_blocks_equals_one_block(monkeypatch):
    pos, batch = random_points(5, [50, 3, 64, 1, 20], grid=True)
    whole = knn_edge_index(pos, batch, 6), radius_edge_index(pos, batch, 1.5, max_neighbors=4)
    monkeypatch.setattr(graphs, "NEIGHBOUR_BUDGET", 500)  # a few query points of one graph at a time
    assert torch.equal(knn_edge_index(pos, batch, 6), whole[0])
    assert torch.equal(radius_edge_index(pos, batch, 1.5, max_neighbors=4), whole[1])


def test_neighbour_search_without_batch_and_bad_arguments():
    pos, batch = random_points(1, [15])
    assert torch.equal(knn_edge_index(pos, None, 4), knn_edge_index(pos, batch, 4))
    assert knn_edge_index(pos[:0], None, 3).shape == (2, 0)
    gaps = torch.tensor([0] * 6 + [3] * 9)  # graphs 1 and 2 have no points
    expected = knn_edge_index(pos, torch.tensor([0] * 6 + [1] * 9), 4)
    assert torch.equal(knn_edge_index(pos, gaps, 4), expected)
    with pytest.raises(ValueError, match="k must be >= 1"):
        knn_edge_index(pos, batch, 0)
    with pytest.raises(ValueError, match="r must be >= 0"):
        radius_edge_index(pos, batch, -1.0)
    with pytest.raises(ValueError, match=r"batch has shape \(3,\), expected \(15,\)"):
        knn_edge_index(pos, batch[:3], 2)


def test_graph_numbers_without_points_in_a_group_of_their_own(monkeypatch):
    monkeypatch.setattr(graphs, "NEIGHBOUR_BUDGET", 100)
    pos, _ = random_points(2, [4, 3])
    batch = torch.tensor([0] * 4 + [9] * 3)
    expected = brute_force_edges(pos, batch, k=2)
    assert knn_edge_index(pos, batch, 2).T.tolist() == [list(e) for e in expected]


def test_distance_and_direction():
    pos = torch.tensor([[0.0, 0.0, 0.0], [3.0, 0.0, 4.0], [1.0, 1.0, 1.0]])
    edge_index = torch.tensor([[1, 0, 2], [0, 1, 2]])  # 1 → 0, 0 → 1, a self loop at 2
    features = distance_and_direction(pos, edge_index)
    expected = torch.tensor([[5.0, 0.6, 0.0, 0.8], [5.0, -0.6, 0.0, -0.8], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(features, expected)


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


@pytest.mark.parametrize(("counts", "grid", "shuffle"), CASES)
@pytest.mark.parametrize(
    ("k", "r", "max_neighbors"), [(1, None, None), (5, None, None), (None, 0.5, 3), (None, 1.0, None)]
)
def test_kd_tree_search_matches_brute_force(monkeypatch, counts, grid, shuffle, k, r, max_neighbors):
    monkeypatch.setattr(graphs, "KD_TREE_MIN_POINTS", 4)  # every graph of more than 4 points on the tree
    pos, batch = random_points(sum(counts) + 1, counts, grid=grid, shuffle=shuffle)
    if k is not None:
        edges = knn_edge_index(pos, batch, k, loop=True)
        expected = brute_force_edges(pos, batch, k=k, loop=True)
    else:
        edges = radius_edge_index(pos, batch, r, max_neighbors=max_neighbors)
        expected = brute_force_edges(pos, batch, k=max_neighbors, r=r)
    assert edges.T.tolist() == [list(e) for e in expected]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_kd_tree_equals_dense_search_on_a_large_graph(monkeypatch, dtype):
    generator = torch.Generator().manual_seed(3)
    pos = torch.rand(2300, 3, generator=generator).to(dtype)
    batch = torch.repeat_interleave(torch.arange(2), torch.tensor([2100, 200]))
    tree = knn_edge_index(pos, batch, 7), radius_edge_index(pos, batch, 0.05, max_neighbors=10)
    assert graphs.KD_TREE_MIN_POINTS < 2100  # the first graph went to the tree
    monkeypatch.setattr(graphs, "KD_TREE_MIN_POINTS", 10**9)
    assert torch.equal(knn_edge_index(pos, batch, 7), tree[0])
    assert torch.equal(radius_edge_index(pos, batch, 0.05, max_neighbors=10), tree[1])
