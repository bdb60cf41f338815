"""One self-contained HTML report of a relevance file: summaries, a sortable jet table, and per jet the
heatmap and an interactive 3D graph. plotly.js and every image are embedded: the file opens offline.

Each jet's 3D graph is drawn when its section is opened and released when it is closed, so a report with many
jets stays within the browser's limit of live WebGL contexts.
"""

from __future__ import annotations

import base64
import gzip
import html
import io
import logging
from collections.abc import Sequence
from pathlib import Path

import plotly.offline
from matplotlib.figure import Figure
from PIL import Image
from tqdm import tqdm

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import RelevanceFile
from hepxai.explain.relevance_summary import jet_overview, summarize_relevance
from hepxai.io.atomic import write_text
from hepxai.io.lock import owns_file
from hepxai.io.yaml_files import read_yaml
from hepxai.metrics.classification import rejection_text
from hepxai.plots.gallery import summary_figures
from hepxai.plots.heatmap import relevance_heatmap, shared_limit
from hepxai.plots.jet_graph import jet_graph_plotly
from hepxai.plots.labels import feature_label
from hepxai.plots.style import FIGURE_DPI, plot_style

log = logging.getLogger(__name__)

OPEN_JETS = 3  # jet sections open (and 3D graphs drawn) when the report loads
TABLE_ROWS = 1000

_SUMMARY_CAPTIONS = {
    "feature_share": "Mean share of each jet's |relevance| per feature, for (right) and against (left) the "
    "explained logit, with the net share ± standard error; H→bb against QCD jets.",
    "rank_share": "Relevance of the track of each pT rank (1 = hardest) over an even split of the jet's "
    "|relevance| (1: no preference), with its standard error.",
    "category_share": "Relevance share of muon, electron and b-hadron tracks against their track share.",
    "confident_jets": "Feature shares of the jets the model is most confident are H.",
}

_STYLE = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 1500px; color: #222;
       padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
