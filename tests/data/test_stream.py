"""The streamed jet loader: every jet once per epoch, a split per jet, seeded orders, disjoint shards."""

from __future__ import annotations

import numpy as np
import pytest

from hepxai.data.jets import Jets
from hepxai.data.root_io import ORIGINAL_SELECTION, TreeWriter, read_jets
from hepxai.data.stream import JetStream, uniform

BASKET = 25
"""Entries per basket of the test files: pieces end where baskets end."""


@pytest.fixture
def files(tmp_path, tiny_branches):
    """Two files of 300 and 200 jets (a quarter unlabelled, some outside the original window)."""
    rng = np.random.default_rng(1)
    paths = []
    for number, size in enumerate((300, 200)):
        branches = tiny_branches(list(rng.integers(1, 6, size)), seed=number)
        with TreeWriter(tmp_path / f"jets_{number}.root", "events/jets") as writer:
            for start in range(0, size, BASKET):
                writer.extend({name: values[start : start + BASKET] for name, values in branches.items()})
        paths.append(tmp_path / f"jets_{number}.root")
    return paths


def stream(files, schema, **options) -> JetStream:
    settings = {"selection": ORIGINAL_SELECTION, "seed": 3, "validation_fraction": 0.25, "buffer_size": 60}
    return JetStream(files, schema, **{**settings, **options})


def ids(batches) -> list[float]:
    """Jets named by their pT (a random float: unique here), in the order of the batches."""
    return [float(pt) for jets in batches for pt in jets.spectators["fj_pt"]]


def test_every_jet_trains_or_validates_once_per_epoch(files, tiny_schema):
    jet_stream = stream(files, tiny_schema)
    everything = read_jets(files, tiny_schema, selection=ORIGINAL_SELECTION, progress=False)
    training, validation = ids(jet_stream.training(1, 16)), ids(jet_stream.validation(32))
    assert sorted(training + validation) == sorted(ids([everything]))
    assert len(set(training)) == len(training)
    assert 0.1 < len(validation) / len(everything) < 0.4  # 0.25 of ~190 jets, binomial: 0.25 ± 0.03


def test_orders_are_seeded_per_epoch_and_mix_the_files(files, tiny_schema):
    jet_stream = stream(files, tiny_schema)
    first = ids(jet_stream.training(1, 16))
    assert ids(jet_stream.training(1, 16)) == first
    assert ids(stream(files, tiny_schema).training(1, 16)) == first  # a new stream: the same
    second = ids(jet_stream.training(2, 16))
    assert second != first
    assert sorted(second) == sorted(first)
    file_order = ids([read_jets(files, tiny_schema, selection=ORIGINAL_SELECTION, progress=False)])
    assert first != [pt for pt in file_order if pt in set(first)]


def test_batches_are_full_but_the_last(files, tiny_schema):
    sizes = [len(jets) for jets in stream(files, tiny_schema).training(1, 16)]
    assert all(size == 16 for size in sizes[:-1])
    assert 2 <= sizes[-1] <= 16


def test_pieces_end_with_baskets_and_cover_the_files(files, tiny_schema):
    pieces = stream(files, tiny_schema, piece_size=60).pieces()
    assert [(p.file, p.start, p.stop) for p in pieces[:3]] == [(0, 0, 50), (0, 50, 100), (0, 100, 150)]
    assert [(p.start, p.stop) for p in pieces if p.file == 1][-1] == (150, 200)
    assert {(p.start, p.stop) for p in stream(files, tiny_schema, piece_size=10).pieces()} >= {(0, 25)}


def test_a_file_of_one_basket_is_one_piece_but_split_for_several_processes(
    tmp_path, tiny_schema, tiny_branches, write_tiny
):
    one_basket = write_tiny(tmp_path / "one.root", tiny_branches([3] * 300))
    few = stream([one_basket], tiny_schema, piece_size=100)
    assert [(p.start, p.stop) for p in few.pieces(1)] == [(0, 300)]
    assert [(p.start, p.stop) for p in few.pieces(2)] == [(0, 100), (100, 200), (200, 300)]


def test_the_split_depends_on_the_jet_not_on_buffer_or_pieces(files, tiny_schema):
    validation = ids(stream(files, tiny_schema).validation(32))
    other = stream(files, tiny_schema, buffer_size=7, piece_size=50)
    assert ids(other.validation(5)) == validation
    assert sorted(ids(other.training(1, 4))) == sorted(ids(stream(files, tiny_schema).training(1, 16)))
    assert ids(stream(files, tiny_schema, seed=4).validation(32)) != validation


def test_shards_are_disjoint_and_make_up_the_training_jets(files, tiny_schema):
    jet_stream = stream(files, tiny_schema)
    shards = [ids(jet_stream.training(1, 8, rank=rank, size=2)) for rank in range(2)]
    assert not set(shards[0]) & set(shards[1])
    assert sorted(shards[0] + shards[1]) == sorted(ids(jet_stream.training(1, 16)))
    validation = [ids(jet_stream.validation(32, rank=rank, size=2)) for rank in range(2)]
    assert sorted(validation[0] + validation[1]) == sorted(ids(jet_stream.validation(32)))


def test_memory_is_the_buffer_and_a_piece(files, tiny_schema, monkeypatch):
    """Never more jets at once than the buffer, a piece and a batch, however many the files hold."""
    held = []
    concatenate = Jets.concatenate

    def watched(parts):
        joined = concatenate(parts)
        held.append(len(joined))
        return joined

    monkeypatch.setattr(Jets, "concatenate", staticmethod(watched))
    jet_stream = stream(files, tiny_schema, buffer_size=20, piece_size=25)
    assert len(ids(jet_stream.training(1, 4))) > 100
    assert max(held) <= 20 + 4 + 25


def test_uniform_is_a_fixed_function_of_seed_file_and_entry():
    entries = np.arange(100_000)
    values = uniform(0, 1, entries)
    np.testing.assert_array_equal(uniform(0, 1, entries[500:600]), values[500:600])
    assert not np.array_equal(uniform(0, 2, entries), values)
    assert not np.array_equal(uniform(1, 1, entries), values)
    assert values.min() >= 0
    assert values.max() < 1
    assert abs(values.mean() - 0.5) < 0.005  # σ of the mean: 0.29 / sqrt(1e5) = 0.0009
    assert abs(np.mean(values < 0.2) - 0.2) < 0.006  # σ: 0.0013
