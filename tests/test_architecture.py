"""The one architectural rule: core never imports Qt, pyqtgraph or the gui package."""

import ast
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
FORBIDDEN = ("PySide6", "pyqtgraph", "PyQt5", "PyQt6", "shiboken6", "gui")


def test_importing_all_of_core_loads_no_qt() -> None:
    code = (
        "import pkgutil, importlib, sys, core\n"
        "for m in pkgutil.walk_packages(core.__path__, 'core.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_no_core_source_names_qt_or_pickle() -> None:
    for path in (ROOT / "core").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top not in FORBIDDEN, f"{path} imports {name}"
                assert top not in ("pickle", "marshal", "shelve"), f"{path} imports {name}"


def _gui_import_graph() -> dict[str, set[str]]:
    """Every module of gui/ and the gui modules it imports (at the top or inside a function)."""
    modules = {}
    for path in (ROOT / "gui").rglob("*.py"):
        rel = path.relative_to(ROOT).with_suffix("")
        name = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        modules[name] = path
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
                targets = [base] + [f"{base}.{a.name}" for a in node.names]
            for t in targets:
                while t and t not in modules:
                    t = t.rpartition(".")[0]
                while t:  # importing a.b.c runs a/__init__ and a/b/__init__ first: those are imported too
                    if t != name and t in modules:
                        graph[name].add(t)
                    t = t.rpartition(".")[0]
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circle_in_gui() -> None:
    graph = _gui_import_graph()
    assert "gui.window.main_window" in graph and graph["gui.window.main_window"], "the graph was not read"
    assert _cycles(graph) == []


def test_the_circle_check_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_a_package_that_imports_its_modules_is_in_their_circle() -> None:
    """gui/x/__init__.py importing gui.x.m, whose own imports of gui.x.* run that __init__, is a circle."""
    graph = _gui_import_graph()
    assert "gui.state" in graph["gui.state.window_state"] and "gui.views" in graph["gui.views.heatmap"]
    assert _cycles({"p": {"p.m"}, "p.m": {"p.n", "p"}, "p.n": {"p"}}) == [["p", "p.m", "p.n"]]


STORE_FREE = ("gui/views", "gui/panels", "gui/window", "gui/export/actions.py")
STORE_IMPORTS = {"core.queries": None, "sqlite3": None, "core.runner": {"create_runs", "drive"}}


def _store_uses(path: pathlib.Path) -> list[str]:
    """Imports of the store's readers or writers, and calls of a project's methods (``x.project.f(...)``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in STORE_IMPORTS]
        elif isinstance(node, ast.ImportFrom) and node.module in STORE_IMPORTS:
            names = STORE_IMPORTS[node.module]
            found += [f"{node.module}.{a.name}" for a in node.names if names is None or a.name in names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "project"):
            found.append(f"project.{node.func.attr}() on line {node.lineno}")
    return found


def test_only_the_state_model_and_the_worker_touch_the_store() -> None:
    """Views, panels, the window's components and the Export menu get their data from the state model (or its
    cache) and change the file through it; they neither import the store's readers nor call a project."""
    paths = [p for f in STORE_FREE for p in ((ROOT / f).rglob("*.py") if (ROOT / f).is_dir() else [ROOT / f])]
    assert len(paths) > 20
    bad = {str(p.relative_to(ROOT)): uses for p in paths if (uses := _store_uses(p))}
    assert bad == {}


def test_the_store_check_sees_a_call(tmp_path: pathlib.Path) -> None:
    f = tmp_path / "m.py"
    f.write_text("from core.queries import metric_names\nself.state.project.delete_run(3)\n")
    assert len(_store_uses(f)) == 2
