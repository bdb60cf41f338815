"""What an LRI training run records in its ``config.yaml``: the point-cloud dataset, the backbone and the
settings of the loop that the LRI protocol sets; none of the jet tagger's (ROOT schema, jet selection,
``max_jets``, pT reweighting, a validation fraction: a point set has its own splits).

The training loop (:func:`hepxai.training.train`) reads a few settings that mean nothing for point clouds;
they are class constants here, so they hold for every run and are not written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from hepxai.config import ModelConfig

NO_EARLY_STOPPING = 1_000_000
"""Patience of the training runs: the authors train a fixed number of epochs and keep the best one."""


@dataclass(frozen=True)
class PointSetData:
    """Which point set trains the run.

    Attributes:
        files: The dataset folder (resolved), its splits ``train`` and ``valid`` read; the key of the jet
            runs' ``data`` section, so runs begun before this record resume.
    """

    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class PointSetTrain:
    """The loop's settings of an LRI run: a fixed number of epochs, the best by validation AUC."""

    epochs: int = 30
    lr: float = 1e-3
    batch_size: int = 128
    seed: int = 0
    select: Literal["loss", "auc"] = "auc"
    recompute_batchnorm: bool = False
    patience: ClassVar[int] = NO_EARLY_STOPPING
    reweight_pt: ClassVar[bool] = False
    fused: ClassVar[bool] = True  # a backbone without an LRI objective trains on its fast forward
    validation_fraction: ClassVar[float] = 0.0  # the dataset's own valid split validates


@dataclass(frozen=True)
class PointSetRunConfig:
    """Everything an LRI training run depends on besides its objective (``method.yaml``)."""

    data: PointSetData = field(default_factory=PointSetData)
    model: ModelConfig = field(default_factory=lambda: ModelConfig(kind="dgcnn", hidden=64))
    train: PointSetTrain = field(default_factory=PointSetTrain)
