"""The event sample of a setting: detector events made on demand, read back with the setting's pT cut.

The detector writes the full events (all particles, noise); the cut is applied on reading, so settings that
differ only in their cut share one detector run. Every event read is checked: hit and truth ids agree, and
something is left after the cut.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from hepxai.data.detector.trackml_io import TrackMLEvent, read_events
from hepxai.errors import InputError
from hepxai.tracking.settings import Setting, claim_setting


def make_events(
    setting: Setting,
    root: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = True,
) -> Path:
    """Simulate the setting's sample into ``ROOT/samples/SAMPLE`` (HDF5, 10 events per file); resumable.

    Runs ``hepxai detector simulate`` with the sample's settings: a stopped run continues where it stopped.
    A custom setting is written to ``ROOT/SETTING/setting.yaml`` first (:func:`claim_setting`).
    """
    from hepxai.data.detector import DetectorSettings, simulate_events
    from hepxai.data.detector.digitization import Digitization

    claim_setting(setting, root)
    sample = setting.sample
    folder = setting.events_folder(root)
    simulate_events(
        folder,
        process=sample.process,
        events=sample.events,
        pileup=sample.pileup,
        settings=DetectorSettings(
            bfield=sample.bfield,
            scattering=sample.scattering,
            digitization=Digitization(efficiency=sample.efficiency, noise_per_module=sample.noise),
        ),
        seed=sample.seed,
        workers=workers,
        scheduler=scheduler,
        output_format="hdf5",
        events_per_file=10,
        progress=progress,
    )
    return folder


def read_setting_events(
    setting: Setting, root: str | Path, event_ids: list[int] | range
) -> Iterator[TrackMLEvent]:
    """The events ``event_ids`` of the setting's sample, checked and cut (see :func:`cut_event`)."""
    folder = setting.events_folder(root)
    for event in read_events(folder, list(event_ids)):
        yield cut_event(event, setting.pt_min, keep_noise=setting.keep_noise, source=folder)


def cut_event(
    event: TrackMLEvent, pt_min: float, *, keep_noise: bool = True, source: str | Path = "event"
) -> TrackMLEvent:
    """The event without particles below ``pt_min`` (GeV) and their hits (and without noise unless asked).

    Raises:
        InputError: the event has no truth, its hit and truth ids disagree, or no hit is left.
    """
    name = f"{source}: event {event.event_id}"
    if event.truth is None or event.particles is None:
        msg = f"{name}: field 'truth' is missing (a tracking sample needs truth and particles)"
        raise InputError(msg)
    hits, truth, particles = event.hits, event.truth, event.particles
    if len(hits) == 0:
        msg = f"{name}: field 'hits' is empty"
        raise InputError(msg)
    if len(hits) != len(truth) or not np.array_equal(
        np.sort(hits["hit_id"].to_numpy()), np.sort(truth["hit_id"].to_numpy())
    ):
        msg = f"{name}: field 'hit_id' differs between hits ({len(hits)} ids) and truth ({len(truth)} ids)"
        raise InputError(msg)
    truth = hits[["hit_id"]].merge(truth, on="hit_id", how="left", validate="one_to_one")
    pt = np.hypot(particles["px"].to_numpy(np.float64), particles["py"].to_numpy(np.float64))
    kept_particles = particles[pt > pt_min].reset_index(drop=True)
    particle_id = truth["particle_id"].to_numpy()
    keep = np.isin(particle_id, kept_particles["particle_id"].to_numpy()) | (keep_noise & (particle_id == 0))
    if not keep.any():
        msg = f"{name}: field 'hits' is empty after the pT > {pt_min} GeV cut"
        raise InputError(msg)
    return TrackMLEvent(
        event_id=event.event_id,
        hits=hits[keep].reset_index(drop=True),
        particles=kept_particles,
        truth=truth[keep].reset_index(drop=True),
    )
