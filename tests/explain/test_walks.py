"""Relevant walks of the HIN against a brute-force masked LRP, conservation, and the top-k selection."""

from __future__ import annotations

import pytest
import torch
from torch_geometric.utils import scatter

from hepxai.explain import LRP
from hepxai.explain.walks import Walks, relevant_walks, top_walks
from hepxai.models.dgcnn import DGCNN


def brute_force_walks(model, batch, target: str) -> torch.Tensor:
    """``[num_nodes, num_nodes]`` R[i, j]: LRP-ε with only node ``j``'s update passing relevance on.

    A forward hook on node MLP 2 (the tracks' updates) keeps every row's value and stops the gradient of
    every row but ``j``; the generic path then propagates what ``h_j`` received down to the inputs.
    """
    num_nodes = batch.x.shape[0]
    walks = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    for j in range(num_nodes):
        keep = torch.zeros(num_nodes, 1, dtype=torch.float64)
        keep[j] = 1.0

        def only_j(module, args, output, keep=keep):
            return output * keep + (output * (1 - keep)).detach()

        handle = model.node_mlp_2.register_forward_hook(only_j)
        try:
            explanation = LRP(model, fast=False, edges=False).explain(batch, target=target)
        finally:
            handle.remove()
        walks[:, j] = explanation.node.sum(dim=1)
    return walks


def as_matrix(walks: Walks, num_nodes: int) -> torch.Tensor:
    matrix = torch.zeros(num_nodes, num_nodes, dtype=torch.float64)
    matrix.index_put_((walks.source, walks.target), walks.relevance, accumulate=True)
    return matrix


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("target", ["H", "H-QCD"])
def test_walks_equal_masked_propagation(make_model, make_batch, fast, target):
    model, batch = make_model(41), make_batch(42, [4, 1, 3, 5])
    explanation = LRP(model, fast=fast).explain(batch, target=target)
    walks = relevant_walks(model, explanation, batch.edge_index)
    assert len(walks) == batch.edge_index.shape[1] + batch.x.shape[0]
    reference = brute_force_walks(model, batch, target)
    assert reference.abs().max() > 1e-3
    # Walks across jets are 0 in the brute force; within a jet every ordered pair is one walk.
    torch.testing.assert_close(as_matrix(walks, batch.x.shape[0]), reference, rtol=1e-9, atol=1e-11)


def test_walks_on_a_sparse_graph(make_model, make_batch):
    model, batch = make_model(43), make_batch(44, [5, 4], keep_edges=0.5)
    explanation = LRP(model, fast=False).explain(batch, target="H")
    walks = relevant_walks(model, explanation, batch.edge_index)
    reference = brute_force_walks(model, batch, "H")
    torch.testing.assert_close(as_matrix(walks, batch.x.shape[0]), reference, rtol=1e-9, atol=1e-11)


def test_walks_conserve_the_logit(make_model, make_batch):
    model, batch = make_model(45), make_batch(46, [2, 7, 1, 6])
    explanation = LRP(model).explain(batch, target="H")
    walks = relevant_walks(model, explanation, batch.edge_index)
    per_jet = scatter(walks.relevance, walks.batch, dim=0, dim_size=batch.num_graphs, reduce="sum")
    torch.testing.assert_close(per_jet + explanation.absorbed, explanation.logit, rtol=1e-9, atol=1e-11)
    # Walks out of a track add up to its relevance.
    out_of = scatter(walks.relevance, walks.source, dim=0, dim_size=batch.x.shape[0], reduce="sum")
    torch.testing.assert_close(out_of, explanation.node.sum(dim=1), rtol=1e-9, atol=1e-11)


def test_top_walks_keeps_the_largest_of_each_jet():
    walks = Walks(
        source=torch.tensor([0, 1, 0, 1, 2, 2]),
        target=torch.tensor([1, 0, 0, 1, 2, 2]),
        relevance=torch.tensor([0.5, -2.0, 1.0, 0.1, 3.0, -3.0], dtype=torch.float64),
        batch=torch.tensor([0, 0, 0, 0, 1, 1]),
    )
    top, rank = top_walks(walks, 2)
    # jet 0: |R| = 0.5, 2, 1, 0.1 -> the walks 1 (-2) and 2 (1); jet 1: a tie at 3 keeps walk order.
    assert top.relevance.tolist() == [-2.0, 1.0, 3.0, -3.0]
    assert rank.tolist() == [0, 1, 0, 1]
    assert top.batch.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="k must be"):
        top_walks(walks, 0)


def test_walks_refuse_a_model_of_several_steps(make_model, make_batch):
    batch = make_batch(47, [3])
    explanation = LRP(make_model(47)).explain(batch)
    with pytest.raises(ValueError, match="message_passing_steps"):
        relevant_walks(DGCNN(num_features=5), explanation, batch.edge_index)


def test_walks_need_edge_relevance(make_model, make_batch):
    model, batch = make_model(48), make_batch(49, [3])
    with pytest.raises(ValueError, match="edges=True"):
        relevant_walks(model, LRP(model, edges=False).explain(batch), batch.edge_index)
