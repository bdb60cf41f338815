"""``hepxai detector``: simulate, inspect and display end to end, and one-line errors for bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from hepxai.cli import main
from hepxai.data.detector.geometry import DEFAULT_GEOMETRY


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("detector") / "events"
    code = main(
        ["-q", "detector", "simulate", "--events", "2", "--out", str(folder), "--workers", "1", "--seed", "1"]
    )
    assert code == 0
    return folder


def test_inspect_reports_events_hits_and_volumes(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detector", "inspect", str(run)]) == 0
    out = capsys.readouterr().out
    assert "events                 2" in out
    assert "hits per Z muon" in out
    assert "8: " in out  # the pixel barrel


def test_display_writes_png_and_offline_html(run: Path, tmp_path: Path) -> None:
    assert (
        main(["-q", "detector", "display", str(run / "event000000001"), "--out", str(tmp_path / "event.png")])
        == 0
    )
    assert (tmp_path / "event.png").read_bytes()[:4] == b"\x89PNG"
    html = (tmp_path / "event.html").read_text()
    assert "Z muon" in html
    assert "<script src=" not in html
    assert "Plotly.newPlot" in html
    assert len(html) > 1_000_000  # plotly.js inline: opens offline


def _overlapping_geometry(tmp_path: Path) -> Path:
    path = tmp_path / "overlap.yml"
    path.write_text(DEFAULT_GEOMETRY.read_text().replace("radii: [820, 1020]", "radii: [660.5, 1020]"))
    return path


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--bfield", "-1"], "field 'bfield' must be >= 0 T"),
        (["--process", "higgs"], "field 'process' is 'higgs', expected one of zmumu, ttbar, minbias"),
        (["--events", "0"], "field 'events' must be >= 1"),
        (["--pileup", "-5"], "field 'pileup' must be >= 0"),
        (["--format", "root"], "field 'format' is 'root'"),
        (["--workers", "0"], "field 'workers' must be >= 1"),
        (["--efficiency", "1.5"], "field 'efficiency' must be in (0, 1]"),
        (["--geometry", "OVERLAP"], "layers overlap: volume 13 layer 8"),
        (["--geometry", "MISSING"], "geometry file not found"),
    ],
)
def test_bad_input_gives_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], arguments: list[str], message: str
) -> None:
    substitutes = {"OVERLAP": str(_overlapping_geometry(tmp_path)), "MISSING": str(tmp_path / "none.yml")}
    arguments = [substitutes.get(value, value) for value in arguments]
    base = ["detector", "simulate", "--events", "1", "--out", str(tmp_path / "out"), "--workers", "1"]
    assert main([*base, *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_missing_events_give_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["detector", "inspect", str(tmp_path / "nothing")]) == 2
    assert (
        main(["detector", "display", str(tmp_path / "event000000005"), "--out", str(tmp_path / "x.png")]) == 2
    )
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2
    assert all("no such file" in line for line in lines)
