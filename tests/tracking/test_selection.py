"""The display's default particle and edge: the setting's reconstructable definition, the most fake edges,
the lowest-scoring true edge."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.tracking.selection import check_edge, choose_edge, choose_particle
from hepxai.tracking.settings import get_setting

PT1, PT05 = get_setting("pt1_mu200"), get_setting("pt05_mu200")


def _event(slow_pt: float = 0.7, slow_hits: int = 6) -> Data:
    """Particle 1 (6 hits, pT 2 GeV) touches 1 fake edge; particle 2 (``slow_hits`` hits, ``slow_pt``)
    touches 3; one noise hit (0) touches 2 more."""
    particle_id = torch.tensor([1] * 6 + [2] * slow_hits + [0])
    pt = torch.where(particle_id == 1, 2.0, slow_pt) * (particle_id != 0)
    nhits = torch.where(particle_id == 1, 6, slow_hits) * (particle_id != 0)
    first, noise = 6, 6 + slow_hits  # the first hit of particle 2, the noise hit
    true_edges = [(i, i + 1) for i in range(5)] + [(first + i, first + i + 1) for i in range(slow_hits - 1)]
    fake_edges = [(0, first), (first + 1, noise), (first + 2, noise)]
    edge_index = torch.tensor(true_edges + fake_edges).T
    return Data(
        edge_index=edge_index,
        y=torch.tensor([1.0] * len(true_edges) + [0.0] * len(fake_edges)),
        particle_id=particle_id,
        particle_pt=pt.float(),
        particle_nhits=nhits,
        num_nodes=len(particle_id),
    )


def test_the_chosen_particle_is_reconstructable_in_the_setting() -> None:
    event = _event(slow_pt=0.7)
    # particle 2 has the most fake edges (3 against 1) but pT 0.7 GeV: reconstructable at 0.5 GeV only
    assert choose_particle(event, PT05, None, "g.pt") == 2
    assert choose_particle(event, PT1, None, "g.pt") == 1


def test_the_chosen_particle_has_more_than_min_hits() -> None:
    # 5 hits is not more than the setting's 5, whatever its pT
    assert choose_particle(_event(slow_pt=3.0, slow_hits=5), PT05, None, "g.pt") == 1
    assert choose_particle(_event(slow_pt=3.0, slow_hits=6), PT05, None, "g.pt") == 2


def test_no_reconstructable_particle_with_fake_edges_is_one_line() -> None:
    event = _event(slow_pt=0.7)
    event.particle_pt = torch.where(event.particle_id == 1, 0.9, event.particle_pt)
    with pytest.raises(InputError, match=r"g\.pt: field 'particle_id': no reconstructable particle"):
        choose_particle(event, PT1, None, "g.pt")


def test_a_named_particle_and_edge_are_checked() -> None:
    event = _event()
    assert choose_particle(event, PT1, 2, "g.pt") == 2  # named: drawn even if not reconstructable
    with pytest.raises(InputError, match="particle 7 has no hits"):
        choose_particle(event, PT1, 7, "g.pt")
    with pytest.raises(InputError, match=r"no edge 99 \(the graph has 13\)"):
        check_edge(event, 99, "g.pt")


def test_the_chosen_edge_is_the_particle_s_lowest_scoring_true_edge() -> None:
    event = _event()
    scores = np.linspace(0.9, 0.1, event.edge_index.shape[1])  # later edges score lower
    # particle 1's true edges are 0..4: edge 4 scores lowest; fake edge 10 leaves its hit 0 but is not true
    assert choose_edge(event, scores, 1, None, "g.pt") == 4
    assert choose_edge(event, scores, 1, 10, "g.pt") == 10
