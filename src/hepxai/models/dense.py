"""The HIN on fully connected jets as dense ``[jets, N, N, hidden]`` blocks: no gather, no scatter.

An exact rewrite of :meth:`InteractionNetwork.forward` in eval mode (BatchNorm with running statistics),
carrying the algebra of :mod:`hepxai.models.fused` one step further:

1. The edge MLP's first Linear (with its BatchNorm) on ``[u_i, u_j]`` is ``A_i + T_j``, two per-track
   products broadcast over the ``N × N`` block of a jet.
2. The edge MLP's last Linear and node MLP 1's first Linear (with its BatchNorm) are consecutive affine maps,
   merged into one: ``m_ij = r_ij W_mᵀ + P_i``, one ``hidden × hidden`` product per edge.
3. The mean over the incoming edges of a track commutes with node MLP 1's last Linear, which then acts per
   track.

Jets are grouped by track count and processed a few at a time, so the ``N × N × hidden`` blocks stay in
cache. Used to score jets (:meth:`InteractionNetwork.fast_forward` in eval mode) and, with its backward pass
written out, by the dense LRP path (:mod:`hepxai.explain.lrp_dense`).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.data.graphs import fully_connected_edge_index

CHUNK_ELEMENTS = 1 << 19
"""Edge-block elements (jets × N × N × hidden) processed at once: small enough to stay in cache."""


def batchnorm_affine(batchnorm: nn.BatchNorm1d) -> tuple[Tensor, Tensor]:
    """Eval-mode BatchNorm as ``x * scale + shift``.

    Raises:
        ValueError: the BatchNorm keeps no running statistics.
    """
    if batchnorm.running_mean is None or batchnorm.running_var is None:
        msg = f"{batchnorm} has no running statistics to fold"
        raise ValueError(msg)
    with torch.no_grad():
        scale = torch.rsqrt(batchnorm.running_var + batchnorm.eps)
        if batchnorm.weight is not None:
            scale = scale * batchnorm.weight
        shift = -batchnorm.running_mean * scale
        if batchnorm.bias is not None:
            shift = shift + batchnorm.bias
    return scale.detach(), shift.detach()


def is_fully_connected(batch: Batch, counts: Tensor) -> bool:
    """Whether ``batch.edge_index`` is the canonical fully connected graph of jets of ``counts`` tracks."""
    edge_index = batch.edge_index
    if edge_index.shape[1] != int((counts * (counts - 1)).sum()):
        return False
    return torch.equal(edge_index.cpu(), fully_connected_edge_index(counts.cpu()))


def dense_applies(model: nn.Module, batch: Batch) -> bool:
    """Whether the dense form computes the model's function on ``batch``: the HIN on fully connected jets
    without masks or edge attributes."""
    from hepxai.models.interaction_network import InteractionNetwork

    if not isinstance(model, InteractionNetwork) or getattr(batch, "batch", None) is None:
        return False
    if any(getattr(batch, key, None) is not None for key in ("edge_weight", "node_weight", "edge_attr")):
        return False
    return is_fully_connected(batch, torch.bincount(batch.batch, minlength=int(batch.num_graphs)))


class FoldedHIN:
    """The HIN's parameters with every BatchNorm folded and the merges of the module docstring applied."""

    def __init__(self, model: nn.Module) -> None:
        features = model.num_features
        with torch.no_grad():
            self.input_scale, self.input_shift = batchnorm_affine(model.bn)

            def folded(mlp: torch.nn.Sequential) -> tuple[Tensor, Tensor]:
                scale, shift = batchnorm_affine(mlp[1])
                bias = mlp[0].bias if mlp[0].bias is not None else torch.zeros_like(scale)
                return mlp[0].weight * scale[:, None], bias * scale + shift

            w1, self.b1 = folded(model.edge_mlp)
            self.w1_source, self.w1_target = w1[:, :features], w1[:, features:]
            w2, b2 = folded(model.node_mlp_1)
            self.w2_track, w2_edge = w2[:, :features], w2[:, features:]
            self.w_merged = w2_edge @ model.edge_mlp[3].weight
            self.b_merged = w2_edge @ model.edge_mlp[3].bias + b2
            self.w4, self.b4 = model.node_mlp_1[3].weight, model.node_mlp_1[3].bias
            w5, self.b5 = folded(model.node_mlp_2)
            self.w5_track, self.w5_aggregate = w5[:, :features], w5[:, features:]
            self.w6, self.b6 = model.node_mlp_2[3].weight, model.node_mlp_2[3].bias
            self.w7, self.b7 = folded(model.global_mlp)
            self.w8, self.b8 = model.global_mlp[3].weight, model.global_mlp[3].bias
            # The two products that read a track as the source of an edge, stacked: one matmul each way.
            self.w_source = torch.cat([self.w1_source, self.w2_track])


_FOLDED: weakref.WeakKeyDictionary[nn.Module, tuple[tuple[int, ...], FoldedHIN]] = weakref.WeakKeyDictionary()


