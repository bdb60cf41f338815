"""The HIN on fully connected jets as dense ``[jets, N, N, hidden]`` blocks: no gather, no scatter.

An exact rewrite of :meth:`InteractionNetwork.forward` in eval mode (BatchNorm with running statistics,
folded into the Linear before it). The edge MLP's first Linear (with its BatchNorm) on ``[u_i, u_j]`` is
``A_i + T_j``, two per-track products broadcast over the ``N × N`` block of a jet; the track half of node
MLP 1's first Linear is computed per track in the same way. Two forms of what follows:

- **layers** (``merged=False``): every Linear of the model per edge, as the model has it: the edge MLP's
  last Linear, node MLP 1's first and last Linear, then the mean over incoming edges. LRP-ε needs this
  form: ε acts at the output of every Linear (:mod:`hepxai.models.dense_lrp`).
- **merged** (``merged=True``): the algebra of :mod:`hepxai.models.fused` one step further. The edge MLP's
  last Linear and node MLP 1's first Linear are consecutive affine maps, merged into one
  (``m_ij = r_ij W_mᵀ + P_i``); the mean over incoming edges commutes with node MLP 1's last Linear, which
  then acts per track. One ``hidden × hidden`` product per edge instead of three: the same function
  (scoring, :meth:`InteractionNetwork.fast_forward`) and the same gradient (LRP-0, gradient × input), but
  not the same LRP-ε, whose stabiliser would then act at other places.

Jets are grouped by track count and processed a few at a time, so the ``N × N × hidden`` blocks stay in the
core's cache; the blocks live in buffers reused from one group to the next (:class:`Workspace`), since
allocating and freeing megabytes per group costs page faults, and every element-wise step writes in place.
"""

from __future__ import annotations

import math
import threading
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.explain.canonizers import batchnorm_affine

CHUNK_ELEMENTS = 1 << 18
"""Edge-block elements (jets × N × N × hidden) processed at once: a chunk's blocks then stay in the core's
cache from one step to the next."""

STORE_ELEMENTS = 1 << 21
"""Edge-block elements of one group, kept from the forward pass for LRP's backward pass; per-track steps
run once per group, so their cost is shared by many chunks."""


def is_fully_connected(batch: Batch, counts: Tensor) -> bool:
    """Whether ``batch.edge_index`` is the canonical fully connected graph of jets of ``counts`` tracks."""
    edge_index = batch.edge_index
    if edge_index.shape[1] != int((counts * (counts - 1)).sum()):
        return False
    return torch.equal(edge_index.cpu(), fully_connected_edge_index(counts.cpu()))


def dense_applies(model: nn.Module, batch: Batch) -> bool:
    """Whether the dense form computes the HIN ``model``'s function on ``batch``: fully connected jets
    without masks or edge attributes, and BatchNorms with running statistics to fold."""
    if getattr(batch, "batch", None) is None:
        return False
    if any(getattr(batch, key, None) is not None for key in ("edge_weight", "node_weight", "edge_attr")):
        return False
    if any(isinstance(module, nn.BatchNorm1d) and module.running_mean is None for module in model.modules()):
        return False
    return is_fully_connected(batch, torch.bincount(batch.batch, minlength=int(batch.num_graphs)))


class FoldedHIN:
    """The HIN's parameters with every BatchNorm folded, split into per-track halves, and merged for the
    merged form (module docstring).

    Names follow the layers: ``1`` the edge MLP's first Linear, ``3`` its last; ``2`` node MLP 1's first,
    ``4`` its last; ``5`` and ``6`` node MLP 2; ``7`` and ``8`` the global MLP.
    """

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
            self.w3, self.b3 = model.edge_mlp[3].weight, model.edge_mlp[3].bias
            w2, self.b2 = folded(model.node_mlp_1)
            self.w2_track, self.w2_edge = w2[:, :features], w2[:, features:]
            self.w4, self.b4 = model.node_mlp_1[3].weight, model.node_mlp_1[3].bias
            self.w_merged = self.w2_edge @ self.w3
            self.b_merged = self.w2_edge @ self.b3 + self.b2
            w5, self.b5 = folded(model.node_mlp_2)
            self.w5_track, self.w5_aggregate = w5[:, :features], w5[:, features:]
            self.w6, self.b6 = model.node_mlp_2[3].weight, model.node_mlp_2[3].bias
            self.w7, self.b7 = folded(model.global_mlp)
            self.w8, self.b8 = model.global_mlp[3].weight, model.global_mlp[3].bias
            # The two products that read a track as the source of an edge, stacked: one matmul each way.
            self.w_source = torch.cat([self.w1_source, self.w2_track])
            # Both halves of the edge MLP's first layer side by side: [hidden, 2 * features].
            self.w1_both = torch.cat([self.w1_source, self.w1_target], dim=1)

    def source_bias(self, merged: bool) -> Tensor:
        """Biases of the two per-source products: the edge MLP's first layer and node MLP 1's first
        layer (merged: with the edge MLP's last layer merged into it)."""
        return torch.cat([self.b1, self.b_merged if merged else self.b2])


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


