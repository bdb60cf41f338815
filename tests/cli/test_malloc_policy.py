"""The CLI's glibc allocation policies: training commands reuse freed memory, the others return it."""

import platform
import subprocess
import sys

import pytest

from hepxai.cli import build_parser

PROBE = """
import resource, sys
import torch
from hepxai.cli import set_malloc_policy
set_malloc_policy(sys.argv[1])
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    torch.ones(8 * 2**20)  # 32 MiB, every page written
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(policy: str) -> int:
    command = [sys.executable, "-c", PROBE, policy]
    return int(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


@pytest.mark.skipif(
    sys.platform != "linux" or platform.libc_ver()[0] != "glibc", reason="the policies set glibc's malloc"
)
def test_reuse_serves_a_freed_tensor_again_without_new_pages():
    pages = 32 * 2**20 // 4096
    assert page_faults("return") > 9 * pages  # every tensor is fresh pages
    assert page_faults("reuse") < 3 * pages  # the first allocations only


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
