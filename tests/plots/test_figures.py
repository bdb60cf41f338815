import dataclasses
import io

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.text import Text
from mpl_toolkits.mplot3d.art3d import Path3DCollection
from PIL import Image

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.explain.relevance_summary import summarize_relevance
from hepxai.plots.gallery import SUMMARY_PLOTS, write_plots
from hepxai.plots.heatmap import merged_relevance, relevance_heatmap, shared_limit
from hepxai.plots.jet_graph import jet_graph, jet_graph_plotly, labelled_tracks
from hepxai.plots.labels import feature_label, grouped_order
from hepxai.plots.style import save_figure
from hepxai.plots.summary import category_share_plot, feature_share_plot


def texts(figure) -> str:
    """Every text drawn in a figure (titles, labels, tick labels, legends), one per line."""
    return "\n".join(t.get_text() for t in figure.findobj(Text))


def edge_collections(figure) -> list[LineCollection]:
    """The faint and coloured edge collections of a drawn 3D graph (3D segments are projected when drawn);
    the drop lines (dotted) are left out."""
    figure.savefig(io.BytesIO(), format="png")
    return [
        c
        for c in figure.axes[0].collections
        if isinstance(c, LineCollection) and c.get_linestyle()[0][1] is None
    ]


@pytest.fixture(scope="module")
def cms(cms_relevance_path):
    return read_relevance_file(cms_relevance_path)


@pytest.fixture(scope="module")
def sanity(sanity_relevance_path):
    return read_relevance_file(sanity_relevance_path)


def test_heatmap_signed(cms, tmp_path):
    jet = jet_relevance(cms, 1)
    figure = relevance_heatmap(jet)
    (ax, _colorbar) = figure.axes[:2]
    drawn = texts(figure)
    assert jet.title in drawn  # the jet, then the logit explained, ΣR and what was absorbed
    assert "ΣR = " in jet.title
    # One row per distinct input, physics names, grouped by category; repeated inputs' relevance added.
    names = list(dict.fromkeys(cms.feature_names))
    rows = grouped_order(names)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [feature_label(names[i]) for i in rows]
    assert len(labels) == 45  # 48 CMS inputs, 3 repeated
    assert labels[0] == "track pT"
    assert "3D signed IP significance" in labels
    assert not any("(2)" in label or (label.startswith("track") and "_" in label) for label in labels)
    merged = np.stack([jet.relevance[:, np.array(cms.feature_names) == names[i]].sum(axis=1) for i in rows])
    assert [t.get_text() for t in ax.get_xticklabels()] == jet.track_labels()
    assert "track $p_T$ [GeV]" in drawn
    assert "μ: muon, e: electron" in drawn
    image = ax.images[0]
    np.testing.assert_allclose(image.get_array(), merged)
    assert image.norm.vmin == -image.norm.vmax  # centred on 0
    assert image.norm.vmax == pytest.approx(np.percentile(np.abs(merged), 99))
    paths = save_figure(figure, tmp_path / "heatmap")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with Image.open(paths[0]) as png:
        assert min(png.info["dpi"]) >= 149.9  # print resolution
    assert paths[1].read_bytes()[:5] == b"%PDF-"


def test_heatmap_by_share_drops_empty_rows_and_jets_share_one_scale(cms):
    jet = jet_relevance(cms, 1)
    relevance = jet.relevance.copy()
    relevance[:, 5:] = 0.0  # only five features carry relevance (track_pt and track_ptrel repeat later)
    empty = dataclasses.replace(jet, relevance=relevance)
    figure = relevance_heatmap(empty, by_share=True)
    ax = figure.axes[0]
    assert len(ax.get_yticklabels()) == 5
    assert "40 features with < 0.2% of |R| not shown" in texts(figure)
    fixed = relevance_heatmap(empty, limit=2.0).axes[0]  # the fixed order keeps every row
    assert len(fixed.get_yticklabels()) == 45
    assert fixed.images[0].norm.vmax == 2.0
    other = jet_relevance(cms, 2)
    limit = shared_limit([jet, other])
    both = np.r_[np.abs(merged_relevance(jet)[1]).ravel(), np.abs(merged_relevance(other)[1]).ravel()]
    assert limit == pytest.approx(np.percentile(both, 99))
    assert relevance_heatmap(other, limit=limit).axes[0].images[0].norm.vmax == limit


