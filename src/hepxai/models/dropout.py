"""Dropout whose mask costs a quarter of the random draws.

On the CPU, ``nn.Dropout`` draws one Bernoulli number per element, and on the edge messages of a point
cloud that drawing took a quarter of a DGCNN training step (``bench/bench_dropout.py``). Here every 64-bit
draw of torch's generator gives four 16-bit uniform integers, and an element is kept when its integer is
below ``round((1 - p) · 2¹⁶)``: the keep probability is ``1 − p`` to within ``2⁻¹⁷``, the draws follow
``torch.manual_seed``, and the module is an ``nn.Dropout`` (same state dict, same LRP pass-through).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

_LEVELS = 1 << 16


def keep_mask(shape: torch.Size | tuple[int, ...], keep: float, device: torch.device | None = None) -> Tensor:
    """Boolean ``shape`` mask, each element ``True`` with probability ``round(keep · 2¹⁶) / 2¹⁶``."""
    count = math.prod(shape)
    draws = torch.randint(
        torch.iinfo(torch.int64).min, torch.iinfo(torch.int64).max, ((count + 3) // 4,), device=device
    )
    uniform = draws.view(torch.int16)[:count].view(shape)  # four int16 per draw, uniform on [-2¹⁵, 2¹⁵)
    return uniform < round(keep * _LEVELS) - _LEVELS // 2


class Dropout(nn.Dropout):
    """``nn.Dropout`` with :func:`keep_mask` (the same scaling ``1 / (1 − p)`` of the kept elements)."""

    def forward(self, input: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return input
        if self.p == 1:
            return torch.zeros_like(input)
        keep = 1.0 - self.p
        mask = keep_mask(input.shape, keep, input.device)
        return input * mask.to(input.dtype).mul_(1.0 / keep)
