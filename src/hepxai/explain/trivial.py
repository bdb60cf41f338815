"""Rankings that ignore the model: random, by track pT, by |impact-parameter significance|.

The floor every real explainer must beat: an explanation no better than "sort the tracks by pT" teaches
nothing about the model. Each gives one score per track (``node`` of shape ``[num_tracks, 1]``) and reads its
feature by schema name, so it works for any schema that has it.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch_geometric.data import Batch

from hepxai.errors import InputError
from hepxai.explain.base import Explanation, register_explainer
from hepxai.explain.forward import eval_mode, target_logit
from hepxai.explain.targets import resolve_target
from hepxai.models.registry import GraphModel


def _logit(model: GraphModel, batch: Batch, target: str | None) -> Tensor:
    with torch.no_grad(), eval_mode(model):
        return target_logit(model, batch, model(batch), target)


@register_explainer("random")
class RandomRanking:
    """Uniform random scores: the chance level of every metric.

    Args:
        model: The HIN (only its logits are recorded).
        seed: Seed of the random generator. One generator serves every batch in turn, so the batches of a
            run get independent scores and the same seed and sequence of batches give the same scores.
    """

    def __init__(self, model: GraphModel, *, seed: int = 0) -> None:
        self.model, self.seed = model, seed
        self.generator = torch.Generator().manual_seed(seed)

    def skip(self, num_tracks: int) -> None:
        """Draw past the scores of ``num_tracks`` earlier tracks: a run cut into parts (jets 1000 to 1999
        of a benchmark) then scores its tracks as the whole run does."""
        torch.rand(num_tracks, generator=self.generator, dtype=torch.float64)

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Random score for every track of ``batch``, drawn after those of the previous batches."""
        score = torch.rand((batch.x.shape[0], 1), generator=self.generator, dtype=torch.float64)
        return Explanation(
            node=score.to(device=batch.x.device, dtype=batch.x.dtype),
            batch=batch.batch,
            logit=_logit(self.model, batch, target),
            target=resolve_target(self.model, target),
        )


class _FeatureRanking:
    """Score = |value| of the first feature of ``candidates`` that the schema has."""

    candidates: tuple[str, ...] = ()

    def __init__(
        self, model: GraphModel, *, feature_names: Sequence[str], feature: str | None = None
    ) -> None:
        names = list(feature_names)
        wanted = (feature,) if feature is not None else self.candidates
        found = [name for name in wanted if name in names]
        if not found:
            msg = (
                f"{type(self).__name__}: the data has none of the features {', '.join(wanted)} "
                f"(it has {len(names)} features: {', '.join(names[:5])}, ...)"
            )
            raise InputError(msg)
        self.model, self.feature = model, found[0]
        self.column = names.index(self.feature)

    def explain(self, batch: Batch, *, target: str | None = None) -> Explanation:
        """Score every track of ``batch`` by the magnitude of the feature."""
        score = batch.x[:, self.column : self.column + 1].abs()
        return Explanation(
            node=score,
            batch=batch.batch,
            logit=_logit(self.model, batch, target),
            target=resolve_target(self.model, target),
        )


@register_explainer("track_pt")
class TrackPtRanking(_FeatureRanking):
    """Tracks ranked by transverse momentum (``track_pt``, else ``track_ptrel``).

    Args:
        model: The HIN (only its logits are recorded).
        feature_names: The data's feature names, in column order.
        feature: Use this feature instead.
    """

    candidates = ("track_pt", "track_ptrel")


@register_explainer("impact_parameter")
class ImpactParameterRanking(_FeatureRanking):
    """Tracks ranked by |transverse impact-parameter significance|.

    Reads ``track_dxysig`` (d0 / σ(d0)), else ``trackBTag_Sip2dSig``.

    Args:
        model: The HIN (only its logits are recorded).
        feature_names: The data's feature names, in column order.
        feature: Use this feature instead.
    """

    candidates = ("track_dxysig", "trackBTag_Sip2dSig")
