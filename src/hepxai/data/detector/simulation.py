"""One event through the detector: propagation, digitisation and the TrackML tables with their truth.

Hits are numbered (``hit_id`` from 1) in the order of their volume, layer and module, shuffled within a
module, so that hit order reveals nothing of the truth. Particle ids count the event's charged final-state
particles from 1 (the hard process first); ``particle_id`` 0 marks noise hits.

The truth ``weight`` of a hit is ``1 / (hits of reconstructable particles)`` when its particle is
reconstructable (``MIN_RECONSTRUCTABLE_HITS`` hits or more) and 0 otherwise (noise included), so that the
weights of an event sum to 1 and a TrackML-style score (the weight of correctly assigned hits) is defined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hepxai.data.detector.digitization import Digitization, digitize
from hepxai.data.detector.events import GeneratedParticles
from hepxai.data.detector.geometry import Geometry
from hepxai.data.detector.propagation import Particles, propagate
from hepxai.data.detector.trackml_io import TrackMLEvent

MIN_RECONSTRUCTABLE_HITS = 4


@dataclass(frozen=True)
class DetectorSettings:
    """The field and how particles become hits."""

    bfield: float = 2.0  # T, along z
    scattering: bool = True  # multiple scattering in each layer's material
    max_turns: float = 0.5  # loopers stop after this many turns
    digitization: Digitization = field(default_factory=Digitization)


def detect(
    particles: GeneratedParticles,
    geometry: Geometry,
    settings: DetectorSettings,
    rng: np.random.Generator,
    *,
    event_id: int,
) -> TrackMLEvent:
    """The TrackML tables of one event: hits, truth per hit, and particles."""
    crossings = propagate(
        Particles(particles.vertex, particles.momentum, particles.charge, particles.mass),
        geometry,
        settings.bfield,
        max_turns=settings.max_turns,
        scattering=settings.scattering,
        rng=rng,
    )
    hits = digitize(crossings, geometry, settings.digitization, rng)
    shuffle = rng.permutation(len(hits.surface))
    volume, layer = geometry.volume_id[hits.surface], geometry.layer_id[hits.surface]
    order = shuffle[np.lexsort((hits.module_id[shuffle], layer[shuffle], volume[shuffle]))]
    particle_id = hits.particle[order] + 1  # noise: -1 -> 0
    num_hits = np.bincount(particle_id, minlength=len(particles.charge) + 1)[1:]
    reconstructable = np.r_[False, num_hits >= MIN_RECONSTRUCTABLE_HITS][particle_id]
    weight = reconstructable / max(int(reconstructable.sum()), 1)
    hit_id = np.arange(1, len(order) + 1)
    position, true_position, true_momentum = (
        array[order].astype(np.float32) for array in (hits.position, hits.true_position, hits.true_momentum)
    )
    hits_table = pd.DataFrame(
        {
            "hit_id": hit_id,
            "x": position[:, 0],
            "y": position[:, 1],
            "z": position[:, 2],
            "volume_id": volume[order],
            "layer_id": layer[order],
            "module_id": hits.module_id[order],
        }
    )
    truth = pd.DataFrame(
        {
            "hit_id": hit_id,
            "particle_id": particle_id,
            "tx": true_position[:, 0],
            "ty": true_position[:, 1],
            "tz": true_position[:, 2],
            "tpx": true_momentum[:, 0],
            "tpy": true_momentum[:, 1],
            "tpz": true_momentum[:, 2],
            "weight": weight.astype(np.float32),
            "hit_order": hits.order[order],
        }
    )
    momentum = particles.momentum
    pt = np.hypot(momentum[:, 0], momentum[:, 1])
    particles_table = pd.DataFrame(
        {
            "particle_id": np.arange(1, len(pt) + 1),
            "particle_type": particles.pdg_id,
            **{name: particles.vertex[:, k].astype(np.float32) for k, name in enumerate(("vx", "vy", "vz"))},
            **{name: momentum[:, k].astype(np.float32) for k, name in enumerate(("px", "py", "pz"))},
            "q": particles.charge.astype(np.int64),
            "nhits": num_hits,
            "pt": pt.astype(np.float32),
            "eta": np.arcsinh(momentum[:, 2] / pt).astype(np.float32),
            "vertex_id": particles.interaction,
            "from_z": particles.from_z.astype(np.int64),
        }
    )
    return TrackMLEvent(event_id=event_id, hits=hits_table, particles=particles_table, truth=truth)
