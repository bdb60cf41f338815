"""LRP-ε of the HIN on fully connected jets, on the dense form of :mod:`hepxai.models.dense`.

The HIN's canonizer (:mod:`hepxai.explain.canonizers`): :class:`~hepxai.explain.lrp.LRP` and the gradient
explainers use it where it applies (fully connected jets, one ε for every layer, ``aggregate="sum"``,
graph-level targets, no masks). It computes what the generic layer-by-layer path computes, LRP-ε of the
model's own layers, much faster, and is tested against it.

The backward pass is written out by hand (no autograd): every gradient is scaled by
``|z| / (|z| + ε)`` at the output ``z`` of each Linear (with its BatchNorm folded in, as the generic path
does), and what the bias and ε take there is summed layer by layer. With ε > 0 the edges run through the
model's layers one by one (``merged=False``): three ``hidden × hidden`` products per edge each way,
since ε must act at the output of the edge MLP's last Linear and of node MLP 1's two Linears, per edge.
At ε = 0 (LRP-0, and the gradient of gradient × input) the rule scales nothing, so the merged form, an
exact rewrite of the same function, gives the same relevance with one product per edge each way.

On the ``[jets, N, N, hidden]`` edge blocks every step runs in place in the forward pass's buffers, so a
block of a few jets stays in the core's cache from the forward pass to the edge relevance, and the edge
significance is taken there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch

from hepxai.explain.canonizers import FastRelevance, register_fast_lrp
from hepxai.models.dense import (
    Chunk,
    FoldedHIN,
    Group,
    GroupForward,
    Rows,
    Workspace,
    dense_applies,
    edge_block,
    folded_hin,
    forward_group,
    groups,
    workspace_for,
)
from hepxai.models.interaction_network import InteractionNetwork


@torch.no_grad()
def dense_lrp(
    model: nn.Module, batch: Batch, seed: Tensor, *, epsilon: float, raw: bool, edges: bool = True
) -> FastRelevance:
    """LRP-ε of every fully connected jet of ``batch``, seeded with ``seed`` ``[num_classes]`` at the logits.

    Args:
        model: The HIN (eval-mode statistics are used).
        batch: Fully connected jets (:func:`~hepxai.models.dense.dense_applies`).
        seed: Weights of the logits to explain (1 on the target, or +1/−1 for a difference).
        epsilon: ε of every layer.
        raw: Relevance of the raw features instead of the standardised ones.
        edges: Also the relevance of every edge's inputs and the edge significance (two more small
            products per edge).
    """
    parameter = next(model.parameters())
    x = batch.x.to(device=parameter.device, dtype=parameter.dtype)
    num_jets, num_features = int(batch.num_graphs), x.shape[1]
    num_edges = batch.edge_index.shape[1]
    folded = folded_hin(model)
    node, gradient = torch.zeros_like(x), torch.zeros_like(x)
    edge = x.new_empty(num_edges, 2 * num_features) if edges else None
    significance = x.new_empty(num_edges) if edges else None
    absorbed = x.new_zeros(num_jets)
    logits = x.new_zeros(num_jets, folded.w8.shape[0])
    seed = seed.to(x)
    workspace = workspace_for(x)
    for group in groups(batch, folded.w4.shape[0], x):
        edge_out = (edge, significance) if edges else None
        result = _explain_group(folded, x[group.tracks], group, seed, epsilon, raw, workspace, edge_out)
        node[group.tracks], gradient[group.tracks] = result.node, result.gradient
        absorbed[group.jets], logits[group.jets] = result.absorbed, result.logits
    return FastRelevance(
        node=node,
        gradient=gradient,
        edge=edge,
        edge_significance=significance,
        absorbed=absorbed,
        logits=logits,
    )


register_fast_lrp(InteractionNetwork, dense_applies, dense_lrp)


def _write_rows(store: Tensor, rows: Rows, values: Tensor) -> None:
    """``store[rows] = values`` for a chunk's ``[jets, n - 1, n, ...]`` off-diagonal view, copied once."""
    if isinstance(rows, slice):
        store[rows].view(values.shape).copy_(values)
    else:
        store[rows] = values.reshape(-1, *store.shape[1:])


def _off_diagonal(block: Tensor) -> Tensor:
    """``[jets, n, n, ...]`` without its diagonal, as a ``[jets, n - 1, n, ...]`` view in row-major order.

    Dropping the first element of a flattened ``n × n`` matrix puts every diagonal element at the end of
    a row of ``n + 1``: the edges ``i → j, j ≠ i`` in the order of the batch (source-major).
    """
    jets, n = block.shape[:2]
    flat = block.reshape(jets, n * n, *block.shape[3:])[:, 1:]
    return flat.unflatten(1, (n - 1, n + 1))[:, :, :n]


