"""``hepxai tracking``: events, module-map graphs and Truth-CC on a tiny setting; the edge-classifier chain
(train, evaluate, reconstruct, explain, display) on toy graphs; one-line errors."""

from __future__ import annotations

import ast
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from hepxai.cli import build_parser, main
from hepxai.cli import tracking as cli_tracking
from hepxai.cli.tracking_options import BUILDERS, HIERARCHICAL_OPTIONS, TRAIN_OPTIONS
from hepxai.models import build_model, save_checkpoint
from hepxai.models.checkpoint import load_checkpoint, read_checkpoint
from hepxai.tracking import builders, settings
from hepxai.tracking.builders import BuilderChoice
from hepxai.tracking.edge_training import EdgeTrainConfig
from hepxai.tracking.embedding import EmbeddingConfig
from hepxai.tracking.event_graph import graph_path, read_graph, write_graph, write_graph_record
from hepxai.tracking.graph_building import STATS_FILE
from hepxai.tracking.hgnn_training import HierarchicalModelConfig, HierarchicalTrainConfig

from ..tracking.toys import toy_event

SIZE = ["--events", "3", "--pileup", "0"]
"""A custom setting of 3 tt̄ events without pile-up: one event per split."""
SMALL = "pt1_mu0_n3"


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tracking")
    assert main(["-q", "tracking", "events", *SIZE, "--root", str(folder)]) == 0
    return folder


def test_a_custom_setting_is_written_once(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    setting = settings.find_setting(SMALL, root)  # from ROOT/pt1_mu0_n3/setting.yaml
    assert (setting.sample.events, setting.sample.pileup, setting.pt_min) == (3, 0.0, 1.0)
    assert (setting.train, setting.valid, setting.test) == (range(0, 1), range(1, 2), range(2, 3))
    assert setting.events_folder(root).name == "ttbar_mu0_n3"
    # the same size again names the same setting; another pile-up under that name is refused
    assert main(["-q", "tracking", "events", *SIZE, "--root", str(root)]) == 0
    path = root / SMALL / settings.SETTING_FILE
    path.write_text(path.read_text().replace("pileup: 0.0", "pileup: 1.0"))
    try:
        assert main(["-q", "tracking", "events", *SIZE, "--root", str(root)]) == 2
        assert f"{path}: field 'sample' is" in capsys.readouterr().err
    finally:
        path.write_text(path.read_text().replace("pileup: 1.0", "pileup: 0.0"))


def test_graphs_and_truth_cc(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "tracking", "graphs", "--setting", SMALL, "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "edge_efficiency" in out
    assert (root / SMALL / "module_map.npz").is_file()
    folder = root / SMALL / "graphs" / "module_map"
    assert graph_path(folder, "test", 2).is_file()
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(folder), "--split", "train"]) == 0
    out = capsys.readouterr().out
    assert "efficiency: 1\n" in out  # a training event keeps all its true edges


def test_every_command_reads_a_custom_setting_from_its_graphs(root: Path, tmp_path: Path) -> None:
    main(["-q", "tracking", "graphs", "--setting", SMALL, "--root", str(root)])
    graphs = root / SMALL / "graphs" / "module_map"
    run = tmp_path / "run"
    assert main(["-q", "tracking", "train", "--graphs", str(graphs), "--out", str(run), "--epochs", "1",
                 "--hidden", "4", "--iterations", "1"]) == 0  # fmt: skip
    recorded = yaml.safe_load((run / "training_graphs.yaml").read_text())["custom_setting"]
    assert recorded["sample"]["events"] == 3
    model = str(run / "best.pt")
    out = tmp_path / "eval"
    assert main(["-q", "tracking", "evaluate", "--model", model, "--graphs", str(graphs),
                 "--out", str(out)]) == 0  # fmt: skip
    assert set(pd.read_csv(out / "summary.csv")["setting"]) == {SMALL}
    warnings = (out / "warnings.txt").read_text().splitlines()  # a map from 1 event, a few particles
    assert warnings[0].startswith("the graph builder (module_map) was fitted on 1 training events")
    assert "reconstructable particles: the efficiency of" in warnings[-1]
    # display chooses its particle by the setting's reconstructable definition
    assert main(["-q", "tracking", "display", "--model", model, "--graphs", str(graphs),
                 "--out", str(tmp_path / "display.png")]) == 0  # fmt: skip


