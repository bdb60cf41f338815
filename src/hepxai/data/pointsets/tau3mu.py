"""Tau3Mu-like point clouds: hits in a toy muon endcap station, positive with the hits of a τ → 3μ decay.

The LRI paper's Tau3Mu (Miao et al. 2023, appendix B) mixes the muons of τ → μμμ decays, the τ from D
and B meson decays in Pythia, with high-luminosity pile-up, and keeps the hits of the first endcap muon
station: per hit (η, φ) and a local bending angle. This toy follows that recipe with a simple detector:

- **Signal**: Pythia 8 hard cc̄ and bb̄ production (p̂_T > 5 GeV, no multiparton interactions: the pile-up
  comes apart), D_s± forced to τν (their main τ source; D_s from B decays give the τ from B mesons), and
  the τ given one decay channel, τ → μμμ (phase space). An event serves when one τ's three muons all leave
  at least one hit.
- **Pile-up**: a library of Pythia minimum-bias events (soft QCD, inelastic) made once per dataset; its
  charged particles that could reach the station (momentum above ``min_momentum``, 1.2 < |η| < 2.4) are the
  candidates (punch-through and decays in flight stand for muons). Each sample draws
  Poisson(``pileup_tracks``) of them from the whole library (the mean number of pile-up tracks reaching the
  station at μ = 200, a knob: 11.5 gives the paper's 16.9 points per sample), each turned by a random φ and
  sent to a random endcap, so samples do not repeat one event's geometry.
- **Station**: a uniform solenoid field (``bfield``, 3.8 T) up to three detection layers at |z| =
  ``LAYERS_M``; a track crosses a layer on its helix (no energy loss; a momentum below ``min_momentum`` does
  not get through the calorimeters and iron), leaves a hit with probability ``layer_efficiency`` where
  1.2 < |η_hit| < 2.4, and the hit's (η, φ) and local bending angle (the angle between the track's and the
  hit's azimuth, ``−qψ/2`` for a helix turned by ψ) are smeared by the resolutions and by multiple
  scattering ``scattering / p``.
- **Samples**: positives hold a signal decay's hits and pile-up; negatives pile-up only; at least three hits
  each (the paper's filter).

Per sample (a PyG ``Data``): ``x`` ``[N, 1]`` the bending angle (rad), ``pos`` ``[N, 3]`` (η, φ, 0) (the
backbones take three coordinates; the third is 0), ``y`` ``[1]``, ``node_truth`` ``[N]`` (the signal muons'
hits), ``edge_index`` the radius graph of (η, φ): every pair closer than ``RADIUS`` (1) and self loops.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.data.simulate.generation import initialised_pythia
from hepxai.errors import InputError

log = logging.getLogger(__name__)

MUON_ID, TAU_ID, DS_ID = 13, 15, 431
LAYERS_M = (5.75, 6.0, 6.8)  # |z| of the station's detection layers
ETA_RANGE = (1.2, 2.4)
RADIUS = 1.0  # the radius graph in (η, φ), the paper's
C_LIGHT = 0.299792458  # GeV / (T m)
_SIGNAL_SETTINGS = (
    "Beams:eCM = 14000",
    "HardQCD:hardccbar = on",
    "HardQCD:hardbbbar = on",
    "PhaseSpace:pTHatMin = 5",
    "PartonLevel:MPI = off",
    f"{DS_ID}:oneChannel = 1 1.0 0 -15 16",
    f"{TAU_ID}:oneChannel = 1 1.0 0 13 13 -13",
    "Next:numberCount = 0",
    "Print:quiet = on",
)
_MINBIAS_SETTINGS = (
    "Beams:eCM = 14000",
    "SoftQCD:inelastic = on",
    "Next:numberCount = 0",
    "Print:quiet = on",
)


@dataclass(frozen=True)
class Tau3MuSettings:
    """What a Tau3Mu-like dataset is made from; stored in its ``dataset.yaml``."""

    samples: int = 20000
    positive_fraction: float = 0.24  # the paper's 24/76
    pileup_tracks: float = 11.5  # calibrated: 16.8 points per sample, the paper 16.9
    library_events: int = 2000
    bfield: float = 3.8
    min_momentum: float = 3.0  # GeV
    layer_efficiency: float = 0.55  # calibrated: 5.5 true points per positive, as the paper
    eta_resolution: float = 0.01
    phi_resolution: float = 0.005  # rad
    bend_resolution: float = 0.005  # rad
    scattering: float = 0.05  # rad GeV
    seed: int = 0

    def check(self) -> None:
        """Raises :class:`InputError` naming the first setting out of range."""
        problems = [
            (self.samples < 2, "samples", "must be >= 2"),
            (not 0 < self.positive_fraction < 1, "positive_fraction", "must be in (0, 1)"),
            (not self.pileup_tracks > 0, "pileup_tracks", "must be > 0"),
            (self.library_events < 1, "library_events", "must be >= 1"),
            (not self.bfield > 0, "bfield", "must be > 0"),
            (not 0 < self.layer_efficiency <= 1, "layer_efficiency", "must be in (0, 1]"),
        ]
        for bad, name, text in problems:
            if bad:
                msg = f"pointsets make tau3mu: field '{name}' {text} (got {getattr(self, name)})"
                raise InputError(msg)

    @property
    def positives(self) -> int:
        return round(self.samples * self.positive_fraction)


@dataclass(frozen=True)
class Tracks:
    """Charged tracks from the interaction point: transverse momentum, pz, φ of the momentum, charge."""

    pt: np.ndarray
    pz: np.ndarray
    phi: np.ndarray
    charge: np.ndarray

    def __len__(self) -> int:
        return len(self.pt)

    def select(self, index: np.ndarray) -> Tracks:
        return Tracks(self.pt[index], self.pz[index], self.phi[index], self.charge[index])


def station_hits(
    tracks: Tracks, settings: Tau3MuSettings, rng: np.random.Generator
) -> tuple[np.ndarray, ...]:
    """Every hit of ``tracks`` in the station: ``track`` (which), ``eta``, ``phi``, ``bend`` (all smeared).

    A track on a helix in the field ``B`` along z has turned by ``ψ = C·B·|z| / |pz|`` at the layer
    ``|z|``: its transverse distance from the beam is the chord ``2R sin(ψ/2)`` (``R = pT / (C·B)``), the
    hit's azimuth ``φ₀ − qψ/2`` and the track's ``φ₀ − qψ``, so the local bending angle is ``−qψ/2``.
    """
    momentum = np.hypot(tracks.pt, tracks.pz)
    reach = momentum >= settings.min_momentum
    track = np.repeat(np.arange(len(tracks)), len(LAYERS_M))
    z = np.tile(LAYERS_M, len(tracks))
    psi = C_LIGHT * settings.bfield * z / np.abs(tracks.pz[track])
    radius = 2 * tracks.pt[track] / (C_LIGHT * settings.bfield) * np.sin(np.minimum(psi, np.pi) / 2)
    eta = np.arcsinh(z / np.maximum(radius, 1e-9)) * np.sign(tracks.pz[track])
    seen = (
        reach[track]
        & (psi < np.pi)  # a track turning further curls back towards the beam inside the calorimeters
        & (np.abs(eta) > ETA_RANGE[0])
        & (np.abs(eta) < ETA_RANGE[1])
        & (rng.random(len(track)) < settings.layer_efficiency)
    )
    track, eta, psi = track[seen], eta[seen], psi[seen]
    charge, scatter = tracks.charge[track], settings.scattering / momentum[track]
    phi = tracks.phi[track] - charge * psi / 2
    bend = -charge * psi / 2
    eta = eta + rng.normal(size=len(track)) * np.hypot(settings.eta_resolution, scatter)
    phi = np.angle(
        np.exp(1j * (phi + rng.normal(size=len(track)) * np.hypot(settings.phi_resolution, scatter)))
    )
    bend = bend + rng.normal(size=len(track)) * np.hypot(settings.bend_resolution, scatter)
    return track, eta, phi, bend


def radius_graph(pos: torch.Tensor, radius: float = RADIUS) -> torch.Tensor:
    """``[2, E]`` every ordered pair of points closer than ``radius``, self loops included."""
    close = torch.cdist(pos, pos) < radius
    return close.nonzero().t().contiguous()


def sample(
    signal: Tracks | None, pileup: Tracks, settings: Tau3MuSettings, rng: np.random.Generator
) -> Data | None:
    """A positive (with ``signal``'s hits, every signal track leaving one at least) or negative sample;
    ``None`` when the signal lacks a hit or the sample has fewer than three hits."""
    signal_tracks = len(signal) if signal is not None else 0
    tracks = pileup if signal is None else _concatenate(signal, pileup)
    track, eta, phi, bend = station_hits(tracks, settings, rng)
    truth = track < signal_tracks
    if signal is not None and len(np.unique(track[truth])) < signal_tracks:
        return None
    if len(track) < 3:
        return None
    pos = torch.from_numpy(np.stack([eta, phi, np.zeros_like(eta)], 1)).float()
    return Data(
        x=torch.from_numpy(bend).float().unsqueeze(1),
        pos=pos,
        y=torch.tensor([int(signal is not None)]),
        node_truth=torch.from_numpy(truth),
        edge_index=radius_graph(pos),
    )


def tau3mu_samples(settings: Tau3MuSettings, *, progress: bool = True) -> tuple[list[Data], dict[str, int]]:
    """``settings.samples`` samples, positives first; and counts of the events it took."""
    settings.check()
    rng = np.random.default_rng(settings.seed)
    library = pileup_library(settings.library_events, settings.seed, settings.min_momentum)
    signal = _signal_decays(settings.seed)
    chosen: list[Data] = []
    events = 0
    with tqdm(total=settings.samples, unit="sample", desc="tau3mu", disable=not progress) as bar:
        while len(chosen) < settings.samples:
            positive = len(chosen) < settings.positives
            decay = None
            if positive:
                decay = next(signal)
                events += 1
            made = sample(decay, _draw_pileup(library, settings.pileup_tracks, rng), settings, rng)
            if made is not None:
                chosen.append(made)
                bar.update()
    log.info(
        "tau3mu: %d samples; %d signal events; a library of %d pile-up tracks",
        len(chosen),
        events,
        len(library),
    )
    return chosen, {"signal_events": events, "library_tracks": len(library)}


def pileup_library(events: int, seed: int, min_momentum: float) -> Tracks:
    """The charged particles of ``events`` minimum-bias events that head for the endcaps (1.2 < |η| < 2.4)
    with a momentum of ``min_momentum`` at least."""
    pythia = initialised_pythia(
        (*_MINBIAS_SETTINGS, "Random:setSeed = on", f"Random:seed = {seed + 1}"), what="minbias"
    )
    rows = []
    for _ in range(events):
        if not pythia.next():
            continue
        rows.extend(
            (p.pT(), p.pz(), p.phi(), p.charge())
            for p in pythia.event
            if p.isFinal()
            and p.isCharged()
            and ETA_RANGE[0] < abs(p.eta()) < ETA_RANGE[1]
            and p.pAbs() >= min_momentum
        )
    table = np.asarray(rows, np.float64).reshape(-1, 4)
    return Tracks(*table.T)


def _signal_decays(seed: int) -> Iterator[Tracks]:
    """The three muons of every τ → 3μ decay of the signal events, one decay at a time."""
    pythia = initialised_pythia(
        (*_SIGNAL_SETTINGS, "Random:setSeed = on", f"Random:seed = {seed + 2}"), what="tau3mu"
    )
    while True:
        if not pythia.next():
            continue
        event = pythia.event
        muons: dict[int, list] = {}
        for particle in event:
            if (
                particle.isFinal()
                and abs(particle.id()) == MUON_ID
                and abs(event[particle.mother1()].id()) == TAU_ID
            ):
                muons.setdefault(particle.mother1(), []).append(
                    (particle.pT(), particle.pz(), particle.phi(), particle.charge())
                )
        for decay in muons.values():
            if len(decay) == 3:
                yield Tracks(*np.asarray(decay, np.float64).T)


def _draw_pileup(library: Tracks, mean: float, rng: np.random.Generator) -> Tracks:
    drawn = library.select(rng.integers(len(library), size=rng.poisson(mean)))
    side = rng.choice((-1.0, 1.0), size=len(drawn))
    turn = rng.uniform(-np.pi, np.pi, size=len(drawn))
    return Tracks(drawn.pt, drawn.pz * side, np.angle(np.exp(1j * (drawn.phi + turn))), drawn.charge)


def _concatenate(first: Tracks, second: Tracks) -> Tracks:
    return Tracks(
        *(
            np.concatenate([getattr(first, name), getattr(second, name)])
            for name in ("pt", "pz", "phi", "charge")
        )
    )


def settings_record(settings: Tau3MuSettings) -> dict:
    """The settings as plain YAML values."""
    return {
        key: float(value) if isinstance(value, float) else value for key, value in asdict(settings).items()
    }
