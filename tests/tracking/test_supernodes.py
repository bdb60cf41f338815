"""Supernodes against particles: the count from the track builder's forward pass, the table by hand."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from hepxai.models import build_model
from hepxai.tracking.clustering import hierarchical_tracks
from hepxai.tracking.hgnn_training import HierarchicalModelConfig
from hepxai.tracking.supernodes import summarize_supernodes, supernode_table

from .toys import toy_event


@pytest.mark.parametrize("kind", ["hgnn_embedding", "hgnn_bipartite", "embedding_in"])
def test_tracks_carry_the_supernodes_of_their_forward_pass(kind: str) -> None:
    torch.manual_seed(0)
    config = HierarchicalModelConfig.for_kind(
        kind, latent=8, iterations=1, hierarchical_iterations=1, log_odds=1.0
    )
    model = build_model(kind, **config.arguments(3, 5)).eval()
    event = toy_event(0, num_particles=12)
    tracks = hierarchical_tracks(model, event)
    if kind == "embedding_in":
        assert tracks.supernodes is None  # no pooling
        return
    with torch.no_grad():
        expected = model.outputs(event).hierarchy.num_supernodes
    assert expected > 1
    assert tracks.supernodes == expected


def test_table_and_summary_by_hand() -> None:
    # event 5: particles 1, 2, 3 (1 and 3 reconstructable); event 6: particles 1, 4 (both); event 7 not pooled
    particles = pd.DataFrame(
        {
            "event_id": [5, 5, 5, 6, 6, 7],
            "particle_id": [1, 2, 3, 1, 4, 1],
            "reconstructable": [True, False, True, True, True, True],
        }
    )
    table = supernode_table({6: 1, 5: 4}, particles)
    assert table.to_dict("list") == {
        "event_id": [5, 6],
        "supernodes": [4, 1],
        "particles": [3, 2],
        "reconstructable": [2, 2],
    }
    summary = summarize_supernodes(table)
    assert (summary.events, summary.supernodes, summary.particles, summary.reconstructable) == (
        2,
        2.5,
        2.5,
        2,
    )
    assert summary.per_particle == 1.0  # 5 supernodes / 5 particles
    assert summary.per_reconstructable == 1.25  # 5 / 4
    assert (summary.low, summary.high) == (1, 4)
