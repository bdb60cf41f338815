"""Connected components as track candidates, and Truth-CC."""

from __future__ import annotations

import numpy as np
import torch

from hepxai.tracking.components import track_candidates, truth_cc


def test_components_of_kept_edges() -> None:
    edge_index = torch.tensor([[0, 1, 3, 4], [1, 2, 4, 5]])
    labels = track_candidates(7, edge_index, np.array([True, True, False, True]))
    np.testing.assert_array_equal(labels, [0, 0, 0, 1, 2, 2, 3])


def test_direction_does_not_matter_and_no_edges() -> None:
    labels = track_candidates(4, np.array([[3, 1], [2, 0]]), np.array([True, True]))
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])
    np.testing.assert_array_equal(
        track_candidates(3, np.zeros((2, 0), np.int64), np.zeros(0, bool)), [0, 1, 2]
    )


def test_truth_cc_keeps_true_edges() -> None:
    edge_index = np.array([[0, 1, 1, 2], [1, 2, 3, 3]])
    np.testing.assert_array_equal(truth_cc(4, edge_index, np.array([1.0, 0.0, 0.0, 1.0])), [0, 0, 1, 1])
