"""glibc's allocation policy of a command's process: a module of its own, so that the processes a command
starts (``hepxai train --nproc``) set it too without importing the command package."""

from __future__ import annotations

import ctypes
import platform
import sys
from typing import Literal

MallocPolicy = Literal["return", "reuse"]


def set_malloc_policy(policy: MallocPolicy) -> None:
    """How glibc serves this process's tensor memory (glibc only; elsewhere nothing changes).

    - ``"return"`` (the default; streaming commands such as explain and evaluate): every block of 128 KiB
      or more gets its own ``mmap`` and goes back to the system when freed. glibc would otherwise raise its
      threshold each time a large block is freed, up to 32 MB, so tensors of later batches come from the
      heap, where batches of different sizes fragment it: explaining a file grew the resident memory by
      about 200 MB over its first 3,000 jets, and on. Memory stays flat (bench/bench_memory.py).
    - ``"reuse"`` (training commands, which allocate the same tensors step after step): no ``mmap`` and
      no trimming, so the next step reuses the freed blocks. With ``"return"``, every large tensor of every
      step is fresh pages: training a DGCNN on ActsTrack spent as much time in page faults (3 million per
      20 s) as in computing. Measured side by side: bench/bench_malloc.py.
    """
    if sys.platform != "linux" or platform.libc_ver()[0] != "glibc":
        return
    m_trim_threshold, m_mmap_threshold, m_mmap_max = -1, -3, -4  # from glibc's malloc.h
    settings = {
        "return": {m_mmap_max: 65536, m_mmap_threshold: 128 * 1024, m_trim_threshold: 128 * 1024},
        "reuse": {m_mmap_max: 0, m_trim_threshold: 2**31 - 1},
    }[policy]
    libc = ctypes.CDLL(None)
    for parameter, value in settings.items():
        libc.mallopt(parameter, value)
