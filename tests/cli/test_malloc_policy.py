"""The CLI's glibc allocation policies: training commands reuse freed memory, the others return it.

The probe reads glibc's own accounting (``mallinfo2``) rather than the kernel's page faults, whose count
depends on the kernel and the container the tests run in.
"""

import ctypes
import platform
import subprocess
import sys

import pytest

from hepxai.cli import build_parser

PROBE = """
import ctypes, sys
import torch
from hepxai.cli import set_malloc_policy

class MallInfo2(ctypes.Structure):
    names = "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost"
    _fields_ = [(name, ctypes.c_size_t) for name in names.split()]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
set_malloc_policy(sys.argv[1])
heap_before = libc.mallinfo2().arena
for _ in range(40):
    torch.ones(8 * 2**20)  # 32 MiB, freed at once
after = libc.mallinfo2()
print(after.arena - heap_before, after.fordblks)
"""
MIB = 2**20


def heap_growth_and_free_bytes(policy: str) -> tuple[int, int]:
    """How much glibc's heap grew over forty 32 MiB tensors, and how much of it is free for reuse."""
    command = [sys.executable, "-c", PROBE, policy]
    growth, free = subprocess.run(command, capture_output=True, text=True, check=True).stdout.split()
    return int(growth), int(free)


GLIBC = sys.platform == "linux" and platform.libc_ver()[0] == "glibc"


@pytest.mark.skipif(
    not GLIBC or not hasattr(ctypes.CDLL(None), "mallinfo2"),
    reason="the policies set glibc's malloc; mallinfo2 needs glibc 2.33",
)
def test_reuse_keeps_freed_tensors_in_the_heap_and_serves_them_again():
    growth, _ = heap_growth_and_free_bytes("return")
    assert growth < 1 * MIB  # every tensor had its own mapping, given back when freed
    growth, free = heap_growth_and_free_bytes("reuse")
    assert free >= 32 * MIB  # the freed tensor stays in the heap
    # Without reuse forty tensors would take 40 fresh blocks. With it the heap grows by a few blocks, however
    # many tensors follow (2-5 measured, by how torch's small allocations fall between them), not by one each.
    assert growth < 10 * 32 * MIB


@pytest.mark.parametrize(
    ("argv", "policy"),
    [
        (["train", "--data", "x.root", "--out", "run"], "reuse"),
        (["lri", "benchmark", "--data", "d", "--out", "o"], "reuse"),
        (["explain", "--model", "m.pt", "--data", "x.root", "--out", "o"], None),
    ],
)
def test_training_commands_choose_reuse(argv, policy):
    assert getattr(build_parser().parse_args(argv), "malloc_policy", None) == policy