def test_a_broken_custom_setting_names_its_file_and_field(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["-q", "tracking", "graphs", "--setting", SMALL, "--root", str(root)])
    graphs = tmp_path / "graphs"
    shutil.copytree(root / SMALL / "graphs" / "module_map", graphs)
    record = yaml.safe_load((graphs / "graphs.yaml").read_text())
    record["custom_setting"]["sample"]["pileup"] = "twenty"
    (graphs / "graphs.yaml").write_text(yaml.safe_dump(record))
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(graphs)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            f"{graphs / 'graphs.yaml'}: field 'custom_setting.sample.pileup' is 'twenty', expected a number"
        )
    )
    record["custom_setting"]["sample"]["pileup"] = 0.0
    record["custom_setting"]["test"] = [2, 9]
    (graphs / "graphs.yaml").write_text(yaml.safe_dump(record))
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(graphs)]) == 2
    assert "field 'custom_setting.test' is [2, 9], expected [start, stop]" in capsys.readouterr().err


def test_one_line_errors(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-q", "tracking", "graphs", "--setting", "nope", "--root", str(root)]) == 2
    assert (
        capsys.readouterr()
        .err.strip()
        .endswith(
            "field 'setting' is 'nope', expected one of pt1_mu200, pt05_mu200, or a custom setting "
            f"({root / 'nope' / 'setting.yaml'} is not there: make it with --events/--pileup)"
        )
    )
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(root)]) == 2
    assert "not a graph folder" in capsys.readouterr().err
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(root / "nope")]) == 2
    assert capsys.readouterr().err.strip().endswith("nope: graph folder not found")
    assert (
        main(["-q", "tracking", "graphs", "--setting", SMALL, "--root", str(root), "--cut-quantile", "2"])
        == 2
    )
    assert "--cut-quantile must be in (0, 1] (got 2.0)" in capsys.readouterr().err
    assert (
        main(
            [
                "-q",
                "tracking",
                "truth-cc",
                "--graphs",
                str(root / SMALL / "graphs" / "module_map"),
                "--split",
                "all",
            ]
        )
        == 2
    )
    assert "field 'split' is 'all'" in capsys.readouterr().err


