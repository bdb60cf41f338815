"""Tracks from edge scores: perfect scores give every particle; Truth-CC; refusals; the chain evaluation."""

import numpy as np
import pytest
import torch
from torch_geometric.data import Batch

from hepxai.errors import InputError
from hepxai.models import build_model
from hepxai.models.registry import GraphModel
from hepxai.tracking.chain_evaluation import evaluate_chain
from hepxai.tracking.graph_files import check_graph
from hepxai.tracking.reconstruction import best_neighbour_edges, check_model, reconstruct, truth_tracks
from hepxai.tracking.settings import get_setting

from .toys import toy_event

SETTING = get_setting("pt1_mu200")


class TruthScorer(GraphModel):
    """Scores every edge by its truth: logit +20 for a true edge, −20 for a fake one."""

    kind = "truth_scorer_for_tests"
    level = "edge"

    def __init__(self) -> None:
        super().__init__()
        self.unused = torch.nn.Linear(1, 1)

    def forward(self, batch: Batch) -> torch.Tensor:
        return (40 * batch.y - 20).reshape(-1, 1)


@pytest.mark.parametrize("chain", ["perfect scores", "truth-cc"])
def test_perfect_edges_find_every_particle(chain):
    events = [toy_event(seed, event_id=seed) for seed in range(3)]
    method = truth_tracks if chain == "truth-cc" else lambda event: reconstruct(TruthScorer(), event, 0.5)
    result = evaluate_chain(events, method, SETTING, progress=False)
    # 6 particles of 7 hits and pT > 1.5 GeV per event, all reconstructable; noise hits stay single
    assert result.counts.reconstructable == 18
    assert (result.efficiency, result.purity) == (1.0, 1.0)
    assert result.trackml_score == pytest.approx(1.0)
    assert result.particles["matched"].all()
    assert len(result.particles) == 18
    assert result.events == 3
    assert set(result.seconds) >= {"components"}
    if chain == "perfect scores":
        assert (result.edges.efficiency, result.edges.purity, result.edges.auc) == (1.0, 1.0, 1.0)


def test_a_cut_that_keeps_nothing_finds_nothing():
    event = toy_event(1)
    tracks = reconstruct(TruthScorer(), event, 1.0)
    assert len(np.unique(tracks.candidate)) == event.num_nodes  # every hit alone
    result = evaluate_chain([event], lambda e: reconstruct(TruthScorer(), e, 1.0), SETTING, progress=False)
    assert result.efficiency == 0.0


def test_refusals_name_the_field():
    event = toy_event(2, event_id=4)
    empty = event.clone()
    empty.edge_index = torch.zeros((2, 0), dtype=torch.long)
    with pytest.raises(InputError, match="field 'edge_index' is empty"):
        check_graph(empty, "graphs/test/event000000004.pt")
    with pytest.raises(InputError, match="scores graphs, not edges"):
        check_model(build_model("dgcnn"), "hin.pt")
    no_particle = event.clone()
    no_particle.particle_pt = torch.zeros_like(event.particle_pt)
    with pytest.raises(InputError, match="event 4: field 'particle_id' has no reconstructable particle"):
        evaluate_chain([no_particle], truth_tracks, SETTING, progress=False)
    with pytest.raises(InputError, match="no events"):
        evaluate_chain([], truth_tracks, SETTING, progress=False)


def test_best_neighbours_keep_one_edge_each_way_per_hit():
    edge_index = np.array([[0, 0, 1, 2, 4], [1, 2, 3, 3, 3]])
    scores = np.array([0.9, 0.8, 0.7, 0.95, 0.4])
    # kept: the first four; 0's best out is 0->1; 3's best in is 2->3; 4->3 is below the cut
    kept = best_neighbour_edges(edge_index, scores, scores > 0.5)
    np.testing.assert_array_equal(kept, [True, False, False, True, False])


def test_best_neighbours_undo_a_merging_fake_edge():
    event = toy_event(3)
    fake = int(np.flatnonzero(event.y.numpy() < 0.5)[0])
    scorer = TruthScorer()
    tracks = reconstruct(scorer, event, 0.5)
    event.y[fake] = 1.0  # the scorer now also passes one fake edge, a little less sure than the true ones
    merged = reconstruct(scorer, event, 0.5)
    assert len(np.unique(merged.candidate)) < len(np.unique(tracks.candidate))
    event.y[fake] = 0.9  # logit 16 against 20: in float32 the scores still differ
    cleaned = reconstruct(scorer, event, 0.5, best_neighbours=True)
    np.testing.assert_array_equal(cleaned.candidate, tracks.candidate)
