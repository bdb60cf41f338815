"""Composites: which LRP rule goes on which layer, built from a few named recipes.

zennit's ``EpsilonGammaBox`` and ``EpsilonPlus`` put ε on the upper, dense layers, where a decision is
formed from few, entangled features, and γ or z⁺ on the lower layers, whose many inputs ε would leave
noisy (Montavon et al., "Layer-wise relevance propagation: an overview", 2019, sec. 10.2.2). A composite
here is the ``rules`` mapping :class:`~hepxai.explain.lrp.LRP` takes; the lower layers are named by the
caller (module or layer names), so nothing here knows a model kind.

LRP's fast forms apply to one ε on every layer only: a composite runs on the generic path.
"""

from __future__ import annotations

from collections.abc import Sequence

from hepxai.explain.rules import Epsilon, Gamma, Rule, ZPlus


def epsilon_gamma(lower: Sequence[str], *, gamma: float = 0.25, epsilon: float = 1e-6) -> dict[str, Rule]:
    """ε on every layer, ``Gamma(gamma)`` on the ``lower`` modules or layers (zennit's EpsilonGammaBox
    without its box rule on the input layer)."""
    return {"default": Epsilon(epsilon), **dict.fromkeys(lower, Gamma(gamma, epsilon))}


def epsilon_plus(lower: Sequence[str], *, epsilon: float = 1e-6) -> dict[str, Rule]:
    """ε on every layer, z⁺ on the ``lower`` modules or layers (zennit's EpsilonPlus)."""
    return {"default": Epsilon(epsilon), **dict.fromkeys(lower, ZPlus(epsilon))}
