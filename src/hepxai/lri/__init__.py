"""Learnable randomness injection (LRI) and the protocol that compares it with post-hoc explainers.

LRI-Bernoulli and LRI-Gaussian train a noise generator together with a point-cloud model (as
:class:`~hepxai.training.Objective` subclasses); PointMask is the inherently interpretable baseline trained
the same way. :mod:`hepxai.lri.protocol` runs every method on a dataset folder and scores the points it
finds against the ground truth; :mod:`hepxai.lri.table` summarises the runs over seeds. Miao et al.,
"Interpretable geometric deep learning via learnable randomness injection" (ICLR 2023),
https://arxiv.org/abs/2210.16966.
"""

from hepxai.lri.bernoulli import LRIBernoulli, bernoulli_kl
from hepxai.lri.gaussian import LRIGaussian, gaussian_kl
from hepxai.lri.pointmask import PointMask

__all__ = ["LRIBernoulli", "LRIGaussian", "PointMask", "bernoulli_kl", "gaussian_kl"]
