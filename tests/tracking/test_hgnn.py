"""The embedding and hierarchical tracking models: permutation invariance, losses by hand, the matching,
candidates, training through the one loop and its resume."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_geometric.data import Data

from hepxai.errors import InputError
from hepxai.models import build_model
from hepxai.models.checkpoint import read_checkpoint
from hepxai.tracking.clustering import (
    Memberships,
    bipartite_candidates,
    hdbscan_candidates,
    hierarchical_tracks,
)
from hepxai.tracking.hgnn_losses import (
    BipartiteObjective,
    EmbeddingObjective,
    hinge_loss,
    match_supernodes,
    neighbour_pairs,
    same_candidate_logits,
    wheel_weight,
)
from hepxai.tracking.hgnn_training import (
    KINDS,
    HierarchicalDataConfig,
    HierarchicalModelConfig,
    HierarchicalRunConfig,
    HierarchicalTrainConfig,
    load_hierarchical,
    train_hierarchical,
)

from .toys import toy_event

SMALL = {"latent": 8, "iterations": 1, "hierarchical_iterations": 1}


def _model(kind: str, seed: int = 0, **config: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return build_model(kind, **HierarchicalModelConfig.for_kind(kind, **config).arguments(3, 5))


def _permuted(event: Data, permutation: torch.Tensor) -> Data:
    """The same event with hit ``permutation[k]`` as hit ``k`` and the edges in reverse order."""
    inverse = torch.argsort(permutation)
    moved = event.clone()
    for name in ("x", "pos", "particle_id", "hit_order", "particle_pt"):
        setattr(moved, name, getattr(event, name)[permutation])
    moved.edge_index = inverse[event.edge_index].flip(1)
    moved.edge_attr, moved.y = event.edge_attr.flip(0), event.y.flip(0)
    return moved


@pytest.mark.parametrize("kind", KINDS)
def test_outputs_follow_a_permutation_of_the_hits(kind: str) -> None:
    event = toy_event(0, num_particles=12)
    event.x, event.edge_attr = event.x.double(), event.edge_attr.double()
    permutation = torch.randperm(event.x.shape[0], generator=torch.Generator().manual_seed(1))
    model = _model(kind, latent=16, log_odds=1.0).double().eval()
    if kind != "embedding_in":
        assert model.outputs(event).hierarchy.num_supernodes > 1  # a hierarchy to permute
    if kind == "hgnn_bipartite":
        output, moved = model.outputs(event), model.outputs(_permuted(event, permutation))
        # per hit, its assignment logits to its c nearest supernodes, in order of the logit
        per_hit = output.assignment_logits.reshape(event.x.shape[0], -1).sort(1).values
        moved_per_hit = moved.assignment_logits.reshape(event.x.shape[0], -1).sort(1).values
        torch.testing.assert_close(moved_per_hit, per_hit[permutation])
    else:
        torch.testing.assert_close(model(_permuted(event, permutation)), model(event)[permutation])


def test_hinge_loss_by_hand() -> None:
    embedding = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0]])  # |e0 − e1| = √0.4, |e0 − e2| = √2
    pairs = torch.tensor([[0, 0, 0, 0], [1, 1, 2, 2]])
    truth = torch.tensor([True, False, True, False])
    loss = hinge_loss(embedding, pairs, truth, margin=1.0)
    expected = [0.4, (1 - math.sqrt(0.4)) ** 2, 2.0, 0.0]
    torch.testing.assert_close(loss, torch.tensor(expected), atol=1e-6, rtol=0)


def test_neighbour_pairs_by_hand() -> None:
    """Hits at 0, 0.1, 0.5 and 3 on a line: within 1, each hit's nearest others, never itself."""
    embedding = torch.tensor([[0.0], [0.1], [0.5], [3.0]])
    pairs = neighbour_pairs(embedding, count=1, radius=1.0)
    assert pairs.tolist() == [[0, 1, 2], [1, 0, 1]]
    pairs = neighbour_pairs(embedding, count=5, radius=1.0)
    assert sorted(map(tuple, pairs.T.tolist())) == [(0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1)]
    assert neighbour_pairs(embedding[:1], count=3, radius=1.0).shape == (2, 0)


