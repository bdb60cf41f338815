"""Events as PyG Data: positions, per-hit truth, the Z-muon flag, hit order for files without it."""

from __future__ import annotations

import numpy as np
import torch

from hepxai.data.detector.graph_data import event_to_data
from hepxai.data.detector.trackml_io import PARTICLE_COLUMNS, TRUTH_COLUMNS, TrackMLEvent

from .test_trackml_io import make_event


def test_data_holds_positions_and_truth() -> None:
    event = make_event(7, num_hits=80)
    data = event_to_data(event)
    assert data.pos.shape == (80, 3)
    assert data.pos.dtype == torch.float32
    np.testing.assert_allclose(data.pos.numpy(), event.hits[["x", "y", "z"]].to_numpy())
    np.testing.assert_array_equal(data.particle_id.numpy(), event.truth.particle_id)
    np.testing.assert_array_equal(data.hit_order.numpy(), event.truth.hit_order)
    particles = event.particles
    z_muons = particles.particle_id[(particles.from_z == 1) & (particles.particle_type.abs() == 13)]
    np.testing.assert_array_equal(data.node_truth.numpy(), event.truth.particle_id.isin(z_muons).to_numpy())
    assert data.node_truth.dtype == torch.bool
    assert data.event_id.item() == 7


def test_hit_order_from_distance_to_the_vertex_when_the_file_has_none() -> None:
    event = make_event(1, num_hits=60)
    particles = event.particles[list(PARTICLE_COLUMNS)]
    truth = event.truth[list(TRUTH_COLUMNS)]
    data = event_to_data(TrackMLEvent(event.event_id, event.hits, particles, truth))
    distance = np.linalg.norm(
        truth[["tx", "ty", "tz"]].to_numpy()
        - particles.set_index("particle_id")
        .reindex(truth.particle_id)[["vx", "vy", "vz"]]
        .fillna(0)
        .to_numpy(),
        axis=1,
    )
    order = data.hit_order.numpy()
    assert np.all(order[truth.particle_id == 0] == -1)
    for particle_id in np.unique(truth.particle_id[truth.particle_id > 0]):
        mine = (truth.particle_id == particle_id).to_numpy()
        np.testing.assert_array_equal(np.argsort(order[mine]), np.argsort(distance[mine], kind="stable"))
    assert not data.node_truth.any()  # no from_z column: no Z muons known
