"""The simulator's modules form no import cycle and share only public names (ast and grimp)."""

import ast
from pathlib import Path

import grimp

import switchvox_simulator

PACKAGE = "switchvox_simulator"
ROOT = Path(switchvox_simulator.__file__).parent


def _module_name(path: Path) -> str:
    """Return the dotted module name of a file of the package."""
    if path.name == "__init__.py":
        return PACKAGE
    return f"{PACKAGE}.{path.stem}"


def _modules() -> dict[str, ast.Module]:
    """Return every module of the package, parsed."""
    return {
        _module_name(path): ast.parse(path.read_text(encoding="utf-8"), str(path))
        for path in sorted(ROOT.glob("*.py"))
    }


def _imports(name: str, tree: ast.Module, known: set[str]) -> list[tuple[ast.stmt, str, str]]:
    """Return (statement, imported module, imported name or "") for each in-package import."""
    package = name if name == PACKAGE else name.rsplit(".", 1)[0]
    found: list[tuple[ast.stmt, str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node, a.name, "") for a in node.names if a.name in known)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{package}.{base}" if base else package
            for alias in node.names:
                if f"{base}.{alias.name}" in known:  # ``from . import module``
                    found.append((node, f"{base}.{alias.name}", ""))
                elif base in known:
                    found.append((node, base, alias.name))
    return found


def _graph() -> dict[str, set[str]]:
    """Return module -> the package's modules it imports (anywhere, TYPE_CHECKING too)."""
    modules = _modules()
    known = set(modules)
    return {
        name: {target for _, target, _ in _imports(name, tree, known)}
        for name, tree in modules.items()
    }


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """Return one import cycle of ``graph`` (empty when there is none)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(module: str) -> list[str]:
        state[module] = 1
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[module] = 2
        return []

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return []


def test_cycle_finder_finds_a_cycle() -> None:
    """The check itself sees a cycle (so that "no cycle" below means something)."""
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    """No module of the simulator imports, directly or not, a module that imports it."""
    graph = _graph()
    assert len(graph) > 5
    assert "switchvox_simulator.server" in graph["switchvox_simulator.app"]
    assert _cycle(graph) == []


def test_no_import_cycle_by_grimp() -> None:
    """grimp, the import-graph library behind import-linter, finds no cycle either."""
    graph = grimp.build_graph(PACKAGE)
    assert "switchvox_simulator.server" in graph.find_modules_directly_imported_by(
        "switchvox_simulator.app"
    )
    cycles = [
        (importer, imported)
        for importer in graph.modules
        for imported in graph.find_modules_directly_imported_by(importer)
        if graph.chain_exists(importer=imported, imported=importer)
    ]
    assert cycles == []
    assert graph.nominate_cycle_breakers(PACKAGE) == set()


def test_server_knows_neither_demo_nor_control() -> None:
    """The server is composed with the demo traffic and the HTTP control API by app.py only."""
    graph = _graph()
    reachable: set[str] = set()
    todo = ["switchvox_simulator.server"]
    while todo:
        for target in graph[todo.pop()] - reachable:
            reachable.add(target)
            todo.append(target)
    assert not reachable & {"switchvox_simulator.demo", "switchvox_simulator.control"}


def test_imports_at_module_level_and_public() -> None:
    """In-package imports sit at module level and import no private (underscore) name."""
    modules = _modules()
    known = set(modules)
    problems: list[str] = []
    for name, tree in modules.items():
        top_level = set(tree.body)
        for node in ast.walk(tree):
            if isinstance(node, ast.If):  # ``if TYPE_CHECKING:`` blocks count as module level
                top_level.update(node.body)
        for node, target, imported in _imports(name, tree, known):
            if node not in top_level:
                problems.append(f"{name}:{node.lineno} imports {target} inside a function")
            if imported.startswith("_") or target.rsplit(".", 1)[-1].startswith("_"):
                problems.append(f"{name}:{node.lineno} imports private {target}.{imported}")
    assert problems == []


def test_every_module_has_a_docstring() -> None:
    """Each module says in its first docstring line why it exists."""
    for name, tree in _modules().items():
        docstring = ast.get_docstring(tree)
        assert docstring, name
        assert docstring.splitlines()[0].strip(), name


def test_independent_of_the_integration() -> None:
    """The simulator is a server of its own: it imports nothing of the integration's client."""
    imported = {
        alias.name if isinstance(node, ast.Import) else node.module or ""
        for tree in _modules().values()
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert "aiohttp" in imported
    assert not {name for name in imported if name.split(".")[0] == "custom_components"}
