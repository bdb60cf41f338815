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
import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

import plotly.graph_objects as go
import plotly.offline
from matplotlib.figure import Figure
from PIL import Image
from plotly.utils import PlotlyJSONEncoder
from tqdm import tqdm

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import RelevanceFile
from hepxai.explain.relevance_summary import jet_overview, summarize_relevance
from hepxai.io.atomic import write_text
from hepxai.io.lock import owns_file
from hepxai.io.yaml_files import read_yaml
from hepxai.metrics.classification import rejection_text
from hepxai.plots.gallery import summary_figures
from hepxai.plots.heatmap import relevance_heatmap_plotly, shared_limit
from hepxai.plots.jet_graph import jet_graph_plotly
from hepxai.plots.jet_map import jet_map_plotly
from hepxai.plots.labels import feature_label
from hepxai.plots.style import FIGURE_DPI, plot_style

log = logging.getLogger(__name__)

OPEN_JETS = 1  # jet sections open (and drawn) when the report loads: the page is usable sooner
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
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em auto; max-width: 2300px; color: #222;
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
.linked { border: 1px solid #ddd; }
.graph3d { width: 760px; height: 680px; } .map2d { width: 700px; height: 740px; }
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
// plotly.js and each jet's figures travel gzipped in base64; fetching them as data: URLs lets the browser
// decode natively and unpack with DecompressionStream (plotly.js once, before the first graph).
async function unpack(id) {
  const packed = await fetch('data:application/gzip;base64,' + document.getElementById(id).textContent);
  return new Response(packed.body.pipeThrough(new DecompressionStream('gzip'))).text();
}
const plotlyReady = unpack('plotly-gz').then(text => {
  const script = document.createElement('script');
  script.textContent = text;
  document.head.appendChild(script);
});
// A track hovered in one of a jet's figures is ringed in the others (the heatmap: its column framed).
const RING = '#009e73';
function trackPoints(div) {
  const points = new Map();
  div.data.forEach(trace => (Array.isArray(trace.customdata) ? trace.customdata : []).forEach(
    ([track, ...point]) => points.set(track, point)));
  return points;
}
function addRing(div) {
  const spatial = div.data.some(trace => trace.type === 'scatter3d');
  const ring = {type: spatial ? 'scatter3d' : 'scatter', mode: 'markers', x: [], y: [], hoverinfo: 'skip',
    showlegend: false, name: 'hovered track',
    marker: {symbol: 'circle-open', size: spatial ? 22 : 44, color: RING,
             line: {width: 4, color: RING}}};
  if (spatial) ring.z = [];
  div.points = trackPoints(div);
  return Plotly.addTraces(div, ring).then(() => { div.ring = div.data.length - 1; });
}
function highlight(details, track) {
  details.querySelectorAll('.linked').forEach(div => {
    if (div.ring !== undefined) {
      const point = div.points.get(track);
      const update = {x: [point ? [point[0]] : []], y: [point ? [point[1]] : []]};
      if (div.data[div.ring].type === 'scatter3d') update.z = [point ? [point[2]] : []];
      Plotly.restyle(div, update, [div.ring]);
    } else if (div.tracks) {
      const column = div.tracks.indexOf(track);
      const frame = column < 0 ? [] : [{type: 'rect', xref: 'x', yref: 'paper', x0: column - 0.5,
        x1: column + 0.5, y0: 0, y1: 1, line: {color: RING, width: 3}}];
      Plotly.relayout(div, {shapes: div.shapes.concat(frame)});
    }
  });
}
async function draw(details) {
  const figures = JSON.parse(await unpack(details.dataset.figures));
  for (const div of details.querySelectorAll('.linked')) {
    const figure = figures[div.dataset.name];
    await new Promise(resolve => setTimeout(resolve, 0));  // let each figure paint before the next (3D last)
    await Plotly.newPlot(div, figure.data, figure.layout, {responsive: true, displaylogo: false});
    if (div.dataset.name === 'heatmap') {
      div.tracks = figure.layout.meta.tracks; div.shapes = figure.layout.shapes || [];
      div.on('plotly_hover', event => highlight(details, div.tracks[event.points[0].x]));
    } else {
      await addRing(div);
      div.on('plotly_hover', event => {
        const data = event.points[0].customdata;
        if (Array.isArray(data)) highlight(details, data[0]);
      });
    }
  }
}
function showGraph(details) {
  plotlyReady.then(() => {
    if (details.open) { draw(details); }
    else { details.querySelectorAll('.linked').forEach(div => Plotly.purge(div)); }
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


def _packed_figures(figures: dict[str, go.Figure]) -> str:
    """``{name: figure}`` as gzipped JSON in base64, the form the page unpacks when a jet is opened: a fifth
    of the plain JSON, whose coordinates repeat once per edge."""
    text = json.dumps(
        {name: figure.to_plotly_json() for name, figure in figures.items()}, cls=PlotlyJSONEncoder
    )
    return base64.b64encode(gzip.compress(text.encode("utf-8"), 9, mtime=0)).decode("ascii")


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


_METHOD_NAMES = {"lrp": "LRP", "lrp_epsilon": "LRP-ε", "gradient_x_input": "gradient × input"}
_RULE_NAMES = {"Epsilon": "ε rule", "Gamma": "γ rule", "ZPlus": "z⁺ rule", "AlphaBeta": "αβ rule"}
_PARAMETER_NAMES = {"epsilon": "ε", "gamma": "γ", "alpha": "α", "beta": "β"}


def _readable(value: object) -> str:
    """A setting as text for people: ``Epsilon(epsilon=1e-06)`` (how the file records a rule) becomes
    ``ε rule (ε = 1e-06)``; a list or mapping becomes its items joined."""
    if isinstance(value, dict):
        return ", ".join(f"{key}: {_readable(item)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(_readable(item) for item in value)

    def rule(match: re.Match[str]) -> str:
        parameters = [
            f"{_PARAMETER_NAMES.get(name.strip(), name.strip())} = {number.strip()}"
            for name, _, number in (part.partition("=") for part in match[2].split(",") if "=" in part)
        ]
        return f"{_RULE_NAMES[match[1]]} ({', '.join(parameters)})" if parameters else _RULE_NAMES[match[1]]

    return re.sub(rf"\b({'|'.join(_RULE_NAMES)})\(([^)]*)\)", rule, str(value))


def _header(relevance_file: RelevanceFile, summary_counts: dict[str, int]) -> str:
    """The run in a few lines (what was explained, how, model and data); every setting on demand."""
    meta = relevance_file.meta
    counts = ", ".join(f"{count} {name}" for name, count in summary_counts.items())
    method = _METHOD_NAMES.get(str(meta.get("method", "?")), str(meta.get("method", "?")))
    if "rules" in meta:
        method += f" ({_readable(meta['rules'])})"
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
        f"<dt>{html.escape(str(k))}</dt><dd>{html.escape(_readable(v))}</dd>" for k, v in meta.items()
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
        jet_figures = {
            "heatmap": relevance_heatmap_plotly(jet, magnitude=magnitude, limit=limit, by_share=per_jet),
            "graph": jet_graph_plotly(jet, edge_threshold=edge_threshold),
        }
        if jet.has_kinematics:
            jet_figures["map"] = jet_map_plotly(jet, edge_threshold=edge_threshold)
        views = "".join(
            f'<div class="linked {css}" data-name="{name}"></div>'
            for name, css in (("heatmap", "heatmap"), ("map", "map2d"), ("graph", "graph3d"))
            if name in jet_figures
        )
        sections.append(
            f'<details class="jet" id="jet-{jet_id}" data-figures="figures-{jet_id}"'
            f"{' open' if index < OPEN_JETS else ''}>"
            f"<summary>{html.escape(jet.caption)}, {jet.num_tracks} tracks "
            f'<span class="note">— {html.escape(jet.decision)}</span></summary>'
            f'<div class="jet-row">{views}</div>'
            f'<script type="application/gzip;base64" id="figures-{jet_id}">'
            f"{_packed_figures(jet_figures)}</script>"
            "</details>"
        )
    evaluation = Path(evaluation) if evaluation is not None else None
    has_performance = evaluation is not None and (evaluation / "metrics.yaml").is_file()
    toc = [("performance", "Tagger performance")] if has_performance else []
    toc += [("summary", "Dataset summary"), ("jets", "Jets"), ("jet-sections", "Jets one by one")]
    plotly_js = base64.b64encode(
        gzip.compress(plotly.offline.get_plotlyjs().encode("utf-8"), 9, mtime=0)
    ).decode("ascii")
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
        '<h2 id="jet-sections">Jets one by one</h2><p class="note">Open a jet to draw its figures: the '
        "heatmap of relevance per track (columns, by increasing p<sub>T</sub>) and feature (rows, "
        + ("by the jet's share of |R|" if per_jet else "grouped by category")
        + "), the η–φ map (Δη, Δφ to the jet axis on one scale, so that distances are ΔR; marker area ∝ "
        "track p<sub>T</sub>) and the 3D graph (height: p<sub>T</sub>; drag to rotate, scroll to zoom). "
        "Hover a track in any of them, or a heatmap column, to ring it in the others. Node colour: the "
        "track's relevance summed over features (red: for the explained logit, blue: against); orange rim: "
        "track from a b-hadron decay (truth). Circles are hadrons, diamonds muons, squares electrons, in the "
        "PNGs as here; the most relevant tracks carry their number."
        + (
            " Dashed lines in the 3D graph: each jet's top relevant walks track i → track j → jet (red: for "
            "the explained logit, blue: against; width grows with |R|; a ring is a self walk j → j); hover "
            "for R."
            if relevance_file.has_walks
            else ""
        )
        + "</p>"
        f"{''.join(sections)}"
        f'<p class="note">This file embeds plotly.js (gzipped, {len(plotly_js) / 1e6:.1f} MB) and every '
        "image so that it opens offline; each jet's figures are gzipped JSON, drawn only while its "
        "section is open.</p>"
        f"<script>{_SCRIPT}</script></body></html>"
    )
    write_text(path, page)
    log.info("wrote the report of %d jets to %s (%.1f MB)", len(jet_ids), path, path.stat().st_size / 1e6)
    return path
