"""No import circles among the project's modules.

The graph is built from the source with ``ast`` (nothing is imported): one node per module of
the packages under python_backend/, client/, serving/ and the repository-run tools/, perf/ and
parity/; an edge for every import of another project module, wherever it is written (a lazy
import inside a function still ties the two modules together). Imports under
``if TYPE_CHECKING:`` are left out: they never run. Importing ``pkg.sub`` also runs
``pkg/__init__.py``, but that edge is not drawn: a package re-exporting its submodules is not a
circle.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# (directory that is on sys.path, top-level packages found there)
SOURCE_ROOTS = (
    (REPO / "python_backend", ("seal_ocr",)),
    (REPO / "client", ("seal_client",)),
    (REPO / "serving", ("seal_api", "seal_gateway", "seal_triton")),
    (REPO, ("tools", "perf", "parity")),
)


def find_modules(roots) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file of the given packages."""
    modules: dict[str, Path] = {}
    for base, packages in roots:
        for package in packages:
            for path in sorted((base / package).rglob("*.py")):
                parts = path.relative_to(base).with_suffix("").parts
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST):
    """Import statements that can run (the body of ``if TYPE_CHECKING:`` is skipped)."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        yield from _imports(node)


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the project modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in _imports(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                candidates = [f"{base}.{alias.name}" for alias in node.names]
            for candidate in candidates:
                # the module itself (`from pkg import sub`: pkg.sub), else the nearest enclosing
                # project module (`from pkg.a import name`: pkg.a)
                parts = candidate.split(".")
                while parts and ".".join(parts) not in modules:
                    parts.pop()
                if parts and ".".join(parts) != name:
                    targets.add(".".join(parts))
        graph[name] = targets
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as error:
        return list(error.args[1])
    return None


def test_the_project_has_no_import_circles():
    modules = find_modules(SOURCE_ROOTS)
    assert {"seal_ocr.params", "seal_client.inputs", "seal_triton.supervisor"} <= set(modules)
    graph = import_graph(modules)
    # the graph sees real edges (so an empty graph cannot pass)
    assert "seal_client.pdf" in graph["seal_client.inputs"]
    assert "seal_triton.launcher" in graph["seal_triton.supervisor"]
    found = cycle(graph)
    assert found is None, f"import circle: {' -> '.join(found)}"


def _package(tmp_path: Path, files: dict[str, str]) -> dict[str, set[str]]:
    for relative, text in files.items():
        path = tmp_path / "pkg" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return import_graph(find_modules([(tmp_path, ("pkg",))]))


@pytest.mark.parametrize(
    "b_source",
    [
        "from pkg.a import x\n",
        "def f():\n    from pkg import a\n",  # lazy, inside a function
        "from . import a\n",  # relative
        "import pkg.a\n",
    ],
)
def test_a_circle_is_found_however_it_is_written(tmp_path, b_source):
    graph = _package(
        tmp_path, {"__init__.py": "", "a.py": "from pkg.b import y\n", "b.py": b_source}
    )
    assert set(cycle(graph) or ()) == {"pkg.a", "pkg.b"}


def test_type_checking_imports_and_package_reexports_are_not_circles(tmp_path):
    graph = _package(
        tmp_path,
        {
            "__init__.py": "from pkg.a import x\nfrom pkg.b import y\n",
            "a.py": "from pkg.b import y\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n    from pkg.a import x\nelse:\n    x = None\n"
            ),
        },
    )
    assert graph["pkg.b"] == set()
    assert cycle(graph) is None
