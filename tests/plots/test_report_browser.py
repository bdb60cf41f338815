"""The HTML report opened from disk by headless Chromium, offline: 3D graphs and summary images render."""

import html
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from hepxai.explain.jet_relevance import jet_relevance
from hepxai.explain.relevance_file import read_relevance_file
from hepxai.plots.report import OPEN_JETS, write_report

CHROMIUM = next((path for name in ("chromium", "chromium-browser") if (path := shutil.which(name))), None)
JETS = [1, 3, 5, 0]  # the first OPEN_JETS are drawn on load, the last stays closed
SCENE_COLOR = np.array([229, 236, 246])  # the 3D scene panes of plotly's default template, drawn by WebGL
MISCLASSIFIED = 2  # a QCD jet (even id) given P(H) = 0.9 for the test
# Waits until every image has decoded, then records its size where the dumped DOM shows it.
MEASURE_IMAGES = """<script>window.addEventListener('load', () => document.querySelectorAll('img').forEach(
  image => image.dataset.naturalWidth = image.naturalWidth));</script></body>"""
# What a reader does: click the table link of the closed jet, tick "only misclassified", sort by P(H) twice.
INTERACT = """<script>window.addEventListener('load', () => setTimeout(() => {
  document.querySelector('#jet-table a[href="#jet-%d"]').click();
  const box = document.getElementById('only-misclassified'); box.checked = true;
  box.dispatchEvent(new Event('change'));
  document.body.dataset.visibleRows = Array.from(document.querySelectorAll('#jet-table tbody tr'))
    .filter(row => getComputedStyle(row).display !== 'none').map(row => row.cells[0].textContent).join(',');
  const header = document.querySelectorAll('#jet-table th')[2]; header.click(); header.click();
  document.body.dataset.order = header.dataset.order;
}, 500));</script></body>"""


@pytest.fixture(scope="module")
def chromium():
    if CHROMIUM is None:
        reason = "the report browser test needs Chromium (Debian: apt-get install chromium)"
        if os.environ.get("HEPXAI_REQUIRE_ALL") == "1":
            pytest.fail(f"HEPXAI_REQUIRE_ALL=1 but {reason}")
        pytest.skip(reason)
    return CHROMIUM


@pytest.fixture(scope="module")
def relevance(cms_relevance_path):
    relevance = read_relevance_file(cms_relevance_path)
    relevance.jets.loc[relevance.jets["jet_id"] == MISCLASSIFIED, "prob_H"] = 0.9
    return relevance


@pytest.fixture(scope="module")
def report_path(relevance, tmp_path_factory):
    path = write_report(
        relevance, tmp_path_factory.mktemp("report") / "report.html", jet_ids=JETS, progress=False
    )
    page = path.read_text(encoding="utf-8")
    path.write_text(page.replace("</body>", MEASURE_IMAGES), encoding="utf-8")
    return path


# Hover the heatmap's column 2 of the first jet (the event plotly emits under the mouse); record where the
# map and the 3D graph put their ring.
HOVER = """<script>window.addEventListener('load', () => setTimeout(() => {
  const section = document.getElementById('jet-%d');
  const heatmap = section.querySelector('.linked.heatmap');
  heatmap.emit('plotly_hover', {points: [{x: 2, y: 0}]});
  setTimeout(() => section.querySelectorAll('.linked.map2d, .linked.graph3d').forEach(div => {
    const ring = div.data[div.data.length - 1];
    div.dataset.ring = JSON.stringify([ring.name, ring.x, ring.y]); }), 300);
}, 3000));</script></body>"""


@pytest.fixture(scope="module")
def interaction_path(relevance, tmp_path_factory):
    path = write_report(
        relevance, tmp_path_factory.mktemp("interaction") / "report.html", jet_ids=JETS, progress=False
    )
    page = path.read_text(encoding="utf-8")
    path.write_text(page.replace("</body>", INTERACT % JETS[-1]), encoding="utf-8")
    return path


