"""Forward passes of the Interaction Network that explainers need besides the plain one.

The explained quantity of a target, the logits computed from a replaced standardised input, and jets with
tracks removed. Removing a track means dropping the track and every edge that touches it, so the model sees
the smaller jet exactly as if it had been read that way (:func:`drop_tracks`). Mask methods need a
differentiable version: :func:`masked_logits` weights every mean of the network (over the incoming edges of a
track, over the tracks of a jet) by a soft track mask; with a 0/1 mask it equals dropping the masked tracks.
Weights of a mean summing below 1e-12 count as an empty group (dividing by less overflows the gradients).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch
from torch_geometric.utils import scatter, subgraph

from hepxai.explain.base import TARGETS
from hepxai.models.interaction_network import CLASSES, InteractionNetwork


def target_logit(logits: Tensor, target: str) -> Tensor:
    """``[num_jets]`` the explained quantity: one class logit, or ``H − QCD`` for ``"H-QCD"``.

    Raises:
        ValueError: unknown ``target``.
    """
    if target not in TARGETS:
        msg = f"target must be one of {', '.join(TARGETS)} (got {target!r})"
        raise ValueError(msg)
    if target == "H-QCD":
        return logits[:, CLASSES.index("H")] - logits[:, CLASSES.index("QCD")]
    return logits[:, CLASSES.index(target)]


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Run ``model`` with its eval-mode BatchNorm statistics, restoring its mode afterwards."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


def logits_with_standardized(model: InteractionNetwork, batch: Batch, standardized: Tensor) -> Tensor:
    """``[num_jets, 2]`` logits with the input BatchNorm's output replaced by ``standardized``.

    Gradients with respect to ``standardized`` are gradients with respect to the standardised features,
    the reference point of ``input="standardized"`` explainers.
    """
    handle = model.bn.register_forward_hook(lambda module, inputs, output: standardized)
    try:
        return model(batch)
    finally:
        handle.remove()


def standardize(model: InteractionNetwork, x: Tensor) -> Tensor:
    """The input BatchNorm's output for ``x`` (eval-mode statistics), detached."""
    with torch.no_grad(), eval_mode(model):
        return model.bn(x)


def drop_tracks(batch: Batch, keep: Tensor) -> Batch:
    """The same jets without the tracks where ``keep`` is false, and without every edge touching them.

    Jet-level fields (``y``, ``u``, ``jet_id``) stay; per-track fields other than ``x`` are not carried.

    Args:
        batch: PyG ``Batch`` with ``x``, ``edge_index``, ``batch``.
        keep: ``[num_tracks]`` bool.
    """
    edge_index, _ = subgraph(keep, batch.edge_index, relabel_nodes=True, num_nodes=keep.shape[0])
    jet = batch.batch[keep]
    counts = torch.bincount(jet, minlength=batch.num_graphs)
    smaller = Batch(
        x=batch.x[keep],
        edge_index=edge_index,
        batch=jet,
        ptr=torch.cat([counts.new_zeros(1), torch.cumsum(counts, 0)]),
    )
    smaller._num_graphs = batch.num_graphs
    return smaller


def masked_logits(model: InteractionNetwork, batch: Batch, track_mask: Tensor) -> Tensor:
    """``[num_jets, 2]`` logits with each track weighted by ``track_mask`` in every mean of the network.

    A track weighs its mask in every mean it enters: as the source of an edge in the mean over the incoming
    edges of the edge's target, and in the mean over the tracks of its jet. (The target's own mask would
    cancel in the first mean, and a masked target leaves the second.) With a 0/1 mask this is the model on
    the jets without the masked tracks; with all ones it is ``model(batch)``. Differentiable in the mask.

    Args:
        model: The HIN (its modules are used as they are; call under :func:`eval_mode`).
        batch: PyG ``Batch`` with ``x``, ``edge_index``, ``batch``.
        track_mask: ``[num_tracks]`` weights in [0, 1].
    """
    x = model.bn(batch.x)
    num_tracks, num_jets = x.shape[0], int(batch.num_graphs)
    source, target = batch.edge_index
    edge = model.edge_mlp(torch.cat([x[source], x[target]], dim=1))
    message = model.node_mlp_1(torch.cat([x[source], edge], dim=1))
    aggregate = _weighted_mean(message, track_mask[source].unsqueeze(1), target, num_tracks)
    node = model.node_mlp_2(torch.cat([x, aggregate], dim=1))
    pooled = _weighted_mean(node, track_mask.unsqueeze(1), batch.batch, num_jets)
    return model.global_mlp(pooled)


_EMPTY = 1e-12
"""Weights summing below this count as an empty group; dividing by less makes gradients overflow."""


def _weighted_mean(values: Tensor, weight: Tensor, index: Tensor, size: int) -> Tensor:
    """Σ w·v / max(Σ w, 1e-12) per index: the weighted mean, 0 for an empty group (as ``scatter`` gives)."""
    total = scatter(values * weight, index, dim=0, dim_size=size, reduce="sum")
    norm = scatter(weight, index, dim=0, dim_size=size, reduce="sum")
    return total / norm.clamp(min=_EMPTY)
