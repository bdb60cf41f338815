"""A forward pass recomputed in the backward pass instead of kept: the same numbers in less memory.

``torch.utils.checkpoint`` keeps only a function's inputs and runs it again when the backward pass needs
its activations, with the random generator's state of the first run, so dropout draws the same masks. One
thing it would change: a BatchNorm in training mode updates its running statistics on every forward, so
the second run would count the batch twice. Here the BatchNorm buffers of the given modules are set back
after the second run, so the model's state, its gradients and every later number are those of a pass
that was kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.checkpoint import checkpoint


def recomputed(function: Callable[..., Tensor], *inputs: Any, modules: Sequence[nn.Module]) -> Tensor:
    """``function(*inputs)``, its activations recomputed in the backward pass rather than kept.

    Args:
        function: A deterministic function of ``inputs``, the parameters of ``modules`` and torch's random
            generator.
        modules: Every module ``function`` runs: their BatchNorm running statistics are restored after the
            recomputation.
    """

    def contexts() -> tuple[Any, Any]:
        return nullcontext(), _batchnorm_buffers_kept(modules)

    return checkpoint(function, *inputs, use_reentrant=False, preserve_rng_state=True, context_fn=contexts)


@contextmanager
def _batchnorm_buffers_kept(modules: Sequence[nn.Module]) -> Iterator[None]:
    """Restore every BatchNorm buffer of ``modules`` (running mean, variance, batch count) on exit."""
    norms = [
        norm
        for module in modules
        for norm in module.modules()
        if isinstance(norm, nn.modules.batchnorm._BatchNorm)
    ]
    kept = [{name: buffer.clone() for name, buffer in norm.named_buffers(recurse=False)} for norm in norms]
    try:
        yield
    finally:
        with torch.no_grad():
            for norm, buffers in zip(norms, kept, strict=True):
                for name, value in buffers.items():
                    getattr(norm, name).copy_(value)
