"""A run owns its output: an exclusive ``flock`` on a lock file, so a second run into the same output stops
at once instead of both writing and one silently winning.

The kernel releases the lock when the process ends, however it ends (``kill -9`` included), so a crashed
run never blocks the next one. The lock file holds the owner's pid, which the refusal names; it is
removed when the run ends normally. Locks are re-entrant within one process (a job that holds its folder
may call a function that locks it again).

Example::

    with lock_folder(out):
        ...  # write the run folder

    @owns_folder("out_dir")  # a job that writes one folder holds it while it runs
    def evaluate(model, jets, out_dir): ...
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

from hepxai.errors import OutputError
from hepxai.io.atomic import write_error

R = TypeVar("R")
LOCK_FILE = ".hepxai.lock"
_HELD: dict[Path, int] = {}  # lock file -> how many times this process holds it


def lock_folder(folder: str | Path) -> contextlib.AbstractContextManager[None]:
    """Own the output folder ``folder`` (created) through ``FOLDER/.hepxai.lock``."""
    folder = Path(folder)
    return _locked(folder / LOCK_FILE, folder)


def lock_file(path: str | Path) -> contextlib.AbstractContextManager[None]:
    """Own the single output file ``path`` through ``.NAME.lock`` beside it."""
    path = Path(path)
    return _locked(path.with_name(f".{path.name}.lock"), path)


def owns_folder(parameter: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A job that holds :func:`lock_folder` of its argument ``parameter`` while it runs."""
    return _owns(parameter, lock_folder)


def owns_file(parameter: str) -> Callable[[Callable[..., R]], Callable[..., R]]:
    """A job that holds :func:`lock_file` of its argument ``parameter`` while it runs."""
    return _owns(parameter, lock_file)


def _owns(
    parameter: str, lock: Callable[[str | Path], contextlib.AbstractContextManager[None]]
) -> Callable[[Callable[..., R]], Callable[..., R]]:
    def decorate(job: Callable[..., R]) -> Callable[..., R]:
        signature = inspect.signature(job)

        @functools.wraps(job)
        def holding(*args: object, **kwargs: object) -> R:
            with lock(signature.bind(*args, **kwargs).arguments[parameter]):
                return job(*args, **kwargs)

        return holding

    return decorate


@contextlib.contextmanager
def _locked(lock_path: Path, output: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``lock_path`` for the duration of the block.

    Raises:
        OutputError: another process holds it (the message names its pid), or the lock cannot be written.
    """
    key = lock_path.absolute()
    if key in _HELD:
        _HELD[key] += 1
        try:
            yield
        finally:
            _HELD[key] -= 1
        return
    created = not lock_path.parent.exists()
    descriptor = _acquire(lock_path, output)
    _HELD[key] = 1
    try:
        yield
    finally:
        del _HELD[key]
        with contextlib.suppress(OSError):
            lock_path.unlink()  # while still locked: a run waiting on this file retries on a new one
        if created:  # a run that stopped before writing leaves no empty folder behind
            with contextlib.suppress(OSError):
                lock_path.parent.rmdir()
        os.close(descriptor)


def _acquire(lock_path: Path, output: Path) -> int:
    try:
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(descriptor, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(descriptor)
                msg = f"{output}: in use by another hepxai run (pid {owner}); "
                msg += "wait for it to end, or use another output"
                raise OutputError(msg) from None
            if _same_file(descriptor, lock_path):  # not unlinked by its previous owner meanwhile
                break
            os.close(descriptor)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
    except OSError as err:
        raise write_error(err, lock_path) from err
    return descriptor


def _same_file(descriptor: int, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(descriptor).st_ino
    except FileNotFoundError:
        return False