def test_a_graph_without_edges_is_refused(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["-q", "tracking", "graphs", "--setting", SMALL, "--root", str(root)])
    shutil.copytree(root / SMALL / "graphs" / "module_map", tmp_path / "graphs")
    path = graph_path(tmp_path / "graphs", "valid", 1)
    graph = read_graph(path)
    graph.edge_index, graph.y = torch.empty((2, 0), dtype=torch.long), torch.empty(0)
    graph.edge_attr = torch.empty((0, graph.edge_attr.shape[1]))
    write_graph(graph, path)
    capsys.readouterr()
    assert main(["-q", "tracking", "truth-cc", "--graphs", str(path.parents[1]), "--split", "valid"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert f"{path}: field 'edge_index' is empty" in err


@pytest.fixture(scope="module")
def graphs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("tracking") / "graphs"
    for split, ids in (("train", range(3)), ("valid", range(3, 5)), ("test", range(5, 7))):
        for event_id in ids:
            write_graph(toy_event(event_id, event_id=event_id), graph_path(folder, split, event_id))
    write_graph_record(folder, {"setting": "pt1_mu200", "builder": "toy"})
    stats = [{"split": "test", "event_id": event_id, "seconds": 0.25} for event_id in (5, 6)]
    pd.DataFrame(stats).to_csv(folder / STATS_FILE, index=False)
    return folder


@pytest.fixture(scope="module")
def model(graphs: Path) -> Path:
    run = graphs.parent / "run"
    code = main(
        ["-q", "tracking", "train", "--graphs", str(graphs), "--out", str(run), "--epochs", "2",
         "--hidden", "8", "--iterations", "2"]
    )  # fmt: skip
    assert code == 0
    assert (run / "last.pt").is_file()
    return run / "best.pt"


def test_train_draws_its_learning_curves_and_curves_redraws_them(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = model.parent
    assert (run / "curves.png").stat().st_size > 10_000  # drawn when training ended
    out = tmp_path / "curves.png"
    assert main(["tracking", "curves", "--run", str(run), "--out", str(out)]) == 0
    assert out.stat().st_size > 10_000
    best = read_checkpoint(run / "last.pt")["best_epoch"]
    assert f"2 epochs, best epoch {best} (val loss" in capsys.readouterr().err
    assert main(["-q", "tracking", "curves", "--run", str(tmp_path), "--out", str(out)]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{tmp_path / 'last.pt'}: checkpoint not found")


def test_evaluate_writes_summary_and_results_rows(graphs: Path, model: Path, tmp_path: Path) -> None:
    results = tmp_path / "tracking.csv"
    pd.DataFrame(
        [{"method": "other", "setting": "pt1_mu200", "edge_drop": 0.0, "graphs": "graphs", "efficiency": 0.5}]
    ).to_csv(results, index=False)
    out = tmp_path / "eval"
    assert main(["-q", "tracking", "evaluate", "--model", str(model), "--graphs", str(graphs),
                 "--out", str(out), "--results", str(results)]) == 0  # fmt: skip
    table = pd.read_csv(results)
    assert set(table["method"]) == {
        "other",
        "edge classifier IN + CC",
        "edge classifier IN + CC, best neighbours",
        "Truth-CC",
    }
    truth = table[table["method"] == "Truth-CC"].iloc[0]
    assert (truth["efficiency"], truth["purity"], truth["test_events"]) == (1.0, 1.0, 2)
    chain = table[table["method"] == "edge classifier IN + CC"].iloc[0]
    assert chain["train_events"] == 3
    assert chain["seconds_per_event"] > 0.25
    assert (out / "efficiency.png").is_file()
    assert (out / "particles.csv").is_file()
    bins = pd.read_csv(out / "efficiency.csv")
    assert bins[bins["quantity"] == "pt"]["low"].min() == 1.0  # pt1_mu200's cut


def test_evaluate_bins_from_the_setting_and_says_what_is_not_timed(
    graphs: Path, model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow = tmp_path / "pt05"
    for event_id in (5, 6):
        event = read_graph(graph_path(graphs, "test", event_id))
        event.particle_pt = torch.where(event.particle_id == 1, 0.7, event.particle_pt)  # 7 hits at 0.7 GeV
        write_graph(event, graph_path(slow, "test", event_id))
    write_graph_record(slow, {"setting": "pt05_mu200", "builder": "toy"})  # and no graph_stats.csv
    out = tmp_path / "eval"
    arguments = ["--model", str(model), "--graphs", str(slow), "--out", str(out)]
    assert main(["tracking", "evaluate", *arguments]) == 0
    err = capsys.readouterr().err
    assert "no graph_stats.csv, graph time not measured" in err
    assert "Truth-CC on pt05_mu200 (2 events): efficiency 1.0000" in err
    assert "not timed" in err
    assert "nan s/event" not in err
    assert pd.read_csv(out / "summary.csv")["seconds_per_event"].isna().all()
    bins = pd.read_csv(out / "efficiency.csv")
    truth = bins[(bins["method"] == "Truth-CC") & (bins["quantity"] == "pt")]
    # the first bin holds particle 1 of both events
    assert truth.iloc[0][["low", "high", "total", "passed"]].tolist() == [0.5, 0.75, 2, 2]


def test_train_and_graphs_defaults_are_the_configs(tmp_path: Path) -> None:
    arguments = ["tracking", "train", "--graphs", "g", "--out", "o"]
    parsed = vars(build_parser().parse_args(arguments))
    assert {name: parsed[name] for name in TRAIN_OPTIONS} == asdict(EdgeTrainConfig())
    parsed = vars(build_parser().parse_args(["tracking", "graphs"]))
    embedding = EmbeddingConfig()
    assert [parsed[name] for name in ("epochs", "radius", "max_neighbours", "seed")] == [
        embedding.epochs,
        embedding.radius,
        embedding.max_neighbours,
        embedding.seed,
    ]
    assert BUILDERS == builders.BUILDERS
    assert parsed["cut_quantile"] == BuilderChoice().cut_quantile
    parsed = vars(build_parser().parse_args(arguments))
    hierarchical = {**asdict(HierarchicalModelConfig()), **asdict(HierarchicalTrainConfig())}
    assert {name: parsed[name] for name in HIERARCHICAL_OPTIONS} == {
        name: hierarchical[name] for name in HIERARCHICAL_OPTIONS
    }


def test_reconstruct_explain_and_display(graphs: Path, model: Path, tmp_path: Path) -> None:
    tracks = tmp_path / "tracks.csv"
    assert main(["-q", "tracking", "reconstruct", "--model", str(model), "--graphs", str(graphs),
                 "--out", str(tracks)]) == 0  # fmt: skip
    assert set(pd.read_csv(tracks).columns) == {"event_id", "hit_id", "track_id"}
    prefix = tmp_path / "edge3"
    assert main(["-q", "tracking", "explain", "--model", str(model), "--graphs", str(graphs),
                 "--event-id", "6", "--edge", "3", "--out", str(prefix)]) == 0  # fmt: skip
    hits = pd.read_csv(f"{prefix}_hits.csv")
    assert len(hits) > 0
    event = read_graph(graph_path(graphs, "test", 6))
    truth = dict(zip(event.hit_id.tolist(), event.particle_id.tolist(), strict=True))
    assert hits["particle_id"].tolist() == [truth[hit] for hit in hits["hit_id"]]  # each hit's particle
    assert "relevance_phi" in hits
    png = tmp_path / "display.png"
    assert main(["-q", "tracking", "display", "--model", str(model), "--graphs", str(graphs),
                 "--out", str(png)]) == 0  # fmt: skip
    assert png.stat().st_size > 10_000


def test_edge_classifier_bad_input_is_one_line(graphs: Path, model: Path, tmp_path: Path, capsys) -> None:
    hin = save_checkpoint(tmp_path / "hin.pt", build_model("interaction_network", num_features=3))
    empty = tmp_path / "empty"
    event = toy_event(0, event_id=9)
    event.edge_index = torch.zeros((2, 0), dtype=torch.long)
    event.edge_attr, event.y = torch.zeros((0, event.edge_attr.shape[1])), torch.zeros(0)
    write_graph(event, graph_path(empty, "test", 9))
    write_graph_record(empty, {"setting": "pt1_mu200"})
    cases = [
        (["--model", str(hin), "--graphs", str(graphs)], "scores graphs, not edges"),
        (["--model", str(model), "--graphs", str(empty)], "field 'edge_index' is empty"),
        (["--model", str(model), "--graphs", str(tmp_path)], "not a graph folder"),
    ]
    for arguments, message in cases:
        assert main(["-q", "tracking", "evaluate", *arguments, "--out", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert len(err.strip().splitlines()) == 1
    assert main(["-q", "tracking", "explain", "--model", str(model), "--graphs", str(graphs),
                 "--edge", "100000", "--out", str(tmp_path / "e")]) == 2  # fmt: skip
    assert "no edge 100000" in capsys.readouterr().err
    for arguments, message in ((["--assignment", "0"], "explain a bipartite HGNN"), ([], "needs --edge")):
        assert main(["-q", "tracking", "explain", "--model", str(model), "--graphs", str(graphs),
                     *arguments, "--out", str(tmp_path / "e")]) == 2  # fmt: skip
        assert message in capsys.readouterr().err


def test_the_command_module_imports_jobs_only_when_an_action_runs() -> None:
    allowed = {"hepxai.errors", "hepxai.cli", "hepxai"}  # from hepxai: cli only
    tree = ast.parse(Path(cli_tracking.__file__).read_text())
    for node in tree.body:
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            modules = [node.module or ""]
            if node.module == "hepxai":
                assert [alias.name for alias in node.names] == ["cli"]
        else:
            continue
        for name in modules:
            assert name.split(".")[0] in sys.stdlib_module_names or name in allowed, name
    # building the parser imports nothing: only the actions (run_*) import their jobs
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and not function.name.startswith("run_"):
            imports = [node for node in ast.walk(function) if isinstance(node, ast.Import | ast.ImportFrom)]
            assert not imports, function.name


def test_hierarchical_train_and_evaluate_with_edge_drop(
    graphs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run"
    assert main(["-q", "tracking", "train", "--model", "hgnn_bipartite", "--graphs", str(graphs),
                 "--out", str(run), "--epochs", "1", "--hidden", "8", "--iterations", "1",
                 "--hierarchical-iterations", "1", "--wheel-epochs", "1"]) == 0  # fmt: skip
    assert read_checkpoint(run / "last.pt")["run_config"]["data"]["setting"] == "pt1_mu200"
    results = tmp_path / "tracking.csv"
    common = ["--model", str(run / "best.pt"), "--graphs", str(graphs), "--results", str(results)]
    for drop in ("0", "0.5"):
        out = tmp_path / f"eval{drop}"
        assert main(["tracking", "evaluate", *common, "--out", str(out), "--edge-drop", drop]) == 0
    # the supernodes of each test event as the model makes them, beside its 6 particles (all reconstructable)
    model = load_checkpoint(run / "best.pt").eval()
    with torch.no_grad():
        made = [model.outputs(read_graph(graph_path(graphs, "test", event))).hierarchy.num_supernodes
                for event in (5, 6)]  # fmt: skip
    counts = pd.read_csv(tmp_path / "eval0" / "supernodes.csv")
    assert counts.to_dict("list") == {
        "event_id": [5, 6],
        "supernodes": made,
        "particles": [6, 6],
        "reconstructable": [6, 6],
    }
    assert (tmp_path / "eval0" / "supernodes.png").stat().st_size > 10_000
    assert (
        f"Bipartite HGNN (2 events): {np.median(made):g} supernodes per event (median"
        in capsys.readouterr().err
    )
    # explain: by default the best assignment of the middle hit of the longest particle (all have 7 hits)
    prefix = tmp_path / "assignment"
    explain = ["tracking", "explain", "--model", str(run / "best.pt"), "--graphs", str(graphs)]
    assert main([*explain, "--out", str(prefix)]) == 0
    assert "(particle 1) -> supernode" in capsys.readouterr().err
    event = read_graph(graph_path(graphs, "test", 5))
    hits, supernodes = pd.read_csv(f"{prefix}_hits.csv"), pd.read_csv(f"{prefix}_supernodes.csv")
    assert set(hits["hit_id"]) <= set(event.hit_id.tolist())
    assert len(supernodes) == made[0]
    assert supernodes["explained"].sum() == 1
    assert pd.read_csv(f"{prefix}_edges.csv")["relevance"].abs().sum() > 0
    assert Path(f"{prefix}.png").stat().st_size > 10_000
    refused = [
        (["--method", "lrp"], "LRP's rules do not cover the bipartite HGNN's discrete pooling"),
        (["--edge", "3"], "scores hit-supernode assignments, not graph edges"),
        (["--hit", "9999"], "field 'hit_id': no hit 9999"),
        (["--assignment", "100000"], "no assignment 100000"),
    ]
    for arguments, message in refused:
        assert main(["-q", *explain, *arguments, "--out", str(prefix)]) == 2
        err = capsys.readouterr().err
        assert message in err
        assert len(err.strip().splitlines()) == 1
    table = pd.read_csv(results).set_index(["method", "edge_drop"])
    assert set(table.index) == {(m, d) for m in ("Bipartite HGNN", "Truth-CC") for d in (0.0, 0.5)}
    # the toy graphs hold every true edge: Truth-CC is perfect on them and breaks tracks without half
    assert table.loc[("Truth-CC", 0.0), "efficiency"] == 1.0
    assert table.loc[("Truth-CC", 0.5), "efficiency"] < 1.0
    chain = table.loc[("Bipartite HGNN", 0.5)]  # the table keeps 5 significant digits
    stages = chain["seconds_graph"] + chain["seconds_inference"] + chain["seconds_components"]
    assert chain["seconds_per_event"] == pytest.approx(stages, rel=1e-3)
    assert chain["seconds_graph"] == 0.25
