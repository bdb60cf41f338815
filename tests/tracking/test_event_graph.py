"""The hit-graph contract on detector events: fields, truth, orientation, files."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.data.detector.trackml_io import TrackMLEvent
from hepxai.errors import InputError
from hepxai.tracking.event_graph import (
    EDGE_FEATURES,
    graph_files,
    read_graph,
    true_edge_index,
    with_edges,
    write_graph,
    write_graph_record,
)
from hepxai.tracking.sample import cut_event, read_setting_events

from .conftest import TINY


def test_hits_fields_and_truth(tiny_hits) -> None:
    for data in tiny_hits:
        hits = data.num_nodes
        for name, dtype in [("x", torch.float32), ("pos", torch.float32), ("particle_pt", torch.float32)]:
            assert getattr(data, name).dtype == dtype
        assert data.x.shape == data.pos.shape == (hits, 3)
        pos = data.pos.double()
        np.testing.assert_allclose(data.x[:, 0], torch.hypot(pos[:, 0], pos[:, 1]) / 1000, rtol=1e-6)
        np.testing.assert_allclose(data.x[:, 1], torch.atan2(pos[:, 1], pos[:, 0]) / math.pi, rtol=1e-6)
        np.testing.assert_allclose(data.x[:, 2], pos[:, 2] / 1000, rtol=1e-6, atol=1e-9)
        real = data.particle_id != 0
        assert (data.particle_pt[real] > TINY.pt_min).all()
        assert (data.hit_order[~real] == -1).all()
        _ids, counts = torch.unique(data.particle_id[real], return_counts=True)
        assert int(data.num_true_edges) == int((counts - 1).sum())
        assert float(data.weight.sum()) == pytest.approx(1.0, abs=1e-5)
        assert data.edge_index.shape == (2, 0)


def test_true_edges_join_consecutive_hits_of_a_particle() -> None:
    particle_id = np.array([2, 1, 2, 0, 1, 2, 3])
    hit_order = np.array([1, 1, 0, -1, 0, 2, 0])
    np.testing.assert_array_equal(true_edge_index(particle_id, hit_order), [[4, 2, 0], [1, 0, 5]])


def test_edges_are_oriented_unique_and_labelled(tiny_hits) -> None:
    data = tiny_hits[0]
    generator = torch.Generator().manual_seed(0)
    pairs = torch.randint(0, data.num_nodes, (2, 3000), generator=generator)
    true = torch.from_numpy(true_edge_index(data.particle_id.numpy(), data.hit_order.numpy()))
    pairs = torch.cat([pairs, true.flip(0), true], dim=1)  # true pairs both ways round
    graph = with_edges(data, pairs)
    source, target = graph.edge_index
    distance = graph.pos.double().norm(dim=1)
    assert (source != target).all()
    assert (distance[source] <= distance[target]).all()
    keys = source * data.num_nodes + target
    assert torch.equal(keys, torch.unique(keys))  # sorted, each pair once
    same_particle = (graph.particle_id[source] == graph.particle_id[target]) & (
        graph.particle_id[source] != 0
    )
    consecutive = (graph.hit_order[source] - graph.hit_order[target]).abs() == 1
    assert torch.equal(graph.y.bool(), same_particle & consecutive)
    assert int(graph.y.sum()) == int(graph.num_true_edges)  # every true pair is there, once
    assert graph.edge_attr.shape == (graph.num_edges, len(EDGE_FEATURES))
    dr, dz = graph.x[target, 0] - graph.x[source, 0], graph.x[target, 2] - graph.x[source, 2]
    np.testing.assert_allclose(graph.edge_attr[:, 0], dr, atol=1e-6)
    np.testing.assert_allclose(graph.edge_attr[:, 2], dz, atol=1e-6)
    assert (graph.edge_attr[:, 1].abs() <= 1).all()


def test_graph_files_round_trip(tiny_hits, tmp_path) -> None:
    graph = with_edges(tiny_hits[1], torch.tensor([[0, 1, 2], [3, 4, 5]]))
    path = write_graph(graph, tmp_path / "train" / "event000000001.pt")
    with pytest.raises(InputError, match=r"graphs\.yaml"):
        graph_files(tmp_path, "train")
    write_graph_record(tmp_path, {"builder": "test"})
    assert graph_files(tmp_path, "train") == [path]
    back = read_graph(path)
    for key, value in graph:
        assert torch.equal(back[key], value), key
    with pytest.raises(InputError, match="no graph files"):
        graph_files(tmp_path, "test")


def test_cut_keeps_whole_particles_above_the_cut(tiny_root) -> None:
    event = next(read_setting_events(TINY, tiny_root, [0]))
    assert (np.hypot(event.particles["px"], event.particles["py"]) > TINY.pt_min).all()
    assert set(event.truth["particle_id"]) - {0} <= set(event.particles["particle_id"])
    assert (event.hits["hit_id"].to_numpy() == event.truth["hit_id"].to_numpy()).all()
    no_noise = cut_event(event, TINY.pt_min, keep_noise=False)
    assert (no_noise.truth["particle_id"] != 0).all()


def _event(hit_ids, truth_ids, particle_pt=2.0) -> TrackMLEvent:
    hits = pd.DataFrame(
        {"hit_id": hit_ids, "x": 1.0, "y": 1.0, "z": 1.0, "volume_id": 8, "layer_id": 2, "module_id": 1}
    )
    truth = pd.DataFrame({"hit_id": truth_ids, "particle_id": 1, "hit_order": 0})
    particles = pd.DataFrame({"particle_id": [1], "px": [particle_pt], "py": [0.0], "pz": [0.0]})
    return TrackMLEvent(7, hits, particles, truth)


def test_bad_events_are_refused_in_one_line() -> None:
    with pytest.raises(
        InputError, match=r"x: event 7: field 'hit_id' differs between hits \(2 ids\) and truth"
    ):
        cut_event(_event([1, 2], [1, 3]), 1.0, source="x")
    with pytest.raises(InputError, match=r"field 'hits' is empty$"):
        cut_event(_event([], []), 1.0)
    with pytest.raises(InputError, match=r"empty after the pT > 1\.0 GeV cut"):
        cut_event(_event([1], [1], particle_pt=0.5), 1.0)
    with pytest.raises(InputError, match="field 'truth' is missing"):
        cut_event(TrackMLEvent(7, _event([1], [1]).hits, None, None), 1.0)
