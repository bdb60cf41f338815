"""Every picture of a relevance file in one folder: summaries and, per selected jet, heatmap, η–φ map and
3D graph.

Layout::

    OUT/summary/{feature_share,rank_share,category_share,confident_jets}.{png,pdf}
    OUT/jets/jet_<id>_{heatmap,map,graph}.{png,pdf}   (map: where the file has track η_rel, φ_rel, p_T)
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from matplotlib.figure import Figure
from tqdm import tqdm

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import RelevanceFile
from hepxai.explain.relevance_summary import RelevanceSummary, summarize_relevance
from hepxai.io.lock import owns_folder
from hepxai.plots.heatmap import relevance_heatmap, shared_limit
from hepxai.plots.jet_graph import jet_graph
from hepxai.plots.jet_map import jet_map
from hepxai.plots.style import save_figure
from hepxai.plots.summary import (
    category_share_plot,
    confident_jets_plot,
    feature_share_plot,
    rank_share_plot,
)

log = logging.getLogger(__name__)

SUMMARY_PLOTS: dict[str, Callable[..., Figure]] = {
    "feature_share": feature_share_plot,
    "rank_share": rank_share_plot,
    "category_share": category_share_plot,
    "confident_jets": confident_jets_plot,
}


def summary_figures(summary: RelevanceSummary) -> dict[str, Figure]:
    """Every dataset summary figure, by name."""
    return {name: plot(summary) for name, plot in SUMMARY_PLOTS.items()}


@owns_folder("out_dir")
def write_plots(
    relevance_file: RelevanceFile,
    out_dir: str | Path,
    *,
    jet_ids: Sequence[int],
    top_confident: int = 10,
    magnitude: bool = False,
    per_jet: bool = False,
    edge_threshold: float | None = None,
    formats: Sequence[str] = ("png", "pdf"),
    progress: bool = True,
) -> list[Path]:
    """Write the summaries of all jets and the heatmap, η–φ map and 3D graph of each of ``jet_ids``; returns
    the paths.

    Args:
        relevance_file: What :func:`hepxai.explain.relevance_file.read_relevance_file` returns.
        out_dir: Folder to write into (created).
        jet_ids: The jets to draw one by one.
        top_confident: Jets in the "most confidently H" summary.
        magnitude: Heatmaps of ``|R|`` instead of signed relevance.
        per_jet: Heatmaps with each jet's own colour scale and rows by its share of ``|R|``, instead of one
            scale and one row order for all jets.
        edge_threshold: Edge significance above which an edge is red; default: each jet's top 2%.
        formats: File formats, e.g. ``("png", "pdf")``.
        progress: Show a progress bar over jets.
    """
    out_dir = Path(out_dir)
    summary = summarize_relevance(relevance_file, top_confident=top_confident)
    paths = []
    for name, figure in summary_figures(summary).items():
        paths += save_figure(figure, out_dir / "summary" / name, formats)
    if not {"track_pt", "track_etarel", "track_phirel"} <= set(relevance_file.track_columns):
        log.info(
            "no track_pt/etarel/phirel in the relevance file: no η-φ maps; 3D graphs place tracks on a ring"
        )
    jets = [jet_relevance(relevance_file, jet_id) for jet_id in jet_ids]
    limit = None if per_jet else shared_limit(jets)
    for jet in tqdm(jets, desc="jets", unit="jet", leave=False, disable=not progress):
        heatmap = relevance_heatmap(jet, magnitude=magnitude, limit=limit, by_share=per_jet)
        paths += save_figure(heatmap, out_dir / "jets" / f"jet_{jet.jet_id}_heatmap", formats)
        if jet.has_kinematics:
            paths += save_figure(
                jet_map(jet, edge_threshold=edge_threshold),
                out_dir / "jets" / f"jet_{jet.jet_id}_map",
                formats,
            )
        paths += save_figure(
            jet_graph(jet, edge_threshold=edge_threshold),
            out_dir / "jets" / f"jet_{jet.jet_id}_graph",
            formats,
        )
    log.info("wrote %d files to %s", len(paths), out_dir)
    return paths