def test_heatmap_magnitude_and_without_pt(sanity):
    jet = jet_relevance(sanity, 0)
    figure = relevance_heatmap(jet, magnitude=True)
    image = figure.axes[0].images[0]
    assert image.get_array().min() >= 0
    assert image.norm.vmin == 0
    drawn = texts(figure)
    assert "|relevance| for logit H" in drawn
    assert "no $p_T$ in file" in drawn
    assert "f47" in drawn


def test_jet_graph_edges_and_markers(cms):
    jet = jet_relevance(cms, 1)
    figure = jet_graph(jet)
    ax = figure.axes[0]
    grey, coloured = edge_collections(figure)
    assert len(coloured.get_segments()) == jet.significant_edges().sum()
    assert len(grey.get_segments()) + len(coloured.get_segments()) == len(jet.edge_significance)
    np.testing.assert_allclose(
        coloured.get_array(), 100 * jet.edge_significance[jet.significant_edges()]
    )  # a colour scale, not a cut
    assert coloured.norm.vmin == 0  # from 0: close significances look close
    assert coloured.norm.vmax == pytest.approx(100 * jet.edge_significance.max())
    assert "1/E" in texts(figure)  # the uniform significance marked on the colour bar
    drawn = texts(figure)
    assert jet.title in drawn
    assert "$p_T$ [GeV]" in ax.get_zlabel()
    assert "muon" in drawn
    assert "track from b-hadron decay" in drawn
    assert "edge significance [% of the jet's edge relevance]" in drawn  # the colour bar
    assert "top" not in drawn
    top_track = jet.track[np.argmax(jet.node_relevance)]
    assert str(top_track) in drawn.splitlines()
    # Node colour is the signed relevance; a drop line per track reaches the eta-phi plane (pT = 0).
    nodes = [c for c in ax.collections if isinstance(c, Path3DCollection)]
    signed = np.concatenate([c.get_array() for c in nodes])
    np.testing.assert_allclose(np.sort(signed), np.sort(jet.relevance.sum(axis=1)))
    assert len(figure.axes) == 3  # the graph and two colour bars


def test_qcd_jet_without_b_tracks_has_no_b_legend(cms):
    jet = jet_relevance(cms, 0)
    jet = dataclasses.replace(jet, from_b=np.zeros(jet.num_tracks, dtype=bool))
    assert "track from b-hadron decay" not in texts(jet_graph(jet))


def test_jet_graph_threshold(cms):
    jet = jet_relevance(cms, 1)
    threshold = float(np.median(jet.edge_significance))
    red = edge_collections(jet_graph(jet, edge_threshold=threshold))[1]  # the coloured edges
    assert len(red.get_segments()) == (jet.edge_significance > threshold).sum()


def test_jet_graph_without_kinematics_uses_positions(sanity):
    figure = jet_graph(jet_relevance(sanity, 0))
    assert "no p_T in file" in figure.axes[0].get_zlabel().replace("$", "")
    assert not edge_collections(figure)


def test_plotly_graph(cms):
    jet = jet_relevance(cms, 1)
    figure = jet_graph_plotly(jet)
    names = [trace.name for trace in figure.data]
    assert "most significant edges" in names
    swatch = [t for t in figure.data if t.name == "most significant edges" and t.showlegend is not False]
    assert len(swatch) == 1  # the legend shows one plain colour, not the black of a colour-array line
    assert isinstance(swatch[0].line.color, str)
    scale = next(t for t in figure.data if t.name == "most significant edges" and t.showlegend is False).line
    assert scale.cmin == 0
    assert "other edges" in names
    markers = [t for t in figure.data if t.mode == "markers" and t.customdata is not None]
    assert sum(len(t.x) for t in markers) == jet.num_tracks
    # Each marker carries [track, x, y, z] for the page's cross-figure ring; colours are the signed relevance.
    assert sorted(int(c[0]) for t in markers for c in t.customdata) == sorted(jet.track.tolist())
    np.testing.assert_allclose(
        np.sort(np.concatenate([t.marker.color for t in markers])), np.sort(jet.relevance.sum(axis=1))
    )
    # Only the most relevant tracks are numbered, above their nodes (the others on hover).
    numbers = next(t for t in figure.data if t.mode == "text")
    labels = jet.track_labels()
    assert [n.strip("<b>/") for n in numbers.text] == [labels[i] for i in labelled_tracks(jet)]
    # Δη and Δφ share one range and one length: ΔR is not distorted.
    scene = figure.layout.scene
    assert tuple(scene.xaxis.range) == tuple(scene.yaxis.range)
    assert scene.aspectmode == "manual"
    assert scene.aspectratio.x == scene.aspectratio.y
    assert "drop lines to the η-φ plane" in names
    assert figure.layout.legend.orientation == "h"  # below the scene, off the pT axis
    assert figure.layout.title.text == jet.title.replace("\n", "<br>")
    assert figure.layout.scene.zaxis.title.text == "track p<sub>T</sub> [GeV]"