def open_in_chromium(chromium, report_path, tmp_path, *args):
    """Run headless Chromium on the report with the network cut off; returns stdout."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--enable-unsafe-swiftshader",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--host-resolver-rules=MAP * ~NOTFOUND",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--virtual-time-budget=30000",  # software WebGL on a busy machine
        *args,
        report_path.as_uri(),
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=180, check=True).stdout


def test_dom_shows_3d_graphs_and_summary_images(chromium, report_path, tmp_path):
    dom = open_in_chromium(chromium, report_path, tmp_path, "--dump-dom")
    rendered = re.sub(
        r"<script[^>]*>.*?</script>", "", dom, flags=re.DOTALL
    )  # what the page drew, not its code
    sections = {jet: rendered[rendered.index(f'id="jet-{jet}"') :] for jet in JETS}
    for jet in JETS[:OPEN_JETS]:
        graph = sections[jet][: sections[jet].index("</details>")]
        for view in ("heatmap", "map2d", "graph3d"):  # heatmap, eta-phi map and 3D graph side by side
            assert re.search(rf'class="linked {view} js-plotly-plot"', graph), f"jet {jet}: no {view} drawn"
        assert 'class="gl-container"' in graph, f"jet {jet}: no 3D scene"
        assert "<canvas" in graph, f"jet {jet}: no WebGL canvas"
        assert "most significant edges" in graph  # the legend, drawn by plotly
        assert "edge<br>significance" in graph or "significance [%]" in graph  # the colour bar
    closed = sections[JETS[-1]][: sections[JETS[-1]].index("</details>")]
    assert "js-plotly-plot" not in closed  # drawn only when opened
    assert "get.webgl.org" not in rendered  # plotly's "WebGL is not supported" notice
    widths = re.findall(r'<img class="summary-plot zoomable"[^>]*data-natural-width="(\d+)"', rendered)
    assert len(widths) == 4
    assert all(int(w) > 600 for w in widths)  # drawn large enough to read, and enlargeable
    assert rendered.count('class="summary-plot zoomable"') == 4


@pytest.mark.slow  # the DOM test above is the fast check that the browser draws the report
def test_screenshot_is_not_blank(chromium, report_path, tmp_path):
    screenshot = tmp_path / "report.png"
    open_in_chromium(
        chromium,
        report_path,
        tmp_path,
        "--hide-scrollbars",
        "--window-size=1400,6000",
        f"--screenshot={screenshot}",
    )
    pixels = np.asarray(Image.open(screenshot).convert("RGB")).astype(int)
    assert pixels.shape == (6000, 1400, 3)
    assert pixels.std() > 20  # not a blank page
    non_white = (np.abs(pixels - 255).max(axis=-1) > 10).mean()
    assert non_white > 0.05
    scene = (np.abs(pixels - SCENE_COLOR).max(axis=-1) <= 4).sum()
    assert scene > 5_000, f"only {scene} pixels of the 3D scene drawn"


def test_table_link_opens_and_draws_a_closed_jet_and_the_filter_shows_misclassified(
    chromium, interaction_path, relevance, tmp_path
):
    dom = open_in_chromium(chromium, interaction_path, tmp_path, "--dump-dom")
    rendered = re.sub(r"<script[^>]*>.*?</script>", "", dom, flags=re.DOTALL)
    closed = rendered[rendered.index(f'id="jet-{JETS[-1]}"') :]
    closed = closed[: closed.index("</details>")]
    assert re.match(rf'id="jet-{JETS[-1]}"[^>]*\sopen', closed)  # the click opened the section ...
    assert "js-plotly-plot" in closed  # ... and drew its scene
    assert 'class="gl-container"' in closed
    jets = relevance.jets
    wrong = jets[(jets["prob_H"] >= 0.5) != (jets["label"] == 1)]["jet_id"].astype(int).tolist()
    assert MISCLASSIFIED in wrong
    visible = re.search(r'data-visible-rows="([^"]*)"', rendered).group(1)
    assert sorted(int(j) for j in visible.split(",")) == sorted(wrong)
    assert 'data-order="desc"' in rendered  # clicked twice: the header shows the direction
    assert re.search(r'<th onclick="sortTable\(this\)" data-order="desc">P\(H\)</th>', rendered)


def test_hovering_a_heatmap_column_rings_its_track_in_the_map_and_the_3d_graph(chromium, relevance, tmp_path):
    path = write_report(relevance, tmp_path / "report.html", jet_ids=JETS[:1], progress=False)
    page = path.read_text(encoding="utf-8")
    path.write_text(page.replace("</body>", HOVER % JETS[0]), encoding="utf-8")
    dom = open_in_chromium(chromium, path, tmp_path, "--dump-dom")
    jet = jet_relevance(relevance, JETS[0])
    for view in ("map2d", "graph3d"):
        found = re.search(rf'class="linked {view}[^"]*"[^>]*data-ring="([^"]*)"', dom)
        assert found, f"no ring in the {view}"
        name, x, y = json.loads(html.unescape(found[1]))
        assert name == "hovered track"
        # column 2 of the heatmap is the jet's third track: its (eta_rel, phi_rel) in both views
        np.testing.assert_allclose([x[0], y[0]], [jet.etarel[2], jet.phirel[2]], rtol=1e-6)
