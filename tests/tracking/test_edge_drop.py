"""The test-time edge drop: seeded, the edge fields kept together, Truth-CC broken where a true edge goes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hepxai.errors import InputError
from hepxai.tracking.edge_drop import DroppedEdges, drop_edges
from hepxai.tracking.reconstruction import truth_tracks

from .toys import toy_event


def _edge_keys(event) -> list[tuple[int, int]]:
    return [tuple(pair) for pair in event.edge_index.T.tolist()]


def test_dropped_edges_keep_their_fields_and_the_draw_is_seeded() -> None:
    event = toy_event(0, num_particles=20, event_id=7)
    dropped = drop_edges(event, 0.3, seed=1)
    row = {key: k for k, key in enumerate(_edge_keys(event))}
    kept = torch.tensor([row[key] for key in _edge_keys(dropped)])
    torch.testing.assert_close(dropped.edge_attr, event.edge_attr[kept])
    torch.testing.assert_close(dropped.y, event.y[kept])
    assert _edge_keys(drop_edges(event, 0.3, seed=1)) == _edge_keys(dropped)
    assert _edge_keys(drop_edges(event, 0.3, seed=2)) != _edge_keys(dropped)
    assert drop_edges(event, 0.0) is event
    # the number kept is binomial(E, 0.7): within 5 standard deviations
    edges = event.edge_index.shape[1]
    assert abs(len(kept) - 0.7 * edges) < 5 * np.sqrt(edges * 0.3 * 0.7)


def test_truth_cc_splits_a_track_at_each_dropped_true_edge() -> None:
    event = toy_event(3, num_particles=10, event_id=3)
    dropped = next(iter(DroppedEdges([event], 0.4, seed=0)))
    candidate = truth_tracks(dropped).candidate
    particle = event.particle_id.numpy()
    true_kept = dropped.edge_index[:, dropped.y > 0.5]
    for pid in range(1, 11):
        hits = particle == pid
        kept_edges = int((particle[true_kept[0].numpy()] == pid).sum())
        # a particle's true edges form a chain of its 7 hits: each dropped one adds a component
        assert len(np.unique(candidate[hits])) == hits.sum() - kept_edges


@pytest.mark.parametrize("probability", [-0.1, 1.0])
def test_a_probability_outside_zero_to_one_is_refused(probability: float) -> None:
    with pytest.raises(InputError, match="edge drop: the probability must be in"):
        drop_edges(toy_event(0), probability)
