"""Anti-kT jets with FastJet and soft-drop grooming by Cambridge/Aachen declustering."""

from __future__ import annotations

from dataclasses import dataclass

import fastjet
import numpy as np

JET_RADIUS = 0.8
SOFT_DROP_BETA = 0.0
SOFT_DROP_Z_CUT = 0.1

# FastJet prints a banner with its citation request on first use, once per worker, across the progress bar;
# docs/simulation.md cites it instead.
fastjet._swig.ClusterSequence.set_fastjet_banner_stream(None)


@dataclass(frozen=True)
class Jet:
    """One clustered jet."""

    momentum: np.ndarray  # [4] px, py, pz, E (GeV)
    constituents: np.ndarray  # [num_constituents] indices into the clustered particle arrays


@dataclass(frozen=True)
class SoftDrop:
    """A soft-drop groomed jet: its mass and the two prongs that passed the condition."""

    mass: float  # GeV
    subjets: np.ndarray  # [2, 4] px, py, pz, E, harder first; [1, 4] when no splitting passed


def anti_kt_jets(momentum: np.ndarray, *, radius: float = JET_RADIUS) -> list[Jet]:
    """Cluster particles into anti-kT jets, hardest first.

    Args:
        momentum: [num_particles, 4] px, py, pz, E.
    """
    cluster = fastjet.ClusterSequence(
        _pseudojets(momentum), fastjet.JetDefinition(fastjet.antikt_algorithm, radius)
    )
    jets = []
    for jet in fastjet.sorted_by_pt(cluster.inclusive_jets(0.0)):
        indices = np.sort(np.array([c.user_index() for c in jet.constituents()], np.int64))
        jets.append(Jet(momentum=np.array([jet.px(), jet.py(), jet.pz(), jet.e()]), constituents=indices))
    return jets


def soft_drop(
    momentum: np.ndarray,
    *,
    beta: float = SOFT_DROP_BETA,
    z_cut: float = SOFT_DROP_Z_CUT,
    radius: float = JET_RADIUS,
) -> SoftDrop:
    """Groom one jet: recluster its constituents with Cambridge/Aachen, then undo the last merging while
    ``min(pT1, pT2) / (pT1 + pT2) > z_cut (dR12 / radius)^beta`` fails, following the harder branch.

    Args:
        momentum: [num_constituents, 4] px, py, pz, E of the jet's constituents.

    See Larkoski, Marzani, Soyez, Thaler, JHEP 05 (2014) 146, arXiv:1402.2657.
    """
    definition = fastjet.JetDefinition(fastjet.cambridge_algorithm, 1000.0)  # one jet holding everything
    cluster = fastjet.ClusterSequence(_pseudojets(momentum), definition)
    jet = fastjet.sorted_by_pt(cluster.inclusive_jets(0.0))[0]
    harder, softer = fastjet.PseudoJet(), fastjet.PseudoJet()
    while jet.has_parents(harder, softer):
        if softer.pt() > harder.pt():
            harder, softer = softer, harder
        z = softer.pt() / (harder.pt() + softer.pt())
        if z > z_cut * (harder.delta_R(softer) / radius) ** beta:
            return SoftDrop(mass=max(jet.m(), 0.0), subjets=np.array([_four(harder), _four(softer)]))
        jet = harder
        harder, softer = fastjet.PseudoJet(), fastjet.PseudoJet()
    return SoftDrop(mass=max(jet.m(), 0.0), subjets=np.array([_four(jet)]))


def delta_r(axis: np.ndarray, momenta: np.ndarray) -> np.ndarray:
    """dR (pseudorapidity, phi) between the ``axis`` [>= 3] and ``momenta`` [k, >= 3]."""
    axis_pt = np.hypot(axis[0], axis[1])
    pt = np.maximum(np.hypot(momenta[:, 0], momenta[:, 1]), 1e-12)
    delta_eta = np.arcsinh(momenta[:, 2] / pt) - np.arcsinh(axis[2] / axis_pt)
    delta_phi = (np.arctan2(momenta[:, 1], momenta[:, 0]) - np.arctan2(axis[1], axis[0]) + np.pi) % (
        2 * np.pi
    ) - np.pi
    return np.hypot(delta_eta, delta_phi)


def _pseudojets(momentum: np.ndarray) -> list[fastjet.PseudoJet]:
    particles = []
    for index, (px, py, pz, energy) in enumerate(momentum.tolist()):
        particle = fastjet.PseudoJet(px, py, pz, energy)
        particle.set_user_index(index)
        particles.append(particle)
    return particles


def _four(jet: fastjet.PseudoJet) -> list[float]:
    return [jet.px(), jet.py(), jet.pz(), jet.e()]
