"""``hepxai tracking``: events, module-map graphs and Truth-CC on a tiny setting; one-line errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from hepxai.cli import main
from hepxai.tracking import settings
from hepxai.tracking.event_graph import graph_path, read_graph, write_graph

SMALL = settings.Setting(
    name="small",
    sample=settings.Sample(name="small_ttbar_mu0", pileup=0, events=3, seed=5),
    pt_min=1.0,
    train=range(0, 1),
    valid=range(1, 2),
    test=range(2, 3),
)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tracking")
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(settings.SETTINGS, "small", SMALL)
        assert main(["-q", "tracking", "events", "--setting", "small", "--root", str(folder)]) == 0
        yield folder


def test_graphs_and_truth_cc(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "tracking", "graphs", "--setting", "small", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "edge_efficiency" in out
    assert (root / "small" / "module_map.npz").is_file()
    folder = root / "small" / "graphs" / "module_map"
    assert graph_path(folder, "test", 2).is_file()
    assert (
        main(["-q", "tracking", "truth-cc", "--setting", "small", "--root", str(root), "--split", "train"])
        == 0
    )
    out = capsys.readouterr().out
    assert "efficiency: 1\n" in out  # a training event keeps all its true edges


def test_one_line_errors(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "tracking", "graphs", "--setting", "nope", "--root", str(root)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith("field 'setting' is 'nope', expected one of pt1_mu200, pt05_mu200, small")
    )
    assert main(["-q", "tracking", "truth-cc", "--setting", "small", "--root", str(root / "empty")]) == 2
    assert "not a graph folder" in capsys.readouterr().err
    assert (
        main(["-q", "tracking", "graphs", "--setting", "small", "--root", str(root), "--cut-quantile", "2"])
        == 2
    )
    assert "--cut-quantile must be in (0, 1] (got 2.0)" in capsys.readouterr().err
    assert (
        main(["-q", "tracking", "truth-cc", "--setting", "small", "--root", str(root), "--split", "all"]) == 2
    )
    assert "field 'split' is 'all'" in capsys.readouterr().err


def test_a_graph_without_edges_is_refused(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    main(["-q", "tracking", "graphs", "--setting", "small", "--root", str(root)])
    path = graph_path(root / "small" / "graphs" / "module_map", "valid", 1)
    graph = read_graph(path)
    graph.edge_index, graph.y = torch.empty((2, 0), dtype=torch.long), torch.empty(0)
    write_graph(graph, path)
    capsys.readouterr()
    assert (
        main(["-q", "tracking", "truth-cc", "--setting", "small", "--root", str(root), "--split", "valid"])
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}: field 'edge_index' is empty" in err
