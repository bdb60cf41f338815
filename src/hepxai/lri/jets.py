"""LRI-Bernoulli on jets: the HIN trained with a learned keep-probability per track, read like an explainer.

``hepxai train --lri`` trains the tagger with the :class:`~hepxai.lri.bernoulli.LRIBernoulli` objective on the
same jets and budget as a plain run: ``p_v = sigmoid(MLP(z_v))`` from the HIN's track embedding (the output of
``node_mlp_2``), a relaxed Bernoulli mask weighs every message ``j → i`` by ``m_j · m_i`` and the mean over
the tracks by ``m_v``, loss ``BCE + β · mean_v KL(Bern(p_v) ‖ Bern(α))``. The run folder holds
``method.yaml`` (the objective's settings) beside ``best.pt``, whose ``objective`` entry is the generator.
The benchmark reads such a run with :func:`load_lri_run` and scores ``p_v`` against ``track_fromB``
beside the post-hoc explainers of the plain model.

Settings are the LRI paper's default objective (its ActsTrack/DGCNN configuration: β = 1, α from 0.9 down to
0.7, no warm-up), with α stepped every 10 of 300 epochs scaled to the run's epochs, as in
:mod:`hepxai.lri.protocol`; nothing is tuned on jets.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor
from torch_geometric.data import Batch

from hepxai.errors import InputError
from hepxai.explain.base import Explanation
from hepxai.explain.forward import eval_mode
from hepxai.io.atomic import write_text
from hepxai.io.yaml_files import read_yaml
from hepxai.lri.bernoulli import LRIBernoulli
from hepxai.models.checkpoint import model_from_state, read_checkpoint
from hepxai.models.registry import GraphModel, build_model
from hepxai.training import read_data, train

if TYPE_CHECKING:
    from hepxai.config import RunConfig

METHOD_FILE = "method.yaml"
METHOD = "lri_bernoulli"
_PAPER_EPOCHS, _ALPHA_INTERVAL = 300, 10
JET_SETTINGS = {"beta": 1.0, "final_alpha": 0.7, "init_alpha": 0.9, "alpha_decay": 0.1, "warmup": 0}
"""The objective's settings on jets (the LRI paper's ActsTrack/DGCNN ones), besides seed and α interval."""


def lri_settings(epochs: int, seed: int) -> dict[str, Any]:
    """The LRI-Bernoulli options of a jet run of ``epochs`` epochs: :data:`JET_SETTINGS`, the α interval
    scaled from 10 of 300 epochs, and the seed of the noise."""
    interval = max(1, round(_ALPHA_INTERVAL * epochs / _PAPER_EPOCHS))
    return {**JET_SETTINGS, "alpha_interval": interval, "seed": seed}


def lri_objective(model: GraphModel, folder: str | Path, *, epochs: int, seed: int) -> LRIBernoulli:
    """The objective of the LRI run in ``folder``: as its ``method.yaml`` records it when the run exists
    (a resume), else new, with ``method.yaml`` written.

    Raises:
        InputError: ``folder`` holds a run without ``method.yaml`` (a plain run), or one of another method.
    """
    folder = Path(folder)
    path = folder / METHOD_FILE
    if path.is_file():
        return LRIBernoulli(model, **_options(path))
    if (folder / "last.pt").is_file():
        msg = f"{folder}: a run without {METHOD_FILE} (not an LRI run); resume it without --lri"
        raise InputError(msg)
    options = lri_settings(epochs, seed)
    folder.mkdir(parents=True, exist_ok=True)
    import yaml

    write_text(path, yaml.safe_dump({"method": METHOD, **options}, sort_keys=False))
    return LRIBernoulli(model, **options)


def check_plain_run(folder: str | Path) -> None:
    """Refuse to resume an LRI run as a plain one.

    Raises:
        InputError: ``folder`` holds ``method.yaml``.
    """
    path = Path(folder) / METHOD_FILE
    if path.is_file():
        msg = f"{path}: an LRI-Bernoulli run; resume it with --lri"
        raise InputError(msg)


def load_lri_run(checkpoint: str | Path) -> tuple[GraphModel, LRIBernoulli]:
    """The model and generator of an LRI run's checkpoint (``method.yaml`` beside it), in eval mode.

    Raises:
        InputError: no ``method.yaml`` beside the checkpoint, or a checkpoint without a generator.
    """
    checkpoint = Path(checkpoint)
    path = checkpoint.parent / METHOD_FILE
    if not path.is_file():
        msg = f"{checkpoint}: no {METHOD_FILE} beside it, not an LRI run (hepxai train --lri)"
        raise InputError(msg)
    content = read_checkpoint(checkpoint)
    model = model_from_state(content, checkpoint)
    objective = LRIBernoulli(model, **_options(path))
    if not content.get("objective"):
        msg = f"{checkpoint}: field 'objective' is missing, no keep-probability generator stored"
        raise InputError(msg)
    objective.load_state_dict(content["objective"])
    return model.eval(), objective.eval()


class KeepProbability:
    """The keep-probability ``p_v`` of an LRI-Bernoulli model as a per-track score, with the explainers'
    call: ``explain(batch, target=...)`` gives a ``[num_tracks, 1]`` relevance.

    It scores the model it was trained with; it explains no other model.
    """

    def __init__(self, model: GraphModel, objective: LRIBernoulli) -> None:
        self.model, self.objective = model, objective

    def explain(self, batch: Batch, *, target: str = "H") -> Explanation:
        with torch.no_grad(), eval_mode(self.model), eval_mode(self.objective):
            keep: Tensor = self.objective.scores(self.model, batch)
        return Explanation(node=keep.unsqueeze(1), batch=batch.batch, target=target)


def _options(path: Path) -> dict[str, Any]:
    options = read_yaml(path)
    method = options.get("method") if isinstance(options, dict) else None
    if method != METHOD:
        msg = f"{path}: field 'method' is {method!r}, expected {METHOD!r}"
        raise InputError(msg)
    return {key: value for key, value in options.items() if key != "method"}


def train_lri(config: RunConfig, out_dir: str | Path, *, resume: bool = False, progress: bool = True) -> None:
    """``hepxai train --lri``: the HIN trained with LRI-Bernoulli on the jets of ``config.data`` (in memory,
    one process), from the initial weights of the plain run with the same seed."""
    jets, data = read_data(config.data, progress=progress)
    config = replace(config, data=data)
    torch.manual_seed(config.train.seed)
    model = build_model(config.model.kind, num_features=jets.num_features, hidden=config.model.hidden)
    objective = lri_objective(model, out_dir, epochs=config.train.epochs, seed=config.train.seed)
    train(jets, config, out_dir, model=model, objective=objective, resume=resume, progress=progress)
