"""The η–φ map of a jet: equal aspect, marker area ∝ pT with a key, labels clear of every marker."""

import io

import numpy as np
import pytest
from matplotlib.collections import PathCollection
from matplotlib.text import Annotation, Text

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.plots.jet_graph import labelled_tracks
from hepxai.plots.jet_map import jet_map, jet_map_plotly, key_momenta, marker_areas
from hepxai.plots.label_layout import place_labels


@pytest.fixture(scope="module")
def cms(cms_relevance_path):
    return read_relevance_file(cms_relevance_path)


def _rect_touches_disc(low, high, centre, radius) -> bool:
    nearest = np.clip(centre, low, high)
    return bool(np.hypot(*(nearest - centre)) < radius)


def test_labels_avoid_markers_and_each_other():
    # A label of 1 x 1 beside point 0 (radius 1); point 1 (radius 1.5) sits right above it, point 2 to its
    # upper left: the first free spot on the nearest ring is not between them.
    centres = np.array([[0.0, 0.0], [0.0, 2.6], [-2.5, 2.5]])
    radii = np.array([1.0, 1.5, 1.0])
    sizes = np.array([[1.0, 1.0], [1.0, 1.0]])
    spots = place_labels(centres, radii, np.array([0, 1]), sizes, (-10, 10, -10, 10), gap=0.2)
    for spot, size in zip(spots, sizes, strict=True):
        low, high = spot - size / 2, spot + size / 2
        assert not any(_rect_touches_disc(low, high, c, r) for c, r in zip(centres, radii, strict=True))
    (low0, high0), (low1, high1) = ((s - 0.5, s + 0.5) for s in spots)
    assert not np.all((low0 < high1) & (high0 > low1))  # the two labels do not overlap
    # nearest ring first: label 0 touches the ring at gap 0.2 from its marker's edge
    assert np.hypot(*np.clip(centres[0], spots[0] - 0.5, spots[0] + 0.5)) == pytest.approx(1.2, abs=0.05)


def test_labels_stay_inside_the_bounds():
    spots = place_labels(
        np.array([[0.0, 0.0]]),
        np.array([1.0]),
        np.array([0]),
        np.array([[2.0, 1.0]]),
        (-1.5, 10.0, -1.5, 10.0),
        gap=0.5,
    )
    assert spots[0, 0] - 1.0 >= -1.5
    assert spots[0, 1] - 0.5 >= -1.5


def test_key_momenta_are_round_and_within_the_jet():
    assert key_momenta(37.0) == [20.0, 5.0, 1.0]
    assert key_momenta(3.2) == [2.0, 0.5, 0.1]


@pytest.mark.parametrize("jet_id", range(8))  # every jet of the test file: 4 to 24 tracks
def test_map_has_equal_aspect_area_by_pt_and_labels_clear_of_markers(cms, jet_id):
    jet = jet_relevance(cms, jet_id)
    figure = jet_map(jet)
    ax = figure.axes[0]
    figure.savefig(io.BytesIO(), format="png")  # the layout the labels were placed in
    assert ax.get_xlim() == ax.get_ylim()
    assert ax.get_aspect() == 1.0
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]  # hadrons, muons, electrons
    offsets = np.concatenate([c.get_offsets() for c in scatters])
    sizes = np.concatenate([c.get_sizes() for c in scatters])
    assert len(sizes) == jet.num_tracks
    # marker area ∝ pT: the scatter sizes (points²) over the tracks' pT are one constant
    order = np.lexsort((jet.phirel, jet.etarel))
    drawn = np.lexsort((offsets[:, 1], offsets[:, 0]))
    np.testing.assert_allclose(sizes[drawn] / jet.pt[order], sizes.max() / jet.pt.max())
    np.testing.assert_allclose(np.sort(sizes), np.sort(marker_areas(jet)))
    # the size key: one legend entry per round pT value
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for value in key_momenta(float(jet.pt.max())):
        assert f"track $p_T$ {value:g} GeV" in legend
    # the most relevant tracks are labelled beside their markers, with a leader line, and no marker
    # (in display pixels, its disc of area s) touches a label
    labels = [a for a in ax.texts if isinstance(a, Annotation)]
    names = jet.track_labels()
    assert [a.get_text() for a in labels] == [names[i] for i in labelled_tracks(jet)]
    assert all(a.arrow_patch is not None for a in labels)
    renderer = figure.canvas.get_renderer()
    centres = ax.transData.transform(offsets)
    radii = np.sqrt(sizes) / 2 * figure.dpi / 72
    for label in labels:
        box = Text.get_window_extent(label, renderer)  # the text alone, not its leader line
        low, high = np.array([box.x0, box.y0]), np.array([box.x1, box.y1])
        touching = [_rect_touches_disc(low, high, c, r) for c, r in zip(centres, radii, strict=True)]
        assert not any(touching), f"label {label.get_text()} covered by a marker"


def test_map_needs_kinematics(sanity_relevance_path):
    jet = jet_relevance(read_relevance_file(sanity_relevance_path), 0)
    with pytest.raises(ValueError, match="track_etarel"):
        jet_map(jet)


def test_plotly_map(cms):
    jet = jet_relevance(cms, 1)
    figure = jet_map_plotly(jet)
    assert figure.layout.yaxis.scaleanchor == "x"
    assert figure.layout.yaxis.scaleratio == 1
    assert tuple(figure.layout.xaxis.range) == tuple(figure.layout.yaxis.range)
    markers = [t for t in figure.data if t.customdata is not None]
    diameters = np.concatenate([t.marker.size for t in markers])
    tracks = np.array([int(c[0]) for t in markers for c in t.customdata])
    # area ∝ pT: diameter² / pT is one constant
    by_track = dict(zip(jet.track.tolist(), jet.pt, strict=True))
    ratio = diameters**2 / np.array([by_track[t] for t in tracks])
    np.testing.assert_allclose(ratio, ratio[0])
    # labels are annotations with a leader line; the size key is in the legend
    labels = [a for a in figure.layout.annotations if a.showarrow]
    assert len(labels) == len(labelled_tracks(jet))
    key = [t.name for t in figure.data if t.legendgroup == "size key"]
    assert key == [f"p<sub>T</sub> {v:g} GeV" for v in key_momenta(float(jet.pt.max()))]