nav.toc { background: #f6f6f6; padding: 0.4em 0.8em; display: inline-block; }
nav.toc a { margin-right: 1.2em; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 0.15em 1em; margin: 0.6em 0; }
dl.meta dt { color: #555; } dl.meta dd { margin: 0; }
.note { color: #555; font-size: 0.9em; max-width: 70em; }
.figure-grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 1em; }
.figure-grid figure { margin: 0; }
.figure-grid img { width: 100%; border: 1px solid #ddd; cursor: zoom-in; }
img.zoomed { position: fixed; inset: 2vh 2vw; width: 96vw !important; height: 96vh; object-fit: contain;
             background: white; z-index: 10; cursor: zoom-out; box-shadow: 0 0 0 100vmax rgba(0,0,0,0.6); }
figcaption { font-size: 0.9em; color: #444; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #eee; cursor: pointer; user-select: none; position: sticky; top: 0; }
th::after { content: " \\2195"; color: #999; }
th[data-order="asc"]::after { content: " \\25B2"; color: #222; }
th[data-order="desc"]::after { content: " \\25BC"; color: #222; }
tr.signal td:nth-child(2) { color: #c0392b; font-weight: bold; }
tr.misclassified { background: #fff3cd; }
tr.hidden { display: none; }
.table-wrap { max-height: 28em; overflow-y: auto; display: inline-block; }
details.jet { border-top: 1px solid #ccc; padding: 0.5em 0; }
details.jet summary { font-size: 1.1em; font-weight: bold; cursor: pointer; }
.jet-row { display: flex; flex-wrap: wrap; gap: 1em; align-items: flex-start; }
.jet-row img.heatmap { max-width: 680px; width: 100%; cursor: zoom-in; }
.graph3d { width: 760px; height: 680px; border: 1px solid #ddd; }
"""

_SCRIPT = """
function sortTable(th) {
  const table = th.closest('table'), body = table.tBodies[0], column = th.cellIndex;
  const ascending = th.dataset.order !== 'asc';
  table.querySelectorAll('th').forEach(h => delete h.dataset.order);
  th.dataset.order = ascending ? 'asc' : 'desc';
  const key = row => { const t = row.cells[column].dataset.value ?? row.cells[column].textContent;
                       const n = parseFloat(t); return isNaN(n) ? t : n; };
  const rows = Array.from(body.rows).sort((a, b) => {
    const x = key(a), y = key(b); return (x < y ? -1 : x > y ? 1 : 0) * (ascending ? 1 : -1); });
  rows.forEach(row => body.appendChild(row));
}
function filterTable() {
  const misclassified = document.getElementById('only-misclassified').checked;
  const drawn = document.getElementById('only-drawn').checked;
  let shown = 0;
  document.querySelectorAll('#jet-table tbody tr').forEach(row => {
    const hide = (misclassified && !row.classList.contains('misclassified')) ||
                 (drawn && !row.classList.contains('drawn'));
    row.classList.toggle('hidden', hide); if (!hide) shown += 1; });
  document.getElementById('shown-rows').textContent = shown;
}
// plotly.js travels gzipped (a third of its size); the browser unpacks it once, before the first graph.
const plotlyReady = (async () => {
  const text = atob(document.getElementById('plotly-gz').textContent);
  const packed = Uint8Array.from(text, c => c.charCodeAt(0));
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'));
  const script = document.createElement('script');
  script.textContent = await new Response(stream).text();
  document.head.appendChild(script);
})();
function showGraph(details) {
  const target = details.querySelector('.graph3d');
  plotlyReady.then(() => {
    if (details.open) {
      const figure = JSON.parse(document.getElementById(target.dataset.figure).textContent);
      Plotly.newPlot(target, figure.data, figure.layout, {responsive: true, displaylogo: false});
    } else { Plotly.purge(target); }
  });
}
function openJet(hash) {
  const details = hash && document.getElementById(hash.slice(1));
  if (details && details.matches('details.jet')) {
    details.open = true; details.scrollIntoView(); }
}
document.querySelectorAll('details.jet').forEach(d => {
  d.addEventListener('toggle', () => showGraph(d)); if (d.open) showGraph(d); });
document.querySelectorAll('a.jet-link').forEach(a => a.addEventListener('click', event => {
  event.preventDefault(); history.replaceState(null, '', a.hash); openJet(a.hash); }));
document.querySelectorAll('img.zoomable').forEach(image => image.addEventListener('click',
  () => image.classList.toggle('zoomed')));
document.addEventListener('keydown', event => { if (event.key === 'Escape')
  document.querySelectorAll('img.zoomed').forEach(image => image.classList.remove('zoomed')); });
window.addEventListener('hashchange', () => openJet(location.hash));
openJet(location.hash);
"""


def _png(figure: Figure) -> str:
    """The figure as a base64 PNG of 256 colours: a third of the full-colour size, no visible difference for
    maps, bars and text."""
    buffer = io.BytesIO()
    with plot_style():
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI)
    with Image.open(buffer) as image:
        packed = io.BytesIO()
        image.convert("RGB").quantize(256).save(packed, format="png", optimize=True, dpi=image.info["dpi"])
    return base64.b64encode(packed.getvalue()).decode("ascii")


def _base64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")


def _probability(value: float) -> str:
    """P(H) with its digits where they matter: ``0.8731``, ``1 − 3e-05``, ``2e-06``."""
    if value > 0.9999:
        return f"1 − {1 - value:.0e}"
    if value < 0.0001:
        return f"{value:.0e}"
    return f"{value:.4f}"


def _jet_table(relevance_file: RelevanceFile, drawn: set[int]) -> str:
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
                text = (
                    f'<a class="jet-link" href="#jet-{value}">{value}</a>'
                    if value in drawn
                    else f'<span title="not drawn here: hepxai report --jet-ids {value} ...">{value}</span>'
                )
            elif column == "label":
                text = {1: "H", 0: "QCD"}.get(int(value), "?")
            elif column == "prob_H":
                text = _probability(float(value))
            elif column == "top_feature":
                text = html.escape(feature_label(str(value)))
            elif isinstance(value, float):
                text = f"{value:.4g}"
            else:
                text = html.escape(str(value))
            cells.append(f'<td data-value="{html.escape(str(value))}">{text}</td>')
        classes = []
        if record.get("label") == 1:
            classes.append("signal")
        if (
            "label" in record
            and record["label"] in (0, 1)
            and (record["prob_H"] >= 0.5) != (record["label"] == 1)
        ):
            classes.append("misclassified")
        if record["jet_id"] in drawn:
            classes.append("drawn")
        rows.append(f'<tr class="{" ".join(classes)}">{"".join(cells)}</tr>')
    num_wrong = sum("misclassified" in row for row in rows)
    shown = (
        f"the {TABLE_ROWS} jets with the highest P(H) of {len(relevance_file.jets)}"
        if len(relevance_file.jets) > TABLE_ROWS
        else f"all {len(table)} explained jets"
    )
    controls = (
        f'<p class="note">{shown.capitalize()}, highest P(H) first; click a header to sort. Jets with a '
        f"link ({len(drawn)}) are drawn below; <code>hepxai report --jet-ids ...</code> draws others. "
        "Misclassified jets (P(H) on the wrong side of 0.5) are shaded.</p>"
        '<p><label><input type="checkbox" id="only-misclassified" onchange="filterTable()"> only '
        f"misclassified jets ({num_wrong})</label> &nbsp; "
        '<label><input type="checkbox" id="only-drawn" onchange="filterTable()"> only jets drawn '
        "below</label>"
        f' &nbsp; <span class="note">showing <span id="shown-rows">{len(rows)}</span> rows</span></p>'
    )
    return (
        f'{controls}<div class="table-wrap"><table id="jet-table"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


def _header(relevance_file: RelevanceFile, summary_counts: dict[str, int]) -> str:
    """The run in a few lines (what was explained, how, model and data); every setting on demand."""
    meta = relevance_file.meta
    counts = ", ".join(f"{count} {name}" for name, count in summary_counts.items())
    method = str(meta.get("method", "?"))
    if "rules" in meta:
        method += f" ({meta['rules']})"
    rows = {
        "explained": f"{len(relevance_file.jets)} jets ({counts}), logit {meta.get('target', 'H')}",
        "method": method,
        "relevance of": f"{meta.get('input', '?')} inputs, node relevance aggregated by "
        f"{meta.get('aggregate', '?')}",
        "model": meta.get("model", "?"),
        "data": f"{meta.get('data', '?')} (schema {meta.get('schema', '?')})",
    }
    items = "".join(f"<dt>{key}</dt><dd>{html.escape(str(value))}</dd>" for key, value in rows.items())
    settings = "".join(
        f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(str(v))}</dd>" for k, v in meta.items()
    )
    return (
        f'<dl class="meta">{items}</dl><details><summary class="note">every setting in the file</summary>'
        f'<dl class="meta">{settings}</dl></details>'
    )


def _rejection(tagger: dict, point: int) -> str:
    """The rejection at ``point``% H efficiency with its interval (bare in files written before intervals)."""
    value, low, high = (tagger.get(f"rejection_at_{point}{end}") for end in ("", "_low", "_high"))
    return html.escape(f"{value:.3g}" if low is None else rejection_text(value, low, high))


def _performance(evaluation: Path, num_explained: int) -> str:
    """The tagger's ROC, mass plot and metrics from an ``hepxai evaluate`` folder."""
    metrics = read_yaml(evaluation / "metrics.yaml")
    rows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(t['tagger'])}</td><td>{t['auc']:.4f}"
        + (f" ± {t['auc_error']:.4f}" if "auc_error" in t else "")
        + f"</td><td>{_rejection(t, 30)}</td><td>{_rejection(t, 50)}</td></tr>"
        for t in metrics["taggers"]
    )
    table = (
        "<table><thead><tr><th>tagger</th><th>ROC AUC</th><th>QCD rejection at 30% H eff.</th>"
        f"<th>at 50% H eff.</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    note = (
        f'<p class="note">Evaluated on {metrics["num_jets"]} jets ({metrics["num_H"]} H, '
        f"{metrics['num_QCD']} QCD) "
        f"that pass the jet selection. The relevance file explains {num_explained} jets: "
        "the two sets differ when the explanation reads another number of jets or another selection. "
        "Rejections in brackets: 68% Clopper–Pearson interval; &gt; x: no QCD jet passed the cut, so only "
        "the lower end x of the interval is known. AUC ± bootstrap standard deviation.</p>"
    )
    images = "".join(
        f'<figure><img class="zoomable" id="evaluation-{name}" alt="{name}" '
        f'src="data:image/png;base64,{_base64(evaluation / f"{name}.png")}">'
        f"<figcaption>{caption}</figcaption></figure>"
        for name, caption in (
            ("roc", "QCD rejection against H→bb̄ efficiency (log), with 68% Clopper–Pearson bands."),
            ("mass_sculpting", "Soft-drop mass shapes before and after the HIN cut at fixed QCD efficiency."),
        )
        if (evaluation / f"{name}.png").is_file()
    )
    return f'{table}{note}<div class="figure-grid">{images}</div>'


@owns_file("path")
def write_report(
    relevance_file: RelevanceFile,
    path: str | Path,
    *,
    jet_ids: Sequence[int],
    top_confident: int = 10,
    magnitude: bool = False,
    per_jet: bool = False,
    edge_threshold: float | None = None,
    evaluation: str | Path | None = None,
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
        per_jet: Heatmaps with each jet's own colour scale and rows by its share of ``|R|``.
        edge_threshold: Edge significance above which an edge is coloured; default: each jet's top 2%.
        evaluation: An ``hepxai evaluate`` folder (``metrics.yaml``, ``roc.png``, ``mass_sculpting.png``),
            shown first.
        title: The page title.
        progress: Show a progress bar over jets.
    """
    path = Path(path)
    summary = summarize_relevance(relevance_file, top_confident=top_confident)
    figures = "".join(
        f'<figure><img class="summary-plot zoomable" id="summary-{name}" alt="{name}" '
        f'src="data:image/png;base64,{_png(figure)}">'
        f"<figcaption>{_SUMMARY_CAPTIONS[name]}</figcaption></figure>"
        for name, figure in summary_figures(summary).items()
    )
    sections = []
    jets = [jet_relevance(relevance_file, jet_id) for jet_id in jet_ids]
    limit = None if per_jet else shared_limit(jets)
    for index, jet in enumerate(tqdm(jets, desc="jets", unit="jet", leave=False, disable=not progress)):
        jet_id = jet.jet_id
        heatmap = _png(relevance_heatmap(jet, magnitude=magnitude, limit=limit, by_share=per_jet))
        graph = jet_graph_plotly(jet, edge_threshold=edge_threshold).to_json().replace("</", "<\\/")
        sections.append(
            f'<details class="jet" id="jet-{jet_id}"{" open" if index < OPEN_JETS else ""}>'
            f"<summary>{html.escape(jet.caption)}, {jet.num_tracks} tracks "
            f'<span class="note">— {html.escape(jet.decision)}</span></summary>'
            f'<div class="jet-row"><img class="heatmap zoomable" alt="heatmap of jet {jet_id}" '
            f'src="data:image/png;base64,{heatmap}">'
            f'<div class="graph3d" id="graph-{jet_id}" data-figure="figure-{jet_id}"></div></div>'
            f'<script type="application/json" id="figure-{jet_id}">{graph}</script></details>'
        )
    evaluation = Path(evaluation) if evaluation is not None else None
    has_performance = evaluation is not None and (evaluation / "metrics.yaml").is_file()
    toc = [("performance", "Tagger performance")] if has_performance else []
    toc += [("summary", "Dataset summary"), ("jets", "Jets"), ("jet-sections", "Jets one by one")]
    plotly_js = base64.b64encode(gzip.compress(plotly.offline.get_plotlyjs().encode("utf-8"), 9)).decode(
        "ascii"
    )
    performance = (
        f'<h2 id="performance">Tagger performance</h2>{_performance(evaluation, len(relevance_file.jets))}'
        if has_performance
        else ""
    )
    page = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<style>{_STYLE}</style><script type="application/gzip;base64" id="plotly-gz">{plotly_js}</script>'
        "</head><body>"
        f"<h1>{html.escape(title)}</h1>{_header(relevance_file, summary.num_jets)}"
        '<nav class="toc">'
        + "".join(f'<a href="#{key}">{text}</a>' for key, text in toc)
        + "</nav>"
        + performance
        + '<h2 id="summary">Dataset summary</h2>'
        '<p class="note">Click a figure to enlarge it (Esc closes).</p>'
        f'<div class="figure-grid">{figures}</div>'
        f'<h2 id="jets">Jets</h2>{_jet_table(relevance_file, set(jet_ids))}'
        '<h2 id="jet-sections">Jets one by one</h2><p class="note">Open a jet to draw its 3D graph; drag to '
        "rotate, scroll to zoom, hover a track for its values. Heatmap columns: tracks by increasing "
        "p<sub>T</sub>, numbered as the nodes of the 3D graph; rows: features by their share of the jet's "
        "|R|. Node colour: the track's relevance summed over features (red: for the explained logit, blue: "
        "against); orange rim: track from a b-hadron decay (truth). Circles are hadrons, diamonds muons, "
        "squares electrons, in the PNGs as here."
        + (
            " Dashed lines: each jet's top relevant walks track i → track j → jet (red: for the explained "
            "logit, blue: against; width grows with |R|; a ring is a self walk j → j); hover for R."
            if relevance_file.has_walks
            else ""
        )
        + "</p>"
        f"{''.join(sections)}"
        f'<p class="note">This file embeds plotly.js (gzipped, {len(plotly_js) / 1e6:.1f} MB) and every '
        "image so that it opens offline; 3D graphs are drawn only while their section is open.</p>"
        f"<script>{_SCRIPT}</script></body></html>"
    )
    write_text(path, page)
    log.info("wrote the report of %d jets to %s (%.1f MB)", len(jet_ids), path, path.stat().st_size / 1e6)
    return path
