"""The sanity proof: on the synthetic jets only features 0 and 3 carry the label, so LRP must find them.

Feature 3 dominates the label (``y = sign(mean(f0 + 2 f3))``); the other 46 features are noise. LRP passes
when feature 3 is the most relevant feature of almost every jet and its share of ``|relevance|`` dwarfs
that of a typical noise feature. Noise still takes a few percent each, so the proof is relative.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hepxai.explain.base import Explanation, feature_shares

SIGNAL_FEATURES = (0, 3)
"""Features that carry the label of the sanity set; all others are N(0, 1) noise."""
DOMINANT_FEATURE = 3


@dataclass(frozen=True)
class SanityResult:
    """Feature shares of one sanity explanation and the two numbers the proof checks."""

    shares: Tensor  # [num_features] share of total |relevance|
    dominant_fraction: float  # fraction of jets whose most relevant feature is feature 3
    noise_median_share: float  # median share of the noise features

    @property
    def dominance(self) -> float:
        """Share of feature 3 over the median noise share."""
        return float(self.shares[DOMINANT_FEATURE]) / self.noise_median_share

    def format(self, *, top: int = 6) -> str:
        """A short table: the largest shares, the noise median and the two proof numbers."""
        order = torch.argsort(self.shares, descending=True)[:top].tolist()
        lines = ["feature  share of |relevance|"]
        lines += [f"f{i:<7d} {float(self.shares[i]):8.2%}" for i in order]
        lines.append(f"noise features, median share: {self.noise_median_share:.2%}")
        lines.append(f"feature 3 is the most relevant feature in {self.dominant_fraction:.1%} of the jets")
        lines.append(f"feature 3 share / median noise share: {self.dominance:.1f}")
        return "\n".join(lines)


def sanity_result(explanation: Explanation) -> SanityResult:
    """Shares and proof numbers of an explanation of sanity jets (48 features)."""
    shares = feature_shares(explanation)
    per_jet = feature_shares(explanation, per_jet=True)
    noise = [i for i in range(shares.shape[0]) if i not in SIGNAL_FEATURES]
    return SanityResult(
        shares=shares,
        dominant_fraction=float((per_jet.argmax(dim=1) == DOMINANT_FEATURE).double().mean()),
        noise_median_share=float(shares[noise].median()),
    )
