"""The one engine for data-parallel work: independent tasks on Dask (``dask.distributed``).

Every command that splits its work into independent tasks (explain, evaluate, benchmark, the simulations)
runs them through :func:`engine`, so one machine and a cluster take the same code path:

- ``workers=1`` and no scheduler: the tasks run here, one after the other, without Dask (nothing to start,
  the reference a parallel run is compared with);
- ``workers=N``: a ``LocalCluster`` of ``N`` one-thread worker processes (Dask's nanny sets
  ``OMP_NUM_THREADS=1`` in each, so N workers use N cores);
- ``scheduler="tcp://host:8786"``: the workers of an existing cluster (``dask scheduler`` /
  ``dask worker``, or dask-jobqueue on a batch system).

Why Dask and not a pool of our own: it retries the tasks of a worker that dies (a killed process, a node
lost), scales from a laptop to a batch system with the same code, and ``scatter(broadcast=True)`` sends a
model to each worker once. Tasks must be module-level functions of the package (workers import them) and
return small results; big outputs are written by the task itself, atomically, as parts.

Dask is imported only inside :func:`engine`, so the CLI starts without it.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_WORKER = 4
"""Tasks submitted ahead per worker: enough to keep workers busy, few enough that results waiting for the
client (simulated jets, events) do not pile up in memory."""


PART_SIZE = 20_000
"""Most entries of one input file in a part by default: a few minutes of LRP on one core for the HIN, so
a dead worker loses little and a part's memory stays small."""
MIN_PART_SIZE = 1_000
"""Fewest entries in a part by default: below that, starting a task costs more than it saves."""


def default_part_size(entries: int, workers: int) -> int:
    """Entries per part when ``--part-size`` is not given: two parts per worker, so a slow worker is
    helped by the others, within ``[MIN_PART_SIZE, PART_SIZE]``."""
    return min(PART_SIZE, max(MIN_PART_SIZE, -(-entries // (2 * workers))))


def entry_ranges(entries: Sequence[tuple[str, int]], part_size: int) -> list[tuple[str, int, int]]:
    """``(file, start, stop)`` ranges of at most ``part_size`` entries of each ``(file, entries)``, in order:
    how data-parallel jobs split their input files into tasks."""
    return [
        (file, start, min(start + part_size, total))
        for file, total in entries
        for start in range(0, total, part_size)
    ]


@dataclass
class Engine:
    """Runs tasks here (``client`` None) or on a Dask cluster."""

    client: Any = None  # dask.distributed.Client
    workers: int = 1  # workers now connected (for a local run: 1)

    @property
    def is_local(self) -> bool:
        """True when tasks run in this process, one after the other."""
        return self.client is None

    def broadcast(self, value: T) -> T:
        """``value`` for every task; pass what this returns to :meth:`map` as a shared argument.

        On a cluster the result is a Dask future that each task receives as the value itself: a worker
        fetches it once and keeps it while the run lasts. It is the result of a task that returns
        ``value`` rather than scattered data, because Dask recomputes a lost task result (its worker
        killed) but cannot recover scattered data. The value travels in a :class:`_Shared` box, which
        Dask pickles whole: Dask's own serializer of a torch module, used between workers, turns its empty
        hook tables (``OrderedDict``) into plain dicts, on which ``register_forward_hook`` fails.
        """
        if self.client is None:
            return value
        return self.client.submit(_identity, _Shared(value), pure=False)

    def map(
        self, function: Callable[..., R], items: Iterable[Any], *shared: Any, ordered: bool = False
    ) -> Iterator[tuple[int, R]]:
        """``(index, function(item, *shared))`` per item: as tasks finish, or in item order if ``ordered``.

        At most :data:`IN_FLIGHT_PER_WORKER` tasks per worker are submitted ahead. A task that raises
        stops the run with its exception (an :class:`~hepxai.errors.InputError` stays one line); a task
        whose worker dies is run again elsewhere by Dask.
        """
        if self.client is None:
            for index, item in enumerate(items):
                yield index, function(item, *shared)
            return
        yield from _map_on_cluster(self.client, self.workers, function, items, shared, ordered=ordered)


def _identity(value: T) -> T:
    return value


@dataclass(frozen=True)
class _Shared:
    """A broadcast value on its way to the workers (:meth:`Engine.broadcast`); tasks get the value."""

    value: Any


def _unboxed(function: Callable[..., R], item: Any, *shared: Any) -> R:
    """``function(item, *shared)`` with every :class:`_Shared` box opened: what a task on a cluster runs."""
    return function(item, *(value.value if isinstance(value, _Shared) else value for value in shared))


def _map_on_cluster(
    client: Any,
    workers: int,
    function: Callable[..., R],
    items: Iterable[Any],
    shared: tuple,
    *,
    ordered: bool,
) -> Iterator[tuple[int, R]]:
    from dask.distributed import as_completed

    window = max(1, workers) * IN_FLIGHT_PER_WORKER
    source = enumerate(items)
    running = as_completed()
    index_of: dict[str, int] = {}
    done: dict[int, R] = {}
    next_to_yield, submitted, finished = 0, 0, 0

    def submit_more() -> None:
        nonlocal submitted
        while submitted - finished < window:
            entry = next(source, None)
            if entry is None:
                return
            index, item = entry
            key = f"{getattr(function, '__name__', 'task')}-{uuid.uuid4().hex}"  # named after the task
            future = client.submit(_unboxed, function, item, *shared, key=key)
            index_of[future.key] = index
            running.add(future)
            submitted += 1

    try:
        submit_more()
        while finished < submitted:
            future = next(running)
            index = index_of.pop(future.key)
            result = future.result()  # re-raises the task's exception here
            future.release()
            finished += 1
            submit_more()
            if not ordered:
                yield index, result
                continue
            done[index] = result
            while next_to_yield in done:
                yield next_to_yield, done.pop(next_to_yield)
                next_to_yield += 1
    finally:
        for future in list(running.futures):
            future.cancel()


@contextlib.contextmanager
def engine(workers: int = 1, scheduler: str | None = None) -> Iterator[Engine]:
    """The engine for ``--workers`` / ``--scheduler``: here, a local Dask cluster, or an existing one.

    Args:
        workers: Worker processes of a local cluster; 1 runs the tasks in this process.
        scheduler: Address of a running Dask scheduler (``tcp://host:8786``); ``workers`` is then ignored.

    Raises:
        InputError: ``workers < 1``, or the scheduler cannot be reached.
    """
    from hepxai.errors import InputError

    if workers < 1:
        msg = f"--workers must be at least 1 (got {workers})"
        raise InputError(msg)
    if scheduler is None and workers == 1:
        yield Engine()
        return
    from dask.distributed import Client, LocalCluster

    if not log.isEnabledFor(logging.DEBUG):  # Dask's own lines only with -v: its INFO (scheduler,
        # connections) and the nanny's warning that it kills a worker still closing at the end of the run
        logging.getLogger("distributed").setLevel(logging.WARNING)
        logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(Client(scheduler, timeout="20s"))
            except OSError as err:
                msg = f"--scheduler {scheduler}: no Dask scheduler answered ({err})"
                raise InputError(msg) from err
            connected = len(client.scheduler_info(n_workers=-1)["workers"]) or 1
            log.info("running on the Dask cluster at %s (%d workers)", scheduler, connected)
        else:
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
            )
            client = stack.enter_context(Client(cluster))
            connected = workers
            log.info("running on a local Dask cluster of %d worker processes", workers)
        yield Engine(client, connected)
