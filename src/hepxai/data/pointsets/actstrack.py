"""ActsTrack-like point clouds: hits of 10 tracks per event, positive when two of them are the Z's muons.

Every event is simulated with the project's tracker (:mod:`hepxai.data.detector`): Pythia Z → μμ plus
Poisson(μ = 10) soft-QCD pile-up, a 2 T solenoid, multiple scattering and hit smearing. The LRI paper's
ActsTrack (Miao et al. 2023, appendix B) is built the same way with ACTS; the rules followed here:

- **Positive**: the event's two muons from the Z have opposite charges, an invariant mass (from their
  generated momenta, muon mass 0.10566 GeV) within ``mass_window`` (2 GeV) of 91.19 GeV, and each leaves at
  least ``min_hits`` hits. The sample holds their hits and those of 8 other tracks.
- **Negative**: the hits of 10 other tracks, no Z muon.
- **Other tracks**, in both classes: drawn uniformly without replacement from the event's *pile-up*
  particles with at least ``min_hits`` hits (the TrackML "reconstructable" threshold, 4). The same draw
  in both classes means neither the number of tracks nor the other tracks' momenta tell the classes apart;
  only the two muons do (the paper draws the others from all tracks of an event, and its negatives come from
  pile-up alone, so its positives' other tracks include the Z event's own soft tracks).
- Each event gives one sample: a positive when it qualifies and positives are still wanted, else a
  negative while negatives are wanted (a negative's tracks do not depend on the hard process, so events
  whose muons fail the rules serve as negatives). Event ``i`` depends on the seed and ``i`` only
  (:mod:`hepxai.data.detector.events`), and the choice runs in event order, so the dataset is the same
  whatever the number of workers.
- With ``max_tracks`` every sample draws its number of tracks uniformly from ``tracks``–``max_tracks``
  (the test sets of the paper's distribution shift, Table 5: 15–20 up to 40–70 tracks).
- Noise hits are left out (the ACTS simulation of the paper has none); every point is a particle's hit.

Per sample (a PyG ``Data``): ``pos`` ``[N, 3]`` the measured hit positions (x, y, z) in **units of the
tracker's half-length, 2950 mm** (the outermost disks; the tracker spans |z| ≤ 1, r ≤ 0.346), ``x``
``[N, 1]`` ones (hits carry no features, as in the paper's code), ``y`` ``[1]`` (1 = positive),
``node_truth`` ``[N]`` (the hits of the Z muons), and for studies of the learned geometry (never model
inputs) ``track`` ``[N]`` (0–9, which track a hit belongs to, by particle id: the Z muons are 0 and 1) and
``momentum`` ``[N, 3]`` (the particle's true momentum at the hit, GeV). The unit is the LRI code's
(millimetres / 2955.5, the ACTS generic detector's half-length): LRI-Gaussian's scale c = 200 then puts 1
between the 5th and 10th percentile of ``|c · pos|``, as the paper chooses c (``docs/data.md``).
"""

from __future__ import annotations

import functools
import itertools
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch_geometric.data import Data
from tqdm.auto import tqdm

from hepxai.data.detector.events import EventGenerator
from hepxai.data.detector.geometry import Geometry, load_geometry
from hepxai.data.detector.simulation import MIN_RECONSTRUCTABLE_HITS, DetectorSettings, detect
from hepxai.data.detector.trackml_io import TrackMLEvent
from hepxai.data.pointsets.transfer import from_plain, to_plain
from hepxai.errors import InputError
from hepxai.parallel import engine

log = logging.getLogger(__name__)

Z_MASS = 91.1876  # GeV
MUON_MASS = 0.1056584  # GeV
MUON_ID = 13
LENGTH_UNIT_MM = 2950.0  # positions are stored in units of the tracker's half-length


@dataclass(frozen=True)
class ActsTrackSettings:
    """What an ActsTrack-like dataset is made from; stored in its ``dataset.yaml``."""

    samples: int = 3241  # the paper's size
    positive_fraction: float = 0.39  # the paper's class ratio, 39/61
    tracks: int = 10
    max_tracks: int | None = None  # tracks per sample uniform in [tracks, max_tracks] (a shifted test set)
    pileup: float = 10.0
    bfield: float = 2.0  # T
    mass_window: float = 2.0  # GeV around the Z mass
    min_hits: int = MIN_RECONSTRUCTABLE_HITS
    seed: int = 0

    def check(self) -> None:
        """Raises :class:`InputError` naming the first setting out of range."""
        problems = [
            (self.samples < 2, "samples", "must be >= 2"),
            (not 0 < self.positive_fraction < 1, "positive_fraction", "must be in (0, 1)"),
            (self.tracks < 3, "tracks", "must be >= 3 (two muons and another track)"),
            (
                self.max_tracks is not None and self.max_tracks < self.tracks,
                "max_tracks",
                "must be >= tracks",
            ),
            (not self.pileup > 0, "pileup", "must be > 0 (the other tracks come from pile-up)"),
            (not self.bfield >= 0, "bfield", "must be >= 0"),
            (not self.mass_window > 0, "mass_window", "must be > 0"),
            (self.min_hits < 1, "min_hits", "must be >= 1"),
        ]
        for bad, name, text in problems:
            if bad:
                msg = f"pointsets make actstrack: field '{name}' {text} (got {getattr(self, name)})"
                raise InputError(msg)

    @property
    def positives(self) -> int:
        return round(self.samples * self.positive_fraction)


