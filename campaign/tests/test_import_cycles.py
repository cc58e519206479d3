"""No import circles between the project's own modules.

A circle means neither module can be read (or loaded) without the other; it is usually worked
around with an import inside a function, which hides it without removing it. So imports inside
functions count here; only `if TYPE_CHECKING:` blocks (never run) are left out.
"""

import ast
import os
from pathlib import Path

from django.conf import settings

SKIPPED_FOLDERS = {".venv", "node_modules", "staticfiles", "media", ".git", "test-artifacts", "__pycache__"}


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules(root: Path) -> dict[str, Path]:
    """{dotted name: file} for every .py of the project under `root`."""
    modules = {}
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in SKIPPED_FOLDERS]
        for file in files:
            if file.endswith(".py"):
                modules[module_name(root, Path(folder) / file)] = Path(folder) / file
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST):
    """Every Import / ImportFrom in the tree, at any depth, except under `if TYPE_CHECKING:`."""
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        stack.extend(ast.iter_child_nodes(node))


def _known(name: str, modules: dict) -> str | None:
    """The most specific project module that `name` (a dotted name) is, or is inside of."""
    while name:
        if name in modules:
            return name
        name = name.rpartition(".")[0]
    return None


def import_graph(root: Path) -> dict[str, set[str]]:
    """{module: the project modules it imports}, function-level imports included."""
    modules = project_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in _import_nodes(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                # `from a import b` imports the module a.b when there is one, else a name of a.
                targets = [f"{base}.{alias.name}" for alias in node.names] or [base]
            for target in targets:
                found = _known(target, modules)
                if found and found != name:
                    graph[name].add(found)
    return graph


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One circle (as a path that ends where it starts) per strongly connected group of modules."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    groups: list[list[str]] = []

    def connect(node: str) -> None:  # Tarjan; the project is small enough to recurse
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    return [_one_circle(graph, set(group)) for group in groups]


def _one_circle(graph: dict[str, set[str]], group: set[str]) -> list[str]:
    """A shortest path from the group's first module back to itself, inside the group."""
    start = min(group)
    paths = {start: [start]}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for nxt in sorted(graph[node] & group):
            if nxt == start:
                return [*paths[node], start]
            if nxt not in paths:
                paths[nxt] = [*paths[node], nxt]
                queue.append(nxt)
    raise AssertionError("a strongly connected group always has a circle")


def test_no_project_module_imports_itself_through_others():
    graph = import_graph(Path(settings.BASE_DIR))
    assert "reports.services" in graph and "appointments.planning.services" in graph  # it read the project
    assert [" -> ".join(circle) for circle in import_cycles(graph)] == []


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_an_import_inside_a_function_still_makes_a_circle(tmp_path):
    root = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/services.py": "def ask():\n    from app.tasks import build\n    build()\n",
            "app/tasks.py": "from app import services\n",
        },
    )
    assert import_cycles(import_graph(root)) == [["app.services", "app.tasks", "app.services"]]


def test_relative_and_from_package_imports_are_followed(tmp_path):
    root = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/sub/__init__.py": "",
            "app/sub/a.py": "from .. import b\n",
            "app/b.py": "from app.sub import a\n",
        },
    )
    assert import_cycles(import_graph(root)) == [["app.b", "app.sub.a", "app.b"]]


def test_type_checking_imports_are_not_a_circle(tmp_path):
    root = write(
        tmp_path,
        {
            "app/__init__.py": "",
            "app/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from app import b\n",
            "app/b.py": "import app.a\n",
        },
    )
    assert import_graph(root)["app.a"] == set()
    assert import_cycles(import_graph(root)) == []