def test_walks_are_drawn_over_both_graphs(cms):
    jet = jet_relevance(cms, 1)
    assert jet.walk_relevance is None  # a file without walks draws none
    walks = {"walk_source": np.array([0, 2, 3]), "walk_target": np.array([1, 2, 0])}
    jet = dataclasses.replace(jet, **walks, walk_relevance=np.array([0.4, -0.2, 0.1]))
    traces = [t for t in jet_graph_plotly(jet).data if t.legendgroup == "walks"]
    assert len(traces) == 3
    assert [t.showlegend for t in traces] == [True, False, False]
    assert [t.mode for t in traces] == ["lines+markers", "markers", "lines+markers"]  # walk 2 -> 2: a ring
    assert traces[0].line.color != traces[1].marker.color  # for the logit, against it
    assert traces[0].line.width > traces[2].line.width  # width grows with |R|
    assert "walk 2 → 2 → jet" not in traces[0].hovertext[0]
    assert "-0.2" in traces[1].hovertext[0]
    figure = jet_graph(jet)
    assert "top walks track i → track j → jet" in texts(figure)
    dashed = [line for line in figure.axes[0].get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2


@pytest.mark.parametrize("name", SUMMARY_PLOTS)
def test_summary_plots(cms, name):
    summary = summarize_relevance(cms, top_confident=4)
    figure = SUMMARY_PLOTS[name](summary)
    drawn = texts(figure)
    assert drawn.strip()
    if name == "feature_share":  # largest first; features below 0.5% in both classes are counted
        largest = np.max(np.stack(list(summary.feature_share.values())), axis=0)
        shown = [summary.feature_names[i] for i in np.argsort(-largest, kind="stable") if largest[i] >= 0.005]
        assert [t.get_text() for t in figure.axes[0].get_yticklabels()] == [feature_label(n) for n in shown]
        order = [summary.feature_names.index(name) for name in shown]
        widths = np.array([bar.get_width() for bar in figure.axes[0].patches[: 2 * len(order)]])
        # H→bb: the bars right and left of 0 span the feature's |R| share
        np.testing.assert_allclose(
            widths[: len(order)] - widths[len(order) :], 100 * summary.feature_share["H→bb"][order]
        )
        assert "H→bb: net ΣR / Σ|R| ± s.e." in drawn
    if name == "confident_jets":
        assert all(f"jet {j}" in drawn for j in summary.confident_jet_ids)
        assert "confident" in drawn
        assert "borderline" in drawn
        image = figure.axes[0].images[0]  # one dominant cell does not set the scale
        assert image.norm.vmax == pytest.approx(np.percentile(image.get_array().data, 98))
    if name == "rank_share":  # the panel of jet counts per rank
        assert "jets" in drawn.splitlines()
        assert "no preference (1/N of the jet's |R|)" in drawn
        assert "relative to an even split" in drawn
    if name in ("feature_share", "rank_share"):
        assert "H→bb (4 jets)" in drawn
        assert "QCD (4 jets)" in drawn
    if name == "category_share":
        assert "muon tracks" in drawn
        assert "b-hadron decay tracks" in drawn
        # every bar pair says how many jets its mean and standard error rest on
        lines = drawn.splitlines()
        assert all(f"n = {n}" in lines for n in summary.category_share["jets"])


def test_summary_plots_degrade_without_truth(sanity):
    summary = summarize_relevance(sanity)
    assert "no lepton flags or track truth" in texts(category_share_plot(summary))
    assert "track position" in texts(SUMMARY_PLOTS["rank_share"](summary))
    assert "f47" in texts(feature_share_plot(summary))


def test_write_plots(cms, tmp_path):
    paths = write_plots(cms, tmp_path, jet_ids=[6], formats=("png",), progress=False)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == sorted(
        [f"summary/{name}.png" for name in SUMMARY_PLOTS]
        + [f"jets/jet_{j}_{kind}.png" for j in (6,) for kind in ("heatmap", "map", "graph")]
    )
    assert all(p.stat().st_size > 5_000 for p in paths)
