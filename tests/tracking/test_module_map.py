"""Module-map graphs on tiny detector events: every training pair found, no truth used, files resume."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.errors import InputError
from hepxai.tracking.evaluation import evaluate_truth_cc, summarize
from hepxai.tracking.event_graph import read_graphs, true_edge_index, with_edges
from hepxai.tracking.graph_building import build_graphs
from hepxai.tracking.module_map import ModuleMap, _pair_quantities, module_key

from .conftest import TINY


@pytest.fixture(scope="module")
def module_map(tiny_hits) -> ModuleMap:
    return ModuleMap.fit(tiny_hits[:3])


def test_map_holds_the_module_pairs_of_training_pairs(tiny_hits, module_map) -> None:
    pairs = set(zip(module_map.table["source"], module_map.table["target"], strict=True))
    expected = set()
    for data in tiny_hits[:3]:
        key = module_key(data)
        for particle in torch.unique(data.particle_id[data.particle_id != 0]):
            hits = torch.nonzero(data.particle_id == particle).flatten()
            hits = hits[torch.argsort(data.hit_order[hits])]
            expected |= {(key[a], key[b]) for a, b in zip(hits[:-1].tolist(), hits[1:].tolist(), strict=True)}
    assert pairs == expected
    assert module_map.table["count"].sum() == sum(int(data.num_true_edges) for data in tiny_hits[:3])


def test_graph_is_every_hit_pair_on_a_mapped_module_pair(tiny_hits, module_map) -> None:
    data = tiny_hits[4]
    edges = module_map.edges(data)
    key = module_key(data)
    mapped = set(zip(module_map.table["source"], module_map.table["target"], strict=True))
    brute = {
        (a, b) for a in range(data.num_nodes) for b in range(data.num_nodes) if (key[a], key[b]) in mapped
    }
    assert set(zip(*edges.tolist(), strict=True)) == brute


def test_training_events_keep_every_true_edge_and_truth_is_not_used(tiny_hits, module_map) -> None:
    for data in tiny_hits[:3]:
        graph = with_edges(data, module_map.edges(data))
        assert int(graph.y.sum()) == int(graph.num_true_edges)
    shuffled = tiny_hits[4].clone()
    shuffled.particle_id = shuffled.particle_id[torch.randperm(shuffled.num_nodes)]
    shuffled.hit_order = torch.zeros_like(shuffled.hit_order)
    assert torch.equal(module_map.edges(shuffled), module_map.edges(tiny_hits[4]))


def test_cuts_remove_pairs_and_keep_the_learnt_quantile(tiny_hits) -> None:
    full = ModuleMap.fit(tiny_hits[:3], cut_quantile=1.0)
    graph = with_edges(tiny_hits[0], full.edges(tiny_hits[0]))
    assert int(graph.y.sum()) == int(graph.num_true_edges)  # the largest training values pass
    tight = ModuleMap.fit(tiny_hits[:3], cut_quantile=0.5)
    assert tight.cuts["z0"] < full.cuts["z0"]
    assert tight.edges(tiny_hits[4]).shape[1] < ModuleMap.fit(tiny_hits[:3]).edges(tiny_hits[4]).shape[1]


def test_cuts_come_from_the_chosen_particles_only(tiny_hits) -> None:
    fitted = ModuleMap.fit(tiny_hits[:3], cut_quantile=1.0, cut_pt_min=3.0)
    largest = []
    for data in tiny_hits[:3]:
        source, target = true_edge_index(data.particle_id.numpy(), data.hit_order.numpy())
        fast = data.particle_pt.numpy()[source] > 3.0
        largest.append(np.abs(_pair_quantities(data, source[fast], target[fast])["z0"]).max())
    assert fitted.cuts["z0"] == pytest.approx(max(largest))
    assert fitted.cuts["z0"] <= ModuleMap.fit(tiny_hits[:3], cut_quantile=1.0).cuts["z0"]
    pd.testing.assert_frame_equal(fitted.table, ModuleMap.fit(tiny_hits[:3]).table)
    with pytest.raises(InputError, match="leaves no training pair"):
        ModuleMap.fit(tiny_hits[:3], cut_quantile=1.0, cut_pt_min=1e9)


def test_save_and_load(tiny_hits, tmp_path) -> None:
    for fitted in (ModuleMap.fit(tiny_hits[:3]), ModuleMap.fit(tiny_hits[:3], cut_quantile=0.99)):
        loaded = ModuleMap.load(fitted.save(tmp_path / "map.npz"))
        pd.testing.assert_frame_equal(loaded.table, fitted.table)
        assert loaded.cuts == fitted.cuts
    with pytest.raises(InputError, match="module map not found"):
        ModuleMap.load(tmp_path / "missing.npz")
    np.savez(tmp_path / "bad.npz", source=np.zeros(1))
    with pytest.raises(InputError, match="field 'target' is missing"):
        ModuleMap.load(tmp_path / "bad.npz")


def test_build_graphs_resumes_and_truth_cc_of_a_complete_graph_is_perfect(
    tiny_root, module_map, tmp_path
) -> None:
    folder = tmp_path / "graphs"
    record = {"builder": "module_map"}
    table = build_graphs(TINY, tiny_root, folder, module_map, record, splits=("train",), progress=False)
    assert list(table["event_id"]) == [0, 1, 2]
    assert (table["edge_efficiency"] == 1.0).all()
    written = {path: path.stat().st_mtime_ns for path in (folder / "train").iterdir()}
    table = build_graphs(TINY, tiny_root, folder, module_map, record, progress=False)
    assert {path: path.stat().st_mtime_ns for path in (folder / "train").iterdir()} == written
    assert sorted(table["split"].unique()) == ["test", "train", "valid"]
    assert len(list(read_graphs(folder, "test"))) == 2
    # every true edge in the graph: each particle is one component, found and pure
    summary = summarize(evaluate_truth_cc(folder, "train", TINY, progress=False))
    assert summary["efficiency"] == 1.0
    assert summary["purity"] == 1.0
    assert summary["trackml_score"] == pytest.approx(1.0)
    with pytest.raises(InputError, match="field 'builder' is 'module_map', this run asks for 'other'"):
        build_graphs(TINY, tiny_root, folder, module_map, {"builder": "other"}, progress=False)


@pytest.mark.slow  # a two-worker Dask cluster: each worker imports torch
def test_build_graphs_on_two_workers_writes_the_same_graphs(tiny_root, module_map, tmp_path) -> None:
    record = {"builder": "module_map"}
    one = build_graphs(TINY, tiny_root, tmp_path / "one", module_map, record, progress=False)
    two = build_graphs(TINY, tiny_root, tmp_path / "two", module_map, record, progress=False, workers=2)
    pd.testing.assert_frame_equal(two.drop(columns="seconds"), one.drop(columns="seconds"))
    for split in ("train", "valid", "test"):
        for a, b in zip(
            read_graphs(tmp_path / "one", split), read_graphs(tmp_path / "two", split), strict=True
        ):
            assert torch.equal(a.edge_index, b.edge_index)
            assert torch.equal(a.y, b.y)
