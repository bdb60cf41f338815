import io

import numpy as np
import pytest
from matplotlib.collections import LineCollection
from matplotlib.text import Text

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.explain.relevance_summary import summarize_relevance
from hepxai.plots.gallery import SUMMARY_PLOTS, write_plots
from hepxai.plots.heatmap import relevance_heatmap
from hepxai.plots.jet_graph import jet_graph, jet_graph_plotly
from hepxai.plots.style import save_figure
from hepxai.plots.summary import category_share_plot, feature_share_plot, top_feature_plot


def texts(figure) -> str:
    """Every text drawn in a figure (titles, labels, tick labels, legends), one per line."""
    return "\n".join(t.get_text() for t in figure.findobj(Text))


def edge_collections(figure) -> list[LineCollection]:
    """The grey and red edge collections of a drawn 3D graph (3D segments are projected when drawn)."""
    figure.savefig(io.BytesIO(), format="png")
    return [c for c in figure.axes[0].collections if isinstance(c, LineCollection)]


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
    assert "jet 1: true H" in drawn
    for name in ("trackBTag_Sip3dSig", "track_isMu", "track_pt (2)", "track_dlambdadz (2)"):
        assert name in drawn
    assert [t.get_text() for t in ax.get_yticklabels()] == cms.display_names
    assert [t.get_text() for t in ax.get_xticklabels()] == jet.track_labels()
    assert "track $p_T$ [GeV]" in drawn
    image = ax.images[0]
    np.testing.assert_allclose(image.get_array(), jet.relevance.T)
    assert image.norm.vmin == -image.norm.vmax  # centred on 0
    paths = save_figure(figure, tmp_path / "heatmap")
    assert [p.suffix for p in paths] == [".png", ".pdf"]
    assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert paths[1].read_bytes()[:5] == b"%PDF-"


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
    grey, red = edge_collections(figure)
    assert len(red.get_segments()) == jet.significant_edges().sum()
    assert len(grey.get_segments()) + len(red.get_segments()) == len(jet.edge_significance)
    drawn = texts(figure)
    assert "jet 1: true H" in drawn
    assert "$p_T$ [GeV]" in ax.get_zlabel()
    assert "muon" in drawn
    assert "track from b-hadron decay" in drawn
    top_track = jet.track[np.argmax(jet.node_relevance)]
    assert f"track {top_track}" in drawn
    assert len(red.get_segments()) == 0 or "edge significance" in drawn


def test_jet_graph_threshold(cms):
    jet = jet_relevance(cms, 1)
    threshold = float(np.median(jet.edge_significance))
    red = edge_collections(jet_graph(jet, edge_threshold=threshold))[1]
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
    assert "other edges" in names
    assert sum(len(t.x) for t in figure.data if t.mode == "markers") == jet.num_tracks
    assert "jet 1" in figure.layout.title.text
    assert figure.layout.scene.zaxis.title.text == "track p<sub>T</sub> [GeV]"


@pytest.mark.parametrize("name", SUMMARY_PLOTS)
def test_summary_plots(cms, name):
    summary = summarize_relevance(cms, top_confident=4)
    drawn = texts(SUMMARY_PLOTS[name](summary))
    assert drawn.strip()
    if name in ("feature_share", "confident_jets"):
        assert all(feature in drawn for feature in cms.display_names)
    if name == "confident_jets":
        assert all(f"jet {j}" in drawn for j in summary.confident_jet_ids)
    if name in ("feature_share", "rank_share", "top_feature"):
        assert "H→bb (4 jets)" in drawn
        assert "QCD (4 jets)" in drawn
    if name == "category_share":
        assert "muon tracks" in drawn
        assert "b-hadron decay tracks" in drawn


def test_summary_plots_degrade_without_truth(sanity):
    summary = summarize_relevance(sanity)
    assert "no lepton flags or track truth" in texts(category_share_plot(summary))
    assert "f3" in texts(top_feature_plot(summary))
    assert "track position" in texts(SUMMARY_PLOTS["rank_share"](summary))
    assert "f47" in texts(feature_share_plot(summary))


def test_write_plots(cms, tmp_path):
    paths = write_plots(cms, tmp_path, jet_ids=[6], formats=("png",), progress=False)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == sorted(
        [f"summary/{name}.png" for name in SUMMARY_PLOTS]
        + [f"jets/jet_{j}_{kind}.png" for j in (6,) for kind in ("heatmap", "graph")]
    )
    assert all(p.stat().st_size > 5_000 for p in paths)