class Workspace:
    """Buffers for the edge blocks, reused by every block of one call (each grows to the largest block)."""

    def __init__(self, like: Tensor) -> None:
        self._like = like
        self._buffers: dict[str, Tensor] = {}

    def take(self, name: str, shape: tuple[int, ...]) -> Tensor:
        """The buffer ``name`` as a contiguous tensor of ``shape``; its content is whatever was left there."""
        size = math.prod(shape)
        buffer = self._buffers.get(name)
        if buffer is None or buffer.numel() < size:
            buffer = self._buffers[name] = self._like.new_empty(size)
        return buffer[:size].view(shape)


_LOCAL = threading.local()


def workspace_for(like: Tensor) -> Workspace:
    """This thread's workspace for ``like``'s dtype and device, kept between calls: freshly allocated
    megabytes cost a page fault per 4 KiB on first touch, every call."""
    spaces = _LOCAL.__dict__.setdefault("spaces", {})
    key = (like.dtype, like.device)
    if key not in spaces:
        spaces[key] = Workspace(like)
    return spaces[key]


Rows = slice | Tensor
"""Rows of a batch table: a slice where they are consecutive (no copy in or out), else indices."""


@dataclass(frozen=True)
class Chunk:
    """Jets of one size ``n`` whose ``[jets, n, n, hidden]`` edge blocks are processed at once."""

    size: int
    num_jets: int
    tracks: slice  # rows of the group's tracks
    edges: Rows  # [jets * n * (n - 1)] rows of the batch's edges, jet by jet (source-major within a jet)
    store: slice  # elements of the group's edge stores


@dataclass(frozen=True)
class Group:
    """Jets whose per-track steps run together, ordered by size, with their edge blocks in chunks.

    The edge blocks of a whole group are kept (:data:`STORE_ELEMENTS`), so that LRP's backward pass
    reuses its forward pass's; the group's tracks are its jets' tracks in the group's order.
    """

    jets: Rows  # [jets] in the batch
    tracks: Rows  # [tracks] in the batch
    counts: Tensor  # [jets] tracks per jet, in the group's order (the model's dtype)
    size: int | None  # the jets' common number of tracks, None if they differ
    jet_of_track: Tensor | None  # [tracks] position of each track's jet in the group (sizes differ)
    inverse_degree: Tensor  # [tracks, 1] 1 / (n - 1), the mean over incoming edges (0 without edges)
    has_edges: Tensor | None  # [tracks, 1] 1 where the jet has edges; None: every jet has
    chunks: tuple[Chunk, ...]
    store_elements: int

    def jet_sum(self, values: Tensor) -> Tensor:
        """``[tracks, ...]`` summed per jet: ``[jets, ...]``."""
        if self.jet_of_track is None:
            return values.view(len(self.counts), self.size, *values.shape[1:]).sum(dim=1)
        total = values.new_zeros(len(self.counts), *values.shape[1:])
        return total.index_add_(0, self.jet_of_track, values)

    def to_tracks(self, values: Tensor) -> Tensor:
        """``[jets, ...]`` repeated for every track of the jet: ``[tracks, ...]``."""
        if self.jet_of_track is None:
            shape = (len(self.counts), self.size, *values.shape[1:])
            return values[:, None].expand(shape).reshape(-1, *values.shape[1:])
        return values.index_select(0, self.jet_of_track)


def groups(batch: Batch, hidden: int, like: Tensor) -> Iterator[Group]:
    """The jets of ``batch`` in groups (:data:`STORE_ELEMENTS`), sorted by size, chunked
    (:data:`CHUNK_ELEMENTS`); ``like`` gives the dtype and device."""
    counts = np.bincount(batch.batch.cpu().numpy(), minlength=int(batch.num_graphs))
    first_track = np.cumsum(counts) - counts
    edges_per_jet = counts * (counts - 1)
    first_edge = np.cumsum(edges_per_jet) - edges_per_jet
    order = np.argsort(counts, kind="stable")
    store = np.where(counts > 1, counts * counts * hidden, 0)[order]
    start = 0
    while start < len(order):
        stop = start + max(1, int(np.searchsorted(np.cumsum(store[start:]), STORE_ELEMENTS, side="right")))
        yield _group(order[start:stop], counts, first_track, first_edge, hidden, like)
        start = stop


