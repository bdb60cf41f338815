"""``rechunk``: a stream of jet chunks of any sizes, cut again into chunks of one size."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hepxai.data.jets import Jets, rechunk
from hepxai.errors import InputError


def _jets(num_jets: int, seed: int = 0) -> Jets:
    rng = np.random.default_rng(seed)
    num_tracks = rng.integers(1, 6, size=num_jets)
    return Jets(
        features=rng.normal(size=(int(num_tracks.sum()), 3)).astype(np.float32),
        num_tracks=num_tracks,
        label=rng.integers(0, 2, size=num_jets),
        feature_names=("a", "b", "c"),
        spectators={"mass": rng.uniform(size=num_jets)},
        track_truth={"fromB": rng.integers(0, 2, size=int(num_tracks.sum()))},
    )


def _split(jets: Jets, sizes: list[int]) -> list[Jets]:
    bounds = np.cumsum([0, *sizes])
    return [jets.select(np.arange(start, stop)) for start, stop in itertools.pairwise(bounds)]


def _assert_same(got: Jets, expected: Jets) -> None:
    np.testing.assert_array_equal(got.features, expected.features)
    np.testing.assert_array_equal(got.num_tracks, expected.num_tracks)
    np.testing.assert_array_equal(got.label, expected.label)
    np.testing.assert_array_equal(got.spectators["mass"], expected.spectators["mass"])
    np.testing.assert_array_equal(got.track_truth["fromB"], expected.track_truth["fromB"])


@pytest.mark.parametrize(
    ("sizes", "size", "max_jets", "expected_sizes"),
    [
        ([7, 3, 10], 4, None, [4, 4, 4, 4, 4]),  # 20 jets: reading chunks and output chunks never line up
        ([20], 6, None, [6, 6, 6, 2]),
        ([2, 2, 2, 2, 2, 2, 2, 2, 2, 2], 5, None, [5, 5, 5, 5]),
        ([7, 3, 10], 4, 9, [4, 4, 1]),  # stops after 9 jets
        ([7, 3, 10], 50, None, [20]),
    ],
)
def test_rechunk_gives_the_same_jets_in_chunks_of_one_size(sizes, size, max_jets, expected_sizes):
    jets = _jets(sum(sizes))
    chunks = list(rechunk(_split(jets, sizes), size, max_jets=max_jets))
    assert [len(chunk) for chunk in chunks] == expected_sizes
    _assert_same(Jets.concatenate(chunks), jets.select(np.arange(sum(expected_sizes))))


def test_rechunk_reads_no_further_than_max_jets():
    def chunks():
        yield _jets(5)
        msg = "read past max_jets"
        raise AssertionError(msg)

    assert [len(chunk) for chunk in rechunk(chunks(), 2, max_jets=5)] == [2, 2, 1]


def test_with_features_keeps_the_named_columns_in_order():
    jets = Jets(
        features=np.arange(12, dtype=np.float32).reshape(4, 3),
        num_tracks=np.array([1, 3]),
        label=np.array([0, 1]),
        feature_names=("a", "b", "a"),
    )
    subset = jets.with_features(("b", "a"))
    assert subset.feature_names == ("b", "a")
    np.testing.assert_array_equal(
        subset.features, jets.features[:, [1, 0]]
    )  # a repeated name: its first copy
    assert jets.with_features(()) is jets
    with pytest.raises(InputError, match="no track feature 'c'"):
        jets.with_features(("c",))