def test_embedding_pairs_add_close_hits_of_other_particles() -> None:
    """Two hits of different particles that share an embedding point become a false training pair of the
    embedding objective (a hard negative), whichever random pairs are drawn; without neighbours they are
    not paired."""
    event = toy_event(0, num_particles=6, noise_hits=0)
    first = 0
    second = int(torch.nonzero(event.particle_id != event.particle_id[first])[0])
    embedding = torch.nn.functional.normalize(
        torch.randn(event.x.shape[0], 8, generator=torch.Generator().manual_seed(0)), dim=1
    )
    embedding[second] = embedding[first]
    with_neighbours = EmbeddingObjective(1.0, 0.0, 0, 0, neighbour_pairs_per_hit=1)
    pairs, truth = with_neighbours.with_neighbours(event, *with_neighbours.pairs(event, 1), embedding)
    close = ((pairs[0] == first) & (pairs[1] == second)) | ((pairs[0] == second) & (pairs[1] == first))
    assert close.any()
    assert not truth[close].any()
    without = EmbeddingObjective(1.0, 0.0, 0, 0)
    pairs, _ = without.with_neighbours(event, *without.pairs(event, 1), embedding)
    assert pairs.shape[1] == event.edge_index.shape[1]


def test_training_wheel_fades_out() -> None:
    assert wheel_weight(1, 50) == 1.0
    assert wheel_weight(26, 50) == pytest.approx(1 - math.sqrt(0.5))
    assert wheel_weight(51, 50) == 0.0
    assert wheel_weight(1, 0) == 0.0
    weights = [wheel_weight(epoch, 10) for epoch in range(1, 13)]
    assert all(a > b for a, b in itertools.pairwise(weights[:11]))
    held = BipartiteObjective(1.0, 1.0, 10, 0, wheel_floor=0.3)
    assert [held.wheel_weight(epoch) for epoch in (1, 4, 6, 500)] == [1.0, weights[3], 0.3, 0.3]


def test_matching_counts_component_hits_before_assignments() -> None:
    # hit 0 (particle 7) lies in supernode 0's component; hits 1-3 (particle 9) in none, but assigned to
    # supernode 0; hit 4 (particle 8) and the noise hit 5 lie in supernode 1's component.
    particle_id = torch.tensor([7, 9, 9, 9, 8, 0])
    label = torch.tensor([0, -1, -1, -1, 1, 1])
    assignment_index = torch.tensor([[0, 1, 2, 3, 1, 4, 5], [0, 0, 0, 0, 1, 1, 1]])
    # particle 9's three assignments to supernode 0 lose to particle 7's one hit inside its component
    assert match_supernodes(particle_id, assignment_index, label, 2).tolist() == [7, 8]
    # a third supernode reached only by an assignment of particle 9 goes to it
    wider = torch.cat([assignment_index, torch.tensor([[2], [2]])], dim=1)
    assert match_supernodes(particle_id, wider, label, 3).tolist() == [7, 8, 9]


def test_same_candidate_probability_by_hand() -> None:
    # two assignments per hit; hits 0 and 1 share supernode 2, hit 2 shares none with hit 0
    assignment_index = torch.tensor([[0, 0, 1, 1, 2, 2], [2, 0, 1, 2, 3, 1]])
    probability = torch.tensor([0.9, 0.2, 0.3, 0.5, 0.8, 0.7])
    pairs = torch.tensor([[0, 0], [1, 2]])
    logits = same_candidate_logits(3, assignment_index, torch.logit(probability), pairs)
    torch.testing.assert_close(torch.sigmoid(logits[0]), torch.tensor(0.45))
    assert logits[1] == -20  # no common supernode: probability 0, its logit clipped to a finite value


def test_certain_pairs_have_finite_logits() -> None:
    assignment_index = torch.tensor([[0, 1], [0, 0]])
    logits = same_candidate_logits(2, assignment_index, torch.tensor([50.0, 50.0]), torch.tensor([[0], [1]]))
    assert logits.tolist() == [20.0]


