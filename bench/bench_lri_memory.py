"""Peak memory of the LRI methods: one training step and one prediction pass, each method in a fresh process.

    python bench/bench_lri_memory.py --data runs/lri-data/actstrack [--methods erm lri_bernoulli lri_gaussian]
        [--batch-size 128] [--predict-batch 1024] [--threads 1] [--malloc return]

For each method a child process loads the dataset, builds the DGCNN and the method's objective as
``hepxai lri train`` does (past its warm-up), then measures the growth of its peak resident memory
(``ru_maxrss``) over what it held before: ``step``, one ``objective(model, batch)`` forward and backward on
the first ``--batch-size`` training clouds; ``predict``, ``objective.logits`` over the first
``--predict-batch`` validation clouds without gradients (what validation does, training.PREDICTION_BATCH
clouds at a time); ``score``, the method's per-point scores of up to 128 test clouds (lri.protocol's
SCORE_BATCH). Also prints the loss, so that two versions of the code can be checked to give the same numbers.
``--malloc`` is glibc's policy (:func:`hepxai.cli.set_malloc_policy`): ``return`` (default) gives every
block of 128 KiB or more back when freed, so the peak is that of the live tensors; ``reuse``, what
``hepxai lri train`` sets, keeps freed blocks for the next step, so the peak adds the heap's fragmentation.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def measure(data: Path, method: str, phase: str, batch_size: int, predict_batch: int) -> dict:
    import numpy as np
    import torch

    from hepxai.explain.forward import eval_mode
    from hepxai.lri.protocol import RunSpec, _method_options, _objective, _objective_options, load_dataset
    from hepxai.models.registry import build_model

    dataset = load_dataset(data)
    spec = RunSpec(data, "dgcnn", method, seed=0, epochs=3, batch_size=batch_size)
    options, warmup = _method_options(spec, dataset)
    train = dataset.splits["train"]
    torch.manual_seed(0)
    model = build_model(
        "dgcnn",
        num_features=train.num_features,
        **({"unit_directions": True} if dataset.settings.unit_directions else {}),
    )
    objective = _objective(method, model, _objective_options({**options, "warmup": 0}), 0)
    split = {"step": "train", "predict": "valid", "score": "test"}[phase]
    graphs = dataset.splits[split]
    size = {"step": batch_size, "predict": predict_batch, "score": 128}[phase]
    batch = graphs.select(np.arange(min(size, len(graphs)))).to_batch()
    before = _peak_kb()
    value = None
    if phase == "step":
        model.train(), objective.train()
        loss = objective(model, batch, warmup + 1).mean()
        loss.backward()
        value = float(loss)
    elif phase == "predict":
        with torch.no_grad(), eval_mode(model), eval_mode(objective):
            value = float(objective.logits(model, batch).sum())
    elif hasattr(objective, "scores"):
        with torch.no_grad(), eval_mode(model), eval_mode(objective):
            value = float(objective.scores(model, batch).sum())
    return {
        "method": method,
        "phase": phase,
        "clouds": int(batch.num_graphs),
        "points": int(batch.num_nodes),
        "before_mb": before / 1024,
        "growth_mb": (_peak_kb() - before) / 1024,
        "value": value,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--methods", nargs="+", default=["erm", "lri_bernoulli", "lri_gaussian"])
    parser.add_argument("--phases", nargs="+", default=["step", "predict", "score"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--predict-batch", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--malloc", choices=("return", "reuse"), default="return")
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "PHASE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        import torch

        from hepxai.cli import set_malloc_policy

        set_malloc_policy(args.malloc)
        torch.set_num_threads(args.threads)
        result = measure(args.data, *args.child, args.batch_size, args.predict_batch)
        print(json.dumps(result))
        return
    print(f"{'method':<16}{'phase':<9}{'clouds':>7}{'points':>8}{'held MB':>9}{'peak growth MB':>16}  value")
    for method in args.methods:
        for phase in args.phases:
            command = [sys.executable, __file__, "--data", str(args.data), "--child", method, phase]
            command += ["--batch-size", str(args.batch_size), "--predict-batch", str(args.predict_batch)]
            command += ["--threads", str(args.threads), "--malloc", args.malloc]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            row = json.loads(output.strip().splitlines()[-1])
            value = "" if row["value"] is None else f"{row['value']:.9g}"
            print(
                f"{method:<16}{phase:<9}{row['clouds']:>7}{row['points']:>8}{row['before_mb']:>9.0f}"
                f"{row['growth_mb']:>16.0f}  {value}",
                flush=True,
            )


if __name__ == "__main__":
    main()
