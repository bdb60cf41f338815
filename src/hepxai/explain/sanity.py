"""The sanity proof: on the synthetic jets only features 0 and 3 carry the label, so LRP must find them.

Feature 3 dominates the label (``y = sign(mean(f0 + 2 f3))``); the other 46 features are noise. The proof
passes when three things hold on held-out jets:

1. the model classifies them (ROC AUC of P(H) ≥ :data:`MIN_AUC`): there is a learnt decision to explain;
2. feature 3 is the most relevant feature of almost every jet (≥ :data:`MIN_DOMINANT_FRACTION`);
3. its share of ``|relevance|`` dwarfs that of a typical noise feature (≥ :data:`MIN_DOMINANCE` × the median).

Conditions 2 and 3 alone prove nothing: f3 takes values up to 20 where the noise is N(0, 1), so relevance
(which scales with the input) lands on f3 for almost any network. An untrained HIN with default BatchNorm
statistics passes both (f3 on top in 99.8% of jets, 29× the noise). Condition 1 rules it out, and a model
trained on a label made from f0 alone must fail the proof (tests/explain/test_sanity_proof.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from hepxai.explain.base import Explanation, feature_shares
from hepxai.metrics.classification import roc_auc

SIGNAL_FEATURES = (0, 3)
"""Features that carry the label of the sanity set; all others are N(0, 1) noise."""
DOMINANT_FEATURE = 3
MIN_AUC = 0.95
"""An untrained HIN reaches 0.83 (f3's scale dominates its random projections); a trained one 0.99+."""
MIN_DOMINANT_FRACTION = 0.95
MIN_DOMINANCE = 10.0


@dataclass(frozen=True)
class SanityResult:
    """Feature shares of one sanity explanation, the model's AUC and the proof's verdict."""

    shares: Tensor  # [num_features] share of total |relevance|
    dominant_fraction: float  # fraction of jets whose most relevant feature is feature 3
    noise_median_share: float  # median share of the noise features
    auc: float  # ROC AUC of P(H) against the label on the explained jets

    @property
    def dominance(self) -> float:
        """Share of feature 3 over the median noise share."""
        return float(self.shares[DOMINANT_FEATURE]) / self.noise_median_share

    @property
    def failures(self) -> list[str]:
        """Why the proof fails, one line per unmet condition; empty when it passes."""
        reasons = []
        if self.auc < MIN_AUC:
            reasons.append(
                f"the model does not classify the sanity jets: AUC {self.auc:.3f} < {MIN_AUC} "
                "(an untrained model's relevance also lands on f3, by its scale)"
            )
        if self.dominant_fraction < MIN_DOMINANT_FRACTION:
            reasons.append(
                f"feature 3 is the most relevant feature in {self.dominant_fraction:.1%} of the jets "
                f"< {MIN_DOMINANT_FRACTION:.0%}"
            )
        if self.dominance < MIN_DOMINANCE:
            reasons.append(f"feature 3 share / median noise share {self.dominance:.1f} < {MIN_DOMINANCE:.0f}")
        return reasons

    @property
    def passed(self) -> bool:
        """All three conditions hold."""
        return not self.failures

    def format(self, *, top: int = 6) -> str:
        """A short table: the largest shares, the noise median, the proof numbers and the verdict."""
        order = torch.argsort(self.shares, descending=True)[:top].tolist()
        lines = ["feature  share of |relevance|"]
        lines += [f"f{i:<7d} {float(self.shares[i]):8.2%}" for i in order]
        lines.append(f"noise features, median share: {self.noise_median_share:.2%}")
        lines.append(f"model ROC AUC on these jets: {self.auc:.4f} (needs >= {MIN_AUC})")
        lines.append(
            f"feature 3 is the most relevant feature in {self.dominant_fraction:.1%} of the jets "
            f"(needs >= {MIN_DOMINANT_FRACTION:.0%})"
        )
        lines.append(
            f"feature 3 share / median noise share: {self.dominance:.1f} (needs >= {MIN_DOMINANCE:.0f})"
        )
        if self.passed:
            lines.append("sanity proof: PASSED")
        else:
            lines.append("sanity proof: FAILED")
            lines += [f"  - {reason}" for reason in self.failures]
        return "\n".join(lines)


def sanity_result(explanation: Explanation, *, label: Tensor, prob_h: Tensor) -> SanityResult:
    """Shares, proof numbers and verdict of an explanation of sanity jets (48 features).

    Args:
        explanation: LRP (or any explainer) of the H logit of the sanity jets.
        label: ``[num_jets]`` 1 for H, 0 for QCD, in the explanation's jet order.
        prob_h: ``[num_jets]`` the model's P(H) of the same jets.
    """
    shares = feature_shares(explanation)
    per_jet = feature_shares(explanation, per_jet=True)
    noise = [i for i in range(shares.shape[0]) if i not in SIGNAL_FEATURES]
    return SanityResult(
        shares=shares,
        dominant_fraction=float((per_jet.argmax(dim=1) == DOMINANT_FEATURE).double().mean()),
        noise_median_share=float(shares[noise].median()),
        auc=roc_auc(prob_h.detach().double().cpu().numpy(), label.cpu().numpy()),
    )