def test_bipartite_candidates_let_a_hit_join_two_tracks() -> None:
    assignment_index = np.array([[0, 0, 1, 2, 2, 3], [4, 6, 4, 6, 4, 6]])
    scores = np.array([0.9, 0.8, 0.75, 0.95, 0.2, 0.5])
    memberships = bipartite_candidates(5, assignment_index, scores, cut=0.7)
    assert sorted(zip(memberships.hit.tolist(), memberships.candidate.tolist(), strict=True)) == [
        (0, 0),
        (0, 1),
        (1, 0),
        (2, 1),
    ]
    assert memberships.labels().tolist() == [0, 0, 1, -1, -1]


def test_labels_break_ties_to_the_lower_candidate() -> None:
    memberships = Memberships(2, np.array([0, 0]), np.array([1, 0]), np.array([0.8, 0.8]))
    assert memberships.labels().tolist() == [0, -1]


def test_hdbscan_finds_separated_tracks() -> None:
    generator = np.random.default_rng(0)
    centres = np.eye(3)
    track = np.repeat(np.arange(3), 8)
    points = centres[track] + 0.01 * generator.normal(size=(24, 3))
    label = hdbscan_candidates(points / np.linalg.norm(points, axis=1, keepdims=True))
    assert len(set(label.tolist())) == 3
    assert all(len(set(label[track == t].tolist())) == 1 for t in range(3))


@pytest.mark.parametrize(
    ("kind", "objective"),
    [
        ("embedding_in", EmbeddingObjective(1.0, 2.0, 0, 0)),
        ("hgnn_embedding", EmbeddingObjective(1.0, 2.0, 5, 0)),
        ("hgnn_bipartite", BipartiteObjective(1.0, 2.0, 0, 0)),
    ],
)
def test_a_few_steps_lower_the_loss_on_a_tiny_event(kind: str, objective: torch.nn.Module) -> None:
    event = toy_event(2, num_particles=8)
    model = _model(kind, latent=16, iterations=2, hierarchical_iterations=2)
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(30):
        loss = objective(model, event, 3).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert np.mean(losses[-5:]) < 0.7 * np.mean(losses[:5])


def _config(kind: str, epochs: int, setting: str = "toy") -> HierarchicalRunConfig:
    return HierarchicalRunConfig(
        data=HierarchicalDataConfig(setting),
        model=HierarchicalModelConfig.for_kind(kind, **SMALL),
        train=HierarchicalTrainConfig(epochs=epochs, wheel_epochs=1, random_pairs_per_hit=1.0),
    )


@pytest.mark.parametrize("kind", ["hgnn_embedding", "hgnn_bipartite"])
def test_resume_is_bit_exact(kind: str, tmp_path: Path) -> None:
    train = [toy_event(seed, num_particles=5, event_id=seed) for seed in range(2)]
    valid = [toy_event(9, num_particles=5, event_id=9)]
    whole = train_hierarchical(train, valid, _config(kind, 2), tmp_path / "whole", progress=False)
    train_hierarchical(train, valid, _config(kind, 1), tmp_path / "parts", progress=False)
    resumed = train_hierarchical(
        train, valid, _config(kind, 2), tmp_path / "parts", resume=True, progress=False
    )
    losses = [(record.train_loss, record.val_loss, record.val_auc) for record in whole.history]
    assert [(record.train_loss, record.val_loss, record.val_auc) for record in resumed.history] == losses
    first, second = read_checkpoint(whole.last_path), read_checkpoint(resumed.last_path)
    for name, value in first["state_dict"].items():  # bit for bit (an unused running cut stays NaN)
        torch.testing.assert_close(value, second["state_dict"][name], rtol=0, atol=0, equal_nan=True)


