import base64
import gzip
import io
import re

import plotly.offline
import pytest
import yaml
from PIL import Image

from hepxai.cli import main


def test_plot_command(cms_relevance_path, tmp_path, capsys):
    out = tmp_path / "plots"
    code = main(
        [
            "-q",
            "plot",
            "--relevance",
            str(cms_relevance_path),
            "--out",
            str(out),
            "--top-confident",
            "1",
            "--formats",
            "png",
        ]
    )
    assert code == 0
    assert capsys.readouterr().out.strip() == str(out)
    heatmaps = sorted(p.name for p in (out / "jets").glob("*_heatmap.png"))
    assert heatmaps == ["jet_1_heatmap.png"]  # jet 1 has the highest P(H)
    assert len(list((out / "summary").glob("*.png"))) == 4


def test_max_jets_caps_the_selection(sanity_relevance_path, tmp_path, capsys):
    out = tmp_path / "plots"
    assert (
        main(
            [
                "plot",
                "--relevance",
                str(sanity_relevance_path),
                "--out",
                str(out),
                "--max-jets",
                "1",
                "--formats",
                "png",
            ]
        )
        == 0
    )
    assert [p.name for p in (out / "jets").glob("*_heatmap.png")] == ["jet_0_heatmap.png"]
    assert "drawing the first 1 of 6 selected jets; raise --max-jets" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["plot", "report"])
@pytest.mark.parametrize(
    ("selection", "message"),
    [
        (["--jet-ids", "99"], "no jet 99 in the relevance file"),
        (["--top-confident", "0"], "--top-confident must be at least 1"),
    ],
)
def test_empty_selection_is_one_line(cms_relevance_path, tmp_path, capsys, command, selection, message):
    code = main(
        ["-q", command, "--relevance", str(cms_relevance_path), "--out", str(tmp_path / "x"), *selection]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert message in err
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()


def test_missing_file_is_one_line(tmp_path, capsys):
    assert main(["report", "--relevance", str(tmp_path / "none.h5"), "--out", str(tmp_path / "r.html")]) == 2
    assert "relevance file not found" in capsys.readouterr().err


def test_report_command_is_self_contained(cms_relevance_path, tmp_path, capsys):
    path = tmp_path / "report.html"
    assert (
        main(["-q", "report", "--relevance", str(cms_relevance_path), "--out", str(path), "--jets", "6"])
        == 0  # the old name of --jet-ids
    )
    page = path.read_text()
    assert capsys.readouterr().out.strip() == str(path)
    assert "<script src" not in page
    assert "<link" not in page
    assert len(re.findall(r'<img class="summary-plot zoomable"', page)) == 4
    assert 'id="jet-6"' in page
    assert 'id="jet-2"' not in page
    assert 'id="jet-table"' in page
    assert page.count("<tr") == 1 + 8  # header + every jet of the file
    # plotly.js travels gzipped, the images as 150 dpi PNGs
    packed = re.search(r'<script type="application/gzip;base64" id="plotly-gz">([^<]+)</script>', page)[1]
    assert gzip.decompress(base64.b64decode(packed)).decode() == plotly.offline.get_plotlyjs()
    for image in re.findall(r'src="data:image/png;base64,([^"]+)"', page):
        with Image.open(io.BytesIO(base64.b64decode(image))) as png:
            assert min(png.info["dpi"]) >= 149.9


def test_help_describes_outputs(capsys):
    with pytest.raises(SystemExit):
        main(["plot", "--help"])
    assert "OUT/jets/jet_<id>_{heatmap,map,graph}" in capsys.readouterr().out


def test_report_shows_an_evaluation_folder(cms_relevance_path, tmp_path):
    evaluation = tmp_path / "evaluation"
    evaluation.mkdir()
    metrics = {"num_jets": 382, "num_H": 282, "num_QCD": 100}
    metrics["taggers"] = [
        {"tagger": "HIN", "auc": 0.982, "rejection_at_30": 100.0, "rejection_at_50": 50.0},  # no intervals
        {"tagger": "tree", "auc": 0.9, "auc_error": 0.01, "rejection_at_30": float("inf")}
        | {"rejection_at_30_low": 58.3, "rejection_at_30_high": float("inf"), "rejection_at_50": 100.0}
        | {"rejection_at_50_low": 30.7, "rejection_at_50_high": 579.0},
    ]
    (evaluation / "metrics.yaml").write_text(yaml.safe_dump(metrics))
    Image.new("RGB", (40, 30), "white").save(evaluation / "roc.png")
    path = tmp_path / "report.html"
    arguments = ["report", "--relevance", str(cms_relevance_path), "--out", str(path), "-q"]
    assert main([*arguments, "--evaluation", str(evaluation), "--jet-ids", "1"]) == 0
    page = path.read_text()
    assert '<a href="#performance">Tagger performance</a>' in page
    assert "<td>0.9820</td>" in page
    assert "<td>0.9000 ± 0.0100</td><td>&gt; 58.3</td><td>100 (30.7–579)</td>" in page
    assert "Evaluated on 382 jets (282 H, 100 QCD)" in page
    assert "The relevance file explains 8 jets" in page
    assert 'id="evaluation-roc"' in page
    assert 'id="evaluation-mass_sculpting"' not in page  # no such file: left out
