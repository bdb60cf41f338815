"""Data-parallel training on several processes: who this process is, and the few collectives the loop needs.

:func:`hepxai.training.fit` stays the one loop. Where a process group is running (``torch.distributed``)
it asks :func:`world` for this process's rank and the world size and uses the pieces here: every process
trains on its part of each minibatch (:meth:`World.shard`), the objective runs through
``DistributedDataParallel`` (:func:`data_parallel`), whose BatchNorms are synchronised
(:mod:`hepxai.models.sync_batchnorm`), the loss is the weighted mean over the whole minibatch
(:meth:`World.sum`), validation gathers every process's logits (:meth:`World.gather`), and only the main
process (rank 0) writes. One step of N processes then computes the gradient and the BatchNorm statistics
of one process on the whole minibatch (tested to float precision).

:func:`launch` starts the processes: ``torch.multiprocessing`` spawns ``nproc`` of them on this machine
(gloo over a file store in a temporary folder), or, under ``torchrun`` (``RANK`` and ``WORLD_SIZE`` in the
environment), this process joins the group torchrun set up, on one machine or several. Tensors on CPU go
through gloo, tensors on a GPU through NCCL where torch has CUDA.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from hepxai.errors import InputError
from hepxai.models.sync_batchnorm import convert_batchnorm

log = logging.getLogger(__name__)

Item = TypeVar("Item")


@dataclass(frozen=True)
class World:
    """This process's place among the processes of a data-parallel run (rank 0 of 1 without a group)."""

    rank: int = 0
    size: int = 1

    @property
    def is_main(self) -> bool:
        """Whether this process writes the run folder and shows progress."""
        return self.rank == 0

    def shard(self, index: np.ndarray) -> np.ndarray:
        """This process's consecutive part of ``index``; the parts differ in length by at most one."""
        if self.size == 1:
            return index
        return np.array_split(index, self.size)[self.rank]

    def sum(self, values: Tensor) -> Tensor:
        """``values`` summed over all processes (a new tensor)."""
        values = values.detach().clone()
        if self.size > 1:
            dist.all_reduce(values)
        return values

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in rank order (picklable objects: arrays, tensors, lists)."""
        if self.size == 1:
            return [value]
        values: list[Any] = [None] * self.size
        dist.all_gather_object(values, value)
        return values

    def barrier(self) -> None:
        """Wait until every process gets here (the main process has written what the others read next)."""
        if self.size > 1:
            dist.barrier()

    def while_all(self, items: Iterable[Item]) -> Iterator[Item]:
        """``items`` for as long as every process still has one: processes whose parts of a stream end
        at different steps all stop at the first end, so none waits for a step the others never take."""
        if self.size == 1:
            yield from items
            return
        iterator = iter(items)
        while True:
            item = next(iterator, None)
            flag = torch.tensor([0 if item is None else 1])
            dist.all_reduce(flag, op=dist.ReduceOp.MIN)
            if not flag.item():
                return
            yield item


def world() -> World:
    """The running process group's rank and size; rank 0 of 1 where none runs."""
    if dist.is_available() and dist.is_initialized():
        return World(dist.get_rank(), dist.get_world_size())
    return World()


class _Objective(nn.Module):
    """The model and the objective as one module, so that ``DistributedDataParallel`` wraps the call the
    loop makes (``objective(model, batch, epoch)``, which may use the model's fast forward rather than its
    ``forward``) and averages the gradients of both."""

    def __init__(self, model: nn.Module, objective: nn.Module) -> None:
        super().__init__()
        self.model, self.objective = model, objective

    def forward(self, batch: Any, epoch: int) -> Tensor:
        return self.objective(self.model, batch, epoch)


def data_parallel(model: nn.Module, objective: nn.Module) -> Callable[[Any, int], Tensor]:
    """``(batch, epoch) -> objective(model, batch, epoch)``; with several processes through
    ``DistributedDataParallel``, every BatchNorm synchronised (in place: checkpoints keep their keys).

    Running statistics need no broadcast: synchronised BatchNorms update them identically everywhere.
    """
    if world().size == 1:
        return lambda batch, epoch: objective(model, batch, epoch)
    combined = convert_batchnorm(_Objective(model, objective))
    return DistributedDataParallel(combined, forward_sync_buffers=False)


def launch(
    job: Callable[..., Any],
    *args: Any,
    nproc: int = 1,
    setup: Callable[[int], None] | None = None,
) -> None:
    """Run ``job(*args)`` in every process of a data-parallel group.

    Args:
        job: A module-level function (spawned processes import it by name).
        nproc: Processes on this machine; 1 runs ``job`` here without a group, unless ``torchrun``
            started this process.
        setup: Called first in every spawned process with its rank (logging, allocation policy).

    Raises:
        InputError: ``nproc`` given under torchrun, and whatever ``job`` raised in any process (the first).
    """
    if "RANK" in os.environ and "WORLD_SIZE" in os.environ:
        if nproc > 1:
            msg = f"--nproc {nproc}: torchrun sets the processes (WORLD_SIZE={os.environ['WORLD_SIZE']})"
            raise InputError(msg)
        _run_in_group(job, args, "env://", int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]))
        return
    if nproc == 1:
        job(*args)
        return
    import torch.multiprocessing as multiprocessing
    from torch.multiprocessing.spawn import ProcessException

    context = multiprocessing.get_context("spawn")
    errors = context.SimpleQueue()
    with tempfile.TemporaryDirectory(prefix="hepxai-ddp-") as folder:
        store = f"file://{Path(folder) / 'store'}"
        try:
            multiprocessing.spawn(_spawned, args=(nproc, store, job, args, setup, errors), nprocs=nproc)
        except ProcessException:
            if not errors.empty():
                raise errors.get() from None  # the job's own one-line error, not the traceback text
            raise


def _spawned(
    rank: int,
    nproc: int,
    store: str,
    job: Callable[..., Any],
    args: tuple,
    setup: Callable[[int], None] | None,
    errors: Any,
) -> None:
    if setup is not None:
        setup(rank)
    if "OMP_NUM_THREADS" not in os.environ:  # else torch already follows it
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    try:
        _run_in_group(job, args, store, rank, nproc)
    except InputError as err:
        errors.put(err)
        raise


def _run_in_group(job: Callable[..., Any], args: tuple, init_method: str, rank: int, size: int) -> None:
    backend = "cpu:gloo,cuda:nccl" if torch.cuda.is_available() else "gloo"
    dist.init_process_group(backend, init_method=init_method, rank=rank, world_size=size)
    try:
        log.debug("process %d of %d joined (%s)", rank, size, backend)
        job(*args)
    finally:
        dist.destroy_process_group()
