"""Pythia 8 settings for the two samples: pp -> H(->bb) + jet and QCD dijets at 13 TeV."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

import pythia8mc

Process = Literal["signal", "background"]

CENTRE_OF_MASS_ENERGY = 13_000.0  # GeV
BEAM_SPOT_SIGMA_MM = (
    0.010,
    0.010,
    35.0,
)  # x, y, z Gaussian widths of the luminous region (Pythia works in mm)
TAU0_MAX_MM = (
    10.0  # hadrons with c*tau0 above this stay undecayed (K0S, Lambda, ...), as in CMS generator settings
)
# through the tracker, Pythia decays K0S, Lambda, Sigma, Xi and Omega in flight (as Geant4 would in CMS);
# charged pions and kaons (c*tau0 = 7.8 m, 3.7 m) and K0L stay undecayed
TRACKER_TAU0_MAX_MM = 1000.0
_MAX_PYTHIA_SEED = 900_000_000

_PROCESSES: dict[str, tuple[str, ...]] = {
    "signal": (
        "HiggsSM:gg2Hg(l:t) = on",
        "HiggsSM:qg2Hq(l:t) = on",
        "HiggsSM:qqbar2Hg(l:t) = on",
        "25:onMode = off",
        "25:onIfMatch = 5 -5",
    ),
    "background": ("HardQCD:all = on",),
}


def pythia_settings(
    process: Process, *, seed: int, pthat_min: float, tau0_max: float = TAU0_MAX_MM
) -> list[str]:
    """The ``readString`` lines of one sample (default Monash tune; MPI, ISR/FSR and hadronization on).

    Args:
        process: ``signal`` (H + jet with H -> bb) or ``background`` (``HardQCD:all``).
        seed: any integer; mapped into Pythia's seed range.
        pthat_min: lower cut on the hard process pT (GeV).
        tau0_max: hadrons with a larger c*tau0 (mm) stay undecayed.
    """
    sigma_x, sigma_y, sigma_z = BEAM_SPOT_SIGMA_MM
    return [
        f"Beams:eCM = {CENTRE_OF_MASS_ENERGY}",
        *_PROCESSES[process],
        f"PhaseSpace:pTHatMin = {pthat_min}",
        *seed_setting(seed),
        "ParticleDecays:limitTau0 = on",
        f"ParticleDecays:tau0Max = {tau0_max}",
        "Beams:allowVertexSpread = on",
        f"Beams:sigmaVertexX = {sigma_x}",
        f"Beams:sigmaVertexY = {sigma_y}",
        f"Beams:sigmaVertexZ = {sigma_z}",
        "Print:quiet = on",
    ]


def seed_setting(seed: int) -> list[str]:
    """The ``readString`` lines that seed Pythia with any integer (mapped into Pythia's seed range)."""
    return ["Random:setSeed = on", f"Random:seed = {pythia_seed(seed)}"]


def pythia_seed(seed: int) -> int:
    """``seed`` mapped into Pythia's seed range (1 to 900,000,000)."""
    return seed % _MAX_PYTHIA_SEED + 1


def make_pythia(
    process: Process, *, seed: int, pthat_min: float, tau0_max: float = TAU0_MAX_MM
) -> pythia8mc.Pythia:
    """An initialised Pythia generator for ``process``."""
    return initialised_pythia(
        pythia_settings(process, seed=seed, pthat_min=pthat_min, tau0_max=tau0_max),
        what=f"the {process} sample",
    )


def initialised_pythia(settings: Iterable[str], *, what: str) -> pythia8mc.Pythia:
    """A quiet Pythia generator initialised with ``settings`` (one ``readString`` line each).

    Raises:
        RuntimeError: Pythia rejects a setting or fails to initialise ``what``.
    """
    pythia = pythia8mc.Pythia("", False)
    for line in settings:
        if not pythia.readString(line):
            msg = f"Pythia rejected the setting '{line}'"
            raise RuntimeError(msg)
    if not pythia.init():
        msg = f"Pythia failed to initialise {what}"
        raise RuntimeError(msg)
    return pythia
