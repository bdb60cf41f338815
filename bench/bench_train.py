"""Training throughput of the HIN: hepxai against a plain PyG ``MetaLayer`` version of the same network.

Three implementations train on the same batches in the same run, steps interleaved so that load on the
machine hits all alike: the original HIN layout built on ``torch_geometric.nn.MetaLayer`` (the baseline),
``InteractionNetwork.forward``, and the fused forward pass that ``hepxai train`` uses. Each step is a full
training step (forward, backward, Adam). Jets have a fixed number of tracks (10 and 30 by default) and the
48 features of the sanity set.

With ``--auc-jets N`` each implementation also trains one epoch from the same initial weights on N sanity
jets and reports its validation AUC, to show that the speed is not bought with a different result.

    python bench/bench_train.py [--tracks 10 30] [--batches 20] [--device cpu] [--auc-jets 5000]
        [--malloc reuse|return|glibc]
"""

from __future__ import annotations

import argparse
import time

import awkward as ak
import numpy as np
import torch
from torch import nn
from torch_geometric.nn import MetaLayer
from torch_geometric.utils import scatter

from hepxai.cli import set_malloc_policy
from hepxai.data.jets import Jets
from hepxai.data.sanity import sanity_chunks
from hepxai.metrics.classification import roc_auc
from hepxai.models import InteractionNetwork
from hepxai.models.fused import fused_forward
from hepxai.models.interaction_network import MLP


class EdgeBlock(nn.Module):
    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.edge_mlp = MLP(2 * features, hidden, hidden)

    def forward(self, src, dest, edge_attr, u, batch):
        return self.edge_mlp(torch.cat([src, dest], 1))


class NodeBlock(nn.Module):
    def __init__(self, features: int, hidden: int) -> None:
        super().__init__()
        self.node_mlp_1 = MLP(features + hidden, hidden, hidden)
        self.node_mlp_2 = MLP(features + hidden, hidden, hidden)

    def forward(self, x, edge_index, edge_attr, u, batch):
        row, col = edge_index
        out = self.node_mlp_1(torch.cat([x[row], edge_attr], dim=1))
        out = scatter(out, col, dim=0, dim_size=x.size(0), reduce="mean")
        return self.node_mlp_2(torch.cat([x, out], dim=1))


class GlobalBlock(nn.Module):
    def __init__(self, hidden: int, classes: int) -> None:
        super().__init__()
        self.global_mlp = MLP(hidden, hidden, classes)

    def forward(self, x, edge_index, edge_attr, u, batch):
        return self.global_mlp(scatter(x, batch, dim=0, reduce="mean"))


class MetaLayerNetwork(nn.Module):
    """The original HIN code's layout: input BatchNorm, then one ``MetaLayer``."""

    def __init__(self, features: int = 48, hidden: int = 128, classes: int = 2) -> None:
        super().__init__()
        self.interactionnetwork = MetaLayer(
            EdgeBlock(features, hidden), NodeBlock(features, hidden), GlobalBlock(hidden, classes)
        )
        self.bn = nn.BatchNorm1d(features)

    def forward(self, batch):
        x = self.bn(batch.x)
        _, _, u = self.interactionnetwork(x, batch.edge_index, None, None, batch.batch)
        return u


def metalayer_from(model: InteractionNetwork) -> MetaLayerNetwork:
    """A MetaLayer network with the same weights (the original checkpoint's key layout)."""
    prefixes = {
        "edge_mlp.": "interactionnetwork.edge_model.edge_mlp.",
        "node_mlp_1.": "interactionnetwork.node_model.node_mlp_1.",
        "node_mlp_2.": "interactionnetwork.node_model.node_mlp_2.",
        "global_mlp.": "interactionnetwork.global_model.global_mlp.",
    }
    state = {}
    for key, value in model.state_dict().items():
        prefix = next((p for p in prefixes if key.startswith(p)), None)
        state[prefixes[prefix] + key[len(prefix) :] if prefix else key] = value.clone()
    other = MetaLayerNetwork(model.num_features, model.hidden, model.num_classes)
    other.load_state_dict(state)
    return other.to(next(model.parameters()).device)


def implementations(seed: int, device: str) -> dict[str, tuple[nn.Module, object]]:
    """``{name: (module, forward)}`` with identical initial weights."""
    torch.manual_seed(seed)
    model = InteractionNetwork().to(device)
    plain = InteractionNetwork().to(device)
    plain.load_state_dict(model.state_dict())
    baseline = metalayer_from(model)
    return {
        "metalayer": (baseline, baseline),
        "hepxai_plain": (plain, plain),
        "hepxai_fused": (model, lambda batch: fused_forward(model, batch)),
    }