def _ratio(z: Tensor, epsilon: float) -> Tensor:
    """``z / (z + ε·sign z)`` as ``|z| / (|z| + ε)`` (0 at ``z = 0``)."""
    if epsilon:
        magnitude = z.abs()
        return magnitude.div_(magnitude + epsilon)
    return (z != 0).to(z.dtype)


def _epsilon_rule(z: Tensor, grad: Tensor, bias: Tensor, epsilon: float) -> tuple[Tensor, Tensor]:
    """The ε-rule at an affine map's output ``z``: the scaled gradient, and what bias and ε absorb per row.

    Rows are every axis but the last; the absorbed part is summed over the last axis.
    """
    scaled = _ratio(z, epsilon).mul_(grad)
    absorbed = scaled @ bias
    if epsilon:
        absorbed += (z * (grad - scaled)).sum(dim=-1)
    return scaled, absorbed


def _rectified_ratio(rectified: Tensor, epsilon: float) -> Tensor:
    """The ε-ratio at a pre-activation ``z`` that feeds a ReLU, from ``relu(z)``.

    Where ``z ≤ 0`` the ReLU passes no gradient, so only ``z > 0`` matters, where ``|z| / (|z| + ε)`` is
    ``relu(z) / (relu(z) + ε)``; and ε·sign z is +ε on every row that carries relevance.
    """
    if epsilon:
        return rectified / (rectified + epsilon)
    return (rectified > 0).to(rectified.dtype)


def _keep_ratios(
    epsilon: float,
    workspace: Workspace,
    edge_hidden: Tensor,
    edge: Tensor | None,
    message_hidden: Tensor,
    message: Tensor | None,
) -> None:
    """Turn a chunk's edge blocks in place, while the forward pass has them in cache, into what the
    backward pass needs of them.

    A block ``relu(z)`` before a ReLU becomes ``1 + relu(z) / ε``, from which :func:`_scale_by_ratio` takes
    the ε-ratio ``relu(z) / (relu(z) + ε) = 1 − 1 / (1 + relu(z) / ε)`` (one pass each way, exactly 0 where
    ``relu(z) = 0``); at ε = 0 the ReLU's 0/1 mask. A block ``z`` without a ReLU (the edge MLP's and node
    MLP 1's outputs) becomes ``z / (|z| + ε)``: its magnitude is the ε-ratio and its sign that of ``z``,
    which the ε's share of the relevance needs.
    """
    for block in (edge_hidden, message_hidden):
        if epsilon:
            torch.add(block.new_ones(()), block, alpha=1.0 / epsilon, out=block)
        else:
            block.sign_()
    for block in (edge, message):
        if block is not None:
            scratch = workspace.take("scratch", tuple(block.shape))
            block.div_(torch.abs(block, out=scratch).add_(epsilon))


def _scale_by_ratio(kept: Tensor, grad: Tensor, epsilon: float, out: Tensor) -> Tensor:
    """``grad`` times the ε-ratio of a block kept by :func:`_keep_ratios` (before a ReLU), into ``out``."""
    if epsilon:
        return torch.addcdiv(grad, grad, kept, value=-1.0, out=out)
    return torch.mul(grad, kept, out=out)


def _scale_signed(kept: Tensor, grad: Tensor, epsilon: float) -> tuple[Tensor, Tensor]:
    """The ε-rule on a block kept as ``z / (|z| + ε)`` (no ReLU): ``grad`` scaled in place, and what ε
    takes per source track, ``ε · Σ sign(z) · scaled`` over targets and channels ``[jets, n]``.

    ``kept`` is used up (its sign is left in it).
    """
    signed = grad.mul_(kept)  # z / (|z| + ε) · grad = sign(z) · scaled
    taken = signed.sum(dim=(2, 3)).mul_(epsilon)
    return signed.mul_(kept.sign_()), taken


@dataclass(frozen=True)
class _GroupRelevance:
    node: Tensor  # [tracks, features]
    gradient: Tensor  # [tracks, features]
    absorbed: Tensor  # [jets]
    logits: Tensor  # [jets, classes]


