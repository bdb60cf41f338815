"""The engine (:mod:`hepxai.parallel`) on a real local cluster."""

from __future__ import annotations

import pytest
import torch

from hepxai.parallel import engine


@pytest.mark.slow  # a local Dask cluster of two workers: 10-30 s on the shared 2-core machine
def test_broadcast_module_takes_hooks_on_every_worker() -> None:
    """A module fetched from another worker keeps its hook tables (Dask's own serializer of a torch
    module turns them into plain dicts, on which ``register_forward_hook`` fails)."""

    def hook_and_run(item: int, module: torch.nn.Module) -> str:  # local: pickled by value for the workers
        from distributed import get_worker

        calls = []
        handle = module.register_forward_hook(lambda *_: calls.append(item))
        module(torch.ones(2, 3))
        handle.remove()
        if calls != [item]:
            msg = f"hook called {calls}"
            raise RuntimeError(msg)
        return get_worker().address

    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3)).eval()
    with engine(2) as runner:
        shared = runner.broadcast(module)
        workers = {address for _, address in runner.map(hook_and_run, range(16), shared)}
    assert len(workers) == 2  # the module went from the worker that holds it to the other one
