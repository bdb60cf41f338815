"""BatchNorm whose training statistics are those of the batch of all processes, on CPU.

With data-parallel training each process sees a part of every minibatch; a plain BatchNorm would
standardise by the statistics of its part, so the run would train another function than one process on
the whole minibatch. ``torch.nn.SyncBatchNorm`` fixes that on GPUs only (it refuses CPU tensors), so
:class:`SyncBatchNorm1d` does it on CPU: in training mode the forward gathers every process's count, mean
and sum of squared deviations (one ``all_gather``; combined as in Chan et al.'s parallel variance, which
keeps float32 precise where raw sums of squares would cancel), and the backward all-reduces ``Σ dy`` and
``Σ dy·x̂`` of the normalised input, the two sums the BatchNorm gradient needs from the whole batch. The
affine part (weight, bias) is ordinary autograd: its gradients are local sums that DistributedDataParallel
averages with every other gradient. In eval mode, or with a single process, it is ``nn.BatchNorm1d``.

:func:`convert_batchnorm` swaps every ``BatchNorm1d`` of a module for it (for ``torch.nn.SyncBatchNorm``
when the module lives on a GPU), keeping the parameters and buffers, so state dicts and checkpoints are
unchanged.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor, nn


class SyncBatchNorm1d(nn.BatchNorm1d):
    """``nn.BatchNorm1d`` with training statistics over the batches of all processes of the default group.

    Input ``[N, C]`` or ``[N, C, L]``; a process may hold a single row (or none) as long as the whole
    batch holds two.
    """

    def forward(self, input: Tensor) -> Tensor:
        synchronised = dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1
        if not (self.training and synchronised):
            return super().forward(input)
        self._check_input_dim(input)
        shape = [1, -1] + [1] * (input.dim() - 2)
        normalised, mean, variance, count = _SyncNormalise.apply(input, self.eps)
        if self.track_running_stats:
            self._update_running_stats(mean, variance, count)
        if not self.affine:
            return normalised
        return normalised * self.weight.view(shape) + self.bias.view(shape)

    @torch.no_grad()
    def _update_running_stats(self, mean: Tensor, variance: Tensor, count: int) -> None:
        """What ``nn.BatchNorm1d`` does with its batch statistics: a running (or, momentum ``None``,
        cumulative) average of the mean and of the unbiased variance."""
        self.num_batches_tracked += 1
        factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        self.running_mean.mul_(1 - factor).add_(mean, alpha=factor)
        self.running_var.mul_(1 - factor).add_(variance * count / max(count - 1, 1), alpha=factor)


class _SyncNormalise(torch.autograd.Function):
    """``x̂ = (x - mean) / sqrt(var + eps)`` with mean and (biased) variance over all processes' rows."""

    @staticmethod
    def forward(ctx, input: Tensor, eps: float) -> tuple[Tensor, Tensor, Tensor, int]:
        channels = input.shape[1]
        rows = input.transpose(0, 1).reshape(channels, -1)  # [C, local count]
        local_count = rows.shape[1]
        local_mean = rows.mean(dim=1) if local_count else rows.new_zeros(channels)
        local_squares = ((rows - local_mean[:, None]) ** 2).sum(dim=1)
        local = torch.cat([rows.new_tensor([local_count]), local_mean, local_squares])
        gathered = [torch.empty_like(local) for _ in range(dist.get_world_size())]
        dist.all_gather(gathered, local)
        stats = torch.stack(gathered)  # [processes, 1 + 2C]
        counts, means, squares = stats[:, :1], stats[:, 1 : 1 + channels], stats[:, 1 + channels :]
        count = int(counts.sum().item())
        if count < 2:
            msg = f"BatchNorm needs at least two values per channel over all processes (got {count})"
            raise ValueError(msg)
        mean = (counts * means).sum(dim=0) / count
        variance = (squares + counts * (means - mean) ** 2).sum(dim=0) / count
        inverse_std = torch.rsqrt(variance + eps)
        shape = [1, -1] + [1] * (input.dim() - 2)
        normalised = (input - mean.view(shape)) * inverse_std.view(shape)
        ctx.save_for_backward(normalised, inverse_std)
        ctx.count = count
        ctx.mark_non_differentiable(mean, variance)
        return normalised, mean, variance, count

    @staticmethod
    def backward(ctx, grad: Tensor, *_: object) -> tuple[Tensor, None]:
        normalised, inverse_std = ctx.saved_tensors
        reduce = [0, *range(2, grad.dim())]
        sums = torch.cat([grad.sum(dim=reduce), (grad * normalised).sum(dim=reduce)])
        dist.all_reduce(sums)
        grad_mean, grad_normalised_mean = (sums / ctx.count).chunk(2)
        shape = [1, -1] + [1] * (grad.dim() - 2)
        grad_input = inverse_std.view(shape) * (
            grad - grad_mean.view(shape) - normalised * grad_normalised_mean.view(shape)
        )
        return grad_input, None


def convert_batchnorm(module: nn.Module) -> nn.Module:
    """``module`` with every ``BatchNorm1d`` synchronised across processes, in place (and returned).

    On CPU the batch norms become :class:`SyncBatchNorm1d`; a module on a GPU gets
    ``torch.nn.SyncBatchNorm`` instead. Parameters and buffers are the same tensors, so an optimiser
    built before the conversion keeps working and state dicts keep their keys.
    """
    if any(parameter.is_cuda for parameter in module.parameters()):
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if type(child) is nn.BatchNorm1d:
            synced = SyncBatchNorm1d(
                child.num_features, child.eps, child.momentum, child.affine, child.track_running_stats
            )
            synced.weight, synced.bias = child.weight, child.bias
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                setattr(synced, buffer, getattr(child, buffer))
            synced.train(child.training)
            setattr(module, name, synced)
        else:
            convert_batchnorm(child)
    return module
