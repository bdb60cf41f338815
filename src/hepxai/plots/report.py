"""One self-contained HTML report of a relevance file: summaries, a sortable jet table, and per jet the
heatmap and an interactive 3D graph. plotly.js and every image are embedded: the file opens offline.

Each jet's 3D graph is drawn when its section is opened and released when it is closed, so a report with many
jets stays within the browser's limit of live WebGL contexts.
"""

from __future__ import annotations

import base64
import html
import io
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import plotly.offline
from matplotlib.figure import Figure
from tqdm import tqdm

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import RelevanceFile
from hepxai.explain.relevance_summary import jet_overview, summarize_relevance
from hepxai.plots.gallery import summary_figures
from hepxai.plots.heatmap import relevance_heatmap
from hepxai.plots.jet_graph import jet_graph_plotly
from hepxai.plots.style import plot_style

log = logging.getLogger(__name__)

OPEN_JETS = 3  # jet sections open (and 3D graphs drawn) when the report loads
TABLE_ROWS = 1000

_SUMMARY_CAPTIONS = {
    "feature_share": "Mean share of each jet's |relevance| per feature, H→bb against QCD jets.",
    "rank_share": "Mean share of each jet's |relevance| on the track of each pT rank (1 = hardest).",
    "category_share": "Relevance share of muon, electron and b-hadron tracks against their track share.",
    "top_feature": "How often a feature is a track's most relevant one.",
    "confident_jets": "Feature shares of the jets the model is most confident are H.",
}

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 1500px; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #555; }
.summary-grid { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.summary-grid figure { margin: 0; max-width: 480px; }
.summary-grid img { width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; cursor: pointer; user-select: none; } th::after { content: " \\2195"; color: #999; }
tr.signal td:nth-child(2) { color: #c0392b; font-weight: bold; }
.table-wrap { max-height: 26em; overflow-y: auto; display: inline-block; }
details.jet { border-top: 1px solid #ccc; padding: 0.5em 0; }
details.jet summary { font-size: 1.1em; font-weight: bold; cursor: pointer; }
.jet-row { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.jet-row img.heatmap { max-width: 640px; width: 100%; }
.graph3d { width: 720px; height: 560px; border: 1px solid #ddd; }
"""

_SCRIPT = """
function sortTable(th) {
  const table = th.closest('table'), body = table.tBodies[0], column = th.cellIndex;
  const ascending = th.dataset.order !== 'asc';
  th.dataset.order = ascending ? 'asc' : 'desc';
  const key = row => { const t = row.cells[column].dataset.value ?? row.cells[column].textContent;
                       const n = parseFloat(t); return isNaN(n) ? t : n; };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1); });
  rows.forEach(row => body.appendChild(row));
}
function showGraph(details) {
  const target = details.querySelector('.graph3d');
  if (details.open) {
    const figure = JSON.parse(document.getElementById(target.dataset.figure).textContent);
    Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
  } else { Plotly.purge(target); }
}
document.querySelectorAll('details.jet').forEach(d => {
  d.addEventListener('toggle', () => showGraph(d)); if (d.open) showGraph(d); });
"""


def _png(figure: Figure, dpi: int) -> str:
    buffer = io.BytesIO()
    with plot_style():
        figure.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _jet_table(relevance_file: RelevanceFile, linked: set[int]) -> str:
    table = jet_overview(relevance_file, max_jets=TABLE_ROWS)
    headers = {
        "jet_id": "jet",
        "label": "true",
        "prob_H": "P(H)",
        "explained_logit": "explained logit",
        "fj_pt": "jet p<sub>T</sub> [GeV]",
        "fj_sdmass": "soft-drop mass [GeV]",
        "tracks": "tracks",
        "top_feature": "most relevant feature",
    }
    head = "".join(f'<th onclick="sortTable(this)">{headers[c]}</th>' for c in table.columns)
    rows = []
    for record in table.to_dict("records"):
        cells = []
        for column, value in record.items():
            if column == "jet_id":
                text = f'<a href="#jet-{value}">{value}</a>' if value in linked else str(value)
            elif column == "label":
                text = {1: "H", 0: "QCD"}.get(int(value), "?")
            elif isinstance(value, float):
                text = f"{value:.4g}"
            else:
                text = html.escape(str(value))
            cells.append(f'<td data-value="{html.escape(str(value))}">{text}</td>')
        css = ' class="signal"' if record.get("label") == 1 else ""
        rows.append(f"<tr{css}>{''.join(cells)}</tr>")
    note = (
        f"<p>The {TABLE_ROWS} jets with the highest P(H) of {len(relevance_file.jets)}.</p>"
        if len(relevance_file.jets) > TABLE_ROWS
        else ""
    )
    return (
        f'{note}<div class="table-wrap"><table id="jet-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def write_report(
    relevance_file: RelevanceFile,
    path: str | Path,
    *,
    jet_ids: Sequence[int],
    top_confident: int = 10,
    magnitude: bool = False,
    edge_threshold: float | None = None,
    title: str = "Relevance report",
    progress: bool = True,
) -> Path:
    """Write the HTML report; written to a temporary name and renamed when complete.

    Args:
        relevance_file: What :func:`hepxai.explain.relevance_file.read_relevance_file` returns.
        path: The HTML file to write.
        jet_ids: The jets that get a section with heatmap and 3D graph, in this order.
        top_confident: Jets in the "most confidently H" summary.
        magnitude: Heatmaps of ``|R|`` instead of signed relevance.
        edge_threshold: Edge significance above which an edge is red; default: each jet's top 2%.
        title: The page title.
        progress: Show a progress bar over jets.
    """
    path = Path(path)
    summary = summarize_relevance(relevance_file, top_confident=top_confident)
    figures = "".join(
        f'<figure><img class="summary-plot" id="summary-{name}" alt="{name}" '
        f'src="data:image/png;base64,{_png(figure, 80)}">'
        f"<figcaption>{_SUMMARY_CAPTIONS[name]}</figcaption></figure>"
        for name, figure in summary_figures(summary).items()
    )
    sections = []
    for index, jet_id in enumerate(tqdm(jet_ids, desc="jets", unit="jet", leave=False, disable=not progress)):
        jet = jet_relevance(relevance_file, jet_id)
        heatmap = _png(relevance_heatmap(jet, magnitude=magnitude), 80)
        graph = jet_graph_plotly(jet, edge_threshold=edge_threshold).to_json().replace("</", "<\\/")
        sections.append(
            f'<details class="jet" id="jet-{jet_id}"{" open" if index < OPEN_JETS else ""}>'
            f"<summary>{html.escape(jet.caption)}, {jet.num_tracks} tracks</summary>"
            f'<div class="jet-row"><img class="heatmap" alt="heatmap of jet {jet_id}" '
            f'src="data:image/png;base64,{heatmap}">'
            f'<div class="graph3d" id="graph-{jet_id}" data-figure="figure-{jet_id}"></div></div>'
            f'<script type="application/json" id="figure-{jet_id}">{graph}</script></details>'
        )
    meta = ", ".join(f"{key}: {html.escape(str(value))}" for key, value in relevance_file.meta.items())
    counts = ", ".join(f"{count} {name}" for name, count in summary.num_jets.items())
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style><script>{plotly.offline.get_plotlyjs()}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p class='meta'>{len(relevance_file.jets)} jets ({counts}); {meta}</p>"
        f'<h2>Dataset summary</h2><div class="summary-grid">{figures}</div>'
        f"<h2>Jets</h2>{_jet_table(relevance_file, set(jet_ids))}"
        "<h2>Jets one by one</h2><p>Open a jet to draw its 3D graph; drag to rotate, scroll to zoom, hover a "
        "track for its values. Heatmap columns: tracks by increasing p<sub>T</sub>; rows: features.</p>"
        f"{''.join(sections)}<script>{_SCRIPT}</script></body></html>"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.partial")
    temporary.write_text(page, encoding="utf-8")
    os.replace(temporary, path)
    log.info("wrote the report of %d jets to %s (%.1f MB)", len(jet_ids), path, path.stat().st_size / 1e6)
    return path
