"""The whole chain in one call: train -> evaluate -> explain -> plot -> report, as the seed's ``run.py all``.

Used by ``hepxai all``, ``hepxai demo`` and ``hepxai sanity all``; each step is also a command of its own.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from hepxai.config import DataConfig, RunConfig
from hepxai.data.schema import load_schema
from hepxai.evaluation import Performance, evaluate
from hepxai.explain.base import Explanation
from hepxai.explain.export import explain_files
from hepxai.explain.relevance_file import RelevanceFile, read_relevance_file
from hepxai.explain.relevance_summary import showcase
from hepxai.explain.sanity import SanityResult, sanity_result
from hepxai.models.checkpoint import load_checkpoint
from hepxai.plots.gallery import write_plots
from hepxai.plots.report import write_report
from hepxai.training import read_data, stream_data, train

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChainResult:
    """Where the chain wrote its outputs, and the tagger's performance on the test jets."""

    checkpoint: Path
    evaluation: Path
    relevance: Path
    plots: Path
    report: Path
    performance: list[Performance]


def run_chain(
    train_files: list[Path],
    test_files: list[Path],
    out: Path,
    config: RunConfig,
    *,
    explain_jets: int = 1000,
    report_jets: int = 10,
    target: str = "H",
    with_baselines: bool = True,
    progress: bool = True,
) -> ChainResult:
    """Train on ``train_files``, then evaluate, explain, plot and report on ``test_files``.

    Writes ``out/model`` (the run), ``out/evaluation``, ``out/relevance.h5``, ``out/plots`` and
    ``out/report.html``. The report draws the ``report_jets`` jets the model is most sure are H, as many it
    is most sure are QCD, and the borderline and misclassified jets of :func:`showcase_jets`.
    """
    data = dataclasses.replace(config.data, files=tuple(str(p) for p in train_files))
    jets, data = read_data(data, progress=progress)
    log.info("training on %d jets (%d H) from %d file(s)", len(jets), int(jets.label.sum()), len(train_files))
    result = train(jets, dataclasses.replace(config, data=data), out / "model", progress=progress)

    test_data = DataConfig(
        files=tuple(str(p) for p in test_files), schema=data.schema, selection=data.selection
    )
    test_jets, _ = stream_data(test_data, progress=progress)
    model = load_checkpoint(result.best_path)
    performance = evaluate(
        model,
        test_jets,
        out / "evaluation",
        source=", ".join(map(str, test_files)),
        with_baselines=with_baselines,
        progress=progress,
    )
    schema = load_schema(data.schema)
    relevance_path = explain_files(
        result.best_path,
        list(test_files),
        out / "relevance.h5",
        schema,
        target=target,
        max_jets=explain_jets,
        progress=progress,
    )
    relevance = read_relevance_file(relevance_path)
    jet_ids = showcase_jets(relevance, report_jets)
    plots = out / "plots"
    write_plots(
        relevance, plots, jet_ids=jet_ids, top_confident=report_jets, formats=("png",), progress=progress
    )
    report = write_report(
        relevance,
        out / "report.html",
        jet_ids=jet_ids,
        top_confident=report_jets,
        evaluation=out / "evaluation",
        title=f"hepxai: {schema.name} jets, LRP of the {target} logit",
        progress=progress,
    )
    return ChainResult(result.best_path, out / "evaluation", relevance_path, plots, report, performance)


def showcase_jets(relevance: RelevanceFile, per_class: int) -> list[int]:
    """The jets the report draws: the ``per_class`` with the highest P(H), the borderline and the most
    confidently misclassified jets beside them (the summary's "confident jets" view, all of whose jets are
    then drawn), and the ``per_class`` with the lowest P(H)."""
    shown = showcase(relevance.jets, per_class)[0]["jet_id"].astype(int).tolist()
    lowest = relevance.jets.sort_values("prob_H", kind="stable")["jet_id"].astype(int).tolist()[:per_class]
    return list(dict.fromkeys(shown + lowest))


def relevance_sanity(path: Path) -> SanityResult:
    """The sanity proof's numbers and verdict (shares, how often f3 is top, AUC) from a relevance file."""
    relevance = read_relevance_file(path)
    # Shares depend on |relevance| summed per jet only: one row per jet stands for the jet's tracks.
    per_jet = pd.concat(
        [
            tracks[relevance.relevance_columns].abs().groupby(tracks["jet_id"]).sum()
            for tracks in relevance.iter_tracks()
        ]
    )
    magnitude = torch.tensor(per_jet.to_numpy(dtype=np.float64))
    jets = relevance.jets.set_index("jet_id").loc[per_jet.index.to_numpy()]
    explanation = Explanation(
        node=magnitude,
        batch=torch.arange(len(magnitude)),
        target=str(relevance.meta.get("target", "H")),
    )
    return sanity_result(
        explanation,
        label=torch.tensor(jets["label"].to_numpy(dtype=np.int64)),
        prob_h=torch.tensor(jets["prob_H"].to_numpy(dtype=np.float64)),
    )
