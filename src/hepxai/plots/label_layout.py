"""Where to put point labels so that no marker and no other label covers them.

A label drawn on its marker hides under the next big marker (a muon beside the deciding track) and in a
dense jet every label touches another. Each label is moved instead to the nearest free spot around its
point, searched outwards on rings of directions, and joined to the point by a leader line. Pure geometry in
one frame (pixels for matplotlib, data units for plotly with equal aspect), so both back ends share it.
"""

from __future__ import annotations

import numpy as np

_DIRECTIONS = 16
_RINGS = (1.0, 2.0, 3.5, 5.0, 7.0, 10.0, 14.0)  # distances from the marker's edge, in units of ``gap``


def _rect_hits_discs(low: np.ndarray, high: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> int:
    """How many discs the axis-aligned rectangle ``[low, high]`` touches."""
    nearest = np.clip(centres, low, high)
    return int((np.hypot(*(nearest - centres).T) < radii).sum())


def _rects_overlap(low: np.ndarray, high: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> int:
    if not len(lows):
        return 0
    return int(np.all((low < highs) & (high > lows), axis=1).sum())


def place_labels(
    centres: np.ndarray,
    radii: np.ndarray,
    labelled: np.ndarray,
    sizes: np.ndarray,
    bounds: tuple[float, float, float, float],
    *,
    gap: float,
) -> np.ndarray:
    """Label centres clear of every marker and of each other, nearest to their point first.

    Labels are placed in the order given (most important first): each takes the first free spot on the
    nearest ring of directions around its point; where none is free within reach, the spot touching the
    fewest markers and labels.

    Args:
        centres: ``[points, 2]`` marker centres.
        radii: ``[points]`` marker radii, in the units of ``centres``.
        labelled: ``[labels]`` index of each label's point.
        sizes: ``[labels, 2]`` label width and height.
        bounds: ``(x_low, x_high, y_low, y_high)`` the labels must stay inside.
        gap: Distance between a marker's edge and the nearest ring.

    Returns:
        ``[labels, 2]`` label centres.
    """
    angles = np.pi / 4 + 2 * np.pi * np.arange(_DIRECTIONS) / _DIRECTIONS
    directions = np.column_stack([np.cos(angles), np.sin(angles)])
    x_low, x_high, y_low, y_high = bounds
    placed_low: list[np.ndarray] = []
    placed_high: list[np.ndarray] = []
    result = np.zeros((len(labelled), 2))
    for number, (point, size) in enumerate(zip(labelled, np.asarray(sizes, dtype=float), strict=True)):
        half = size / 2
        best, best_cost = centres[point] + (radii[point] + gap + half[1]) * np.array([0.0, 1.0]), None
        for ring in _RINGS:
            for direction in directions:
                reach = radii[point] + ring * gap + np.abs(direction) @ half
                centre = centres[point] + reach * direction
                low, high = centre - half, centre + half
                if low[0] < x_low or high[0] > x_high or low[1] < y_low or high[1] > y_high:
                    continue
                cost = _rect_hits_discs(low, high, centres, radii) + _rects_overlap(
                    low, high, np.array(placed_low).reshape(-1, 2), np.array(placed_high).reshape(-1, 2)
                )
                if best_cost is None or cost < best_cost:
                    best, best_cost = centre, cost
                if cost == 0:
                    break
            if best_cost == 0:
                break
        result[number] = best
        placed_low.append(best - half)
        placed_high.append(best + half)
    return result