def test_best_epoch_is_the_highest_validation_pair_auc(tmp_path: Path) -> None:
    train = [toy_event(seed, num_particles=5, event_id=seed) for seed in range(2)]
    valid = [toy_event(9, num_particles=5, event_id=9)]
    result = train_hierarchical(train, valid, _config("hgnn_bipartite", 6), tmp_path, progress=False)
    aucs = [record.val_auc for record in result.history]
    lowest_loss = 1 + int(np.argmin([record.val_loss for record in result.history]))
    assert result.best_epoch == 1 + int(np.argmax(aucs)) != lowest_loss  # here the two rules differ
    assert read_checkpoint(result.best_path)["val_auc"] == max(aucs)


def test_a_checkpoint_refuses_another_setting_or_kind(tmp_path: Path) -> None:
    train, valid = [toy_event(0, num_particles=4)], [toy_event(1, num_particles=4, event_id=1)]
    result = train_hierarchical(train, valid, _config("embedding_in", 1), tmp_path, progress=False)
    model = load_hierarchical(result.best_path, kind="embedding_in", setting="toy")
    assert model.kind == "embedding_in"
    with pytest.raises(InputError, match="trained on setting 'toy', cannot use it on 'ttbar'"):
        load_hierarchical(result.best_path, kind="embedding_in", setting="ttbar")
    with pytest.raises(InputError, match="holds a 'embedding_in' model, not 'hgnn_bipartite'"):
        load_hierarchical(result.best_path, kind="hgnn_bipartite", setting="toy")
    base = _config("embedding_in", 2)
    changed = HierarchicalRunConfig(base.data, HierarchicalModelConfig("embedding_in", latent=4), base.train)
    with pytest.raises(InputError, match=r"cannot resume with model\.latent = 4"):
        train_hierarchical(train, valid, changed, tmp_path, resume=True, progress=False)


def test_tracks_of_each_kind_are_hit_labels() -> None:
    event = toy_event(3, num_particles=6)
    for kind in KINDS:
        tracks = hierarchical_tracks(_model(kind, **SMALL), event)
        assert tracks.candidate.shape == (event.x.shape[0],)
        assert (tracks.memberships is not None) == (kind == "hgnn_bipartite")


def test_unit_embeddings() -> None:
    event = toy_event(4, num_particles=6)
    for kind in ("embedding_in", "hgnn_embedding"):
        norm = _model(kind, **SMALL)(event).norm(dim=1)
        torch.testing.assert_close(norm, torch.ones_like(norm))


@pytest.mark.parametrize("kind", ["hgnn_embedding", "hgnn_bipartite"])
def test_an_event_without_supernodes_still_trains(kind: str) -> None:
    event = toy_event(5, num_particles=4)
    model = _model(kind, log_odds=1e6, **SMALL)  # no edge passes the cut
    assert model.outputs(event).hierarchy.num_supernodes == 0
    objective = (BipartiteObjective if kind == "hgnn_bipartite" else EmbeddingObjective)(1.0, 1.0, 2, 0)
    loss = objective(model, event, 1)
    loss.mean().backward()
    assert torch.isfinite(loss).all()
    assert loss.item() > 0  # the training wheel is on at epoch 1


@pytest.mark.parametrize(("log_odds", "unset"), [(0.0, False), (50.0, True)])
def test_a_running_cut_no_event_set_is_reported(
    log_odds: float, unset: bool, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """At r = 50 no event's cut lies between its mixture's means, so the running cut stays unset and
    tracks would use each event's own cut: training says so; at r = 0 the cut moves and it does not."""
    train = [toy_event(seed, num_particles=5, event_id=seed) for seed in range(2)]
    valid = [toy_event(9, num_particles=5, event_id=9)]
    base = _config("hgnn_bipartite", 1)
    model = HierarchicalModelConfig.for_kind("hgnn_bipartite", log_odds=log_odds, **SMALL)
    result = train_hierarchical(
        train, valid, HierarchicalRunConfig(base.data, model, base.train), tmp_path, progress=False
    )
    running_cut = read_checkpoint(result.last_path)["state_dict"]["pool.running_cut"]
    assert math.isnan(float(running_cut)) == unset
    assert ("running score cut was never set" in caplog.text) == unset
