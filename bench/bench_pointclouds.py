"""Explainers on a DGCNN trained on the synthetic point clouds: interpretation AUC against the planted track.

    python bench/bench_pointclouds.py [--seeds 6] [--aggregation mean] [--epochs 8] [--threads 1]

For each seed: trains a DGCNN (hidden 32, 3 layers, sum pooling, no dropout) with the project's training
loop (Adam lr 3e-3, batch 64, binary cross-entropy, the best of 8 epochs on 20% validation clouds) on 750
clouds (``synthetic_point_clouds(750, seed=1 + 10·seed)``), evaluates it on 300 others
(``seed=2 + 10·seed``) and prints the prediction AUC and, on the points of the signal clouds,
the interpretation AUC of each method's ``track_scores`` against ``node_truth``. Seed 0 is the model of
``tests/explain/test_lrp_any_model.py``. "energy" ranks points by their energy, without the model.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import torch
from sklearn.metrics import roc_auc_score
from torch_geometric.data import Batch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from hepxai.config import ModelConfig, RunConfig, TrainConfig
from hepxai.data.graph_list import GraphList
from hepxai.data.pointsets import FEATURE_NAMES, synthetic_point_clouds
from hepxai.explain import Gamma, get_explainer, track_scores
from hepxai.metrics.interpretation import interpretation_auc
from hepxai.models import DGCNN, load_checkpoint
from hepxai.training import train

METHODS = {
    "lrp": ("lrp", {}),
    "lrp_gamma_raw": ("lrp", {"rules": {"default": Gamma(0.25)}, "input": "raw"}),
    "grad_x_input": ("gradient_x_input", {}),
    "integ_grad": ("integrated_gradients", {}),
    "saliency": ("saliency", {}),
    "gradgam": ("gradgam", {}),
    "random": ("random", {}),
    "energy": ("track_pt", {"feature_names": FEATURE_NAMES, "feature": "energy"}),
}


def train_model(seed: int, aggregation: str, epochs: int, out_dir: Path) -> tuple[DGCNN, Batch]:
    """Train with ``hepxai.training.train``; returns the best model and the test clouds."""
    clouds = GraphList.of(synthetic_point_clouds(750, seed=1 + 10 * seed))  # 600 train, 150 validation
    test = Batch.from_data_list(synthetic_point_clouds(300, seed=2 + 10 * seed))
    config = RunConfig(
        model=ModelConfig(kind="dgcnn", hidden=32),
        train=TrainConfig(epochs=epochs, lr=3e-3, batch_size=64, patience=epochs, seed=seed),
    )
    torch.manual_seed(seed)
    model = DGCNN(
        num_features=len(FEATURE_NAMES), hidden=32, num_layers=3, dropout=0.0, aggregation=aggregation
    )
    result = train(clouds, config, out_dir, model=model, progress=False)
    return load_checkpoint(result.best_path), test


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=6)
    parser.add_argument("--aggregation", choices=["mean", "max"], default="mean")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"DGCNN, {args.aggregation} aggregation, {args.epochs} epochs; interpretation AUC on signal clouds")
    print(" ".join(f"{name:>13}" for name in ["seed", "prediction", *METHODS]))
    for seed in range(args.seeds):
        with tempfile.TemporaryDirectory() as out_dir:
            model, test = train_model(seed, args.aggregation, args.epochs, Path(out_dir))
        with torch.no_grad():
            prediction = roc_auc_score(test.y.numpy(), model(test)[:, 0].numpy())
        signal = test.y[test.batch] == 1
        row = [seed, prediction]
        for name, options in METHODS.values():
            score = track_scores(get_explainer(name, model, **options).explain(test))
            row.append(interpretation_auc(score[signal], test.node_truth[signal]))
        print(f"{seed:>13} " + " ".join(f"{value:>13.3f}" for value in row[1:]), flush=True)


if __name__ == "__main__":
    main()