@dataclass
class _TrackSums:
    """Per-track sums over a group's edge blocks, filled chunk by chunk (``[tracks, hidden]``, by source
    unless named by target)."""

    edge_hidden: Tensor  # scaled gradient at the edge MLP's first layer, by source
    edge_hidden_by_target: Tensor
    message_hidden: Tensor  # at node MLP 1's first layer (merged: the merged layer)
    edge: Tensor | None  # at the edge MLP's output (layers only)
    message: Tensor | None  # at node MLP 1's output (layers only)
    epsilon_taken: Tensor  # [tracks] what ε takes at the two outputs without a ReLU (layers only)


def _explain_group(
    folded: FoldedHIN,
    x: Tensor,
    group: Group,
    seed: Tensor,
    epsilon: float,
    raw: bool,
    workspace: Workspace,
    edge_out: tuple[Tensor, Tensor] | None,
) -> _GroupRelevance:
    """Forward and LRP backward of a group's tracks ``x`` ``[tracks, features]``; the edge relevance and
    significance go straight to the rows of ``edge_out`` when given."""
    hidden = folded.w4.shape[0]
    merged = epsilon == 0
    keep = partial(_keep_ratios, epsilon, workspace)
    forward = forward_group(folded, x, group, workspace, merged=merged, keep=keep)
    u, logits = forward.u, forward.logits

    # Backward, the ε-rule at every affine output; what is absorbed per track is summed per jet at the end.
    scaled, absorbed = _epsilon_rule(logits, seed.expand_as(logits), folded.b8, epsilon)
    scaled = (scaled @ folded.w8).mul_(_rectified_ratio(forward.h, epsilon))
    absorbed += scaled @ (folded.b7 + epsilon)
    grad = group.to_tracks((scaled @ folded.w7).div_(group.counts.clamp(min=1)[:, None]))
    scaled, track_absorbed = _epsilon_rule(forward.node_out, grad, folded.b6, epsilon)
    scaled = (scaled @ folded.w6).mul_(_rectified_ratio(forward.v, epsilon))
    track_absorbed += scaled @ (folded.b5 + epsilon)
    grad_u = scaled @ folded.w5_track
    if group.store_elements:
        grad_aggregate = scaled @ folded.w5_aggregate
        if merged:  # node MLP 1's last Linear acts per track, after the mean
            grad_aggregate, part = _epsilon_rule(forward.aggregate, grad_aggregate, folded.b4, epsilon)
            track_absorbed += part
            grad_aggregate = grad_aggregate @ folded.w4
        # The mean over incoming edges: the same gradient reaches every edge into a target track.
        grad_edges = grad_aggregate.mul_(group.inverse_degree)
        sums = _TrackSums(
            *(u.new_zeros(len(u), hidden) for _ in range(3)),
            edge=None if merged else u.new_zeros(len(u), hidden),
            message=None if merged else u.new_zeros(len(u), hidden),
            epsilon_taken=u.new_zeros(len(u)),
        )
        reference = x * folded.input_scale if raw else u
        for chunk in group.chunks:
            if chunk.size < 2:
                continue
            scaled_edge_hidden, scaled_message_hidden = _backward_chunk(
                folded, forward, chunk, grad_edges, epsilon, workspace, sums
            )
            if edge_out is not None:
                jets, n, rows = chunk.num_jets, chunk.size, chunk.tracks
                relevance, significance = _edge_relevance(
                    folded,
                    reference[rows].view(jets, n, -1),
                    scaled_edge_hidden,
                    scaled_message_hidden,
                    workspace,
                )
                _write_rows(edge_out[0], chunk.edges, relevance)
                _write_rows(edge_out[1], chunk.edges, significance)
        track_absorbed += sums.edge_hidden @ (folded.b1 + epsilon)
        track_absorbed += sums.message_hidden @ ((folded.b_merged if merged else folded.b2) + epsilon)
        if not merged:
            track_absorbed += sums.edge @ folded.b3 + sums.message @ folded.b4 + sums.epsilon_taken
        by_source = torch.cat([sums.edge_hidden, sums.message_hidden], dim=1)
        grad_u += by_source @ folded.w_source + sums.edge_hidden_by_target @ folded.w1_target
    if raw:
        track_absorbed += grad_u @ folded.input_shift
        node, gradient = x * folded.input_scale * grad_u, grad_u * folded.input_scale
    else:
        node, gradient = u * grad_u, grad_u
    return _GroupRelevance(node, gradient, absorbed + group.jet_sum(track_absorbed), logits)


