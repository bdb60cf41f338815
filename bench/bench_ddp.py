"""Data-parallel training on CPU: throughput of DDP, and the memory of streamed against in-memory training.

Throughput: training steps of the HIN as ``hepxai train`` takes them (batch built from the jets, the
objective through ``hepxai.distributed.data_parallel``, the loss over the whole minibatch, backward, Adam)
on sanity jets (10 tracks, 48 features), median jets/s over the steps after a warm-up, for

- one process, one thread (the baseline);
- one process, two threads;
- two processes, one thread each (DistributedDataParallel over gloo, synchronised BatchNorm), each with
  half of every minibatch; a step ends when both have finished it.

Memory (``--memory FILE``, or ``--memory-jets N`` for sanity files of N jets written here in baskets of
1,000 entries, as simulated files have 500): peak resident memory and wall time of ``hepxai train
--epochs 1 --hidden H`` with the jets read into memory and with ``--stream``, each in a fresh process
(one thread). A small ``--hidden`` keeps the model's activations below the data's share. Streaming
decompresses whole baskets, so a file of huge baskets (``hepxai data sanity`` writes 50,000 entries to
a basket) holds a basket per branch at a time whatever the buffer.

    python bench/bench_ddp.py [--steps 20] [--batch-size 128] [--hidden 128] [--no-throughput]
        [--memory FILE ...] [--memory-jets N ...] [--shuffle-buffer 10000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from hepxai import distributed
from hepxai.data.jets import Jets
from hepxai.data.root_io import TreeWriter
from hepxai.data.sanity import NUM_FEATURES, TRACKS_PER_JET, sanity_chunks
from hepxai.data.schema import load_schema
from hepxai.models.registry import build_model
from hepxai.training import Objective, _step_loss

WARM_UP = 3


def sanity_jets(num_jets: int, seed: int = 0) -> Jets:
    """``num_jets`` jets of the sanity set, in memory."""
    parts = []
    for branches in sanity_chunks(num_jets, seed=seed):
        features = np.stack([np.asarray(branches[f"f{i}"]).reshape(-1) for i in range(NUM_FEATURES)], axis=1)
        size = len(branches["label_H_bb"])
        parts.append(
            Jets(
                features.astype(np.float32),
                np.full(size, TRACKS_PER_JET),
                np.asarray(branches["label_H_bb"], dtype=np.int64),
                tuple(f"f{i}" for i in range(NUM_FEATURES)),
            )
        )
    return Jets.concatenate(parts)


def write_sanity_file(path: Path, num_jets: int, basket: int = 1000) -> Path:
    """``num_jets`` sanity jets in baskets of ``basket`` entries."""
    with TreeWriter(path, load_schema("sanity").tree) as writer:
        for branches in sanity_chunks(num_jets, seed=0):
            size = len(branches["label_H_bb"])
            for start in range(0, size, basket):
                writer.extend({name: values[start : start + basket] for name, values in branches.items()})
    return path


def time_steps(jets: Jets, batch_size: int, hidden: int, steps: int, threads: int, out: Path) -> None:
    """Seconds of each training step of this process's group; the main process writes them to ``out``."""
    world = distributed.world()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build_model("interaction_network", num_features=NUM_FEATURES, hidden=hidden)
    objective = Objective()
    step = distributed.data_parallel(model, objective)
    optimizer = torch.optim.Adam(objective.parameter_groups(model), lr=1e-4)
    seconds = []
    for number in range(WARM_UP + steps):
        index = world.shard(np.arange(number * batch_size, (number + 1) * batch_size))
        world.barrier()
        start = time.perf_counter()
        batch = jets.select(index).to_batch()
        loss, _ = _step_loss(step(batch, 1), None, world)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        world.barrier()
        seconds.append(time.perf_counter() - start)
    if world.is_main:
        out.write_text(json.dumps(seconds[WARM_UP:]))


def throughput(args: argparse.Namespace) -> None:
    jets = sanity_jets((WARM_UP + args.steps) * args.batch_size)
    runs = {
        "1 process, 1 thread": (1, 1),
        "1 process, 2 threads": (1, 2),
        "2 processes (DDP), 1 thread each": (2, 1),
    }
    print(
        f"HIN hidden {args.hidden}, batches of {args.batch_size} sanity jets ({TRACKS_PER_JET} tracks), "
        f"median of {args.steps} steps; load average {os.getloadavg()[0]:.1f} at the start"
    )
    print(f"{'run':36s} {'jets/s':>8s} {'vs 1 thread':>12s} {'s/step':>8s}")
    baseline = None
    with tempfile.TemporaryDirectory() as folder:
        for name, (processes, threads) in runs.items():
            out = Path(folder) / "seconds.json"
            arguments = (jets, args.batch_size, args.hidden, args.steps, threads, out)
            distributed.launch(time_steps, *arguments, nproc=processes)
            median = statistics.median(json.loads(out.read_text()))
            rate = args.batch_size / median
            baseline = baseline or rate
            print(f"{name:36s} {rate:8.0f} {rate / baseline:11.2f}x {median:8.3f}")
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


def peak_memory(args: argparse.Namespace) -> None:
    print(f"{'file':32s} {'mode':10s} {'peak MiB':>9s} {'wall s':>7s}")
    for path in args.memory:
        for mode, extra in (
            ("in memory", []),
            ("stream", ["--stream", "--shuffle-buffer", str(args.shuffle_buffer)]),
        ):
            with tempfile.TemporaryDirectory() as folder:
                command = [
                    sys.executable,
                    "-m",
                    "hepxai",
                    "-q",
                    "train",
                    "--data",
                    str(path),
                    "--out",
                    folder + "/run",
                    "--epochs",
                    "1",
                    "--selection",
                    "none",
                    "--hidden",
                    str(args.hidden),
                    *extra,
                ]
                start = time.perf_counter()
                process = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": "1"})
                _, status, usage = os.wait4(process.pid, 0)
                if status:
                    msg = f"{' '.join(command)} failed ({status})"
                    raise SystemExit(msg)
                wall = time.perf_counter() - start
            name = "/".join(Path(path).parts[-2:])
            print(f"{name:32s} {mode:10s} {usage.ru_maxrss / 1024:9.0f} {wall:7.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per run (after 3 warm-up steps)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--memory", nargs="*", default=[], metavar="FILE", help="ROOT files to train on once")
    parser.add_argument(
        "--memory-jets",
        type=int,
        nargs="*",
        default=[],
        metavar="N",
        help="sanity files of N jets",
    )
    parser.add_argument("--shuffle-buffer", type=int, default=10_000)
    parser.add_argument("--no-throughput", action="store_true", help="only the memory runs")
    args = parser.parse_args()
    if not args.no_throughput:
        throughput(args)
    with tempfile.TemporaryDirectory() as folder:
        for num_jets in args.memory_jets:
            args.memory.append(write_sanity_file(Path(folder) / f"sanity_{num_jets}.root", num_jets))
        if args.memory:
            peak_memory(args)


if __name__ == "__main__":
    main()
