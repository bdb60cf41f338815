"""LRP cost against the forward pass, batched against one jet at a time, and peak memory, in one run.

    python bench/bench_lrp.py [--device cpu] [--threads 1] [--repeats 5] [--zennit]

Prints medians over ``--repeats`` after one warm-up; every ratio compares numbers measured in this run.
The model is the HIN's shape (48 features, hidden 128) with seeded random weights and BatchNorm statistics,
or ``--model CKPT``; jets are fully connected with seeded N(0, 1) features.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn
from torch_geometric.data import Batch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.explain import LRP
from hepxai.models import InteractionNetwork, load_checkpoint


def make_model(checkpoint: str | None, device: str) -> InteractionNetwork:
    if checkpoint:
        return load_checkpoint(checkpoint).to(device)
    torch.manual_seed(0)
    model = InteractionNetwork(num_features=48, hidden=128)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.normal_(0.0, 0.5)
                module.running_var.uniform_(0.3, 3.0)
    return model.eval().to(device)


def make_batch(num_jets: int, num_tracks: int, device: str, seed: int = 1) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    counts = torch.full((num_jets,), num_tracks)
    ptr = torch.zeros(num_jets + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(counts, 0)
    return Batch(
        x=torch.randn(num_jets * num_tracks, 48, generator=generator),
        edge_index=fully_connected_edge_index(counts),
        batch=torch.repeat_interleave(torch.arange(num_jets), counts),
        ptr=ptr,
    ).to(device)


def median_seconds(function: Callable[[], object], repeats: int, device: str) -> float:
    function()  # warm-up
    times = []
    for _ in range(repeats):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        function()
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def zennit_explainer(model: InteractionNetwork) -> Callable[[Batch], torch.Tensor]:
    """The same LRP-ε built on zennit's module hooks (for the comparison only)."""
    import importlib
    import importlib.util
    import types

    from torch_geometric.utils import scatter

    spec = importlib.util.find_spec("zennit")
    if spec is None:
        msg = "zennit is not installed"
        raise ModuleNotFoundError(msg)
    if "zennit" not in sys.modules:  # zennit's __init__ imports torchvision, which the CPU torch lacks
        package = types.ModuleType("zennit")
        package.__path__ = list(spec.submodule_search_locations)
        sys.modules["zennit"] = package
    rules = importlib.import_module("zennit.rules")
    composites = importlib.import_module("zennit.composites")
    canonizers = importlib.import_module("zennit.canonizers")

    class Mean(nn.Module):
        def forward(self, values: torch.Tensor) -> torch.Tensor:
            return scatter(values, self.index, dim=0, dim_size=self.size, reduce="mean")

    class Wrapper(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.edge_mlp, self.node_mlp_1 = model.edge_mlp, model.node_mlp_1
            self.node_mlp_2, self.global_mlp = model.node_mlp_2, model.global_mlp
            self.aggregate, self.pool = Mean(), Mean()

        def forward(self, x: torch.Tensor, edge_index: torch.Tensor, jet: torch.Tensor, num_jets: int):
            source, target = edge_index
            edge = self.edge_mlp(torch.cat([x[source], x[target]], 1))
            message = self.node_mlp_1(torch.cat([x[source], edge], 1))
            self.aggregate.index, self.aggregate.size = target, x.shape[0]
            node = self.node_mlp_2(torch.cat([x, self.aggregate(message)], 1))
            self.pool.index, self.pool.size = jet, num_jets
            return self.global_mlp(self.pool(node))

    composite = composites.NameLayerMapComposite(
        name_map=[(["aggregate", "pool"], rules.Norm(stabilizer=1e-30))],
        layer_map=[(nn.Linear, rules.Epsilon(1e-6))],
        canonizers=[canonizers.SequentialMergeBatchNorm()],
    )
    wrapper = Wrapper().eval()

    def explain(batch: Batch) -> torch.Tensor:
        with torch.no_grad():
            x = model.bn(batch.x)
        x.requires_grad_(True)
        with composite.context(wrapper) as modified:
            logits = modified(x, batch.edge_index, batch.batch, batch.num_graphs)
            seed = torch.zeros_like(logits)
            seed[:, 1] = 1.0
            (relevance,) = torch.autograd.grad(logits, x, grad_outputs=logits * seed)
        return relevance

    return explain


def peak_memory(args: argparse.Namespace, what: str, num_jets: int, num_tracks: int) -> float:
    """Peak memory (MiB) of one forward or LRP call above the memory held before it, in a fresh process."""
    command = [
        sys.executable,
        __file__,
        "--probe",
        what,
        str(num_jets),
        str(num_tracks),
        "--device",
        args.device,
        "--threads",
        str(args.threads),
    ] + (["--model", args.model] if args.model else [])
    return float(
        json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)["mib"]
    )


