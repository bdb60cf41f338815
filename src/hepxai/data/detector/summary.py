"""What ``hepxai detector inspect`` prints: events, hits, particles, hits per particle and per volume."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from hepxai.data.detector.trackml_io import read_events


def summarize_events(path: str | Path) -> str:
    """A plain-text summary of the TrackML events under ``path`` (a folder, HDF5 file or CSV prefix)."""
    hits_per_event, particles_per_event, noise, per_particle = [], [], [], []
    volumes: pd.Series = pd.Series(dtype=np.int64)
    z_muon_hits = []
    for event in read_events(path):
        hits_per_event.append(len(event.hits))
        volumes = volumes.add(event.hits["volume_id"].value_counts(), fill_value=0)
        if event.truth is not None:
            noise.append(int((event.truth["particle_id"] == 0).sum()))
        if event.particles is not None:
            particles = event.particles
            particles_per_event.append(len(particles))
            nhits = particles["nhits"].to_numpy()
            per_particle.append(nhits[nhits > 0])
            if "from_z" in particles:
                muons = (particles["from_z"] == 1) & (particles["particle_type"].abs() == 13)
                z_muon_hits += particles.loc[muons, "nhits"].tolist()
    lines = [
        f"{path}",
        f"  events                 {len(hits_per_event)}",
        f"  hits per event         {_spread(hits_per_event)}",
    ]
    if noise:
        lines.append(f"  noise hits per event   {_spread(noise)}")
    if particles_per_event:
        with_hits = [len(values) for values in per_particle]
        lines += [
            f"  particles per event    {_spread(particles_per_event)}",
            f"  ... with hits          {_spread(with_hits)}",
            f"  hits per particle      {_spread(np.concatenate(per_particle))} (particles with hits)",
        ]
    if z_muon_hits:
        lines.append(f"  hits per Z muon        {_spread(z_muon_hits)}")
    lines.append(
        "  hits per volume        "
        + ", ".join(f"{int(v)}: {int(n)}" for v, n in volumes.sort_index().items())
    )
    return "\n".join(lines)


def _spread(values: list | np.ndarray) -> str:
    values = np.asarray(values, np.float64)
    if len(values) == 0:
        return "none"
    return f"mean {values.mean():.1f}, min {values.min():.0f}, max {values.max():.0f}"
