"""ActsTrack-like samples: the positive rule, the draw of the other tracks, the fields; real events (slow)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch

from hepxai.data.detector.trackml_io import TrackMLEvent
from hepxai.data.pointsets.actstrack import (
    LENGTH_UNIT_MM,
    ActsTrackSettings,
    actstrack_samples,
    event_samples,
)
from hepxai.errors import InputError

SETTINGS = ActsTrackSettings(tracks=4)


def fake_event(
    *, charges=(1, -1), muon_hits=(5, 6), pileup_hits=(4, 7, 2, 5, 9, 3, 4), energy=45.6
) -> TrackMLEvent:
    """Two Z muons back to back (mass 2·``energy``), a hard-process pion, pile-up particles; hits 1 mm apart.

    Particle ids: 1, 2 the muons; 3 the hard-process pion (10 hits); 4, 5, ... the pile-up particles.
    """
    hits = [*muon_hits, 10, *pileup_hits]
    num = len(hits)
    particles = pd.DataFrame(
        {
            "particle_id": np.arange(1, num + 1),
            "particle_type": [13, -13, 211, *[211] * len(pileup_hits)],
            "px": [energy, -energy, *[1.0] * (num - 2)],
            "py": np.zeros(num),
            "pz": np.zeros(num),
            "q": [*charges, 1, *[1] * len(pileup_hits)],
            "nhits": hits,
            "vertex_id": [0, 0, 0, *range(1, len(pileup_hits) + 1)],
            "from_z": [1, 1, *[0] * (num - 2)],
        }
    )
    hit_particle = np.repeat(np.arange(1, num + 1), hits)
    hit_particle = np.concatenate([hit_particle, [0, 0]])  # two noise hits
    position = np.arange(3 * len(hit_particle), dtype=np.float64).reshape(-1, 3)
    hit_id = np.arange(1, len(hit_particle) + 1)
    return TrackMLEvent(
        event_id=0,
        hits=pd.DataFrame({"hit_id": hit_id, "x": position[:, 0], "y": position[:, 1], "z": position[:, 2]}),
        particles=particles,
        truth=pd.DataFrame(
            {
                "hit_id": hit_id,
                "particle_id": hit_particle,
                "tpx": hit_particle.astype(np.float32),
                "tpy": np.zeros(len(hit_particle), np.float32),
                "tpz": np.zeros(len(hit_particle), np.float32),
            }
        ),
    )


def particles_of(sample) -> set[int]:
    return set(sample.momentum[:, 0].long().tolist())  # tpx holds the particle id in the fake event


def test_a_qualifying_event_gives_both_samples_drawn_from_pileup_tracks():
    positive, negative = event_samples(fake_event(), np.random.default_rng(0), SETTINGS)
    reconstructable_pileup = {4, 5, 7, 8, 10}  # pile-up particles with >= 4 hits
    assert int(positive.y) == 1
    assert int(negative.y) == 0
    assert {1, 2} <= particles_of(positive)
    assert len(particles_of(positive)) == 4
    assert particles_of(positive) - {1, 2} <= reconstructable_pileup
    assert len(particles_of(negative)) == 4
    assert particles_of(negative) <= reconstructable_pileup
    assert int(positive.node_truth.sum()) == 5 + 6  # the muons' hits, and only them
    assert not negative.node_truth.any()
    assert positive.x.shape == (positive.num_nodes, 1)
    assert torch.equal(positive.x, torch.ones_like(positive.x))
    assert positive.pos.abs().max() < 3 * 80 / LENGTH_UNIT_MM  # mm → tracker half-lengths
    assert sorted(positive.track.unique().tolist()) == [0, 1, 2, 3]


@pytest.mark.parametrize(
    "event",
    [
        fake_event(charges=(1, 1)),  # same charge
        fake_event(energy=44.0),  # mass 88 GeV, outside the 2 GeV window
        fake_event(muon_hits=(5, 3)),  # a muon with fewer than 4 hits
    ],
)
def test_events_that_fail_a_rule_give_a_negative_only(event):
    positive, negative = event_samples(event, np.random.default_rng(1), SETTINGS)
    assert positive is None
    assert negative is not None


def test_too_few_pileup_tracks_give_no_negative():
    positive, negative = event_samples(fake_event(pileup_hits=(4, 5, 2)), np.random.default_rng(2), SETTINGS)
    assert negative is None
    assert positive is not None  # 2 muons + 2 of the 2 reconstructable pile-up tracks


def test_bad_settings_are_one_line_errors():
    with pytest.raises(InputError, match="field 'positive_fraction'"):
        ActsTrackSettings(positive_fraction=1.0).check()
    with pytest.raises(InputError, match="field 'pileup'"):
        ActsTrackSettings(pileup=0).check()


@pytest.mark.slow  # Pythia's soft-QCD initialisation takes 6-9 s per process
def test_real_events_give_the_same_samples_with_one_or_two_workers():
    settings = ActsTrackSettings(samples=6, positive_fraction=0.5, seed=3)
    one, events = actstrack_samples(settings, workers=1, progress=False)
    two, _ = actstrack_samples(settings, workers=2, progress=False)
    assert events >= 6
    assert [int(s.y) for s in one] == [1, 1, 1, 0, 0, 0]
    for a, b in zip(one, two, strict=True):
        assert torch.equal(a.pos, b.pos)
        assert torch.equal(a.node_truth, b.node_truth)
    for sample in one:
        assert len(sample.track.unique()) == settings.tracks
        assert sample.node_truth.any() == bool(sample.y)


def test_with_max_tracks_the_number_of_tracks_varies_within_the_range():
    settings = replace(SETTINGS, tracks=3, max_tracks=5)
    counts = set()
    for seed in range(30):
        positive, negative = event_samples(fake_event(), np.random.default_rng(seed), settings)
        counts.add(len(particles_of(negative)))
        assert 3 <= len(particles_of(positive)) <= 5
    assert counts == {3, 4, 5}  # five reconstructable pile-up tracks: every count can be drawn
    with pytest.raises(InputError, match="field 'max_tracks'"):
        replace(SETTINGS, tracks=5, max_tracks=4).check()