def probe(args: argparse.Namespace) -> None:
    what, num_jets, num_tracks = args.probe[0], int(args.probe[1]), int(args.probe[2])
    model = make_model(args.model, args.device)
    batch = make_batch(num_jets, num_tracks, args.device)
    lrp = LRP(model)
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _resident_bytes()
    if what == "lrp":
        lrp.explain(batch)
    else:
        with torch.no_grad():
            model(batch)
    if args.device == "cuda":
        peak = torch.cuda.max_memory_allocated() - before
    else:
        peak = _status_kib("VmHWM") * 1024 - before
    print(json.dumps({"mib": peak / 2**20}))


def _resident_bytes() -> int:
    return _status_kib("VmRSS") * 1024


def _status_kib(field: str) -> int:
    """A memory field of /proc/self/status (VmHWM: this process's peak resident memory; unlike
    getrusage's ru_maxrss it is not inherited from the parent across exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    msg = f"/proc/self/status has no {field}"
    raise RuntimeError(msg)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="checkpoint to explain instead of a random HIN")
    parser.add_argument(
        "--loop-jets", type=int, default=128, help="jets in the batched-versus-loop comparison"
    )
    parser.add_argument(
        "--zennit",
        action="store_true",
        help="also time the same LRP built on zennit's hooks (up to 128 jets)",
    )
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.probe:
        probe(args)
        return

    model = make_model(args.model, args.device)
    lrp = LRP(model)
    zennit = zennit_explainer(model) if args.zennit else None
    print(
        f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"medians of {args.repeats}"
    )
    header = f"{'tracks':>6} {'jets':>5} {'forward ms':>11} {'lrp ms':>9} {'lrp/forward':>12}"
    print("\nLRP against the forward pass (torch.no_grad)")
    print(header + (f" {'zennit ms':>10} {'zennit/lrp':>11}" if zennit else ""))
    for num_tracks in (10, 30):
        for num_jets in (1, 128, 1024):
            batch = make_batch(num_jets, num_tracks, args.device)

            def forward(batch: Batch = batch) -> None:
                with torch.no_grad():
                    model(batch)

            repeats = args.repeats if num_jets * num_tracks < 10_000 else max(3, args.repeats // 2)
            forward_s = median_seconds(forward, repeats, args.device)
            lrp_s = median_seconds(lambda batch=batch: lrp.explain(batch), repeats, args.device)
            line = (
                f"{num_tracks:>6} {num_jets:>5} {forward_s * 1e3:>11.2f} {lrp_s * 1e3:>9.2f} "
                f"{lrp_s / forward_s:>11.2f}x"
            )
            if zennit and num_jets <= 128:
                zennit_s = median_seconds(lambda batch=batch: zennit(batch), repeats, args.device)
                line += f" {zennit_s * 1e3:>10.2f} {zennit_s / lrp_s:>10.2f}x"
            print(line)

    print(f"\nBatched LRP against one jet at a time (same code, {args.loop_jets} jets)")
    print(f"{'tracks':>6} {'batched jets/s':>15} {'loop jets/s':>12} {'speed-up':>9}")
    for num_tracks in (10, 30):
        batch = make_batch(args.loop_jets, num_tracks, args.device)
        singles = [make_batch(1, num_tracks, args.device, seed=2 + i) for i in range(args.loop_jets)]
        batched_s = median_seconds(lambda batch=batch: lrp.explain(batch), args.repeats, args.device)

        def loop(singles: list[Batch] = singles) -> None:
            for single in singles:
                lrp.explain(single)

        loop_s = median_seconds(loop, max(1, args.repeats // 2), args.device)
        print(
            f"{num_tracks:>6} {args.loop_jets / batched_s:>15.0f} {args.loop_jets / loop_s:>12.0f} "
            f"{loop_s / batched_s:>8.1f}x"
        )

    print("\nPeak memory above the resident model and batch, 1024 jets (fresh process each)")
    print(f"{'tracks':>6} {'forward MiB':>12} {'lrp MiB':>9} {'lrp/forward':>12}")
    for num_tracks in (10, 30):
        forward_mib = peak_memory(args, "forward", 1024, num_tracks)
        lrp_mib = peak_memory(args, "lrp", 1024, num_tracks)
        print(f"{num_tracks:>6} {forward_mib:>12.0f} {lrp_mib:>9.0f} {lrp_mib / forward_mib:>11.2f}x")


if __name__ == "__main__":
    main()
