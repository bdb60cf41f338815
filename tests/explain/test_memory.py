"""Explaining the same batch again and again must not keep anything of the earlier autograd graphs alive."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest
import torch
from torch.overrides import TorchFunctionMode

from hepxai.explain import explainer_names, get_explainer

from .test_explainers import FAST_OPTIONS, NEEDS_POSITIONS
from .toys import tiny_jets, tiny_model


class _GraphTensors(TorchFunctionMode):
    """Keeps a weak reference to every tensor made by a torch operation that is part of an autograd graph."""

    def __init__(self) -> None:
        super().__init__()
        self.references: list[weakref.ref[torch.Tensor]] = []

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        result = func(*args, **(kwargs or {}))
        outputs = result if isinstance(result, tuple | list) else (result,)
        for output in outputs:
            if isinstance(output, torch.nn.Parameter):
                continue  # a learning method's own parameters (updated in place) stay with it
            if isinstance(output, torch.Tensor) and (output.requires_grad or output.grad_fn is not None):
                self.references.append(weakref.ref(output))
        return result

    def alive(self) -> list[torch.Tensor]:
        return [tensor for reference in self.references if (tensor := reference()) is not None]


@pytest.mark.parametrize("name", [name for name in explainer_names() if name not in NEEDS_POSITIONS])
def test_repeated_explanations_free_their_graph(name: str) -> None:
    # The unfixed LRP kept every hooked tensor (and the graph behind it) alive through a hook closure:
    # about 300 MB per call on 256 jets, which gc.collect() could not free. Methods that learn fit each time.
    model, batch = tiny_model(), tiny_jets()
    explainer = get_explainer(name, model, **FAST_OPTIONS.get(name, {}))
    fit = getattr(explainer, "fit", None)
    graph = _GraphTensors()
    with graph:
        for _ in range(3):
            if fit is not None:
                fit([batch], target="H")
            explanation = explainer.explain(batch, target="H")
            del explanation
    gc.collect()
    alive = graph.alive()
    assert graph.references or name in {"random", "track_pt", "impact_parameter"}
    assert not alive, f"{name}: {len(alive)} graph tensors outlive their explanation: " + ", ".join(
        f"{tuple(t.shape)} {type(t.grad_fn).__name__}" for t in alive[:5]
    )