def folded_hin(model: nn.Module) -> FoldedHIN:
    """:class:`FoldedHIN` of ``model``, computed again only when a parameter or buffer has changed.

    Folding costs about a millisecond, as much as explaining a small jet; the key is every tensor's
    identity and in-place version counter, so training steps and ``.to()`` invalidate it.
    """
    tensors = [*model.parameters(), *model.buffers()]
    key = tuple(v for t in tensors for v in (id(t), t._version))
    cached = _FOLDED.get(model)
    if cached is None or cached[0] != key:
        cached = (key, FoldedHIN(model))
        _FOLDED[model] = cached
    return cached[1]


@dataclass(frozen=True)
class Block:
    """Jets of one size ``n`` processed together, and where their tracks and edges sit in the batch."""

    jets: Tensor  # [jets] indices in the batch
    tracks: Tensor  # [jets * n] track rows, jet by jet
    edges: Tensor  # [jets * n * (n - 1)] edge rows, jet by jet (source-major within a jet)
    size: int


def blocks(batch: Batch, hidden: int) -> Iterator[Block]:
    """The jets of ``batch`` grouped by track count, a few per block (:data:`CHUNK_ELEMENTS`)."""
    device = batch.x.device
    graph = batch.batch.to(device)
    counts = torch.bincount(graph, minlength=int(batch.num_graphs))
    first_track = torch.cumsum(counts, 0) - counts
    first_edge = torch.cumsum(counts * (counts - 1), 0) - counts * (counts - 1)
    counts_np = counts.cpu().numpy()
    for size in (int(n) for n in np.unique(counts_np)):
        jets = torch.from_numpy(np.flatnonzero(counts_np == size)).to(device)
        per_block = max(1, CHUNK_ELEMENTS // max(1, size * size * hidden))
        for start in range(0, len(jets), per_block):
            chunk = jets[start : start + per_block]
            tracks = (first_track[chunk][:, None] + torch.arange(size, device=device)).reshape(-1)
            edges = (first_edge[chunk][:, None] + torch.arange(size * (size - 1), device=device)).reshape(-1)
            yield Block(chunk, tracks, edges, size)


@dataclass(frozen=True)
class BlockForward:
    """The intermediates of one block's forward pass (``[jets, n, ...]``; edges ``[jets, n, n, ...]``)."""

    u: Tensor  # standardised input
    edge_hidden: Tensor | None  # relu of the edge MLP's first layer, [jets, n (source), n (target), hidden]
    message_hidden: Tensor | None  # relu of the merged layer, self edges zeroed
    aggregate: Tensor  # node MLP 1's output averaged over incoming edges
    v: Tensor  # relu of node MLP 2's first layer
    node_out: Tensor
    h: Tensor  # relu of the global MLP's first layer
    logits: Tensor


def forward_block(folded: FoldedHIN, x: Tensor) -> BlockForward:
    """The HIN's forward pass on ``[jets, n, features]`` jets of one size ``n``."""
    jets, n, _ = x.shape
    hidden = folded.w4.shape[0]
    u = x * folded.input_scale + folded.input_shift
    edge_hidden = message_hidden = None
    # Edge blocks are [jets, n (source i), n (target j), hidden]; self edges i = i are computed with the
    # rest and zeroed where they would enter a sum.
    if n > 1:
        source_terms = u @ folded.w_source.T  # [jets, n, 2 hidden]: u_i W1sᵀ and u_i W2xᵀ
        target_term = u @ folded.w1_target.T
        edge_hidden = torch.relu_(
            (source_terms[..., :hidden] + folded.b1)[:, :, None, :] + target_term[:, None, :, :]
        )
        message_hidden = edge_hidden @ folded.w_merged.T
        message_hidden += (source_terms[..., hidden:] + folded.b_merged)[:, :, None, :]
        message_hidden.relu_()
        message_hidden.diagonal(dim1=1, dim2=2).zero_()
        mean_message = message_hidden.sum(dim=1) / (n - 1)  # [jets, n (target), hidden]
        aggregate = mean_message @ folded.w4.T + folded.b4
    else:
        aggregate = u.new_zeros(jets, n, hidden)
    q = u @ folded.w5_track.T + aggregate @ folded.w5_aggregate.T + folded.b5
    v = torch.relu(q)
    node_out = v @ folded.w6.T + folded.b6
    g = node_out.mean(dim=1) @ folded.w7.T + folded.b7
    h = torch.relu(g)
    logits = h @ folded.w8.T + folded.b8
    return BlockForward(u, edge_hidden, message_hidden, aggregate, v, node_out, h, logits)


@torch.no_grad()
def dense_forward(model: nn.Module, batch: Batch) -> Tensor:
    """``[num_jets, num_classes]`` eval-mode logits of the HIN on fully connected jets.

    The jets must be what :func:`dense_applies` accepts.
    """
    parameter = next(model.parameters())
    x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
    folded = folded_hin(model)
    logits = x.new_zeros(int(batch.num_graphs), folded.w8.shape[0])
    for block in blocks(batch, folded.w4.shape[0]):
        jets_x = x[block.tracks].reshape(len(block.jets), block.size, x.shape[1])
        logits[block.jets] = forward_block(folded, jets_x).logits
    return logits
