"""GMPool: the mixture cut against the analytic crossing, supernodes of a clean event, the two graphs."""

from __future__ import annotations

import math

import pytest
import torch
from scipy.optimize import brentq
from scipy.stats import norm
from torch.nn import functional

from hepxai.models.gmpool import GMPool, edge_scores, fit_mixture, score_cut, supernode_labels


@pytest.mark.parametrize("log_odds", [0.0, 3.0])
def test_cut_is_the_crossing_of_two_known_gaussians(log_odds: float) -> None:
    generator = torch.Generator().manual_seed(0)
    fake = torch.randn(60_000, generator=generator, dtype=torch.float64) * 0.5 - 1.0
    true = torch.randn(20_000, generator=generator, dtype=torch.float64) * 0.3 + 1.5
    scores = torch.cat([fake, true])[torch.randperm(80_000, generator=generator)]

    def log_odds_of(score: float) -> float:
        return (
            math.log(0.25) + norm.logpdf(score, 1.5, 0.3) - math.log(0.75) - norm.logpdf(score, -1.0, 0.5)
        ) - log_odds

    analytic = brentq(log_odds_of, -1.0, 1.5)
    assert score_cut(scores, log_odds) == pytest.approx(analytic, abs=0.02)


def test_mixture_recovers_its_components() -> None:
    generator = torch.Generator().manual_seed(1)
    scores = torch.cat(
        [torch.randn(30_000, generator=generator) - 2, torch.randn(10_000, generator=generator) + 3]
    )
    mixture = fit_mixture(scores)
    assert (mixture.mean_out, mixture.mean_in) == pytest.approx((-2, 3), abs=0.05)
    assert (mixture.weight_out, mixture.weight_in) == pytest.approx((0.75, 0.25), abs=0.01)


def test_log_odds_above_their_maximum_keep_nothing() -> None:
    # a narrower "in" component: the log odds are a downward parabola with a finite maximum
    scores = torch.cat([torch.linspace(-3, -1, 100), torch.linspace(1, 1.2, 100)])
    mixture = fit_mixture(scores)
    assert mixture.cut(1e6) == math.inf


def test_components_above_the_cut_larger_than_min_size() -> None:
    # two chains of 4 hits (0-1-2-3, 4-5-6-7), a pair (8-9), all joined by weak edges
    edge_index = torch.tensor([[0, 1, 2, 4, 5, 6, 8, 3, 7], [1, 2, 3, 5, 6, 7, 9, 4, 8]])
    keep = torch.tensor([True] * 7 + [False, False])
    label = supernode_labels(10, edge_index, keep, min_size=2)
    assert label.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, -1, -1]


def _clean_event(num_tracks: int = 4, hits: int = 5) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hit embeddings near one direction per track; edges along each track and between tracks."""
    generator = torch.Generator().manual_seed(2)
    direction = functional.normalize(torch.randn(num_tracks, 8, generator=generator), dim=1)
    track = torch.arange(num_tracks).repeat_interleave(hits)
    embedding = functional.normalize(
        direction[track] + 0.05 * torch.randn(len(track), 8, generator=generator), dim=1
    )
    along = [(t * hits + k, t * hits + k + 1) for t in range(num_tracks) for k in range(hits - 1)]
    across = [
        (t * hits + k, ((t + 1) % num_tracks) * hits + k) for t in range(num_tracks) for k in range(hits)
    ]
    edge_index = torch.tensor(along + across).T
    return embedding, edge_index, track


def test_supernodes_of_a_clean_event_are_its_tracks() -> None:
    embedding, edge_index, track = _clean_event()
    hierarchy = GMPool(log_odds=3.0, min_size=2, assignments=2, super_neighbours=2)(embedding, edge_index)
    assert hierarchy.label.tolist() == track.tolist()
    mean = functional.normalize(torch.stack([embedding[track == t].mean(0) for t in range(4)]), dim=1)
    torch.testing.assert_close(hierarchy.supernode, mean)


def test_assignment_weights_sum_to_one_per_hit_and_the_super_graph_is_symmetric() -> None:
    embedding, edge_index, track = _clean_event()
    hierarchy = GMPool(log_odds=3.0, min_size=2, assignments=3, super_neighbours=1)(embedding, edge_index)
    hit, supernode = hierarchy.assignment_index
    assert torch.bincount(hit).tolist() == [3] * len(track)
    sums = torch.zeros(len(track)).index_add_(0, hit, hierarchy.assignment_weight)
    torch.testing.assert_close(sums, torch.ones(len(track)))
    # each hit's heaviest assignment is its own track's supernode
    best = hierarchy.assignment_weight.reshape(-1, 3).argmax(1)
    assert supernode.reshape(-1, 3)[torch.arange(len(track)), best].tolist() == track.tolist()
    pairs = set(map(tuple, hierarchy.super_index.T.tolist()))
    assert pairs == {(b, a) for a, b in pairs}
    assert all(a != b for a, b in pairs)
    assert ((hierarchy.super_weight > 0) & (hierarchy.super_weight < 1)).all()


def test_the_running_cut_moves_in_training_and_holds_in_evaluation() -> None:
    embedding, edge_index, _ = _clean_event()
    mixture = fit_mixture(edge_scores(embedding, edge_index))
    event_cut = mixture.cut(3.0)
    assert mixture.mean_out < event_cut < mixture.mean_in  # an event that moves the cut
    pool = GMPool(log_odds=3.0, min_size=2, assignments=2, super_neighbours=2, cut_momentum=0.9)
    assert pool.eval()(embedding, edge_index).cut == pytest.approx(event_cut)  # untrained: the event's own
    assert math.isnan(float(pool.running_cut))
    assert pool.train()(embedding, edge_index).cut == pytest.approx(event_cut)  # the first event sets it
    pool.running_cut.fill_(event_cut - 1.0)
    moved = event_cut - 1.0 + 0.1 * 1.0  # 10% of the way to the event's cut
    assert pool(embedding, edge_index).cut == pytest.approx(moved)
    far = functional.normalize(embedding + torch.linspace(0, 1, 8), dim=1)  # another event, evaluated
    assert pool.eval()(far, edge_index).cut == pytest.approx(moved)
    assert float(pool.running_cut) == pytest.approx(moved)