def _backward_chunk(
    folded: FoldedHIN,
    forward: GroupForward,
    chunk: Chunk,
    grad_edges: Tensor,
    epsilon: float,
    workspace: Workspace,
    sums: _TrackSums,
) -> tuple[Tensor, Tensor]:
    """The LRP backward pass over a chunk's edge blocks, from the gradient ``grad_edges`` ``[tracks,
    hidden]`` that every edge into a target track receives, to the scaled gradients at the edge MLP's
    first layer and node MLP 1's first layer (``[jets, n, n, hidden]``, zero on the self edges); adds
    the chunk's per-track sums to ``sums``."""
    jets, n, rows = chunk.num_jets, chunk.size, chunk.tracks
    hidden = grad_edges.shape[1]
    per_track = lambda values: values[rows].view(jets, n, -1)  # noqa: E731  (the chunk's rows)
    grad_block = grad_edges[rows].view(jets, 1, n, hidden)
    kept_message_hidden = edge_block(forward.message_hidden, chunk)
    if forward.message is None:  # merged: the gradient reaches the merged layer's ReLU directly
        grad_message_hidden = grad_block.expand_as(kept_message_hidden)
    else:
        kept_message = edge_block(forward.message, chunk)  # zero on the self edges
        # ε's share at node MLP 1's output: Σ_c grad_jc Σ_i z_ijc / (|z_ijc| + ε), per target track.
        taken = (kept_message.sum(dim=1) * grad_block[:, 0]).sum(dim=-1).mul_(epsilon)
        sums.epsilon_taken[rows].view(jets, n).add_(taken)
        scaled_message = kept_message.abs_().mul_(grad_block)
        torch.sum(scaled_message, dim=2, out=per_track(sums.message))
        grad_message_hidden = workspace.take("grad", (jets, n, n, hidden))
        torch.mm(scaled_message.view(-1, hidden), folded.w4, out=grad_message_hidden.view(-1, hidden))
    scaled_message_hidden = _scale_by_ratio(
        kept_message_hidden, grad_message_hidden, epsilon, out=kept_message_hidden
    )
    torch.sum(scaled_message_hidden, dim=2, out=per_track(sums.message_hidden))
    grad_edge_hidden = workspace.take("grad_edge_hidden", (jets, n, n, hidden))
    if forward.edge is None:
        torch.mm(
            scaled_message_hidden.view(-1, hidden), folded.w_merged, out=grad_edge_hidden.view(-1, hidden)
        )
    else:
        grad_edge = workspace.take("grad", (jets, n, n, hidden))
        torch.mm(scaled_message_hidden.view(-1, hidden), folded.w2_edge, out=grad_edge.view(-1, hidden))
        scaled_edge, taken = _scale_signed(edge_block(forward.edge, chunk), grad_edge, epsilon)
        sums.epsilon_taken[rows].view(jets, n).add_(taken)
        torch.sum(scaled_edge, dim=2, out=per_track(sums.edge))
        torch.mm(scaled_edge.view(-1, hidden), folded.w3, out=grad_edge_hidden.view(-1, hidden))
    kept_edge_hidden = edge_block(forward.edge_hidden, chunk)
    scaled_edge_hidden = _scale_by_ratio(kept_edge_hidden, grad_edge_hidden, epsilon, out=grad_edge_hidden)
    # Sums over the edges of each track as source and as target.
    torch.sum(scaled_edge_hidden, dim=2, out=per_track(sums.edge_hidden))
    torch.sum(scaled_edge_hidden, dim=1, out=per_track(sums.edge_hidden_by_target))
    return scaled_edge_hidden, scaled_message_hidden


def _edge_relevance(
    folded: FoldedHIN,
    reference: Tensor,
    scaled_edge: Tensor,
    scaled_message: Tensor,
    workspace: Workspace,
) -> tuple[Tensor, Tensor]:
    """Per edge ``i → j``: the relevance reaching ``u_i`` (as the source) and ``u_j`` (as the target), and
    the edge significance, as off-diagonal views ``[jets, n - 1, n, ...]``."""
    jets, n, _, hidden = scaled_edge.shape
    num_features = reference.shape[-1]
    relevance = workspace.take("edge_relevance", (jets, n, n, 2 * num_features))
    rows = relevance.view(-1, 2 * num_features)
    torch.mm(scaled_edge.view(-1, hidden), folded.w1_both, out=rows)
    rows[:, :num_features].addmm_(scaled_message.view(-1, hidden), folded.w2_track)
    relevance[..., :num_features].mul_(reference[:, :, None, :])
    relevance[..., num_features:].mul_(reference[:, None, :, :])
    norm = torch.linalg.vector_norm(relevance, dim=-1)  # [jets, n, n], zero on the diagonal
    total = norm.sum(dim=(1, 2))
    norm.div_(torch.where(total > 0, total, 1.0)[:, None, None])
    return _off_diagonal(relevance), _off_diagonal(norm)