def random_jets(num_jets: int, tracks: int, seed: int) -> Jets:
    rng = np.random.default_rng(seed)
    features = rng.standard_normal((num_jets * tracks, 48)).astype(np.float32)
    return Jets(features, np.full(num_jets, tracks), rng.integers(0, 2, num_jets), tuple(map(str, range(48))))


def sanity_jets(num_jets: int, seed: int) -> Jets:
    branches = next(sanity_chunks(num_jets, seed=seed))
    features = np.stack([ak.to_numpy(branches[f"f{i}"]) for i in range(48)], axis=2).reshape(-1, 48)
    return Jets(
        features,
        np.full(num_jets, 10),
        np.asarray(branches["label_H_bb"], dtype=np.int64),
        tuple(map(str, range(48))),
    )


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def throughput(tracks: int, batches: int, batch_size: int, device: str) -> dict[str, float]:
    """Median jets/s of a training step for each implementation."""
    jets = random_jets(batch_size * batches, tracks, seed=tracks)
    data = [
        jets.select(np.arange(i * batch_size, (i + 1) * batch_size)).to_batch().to(device)
        for i in range(batches)
    ]
    runs = implementations(0, device)
    optimizers = {name: torch.optim.Adam(module.parameters(), lr=1e-4) for name, (module, _) in runs.items()}
    seconds: dict[str, list[float]] = {name: [] for name in runs}
    for step, batch in enumerate([data[0], data[1 % batches], *data]):  # two warm-up steps
        for name, (module, forward) in runs.items():
            module.train()
            synchronize(device)
            start = time.perf_counter()
            loss = nn.functional.cross_entropy(forward(batch), batch.y)
            optimizers[name].zero_grad()
            loss.backward()
            optimizers[name].step()
            synchronize(device)
            if step >= 2:
                seconds[name].append(time.perf_counter() - start)
    return {name: batch_size / float(np.median(values)) for name, values in seconds.items()}


def auc_after_one_epoch(num_jets: int, batch_size: int, device: str) -> dict[str, float]:
    """Validation AUC of each implementation after one epoch on the same jets, from the same weights."""
    jets = sanity_jets(num_jets, seed=0)
    validation = sanity_jets(max(num_jets // 4, 200), seed=1)
    runs = implementations(0, device)
    order = np.random.default_rng(0).permutation(num_jets)
    result = {}
    for name, (module, forward) in runs.items():
        optimizer = torch.optim.Adam(module.parameters(), lr=1e-3)
        module.train()
        for start in range(0, num_jets - 1, batch_size):
            batch = jets.select(order[start : start + batch_size]).to_batch().to(device)
            loss = nn.functional.cross_entropy(forward(batch), batch.y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        module.eval()
        with torch.no_grad():
            logits = forward(validation.to_batch().to(device)).cpu().numpy()
        result[name] = roc_auc(logits[:, 1] - logits[:, 0], validation.label)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--tracks", type=int, nargs="+", default=[10, 30], help="tracks per jet")
    parser.add_argument("--batches", type=int, default=20, help="timed training steps per implementation")
    parser.add_argument("--batch-size", type=int, default=128, help="jets per step")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--auc-jets", type=int, default=0, help="also train one epoch on this many sanity jets"
    )
    parser.add_argument(
        "--malloc",
        choices=("reuse", "return", "glibc"),
        default="reuse",
        help="glibc allocation policy (hepxai.cli.set_malloc_policy; reuse: what hepxai train uses; "
        "glibc: its defaults)",
    )
    args = parser.parse_args()
    if args.malloc != "glibc":
        set_malloc_policy(args.malloc)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {args.device}, "
        f"batch {args.batch_size} jets, median of {args.batches} training steps, malloc {args.malloc}"
    )
    print(f"{'tracks':>6} {'implementation':<14} {'jets/s':>9} {'vs_metalayer':>12}")
    for tracks in args.tracks:
        rates = throughput(tracks, args.batches, args.batch_size, args.device)
        for name, rate in rates.items():
            print(f"{tracks:>6} {name:<14} {rate:>9.0f} {rate / rates['metalayer']:>11.2f}x")
    if args.auc_jets:
        print(f"\nvalidation AUC after one epoch on {args.auc_jets} sanity jets, same initial weights:")
        for name, auc in auc_after_one_epoch(args.auc_jets, args.batch_size, args.device).items():
            print(f"  {name:<14} {auc:.4f}")


if __name__ == "__main__":
    main()
