"""Every module imports on its own, and the import graph keeps the arrows of the design.

The graph is read from the source with ``ast``: every ``import`` and ``from … import`` of a ``hepxai``
module, at module level or inside a function (a function-level import is a dependency too, only a later
one), except those under ``if TYPE_CHECKING:``, which never run. Rules (../shared/DESIGN.md):

- ``explain/`` never imports a model kind: only the models' common interface (``registry``), the graph
  operations (``graph_ops``) and the checkpoint reader; a kind's fast forms register themselves with
  :mod:`hepxai.explain.canonizers`.
- ``plots/`` never imports ``tracking/``: figures draw numbers they are given.
- No cycles, among module-level and function-level imports alike.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

import hepxai

SOURCE = Path(hepxai.__file__).resolve().parents[1]

EXPLAIN_MAY_IMPORT = {"hepxai.models.registry", "hepxai.models.graph_ops", "hepxai.models.checkpoint"}


def _modules() -> dict[str, Path]:
    """Every ``hepxai`` module by dotted name (a package by its own name)."""
    modules = {}
    for path in sorted((SOURCE / "hepxai").rglob("*.py")):
        parts = path.relative_to(SOURCE).with_suffix("").parts
        if parts[-1] != "__main__":  # runs the command line when imported
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = _modules()


def _resolve(name: str) -> str:
    """The module ``name`` refers to: itself, or the nearest enclosing module (``pkg.module.function``)."""
    while name not in MODULES:
        name = name.rpartition(".")[0]
    return name


def _type_checking_only(node: ast.AST) -> set[int]:
    """Ids of the nodes under an ``if TYPE_CHECKING:`` block."""
    skipped: set[int] = set()
    for block in ast.walk(node):
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test):
            skipped.update(id(inner) for statement in block.body for inner in ast.walk(statement))
    return skipped


def _imported_names(module: str) -> set[str]:
    """Every dotted name ``module`` imports, at any level (``from a import b`` gives ``a.b``)."""
    path = MODULES[module]
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    skipped = _type_checking_only(tree)
    found = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def _imports(module: str) -> set[str]:
    """The ``hepxai`` modules ``module`` imports, at any level."""
    found = {_resolve(name) for name in _imported_names(module) if name.split(".")[0] == "hepxai"}
    found.discard(module)
    return found


GRAPH = {module: _imports(module) for module in MODULES}


def test_the_graph_is_read():
    # Known edges, one at module level and one inside a function, and one under TYPE_CHECKING left out.
    assert "hepxai.models.dense" in GRAPH["hepxai.models.interaction_network"]
    assert "hepxai.models.checkpoint" in GRAPH["hepxai.explain.export"]
    assert "hepxai.models.interaction_network" not in GRAPH["hepxai.models.fused"]


def test_explainers_import_no_model_kind():
    offending = {
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.startswith("hepxai.explain")
        for target in targets
        if target.startswith("hepxai.models") and target not in EXPLAIN_MAY_IMPORT
    }
    assert not offending


def test_plots_import_no_tracking_job():
    offending = {
        f"{module} -> {target}"
        for module, targets in GRAPH.items()
        if module.startswith("hepxai.plots")
        for target in targets
        if target.startswith("hepxai.tracking")
    }
    assert not offending


def test_no_import_cycles():
    assert not [cycle for cycle in _strongly_connected(GRAPH) if len(cycle) > 1]


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components, iteratively."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph[target]))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(sorted(component))
    return components


FORKED_IMPORTS = """
import gc, importlib, os, sys, traceback
separator = sys.argv.index("--")
preload, modules = sys.argv[1:separator], sys.argv[separator + 1 :]
# The other packages' modules that hepxai imports, loaded once here, so that each child below spends its
# time on hepxai's own modules only (a name that is not a module, as numpy.ndarray, loads its package).
for name in preload:
    try:
        importlib.import_module(name)
    except BaseException:
        pass
gc.freeze()  # the children's garbage collections skip everything loaded here
failed = []
for module in modules:
    child = os.fork()
    if child == 0:
        try:
            importlib.import_module(module)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    if os.waitpid(child, 0)[1] != 0:
        failed.append(module)
print(",".join(failed))
"""
OTHER_PACKAGES = sorted(
    {name for module in MODULES for name in _imported_names(module) if name.split(".")[0] != "hepxai"}
)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="imports each module in a forked child")
def test_every_module_imports_in_a_fresh_interpreter():
    # Each module in a child forked before any hepxai module was imported: an import that works only
    # after another module has been imported fails here.
    environment = {**os.environ, "PYTHONPATH": str(SOURCE), "MPLBACKEND": "Agg"}
    result = subprocess.run(
        [sys.executable, "-c", FORKED_IMPORTS, *OTHER_PACKAGES, "--", *MODULES],
        capture_output=True,
        text=True,
        check=False,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    failed = result.stdout.strip()
    assert not failed, f"modules that fail to import on their own: {failed}\n{result.stderr}"
