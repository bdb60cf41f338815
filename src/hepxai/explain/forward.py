"""Forward passes that explainers need besides the plain one, for any model of the common interface.

The explained quantity of a target, the logits computed from a replaced standardised input, and graphs with
nodes removed. Removing a node means dropping it and every edge that touches it, so the model sees the
smaller graph exactly as if it had been read that way (:func:`drop_tracks`). Mask methods need a
differentiable version: :func:`masked_batch` sets the interface's node and edge weights from a soft node
mask (``node_weight = m``, ``edge_weight = m_src``); for a 0/1 mask the model then computes what it computes
on the graphs without the masked nodes (tested for the HIN). The edge weight holds the source's mask only:
a masked target leaves every pooling through its node weight, and a product ``m_src · m_dst`` of two small
masks underflows in float32 and makes the mask gradients overflow.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import subgraph

from hepxai.explain.targets import explained_logit, resolve_target
from hepxai.models.registry import GraphModel


def target_logit(model: GraphModel, batch: Batch, logits: Tensor, target: str | None) -> Tensor:
    """``[num_graphs]`` the explained quantity: one output column, or the difference of two (``"H-QCD"``).

    Raises:
        ValueError: unknown ``target``.
    """
    return explained_logit(model, batch, logits, resolve_target(model, target))


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` with its eval-mode BatchNorm statistics, restoring its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def logits_with_standardized(model: GraphModel, batch: Batch, standardized: Tensor) -> Tensor:
    """Logits with the output of the model's input normalisation replaced by ``standardized``.

    Gradients with respect to ``standardized`` are gradients with respect to the standardised features,
    the reference point of ``input="standardized"`` explainers. A model without input normalisation gets
    ``standardized`` as its input features.
    """
    norm = model.submodule(model.input_norm_name)
    if norm is None:
        replaced = copy.copy(batch)
        replaced.x = standardized
        return model(replaced)
    handle = norm.register_forward_hook(lambda module, inputs, output: standardized)
    try:
        return model(batch)
    finally:
        handle.remove()


def standardize(model: GraphModel, x: Tensor) -> Tensor:
    """The input normalisation's output for ``x`` (eval-mode statistics), detached; ``x`` without one."""
    norm = model.submodule(model.input_norm_name)
    if norm is None:
        return x.detach()
    with torch.no_grad(), eval_mode(model):
        return norm(x)


def drop_tracks(batch: Batch, keep: Tensor) -> Batch:
    """The same graphs without the nodes where ``keep`` is false, and without every edge touching them.

    Graph-level fields (``y``, ``u``, ``jet_id``) stay; of the per-node fields ``x`` and ``pos`` are
    carried, of the per-edge fields ``edge_attr``.

    Args:
        batch: PyG ``Batch`` with ``x``, ``edge_index``, ``batch``.
        keep: ``[num_nodes]`` bool.
    """
    edge_index, _, edge_mask = subgraph(
        keep, batch.edge_index, relabel_nodes=True, num_nodes=keep.shape[0], return_edge_mask=True
    )
    graph = batch.batch[keep]
    counts = torch.bincount(graph, minlength=batch.num_graphs)
    smaller = Batch(
        x=batch.x[keep],
        edge_index=edge_index,
        batch=graph,
        ptr=torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]),
    )
    if getattr(batch, "pos", None) is not None:
        smaller.pos = batch.pos[keep]
    if getattr(batch, "edge_attr", None) is not None:
        smaller.edge_attr = batch.edge_attr[edge_mask]
    smaller._num_graphs = batch.num_graphs
    return smaller


def masked_batch(batch: Batch, node_mask: Tensor) -> Batch:
    """``batch`` with ``node_weight = node_mask`` and ``edge_weight = node_mask[source]``.

    Every model of the common interface weighs its messages by ``edge_weight`` and its poolings over nodes
    by ``node_weight``; differentiable in ``node_mask`` (values in [0, 1]).
    """
    masked = copy.copy(batch)
    masked.node_weight = node_mask
    # index_select: a backward that adds in a fixed order (hepxai.data.graphs.distance_and_direction)
    masked.edge_weight = node_mask.index_select(0, batch.edge_index[0])
    return masked
