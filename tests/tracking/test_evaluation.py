"""Evaluating candidates per event: counts, per-particle pT and η, and refusals."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.tracking.evaluation import (
    binned_efficiencies,
    efficiency_table,
    evaluate_event,
    reconstructable_particles,
    summarize,
)
from hepxai.tracking.graph_files import check_graph
from hepxai.tracking.settings import get_setting

from .conftest import TINY


def _event(pt: float) -> Data:
    particle_id = torch.tensor([7, 7, 7, 7, 7, 7, 3, 3, 3, 0])
    return Data(
        edge_index=torch.tensor([[0], [1]]),
        particle_id=particle_id,
        particle_pt=torch.where(particle_id == 7, pt, 1.5).float() * (particle_id != 0),
        particle_eta=torch.where(particle_id == 7, 0.5, -2.0).float(),
        weight=torch.tensor([0.1] * 9 + [0.0]),
        event_id=torch.tensor([4]),
        num_nodes=10,
    )


def test_evaluate_and_summarize_by_hand() -> None:
    candidate = np.array([0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    result = evaluate_event(_event(2.0), candidate, TINY, seconds=0.5)
    np.testing.assert_array_equal(result.matches.particle_id, [3, 7])
    np.testing.assert_allclose(result.particle_pt, [1.5, 2.0])
    np.testing.assert_allclose(result.particle_eta, [-2.0, 0.5])
    assert result.trackml_score == pytest.approx(0.7)
    summary = summarize([result, result])
    assert summary["efficiency"] == 1.0
    assert summary["purity"] == 1.0  # candidate 1 has 2 hits: dropped; 1 / (2 - 1)
    assert summary["seconds_per_event"] == 0.5
    assert summary["events"] == 2
    particles = reconstructable_particles([result, result])
    np.testing.assert_allclose(particles["pt"], [2.0, 2.0])
    np.testing.assert_allclose(particles["eta"], [0.5, 0.5])
    np.testing.assert_array_equal(particles["matched"], [True, True])


def test_refusals() -> None:
    with pytest.raises(InputError, match=r"g\.pt: field 'particle_id' has no reconstructable particle"):
        evaluate_event(_event(0.5), np.zeros(10, np.int64), TINY, source="g.pt")
    empty = _event(2.0)
    empty.edge_index = torch.empty((2, 0), dtype=torch.long)
    with pytest.raises(InputError, match=r"g\.pt: field 'edge_index' is empty"):
        check_graph(empty, "g.pt")


def test_efficiency_bins_hold_the_particles_between_the_two_pt_cuts() -> None:
    # pT 0.6 and 0.8 GeV particles are reconstructable at 0.5 GeV: the first bins of pt05_mu200 hold them
    pt = np.array([0.6, 0.8, 0.8, 1.2, 20.0])
    eta = np.array([0.5, -0.5, 2.5, 0.1, -3.5])
    matched = np.array([True, False, True, True, True])
    binned = binned_efficiencies(pt, eta, matched, get_setting("pt05_mu200"))
    np.testing.assert_array_equal(binned["pt"].total[:4], [1, 2, 1, 0])  # [0.5, 0.75), [0.75, 1), [1, 1.5)
    np.testing.assert_array_equal(binned["pt"].passed[:3], [1, 1, 1])
    assert binned["pt"].total.sum() == 5
    np.testing.assert_array_equal(binned["eta"].total, [1, 0, 0, 1, 2, 0, 1, 0])
    table = efficiency_table(binned)
    assert table.loc[0, ["quantity", "low", "high", "total", "passed"]].tolist() == ["pt", 0.5, 0.75, 1, 1]
    assert len(table) == len(binned["pt"].total) + len(binned["eta"].total)
    # with a 1 GeV cut the bins start at 1: the two slow particles fall in none
    assert binned_efficiencies(pt, eta, matched, get_setting("pt1_mu200"))["pt"].total.sum() == 2
