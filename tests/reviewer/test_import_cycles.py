"""The domain's modules import one another without cycles, function-local imports included.

An import inside a function hides a cycle from Python at import time, not from the design: two
modules that need each other are one module in two files, and neither can be understood, tested or
moved alone. So every import that can run counts, at module level or inside a function; only those
under ``if TYPE_CHECKING:`` are left out, since they never run. A function-local import kept for
start-up speed is fine while it closes no cycle.

Every module of reviewer/ is in the graph, reviewer/cli*.py included: they form no cycle today, and
they leave the graph by themselves when they move out of reviewer/. Importing a submodule also runs
its packages' ``__init__``; those implicit edges are not counted (a package that imports its own
submodules is not a cycle).
"""

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.datapaths import ROOT

# (importing module, imported module) -> "file:line" of the first import between them.
Graph = dict[str, dict[str, str]]


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Yield every import statement under ``node`` that can run (anything but ``if TYPE_CHECKING:``)."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _imports(ast.Module(body=[other], type_ignores=[]))
        elif isinstance(child, ast.Import | ast.ImportFrom):
            yield child
        else:
            yield from _imports(child)


def _targets(statement: ast.Import | ast.ImportFrom, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Return the modules of ``modules`` that ``statement`` (in ``module``) imports."""
    if isinstance(statement, ast.Import):
        names = [alias.name for alias in statement.names]
    else:
        base = statement.module or ""
        if statement.level:  # relative: from the module's package, up level - 1
            package = module.split(".") if is_package else module.split(".")[:-1]
            anchor = package[: len(package) - statement.level + 1]
            base = ".".join([*anchor, *([base] if base else [])])
        # ``from package import submodule`` imports the submodule; ``from module import name``, the module.
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in statement.names]
    found = set()
    for name in names:
        parts = name.split(".")
        while parts and ".".join(parts) not in modules:  # ``import a.b.name`` -> the module a.b
            parts.pop()
        if parts:
            found.add(".".join(parts))
    return found - {module}


def import_graph(package_dir: Path) -> Graph:
    """Return which modules of the package at ``package_dir`` import which, with where."""
    root = package_dir.parent
    files = {_module_name(path, root): path for path in sorted(package_dir.rglob("*.py"))}
    graph: Graph = {name: {} for name in files}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for statement in _imports(tree):
            for target in _targets(statement, name, path.name == "__init__.py", set(files)):
                where = f"{path.relative_to(root).as_posix()}:{statement.lineno}"
                graph[name].setdefault(target, where)
    return graph


def find_cycles(graph: Graph) -> list[str]:
    """Return one line per cycle found by a depth-first search: ``a -> b (a.py:3) -> a (b.py:9)``."""
    cycles = []
    state: dict[str, str] = {}  # "open" while on the current path, "done" after
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                loop = [*path[path.index(target):], target]
                steps = [f"{b} ({graph[a][b]})" for a, b in zip(loop, loop[1:])]
                cycles.append(" -> ".join([loop[0], *steps]))
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module)
    return cycles


def test_reviewer_has_no_import_cycles():
    graph = import_graph(ROOT / "reviewer")
    # The graph is read at all: a run imports its calls, and a function-local import counts.
    assert "reviewer.judges.calls" in graph["reviewer.judges.running"]
    assert "reviewer.formats" in graph["reviewer.workspace"]
    cycles = find_cycles(graph)
    assert not cycles, (
        "reviewer/ has import cycles (function-local imports count; move what both sides need to a "
        "lower module):\n" + "\n".join(cycles)
    )


def test_a_cycle_through_a_function_local_import_is_found(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("from pkg.sub import b\n")
    (package / "a.py").write_text("from typing import TYPE_CHECKING\n\nfrom pkg.sub.b import thing\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from pkg import c\n\n\n"
        "def thing():\n    from .. import a\n    return a\n"
    )
    (package / "c.py").write_text("import pkg.a\n")
    graph = import_graph(package)
    assert graph["pkg.sub.b"] == {"pkg.a": "pkg/sub/b.py:8"}  # TYPE_CHECKING left out; relative resolved
    assert graph["pkg.sub"] == {"pkg.sub.b": "pkg/sub/__init__.py:1"}
    assert find_cycles(graph) == ["pkg.a -> pkg.sub.b (pkg/a.py:3) -> pkg.a (pkg/sub/b.py:8)"]
    (package / "sub" / "b.py").write_text("def thing():\n    return None\n")
    assert find_cycles(import_graph(package)) == []