def _rows(first: np.ndarray, lengths: np.ndarray, device: torch.device) -> Rows:
    """The rows ``first[k] … first[k] + lengths[k] - 1`` for every ``k``, in order."""
    total = int(lengths.sum())
    if len(first) == 0 or np.all(first[1:] == (first + lengths)[:-1]):
        start = int(first[0]) if len(first) else 0
        return slice(start, start + total)
    offsets = np.cumsum(lengths) - lengths
    return torch.from_numpy(np.repeat(first - offsets, lengths) + np.arange(total)).to(device)


def _group(
    jets: np.ndarray,
    counts: np.ndarray,
    first_track: np.ndarray,
    first_edge: np.ndarray,
    hidden: int,
    like: Tensor,
) -> Group:
    sizes = counts[jets]
    chunks, track, store = [], 0, 0
    for size in np.unique(sizes):
        run = jets[sizes == size]
        n = int(size)
        per_chunk = max(1, CHUNK_ELEMENTS // max(1, n * n * hidden))
        for begin in range(0, len(run), per_chunk):
            part = run[begin : begin + per_chunk]
            elements = len(part) * n * n * hidden if n > 1 else 0
            edges = _rows(first_edge[part], np.full(len(part), n * (n - 1)), like.device)
            tracks = slice(track, track + len(part) * n)
            chunks.append(Chunk(n, len(part), tracks, edges, slice(store, store + elements)))
            track, store = track + len(part) * n, store + elements
    uniform = bool(sizes.min() == sizes.max())
    jet_of_track = None
    if not uniform:
        jet_of_track = torch.from_numpy(np.repeat(np.arange(len(jets)), sizes)).to(like.device)
    degree = np.repeat(sizes - 1, sizes)
    inverse_degree = np.where(degree > 0, 1.0 / np.maximum(degree, 1), 0.0)
    has_edges = None if sizes.min(initial=2) > 1 else torch.from_numpy(degree > 0).to(like)[:, None]
    return Group(
        jets=_rows(jets, np.ones(len(jets), dtype=np.int64), like.device),
        tracks=_rows(first_track[jets], sizes, like.device),
        counts=torch.from_numpy(sizes).to(like),
        size=int(sizes[0]) if uniform else None,
        jet_of_track=jet_of_track,
        inverse_degree=torch.from_numpy(inverse_degree).to(like)[:, None],
        has_edges=has_edges,
        chunks=tuple(chunks),
        store_elements=store,
    )


@dataclass(frozen=True)
class GroupForward:
    """The intermediates of one group's forward pass (``[tracks, ...]`` and ``[jets, ...]``).

    The edge blocks of a chunk are ``edge_block(store, chunk)``, ``[jets, n (source i), n (target j),
    hidden]``, of the stores below (what :func:`forward_group`'s ``keep`` made of them); they are
    workspace buffers, valid until the next group.
    """

    u: Tensor  # standardised input
    edge_hidden: Tensor  # store: relu of the edge MLP's first layer
    edge: Tensor | None  # store: the edge MLP's output (None in the merged form)
    message_hidden: Tensor  # store: relu of node MLP 1's first layer (merged: of the merged layer)
    message: Tensor | None  # store: node MLP 1's output, zero on self edges (None in the merged form)
    aggregate: Tensor  # node MLP 1's output averaged over incoming edges
    v: Tensor  # relu of node MLP 2's first layer
    node_out: Tensor
    h: Tensor  # [jets, hidden] relu of the global MLP's first layer
    logits: Tensor  # [jets, classes]


def edge_block(store: Tensor, chunk: Chunk) -> Tensor:
    """A chunk's edge block ``[jets, n, n, hidden]`` in a group's store."""
    return store[chunk.store].view(chunk.num_jets, chunk.size, chunk.size, -1)


Keep = Callable[[Tensor, Tensor | None, Tensor, Tensor | None], object]


def forward_group(
    folded: FoldedHIN,
    x: Tensor,
    group: Group,
    workspace: Workspace,
    *,
    merged: bool,
    keep: Keep | None = None,
) -> GroupForward:
    """The HIN's forward pass on the group's tracks ``x`` ``[tracks, features]``, merged or layer by layer.

    ``keep(edge_hidden, edge, message_hidden, message)`` may rewrite a chunk's edge blocks in place once
    the forward pass is done with them, while they are still in cache (LRP keeps what its backward pass
    needs of them); ``edge`` and ``message`` are ``None`` in the merged form.
    """
    hidden = folded.w4.shape[0]
    u = torch.addcmul(folded.input_shift, x, folded.input_scale)
    q = torch.addmm(folded.b5, u, folded.w5_track.T)
    names = (
        ("edge_hidden", "message_hidden") if merged else ("edge_hidden", "edge", "message_hidden", "message")
    )
    stores = {name: workspace.take(name, (group.store_elements,)) for name in names}
    aggregate = u.new_zeros(len(u), hidden)  # the mean over no incoming edge is zero
    if group.store_elements:
        # Edge blocks are [jets, n (source i), n (target j), hidden]; self edges i = i are computed with
        # the rest and zeroed where they would enter a sum.
        source = torch.addmm(folded.source_bias(merged), u, folded.w_source.T)
        target = u @ folded.w1_target.T
        message_sum = aggregate
        for chunk in group.chunks:
            if chunk.size < 2:
                continue
            jets, n, rows = chunk.num_jets, chunk.size, chunk.tracks
            blocks = {name: edge_block(store, chunk) for name, store in stores.items()}
            edge_hidden, message_hidden = blocks["edge_hidden"], blocks["message_hidden"]
            source_terms = source[rows].view(jets, n, 1, 2 * hidden)
            torch.add(source_terms[..., :hidden], target[rows].view(jets, 1, n, hidden), out=edge_hidden)
            edge_hidden.relu_()
            edge, message = blocks.get("edge"), blocks.get("message")
            if merged:
                _linear(edge_hidden, folded.w_merged, None, out=message_hidden)
            else:
                _linear(edge_hidden, folded.w3, folded.b3, out=edge)
                _linear(edge, folded.w2_edge, None, out=message_hidden)
            message_hidden.add_(source_terms[..., hidden:]).relu_()
            if not merged:
                _linear(message_hidden, folded.w4, folded.b4, out=message)
            summed = message_hidden if merged else message
            summed.diagonal(dim1=1, dim2=2).zero_()
            torch.sum(summed, dim=1, out=message_sum[rows].view(jets, n, hidden))
            if keep is not None:
                keep(edge_hidden, edge, message_hidden, message)
        aggregate = message_sum.mul_(group.inverse_degree)
        if merged:
            aggregate = torch.addmm(folded.b4, aggregate, folded.w4.T)
            if group.has_edges is not None:
                aggregate.mul_(group.has_edges)
        q.addmm_(aggregate, folded.w5_aggregate.T)
    v = q.relu_()
    node_out = torch.addmm(folded.b6, v, folded.w6.T)
    pooled = group.jet_sum(node_out).div_(group.counts.clamp(min=1)[:, None])
    h = torch.addmm(folded.b7, pooled, folded.w7.T).relu_()
    logits = torch.addmm(folded.b8, h, folded.w8.T)
    return GroupForward(
        u,
        stores["edge_hidden"],
        stores.get("edge"),
        stores["message_hidden"],
        stores.get("message"),
        aggregate,
        v,
        node_out,
        h,
        logits,
    )


def _linear(block: Tensor, weight: Tensor, bias: Tensor | None, *, out: Tensor) -> Tensor:
    """``block Wᵀ + b`` over the last axis of a ``[..., in]`` block, written to ``out`` ``[..., out]``."""
    rows, result = block.reshape(-1, block.shape[-1]), out.view(-1, out.shape[-1])
    if bias is None:
        return torch.mm(rows, weight.T, out=result)
    return torch.addmm(bias, rows, weight.T, out=result)


@torch.no_grad()
def dense_forward(model: nn.Module, batch: Batch) -> Tensor:
    """``[num_jets, num_classes]`` eval-mode logits of the HIN on fully connected jets.

    The jets must be what :func:`dense_applies` accepts.
    """
    parameter = next(model.parameters())
    x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
    folded = folded_hin(model)
    logits = x.new_zeros(int(batch.num_graphs), folded.w8.shape[0])
    workspace = workspace_for(x)
    for group in groups(batch, folded.w4.shape[0], x):
        logits[group.jets] = forward_group(folded, x[group.tracks], group, workspace, merged=True).logits
    return logits