def actstrack_samples(
    settings: ActsTrackSettings,
    *,
    workers: int = 1,
    progress: bool = True,
    scheduler: str | None = None,
) -> tuple[list[Data], int]:
    """``settings.samples`` samples, positives first then negatives; and how many events it took."""
    settings.check()
    wanted = {True: settings.positives, False: settings.samples - settings.positives}
    chosen: dict[bool, list[Data]] = {True: [], False: []}
    events = 0
    with tqdm(total=settings.samples, unit="sample", desc="actstrack", disable=not progress) as bar:
        for positive, negative in _candidates(settings, workers, scheduler):
            events += 1
            if positive is not None and len(chosen[True]) < wanted[True]:
                chosen[True].append(positive)
            elif negative is not None and len(chosen[False]) < wanted[False]:
                chosen[False].append(negative)
            else:
                continue
            bar.update()
            if all(len(chosen[label]) == wanted[label] for label in (True, False)):
                break
    log.info("actstrack: %d samples from %d events", settings.samples, events)
    return chosen[True] + chosen[False], events


def event_samples(
    event: TrackMLEvent, rng: np.random.Generator, settings: ActsTrackSettings
) -> tuple[Data | None, Data | None]:
    """The positive sample of one event (``None`` if its muons fail the rules) and its negative sample."""
    particles = event.particles
    hits_per_particle = particles["nhits"].to_numpy()
    others = particles["particle_id"].to_numpy()[
        (particles["vertex_id"].to_numpy() > 0) & (hits_per_particle >= settings.min_hits)
    ]
    tracks = (
        settings.tracks
        if settings.max_tracks is None
        else int(rng.integers(settings.tracks, settings.max_tracks + 1))
    )
    negative = None
    if len(others) >= tracks:
        negative = _sample(event, rng.choice(others, tracks, replace=False), np.empty(0), label=0)
    muons = particles[(particles["particle_type"].abs() == MUON_ID) & (particles["from_z"] == 1)]
    positive = None
    if (
        len(muons) == 2
        and muons["q"].prod() < 0
        and (muons["nhits"] >= settings.min_hits).all()
        and abs(_invariant_mass(muons[["px", "py", "pz"]].to_numpy(np.float64)) - Z_MASS)
        < settings.mass_window
        and len(others) >= tracks - 2
    ):
        signal = muons["particle_id"].to_numpy()
        drawn = rng.choice(others, tracks - 2, replace=False)
        positive = _sample(event, np.concatenate([signal, drawn]), signal, label=1)
    return positive, negative


def _invariant_mass(momentum: np.ndarray) -> float:
    energy = np.sqrt(MUON_MASS**2 + (momentum**2).sum(1)).sum()
    return float(np.sqrt(max(energy**2 - (momentum.sum(0) ** 2).sum(), 0.0)))


def _sample(event: TrackMLEvent, particle_ids: np.ndarray, signal_ids: np.ndarray, *, label: int) -> Data:
    truth = event.truth
    hit_particle = truth["particle_id"].to_numpy()
    keep = np.isin(hit_particle, particle_ids)
    position = event.hits[["x", "y", "z"]].to_numpy(np.float64)[keep] / LENGTH_UNIT_MM
    track = np.searchsorted(np.sort(particle_ids), hit_particle[keep])
    return Data(
        x=torch.ones(int(keep.sum()), 1),
        pos=torch.from_numpy(position).float(),
        y=torch.tensor([label]),
        node_truth=torch.from_numpy(np.isin(hit_particle[keep], signal_ids)),
        track=torch.from_numpy(track),
        momentum=torch.from_numpy(truth[["tpx", "tpy", "tpz"]].to_numpy(np.float32)[keep]),
    )


@functools.lru_cache(maxsize=2)
def _generator(pileup: float) -> EventGenerator:
    """A worker process's Pythia instances, initialised once for all the events it makes."""
    torch.set_num_threads(1)
    return EventGenerator("zmumu", pileup)


def event_candidates(index: int, job: tuple[ActsTrackSettings, Geometry]) -> tuple[dict | None, dict | None]:
    """Event ``index``'s (positive, negative) candidates as plain values: the task each worker runs."""
    settings, geometry = job
    particles, rng = _generator(settings.pileup).generate(settings.seed, index)
    event = detect(particles, geometry, DetectorSettings(bfield=settings.bfield), rng, event_id=index)
    positive, negative = event_samples(event, rng, settings)
    return to_plain(positive), to_plain(negative)


def _candidates(
    settings: ActsTrackSettings, workers: int, scheduler: str | None = None
) -> Iterator[tuple[Data | None, Data | None]]:
    """Each event's (positive, negative) candidates in event order, as tasks on the engine
    (:mod:`hepxai.parallel`) while the caller asks for more."""
    with engine(workers, scheduler) as runner:
        job = runner.broadcast((settings, load_geometry(None)))
        for _, candidates in runner.map(event_candidates, itertools.count(), job, ordered=True):
            yield tuple(map(from_plain, candidates))


def settings_record(settings: ActsTrackSettings) -> dict:
    """The settings as plain YAML values."""
    return {
        key: float(value) if isinstance(value, float) else value for key, value in asdict(settings).items()
    }
