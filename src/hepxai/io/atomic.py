"""The one way outputs are written: a temporary name in the same folder, flushed, checked, then renamed.

A reader therefore sees either the complete earlier file or the complete new one, never a half-written one,
and a run stopped by a full disk leaves nothing that a rerun would mistake for a finished part. Every
``OSError`` met while writing (no space, a quota, no permission) becomes one :class:`OutputError` line naming
the file.

Example::

    with atomic_path("out/table.csv") as temporary:
        table.to_csv(temporary)
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import shutil
from collections.abc import Callable
from pathlib import Path

from hepxai.errors import OutputError


class AtomicPath:
    """A temporary path beside ``path``: :meth:`commit` fsyncs it, calls ``check(temporary)`` (which raises
    :class:`OutputError` where the file does not read back) and renames it to ``path``; :meth:`discard`
    removes it. As a context manager it commits when the block ends without error and discards otherwise.

    Raises:
        OutputError: writing, syncing or renaming failed (the message names ``path`` and the reason).
    """

    def __init__(self, path: str | Path, *, check: Callable[[Path], None] | None = None) -> None:
        self.path = Path(path)
        self.temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.partial")  # matches no glob
        self._check = check

    def __enter__(self) -> Path:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise write_error(err, self.path) from err
        self._remove_stale()
        return self.temporary

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self.commit()
            return
        self.discard()
        if isinstance(exc, OSError):
            raise write_error(exc, self.path) from exc

    def commit(self) -> Path:
        """Sync, check and rename the temporary file into place."""
        try:
            _fsync(self.temporary)
            if self._check is not None:
                self._check(self.temporary)
            os.replace(self.temporary, self.path)
            _fsync(self.path.parent)
        except OSError as err:
            self.discard()
            raise write_error(err, self.path) from err
        except BaseException:
            self.discard()
            raise
        return self.path

    def _remove_stale(self) -> None:
        """Remove temporary files of this output left by killed processes (``kill -9`` runs no cleanup)."""
        prefix = f".{self.path.name}."
        for stale in self.path.parent.glob(f"{glob.escape(prefix)}*.partial"):
            pid = stale.name[len(prefix) : -len(".partial")]
            if pid.isdigit() and not _running(int(pid)):
                with contextlib.suppress(OSError):
                    stale.unlink()

    def discard(self) -> None:
        """Remove the temporary file, if any."""
        with contextlib.suppress(OSError):
            self.temporary.unlink(missing_ok=True)


def atomic_path(path: str | Path, *, check: Callable[[Path], None] | None = None) -> AtomicPath:
    """``with atomic_path(path) as temporary:`` write ``temporary``; it becomes ``path`` when complete."""
    return AtomicPath(path, check=check)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_error(err: OSError, path: str | Path) -> OutputError:
    """``err`` as one line naming ``path``: ``no space left on the device writing out/r.h5``."""
    reason = (err.strerror or str(err)).lower()
    if err.errno == errno.ENOSPC:
        reason = "no space left on the device"
    return OutputError(f"{reason} writing {path}")


def unreadable_output(path: str | Path, what: str) -> OutputError:
    """The error for a file that was written without an OSError but does not read back complete, which is
    what HDF5 does on a full disk: the library swallows the failed write."""
    free = shutil.disk_usage(Path(path).parent).free
    if free < 1024**2:
        return OutputError(f"no space left on the device writing {path} ({what})")
    return OutputError(f"writing {path} failed: {what} ({free / 1024**2:.0f} MiB free on the device)")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def _fsync(path: Path) -> None:
    """Push ``path`` (a file or a folder) to the disk, so a crash after the rename cannot lose it."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
