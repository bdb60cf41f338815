"""LRP cost against the forward passes, batched against one jet at a time, and peak memory, in one run.

    python bench/bench_lrp.py [--device cpu] [--threads 1] [--repeats 5] [--quick] [--zennit] [--csv PATH]
    python bench/bench_lrp.py --exactness [--threads 1] [--repeats 9]

Prints medians over ``--repeats`` after one warm-up; every ratio compares numbers measured in this run, the
functions of one row timed in turn (one call of each per round), so that load on a shared machine hits them
alike. The model is the HIN's shape (48 features, hidden 128) with seeded random weights and BatchNorm
statistics, or ``--model CKPT``; jets are fully connected with seeded N(0, 1) features.

Columns: ``forward`` is the plain ``model(batch)`` (no gradients), ``fast fwd`` the fastest forward
(``model.fast_forward``: dense blocks in eval mode), ``lrp`` LRP-ε with edge relevance (the dense path),
``lrp -e`` without edge relevance (``-e/fast``: its ratio to the fast forward), ``layers`` the layer-by-layer
generic path (``fast=False``, the cost of the previous implementation; skipped where it would take minutes),
``g×i`` gradient × input.

``--exactness`` only times the price of exact LRP-ε: the dense path at ε = 1e-6, where every Linear of the
model runs per edge, against ε = 0, where the merged form (one product per edge each way, as every ε
had before LRP-ε was made exact) computes the same LRP-0; with and without edge relevance.

``--csv PATH`` also writes every measurement as one row per batch (tracks × jets; the mixed-size batch has
``tracks`` = ``mixed``), with the loop and peak-memory columns where they were measured
(``make results-lrp`` writes ``results/lrp_speed.csv``), and beside it a sidecar ``PATH.json`` with the
command, the commit, the date and the machine (:func:`hepxai.provenance.write_provenance`).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch_geometric.data import Batch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.data.graphs import fully_connected_edge_index
from hepxai.explain import LRP, GradientTimesInput
from hepxai.models import InteractionNetwork, load_checkpoint
from hepxai.provenance import sidecar_path, write_provenance


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


def median_seconds(functions: dict[str, Callable[[], object]], repeats: int, device: str) -> dict[str, float]:
    """Median seconds of each function after one warm-up; the repeats run in rounds, one call of each
    function per round, so that a change of load on the machine hits every column alike."""
    for function in functions.values():
        function()
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            function()
            if device == "cuda":
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


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
    run = {
        "forward": lambda: model(batch),
        "lrp": lambda: LRP(model, edges=False).explain(batch),
        "lrp_edges": lambda: LRP(model).explain(batch),
        "layers": lambda: LRP(model, fast=False, edges=False).explain(batch),
    }[what]
    if args.device == "cuda":
        torch.cuda.reset_peak_memory_stats()
        before = torch.cuda.memory_allocated()
    else:
        before = _resident_bytes()
    with torch.no_grad():
        run()
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


def mixed_batch(num_jets: int, device: str, seed: int = 3) -> Batch:
    """Jets of a real-like mix of sizes: 2 to 100 tracks, gamma-distributed with a median near 30."""
    generator = torch.Generator().manual_seed(seed)
    sizes = torch.distributions.Gamma(torch.tensor(4.0), torch.tensor(4.0 / 32)).sample((num_jets,))
    counts = sizes.round().long().clamp(2, 100)
    ptr = torch.zeros(num_jets + 1, dtype=torch.long)
    ptr[1:] = torch.cumsum(counts, 0)
    return Batch(
        x=torch.randn(int(counts.sum()), 48, generator=generator),
        edge_index=fully_connected_edge_index(counts),
        batch=torch.repeat_interleave(torch.arange(num_jets), counts),
        ptr=ptr,
    ).to(device)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--model", default=None, help="checkpoint to explain instead of a random HIN")
    parser.add_argument("--quick", action="store_true", help="only 128 jets of 10 and 30 tracks, no memory")
    parser.add_argument(
        "--zennit",
        action="store_true",
        help="also time the same LRP built on zennit's hooks (up to 128 jets)",
    )
    parser.add_argument("--csv", default=None, help="also write every measurement to this CSV file")
    parser.add_argument(
        "--exactness", action="store_true", help="only LRP-ε (every layer per edge) against LRP-0 (merged)"
    )
    parser.add_argument("--probe", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.probe:
        probe(args)
        return

    torch.manual_seed(0)
    model = make_model(args.model, args.device)
    if args.exactness:
        exactness(args, model)
        return
    lrp, lrp_no_edges = LRP(model), LRP(model, edges=False)
    layers = LRP(model, fast=False)
    gradient_x_input = GradientTimesInput(model)
    zennit = zennit_explainer(model) if args.zennit else None
    print(
        f"device {args.device}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
        f"medians of {args.repeats}"
    )

    def timed(functions: dict[str, Callable[[], object]], size: int) -> dict[str, float]:
        repeats = args.repeats if size < 10_000 else max(3, args.repeats // 2)
        return median_seconds(functions, repeats, args.device)

    def no_grad(function: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return function()

        return run

    print("\nLRP against the forward passes: ms per batch, jets/s of LRP, ratios")
    print(
        f"{'tracks':>6} {'jets':>5} {'forward':>9} {'fast fwd':>9} {'lrp':>9} {'lrp -e':>9} {'layers':>9} "
        f"{'g×i':>8} {'lrp jets/s':>11} {'lrp/fwd':>8} {'lrp/fast':>9} {'-e/fast':>8} {'layers/lrp':>11}"
        + (f" {'zennit':>9}" if zennit else "")
    )
    sizes = [(10, 128), (30, 128)] if args.quick else [(n, j) for n in (10, 30, 60) for j in (1, 128, 1024)]
    rows: dict[tuple[object, int], dict[str, object]] = {}
    for num_tracks, num_jets in sizes:
        batch = make_batch(num_jets, num_tracks, args.device)
        functions = {
            "forward": no_grad(lambda batch=batch: model(batch)),
            "fast": no_grad(lambda batch=batch: model.fast_forward(batch)),
            "lrp": lambda batch=batch: lrp.explain(batch),
            "lrp_no_edges": lambda batch=batch: lrp_no_edges.explain(batch),
            "gxi": lambda batch=batch: gradient_x_input.explain(batch),
        }
        if num_jets * num_tracks**2 <= 128 * 30**2:  # the layer-by-layer path takes minutes beyond
            functions["layers"] = lambda batch=batch: layers.explain(batch)
        if zennit and num_jets <= 128:
            functions["zennit"] = lambda batch=batch: zennit(batch)
        seconds = timed(functions, num_jets * num_tracks)
        forward_s, fast_s, lrp_s = seconds["forward"], seconds["fast"], seconds["lrp"]
        lrp_no_edges_s, gxi_s, layers_s = (
            seconds["lrp_no_edges"],
            seconds["gxi"],
            seconds.get("layers", float("nan")),
        )
        line = (
            f"{num_tracks:>6} {num_jets:>5} {forward_s * 1e3:>9.2f} {fast_s * 1e3:>9.2f} {lrp_s * 1e3:>9.2f} "
            f"{lrp_no_edges_s * 1e3:>9.2f} {layers_s * 1e3:>9.2f} {gxi_s * 1e3:>8.2f} "
            f"{num_jets / lrp_s:>11.0f} {lrp_s / forward_s:>7.2f}x {lrp_s / fast_s:>8.2f}x "
            f"{lrp_no_edges_s / fast_s:>7.2f}x "
            f"{layers_s / lrp_s:>10.2f}x"
        )
        if "zennit" in seconds:
            line += f" {seconds['zennit'] * 1e3:>9.2f}"
        print(line)
        rows[num_tracks, num_jets] = {
            **{f"{name}_ms": value * 1e3 for name, value in seconds.items()},
            "lrp_jets_per_s": num_jets / lrp_s,
            "lrp_over_forward": lrp_s / forward_s,
            "lrp_over_fast": lrp_s / fast_s,
            "lrp_no_edges_over_fast": lrp_no_edges_s / fast_s,
        }

    print("\nVariable jet sizes (2-100 tracks, median ~30) against fixed 30-track jets, LRP with edges")
    mixed = mixed_batch(128, args.device)
    fixed = make_batch(128, 30, args.device)
    seconds = timed({"mixed": lambda: lrp.explain(mixed), "fixed": lambda: lrp.explain(fixed)}, 1)
    mixed_s, fixed_s = seconds["mixed"], seconds["fixed"]
    median_size = int(torch.bincount(mixed.batch).median())
    print(
        f"mixed (median {median_size} tracks): {128 / mixed_s:.0f} jets/s; "
        f"fixed 30: {128 / fixed_s:.0f} jets/s; ratio {fixed_s / mixed_s:.2f}"
    )
    rows["mixed", 128] = {
        "lrp_ms": mixed_s * 1e3,
        "lrp_jets_per_s": 128 / mixed_s,
        "mixed_over_fixed_30": fixed_s / mixed_s,
    }

    print("\nBatched LRP against one jet at a time (same code)")
    print(f"{'tracks':>6} {'jets':>5} {'batched jets/s':>15} {'loop jets/s':>12} {'speed-up':>9}")
    for num_tracks in (10, 30):
        for num_jets in (128,) if args.quick else (128, 1024):
            batch = make_batch(num_jets, num_tracks, args.device)
            singles = [make_batch(1, num_tracks, args.device, seed=2 + i) for i in range(num_jets)]

            def loop(singles: list[Batch] = singles) -> None:
                for single in singles:
                    lrp.explain(single)

            functions = {"batched": lambda batch=batch: lrp.explain(batch), "loop": loop}
            seconds = median_seconds(functions, max(1, args.repeats // 2), args.device)
            batched_s, loop_s = seconds["batched"], seconds["loop"]
            print(
                f"{num_tracks:>6} {num_jets:>5} {num_jets / batched_s:>15.0f} {num_jets / loop_s:>12.0f} "
                f"{loop_s / batched_s:>8.1f}x"
            )
            row = rows.setdefault((num_tracks, num_jets), {})
            row.update(loop_jets_per_s=num_jets / loop_s, batched_over_loop=loop_s / batched_s)
    if not args.quick:
        memory(args, rows)
    if args.csv:
        write_csv(args, rows)


def exactness(args: argparse.Namespace, model: InteractionNetwork) -> None:
    """The dense LRP at ε = 1e-6 (the model's layers, per edge) against ε = 0 (the merged form)."""
    print(f"device {args.device}, {torch.get_num_threads()} threads, medians of {args.repeats}, ms per batch")
    header = ("ε edges", "0 edges", "ratio", "ε -e", "0 -e", "ratio")
    print(f"{'tracks':>6} {'jets':>5} " + " ".join(f"{name:>9}" for name in header))
    explainers = [
        LRP(model, epsilon=epsilon, edges=edges) for edges in (True, False) for epsilon in (1e-6, 0.0)
    ]
    for num_tracks, num_jets in ((10, 128), (30, 128), (60, 16)):
        batch = make_batch(num_jets, num_tracks, args.device)
        functions = {str(i): partial(explainer.explain, batch) for i, explainer in enumerate(explainers)}
        ms = [seconds * 1e3 for seconds in median_seconds(functions, args.repeats, args.device).values()]
        print(
            f"{num_tracks:>6} {num_jets:>5} {ms[0]:>9.2f} {ms[1]:>9.2f} {ms[0] / ms[1]:>8.2f}x "
            f"{ms[2]:>9.2f} {ms[3]:>9.2f} {ms[2] / ms[3]:>8.2f}x"
        )


def memory(args: argparse.Namespace, rows: dict[tuple[object, int], dict[str, object]]) -> None:
    """Peak memory of 1024 jets, each call in a fresh process."""
    print("\nPeak memory above the resident model and batch, 1024 jets (fresh process each), MiB")
    print(f"{'tracks':>6} {'forward':>9} {'lrp':>9} {'lrp edges':>10} {'layers':>9}")
    for num_tracks in (10, 30):
        mib = {what: peak_memory(args, what, 1024, num_tracks) for what in ("forward", "lrp", "lrp_edges")}
        mib["layers"] = peak_memory(args, "layers", 1024, num_tracks) if num_tracks <= 10 else float("nan")
        print(
            f"{num_tracks:>6} {mib['forward']:>9.0f} {mib['lrp']:>9.0f} {mib['lrp_edges']:>10.0f} "
            f"{mib['layers']:>9.0f}"
        )
        rows.setdefault((num_tracks, 1024), {}).update({f"{name}_mib": value for name, value in mib.items()})


COLUMNS = (
    "tracks", "jets", "forward_ms", "fast_ms", "lrp_ms", "lrp_no_edges_ms", "layers_ms", "gxi_ms",
    "lrp_jets_per_s", "lrp_over_forward", "lrp_over_fast", "lrp_no_edges_over_fast", "loop_jets_per_s",
    "batched_over_loop", "mixed_over_fixed_30", "forward_mib", "lrp_mib", "lrp_edges_mib", "layers_mib",
    "threads", "repeats", "load_average", "torch",
)  # fmt: skip


def write_csv(args: argparse.Namespace, rows: dict[tuple[object, int], dict[str, object]]) -> None:
    """One row per batch: the timings (ms), rates and ratios of this run; empty where not measured."""
    run = {"threads": args.threads, "repeats": args.repeats, "torch": torch.__version__}
    run["load_average"] = round(os.getloadavg()[0], 2)
    path = Path(args.csv)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for (tracks, jets), row in rows.items():
            values = {name: _rounded(value) for name, value in row.items() if name in COLUMNS}
            writer.writerow({"tracks": tracks, "jets": jets, **values, **run})
    write_provenance(path, command=["python", *sys.argv])
    print(f"\nwrote {path} and {sidecar_path(path)}")


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return "" if value != value else float(f"{value:.4g}")  # NaN: not measured
    return value


if __name__ == "__main__":
    main()
