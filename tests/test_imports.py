"""The rooms' plan holds (docs/architecture.md): imports run one way, doors → centre → db,
with no circle anywhere, and nothing of the product leans on the tests."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("db", "bot", "handlers")  # lowest first: each may import only those before it
# The centre's rooms: each imports only rooms below it, never one above or beside it in a
# circle (the frame's modules — settings, runtime, render, errors… — sit between).
ROOMS = ("records", "access", "delivery", "letters", "calendar", "review", "reminders")


def modules(root: Path = ROOT) -> dict[str, Path]:
    """Every first-party module by dotted name (packages by their own name)."""
    found = {}
    for package in PACKAGES:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:  # Alembic's scripts are loaded by Alembic
                continue
            name = ".".join(path.relative_to(root).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def graph(known: dict[str, Path]) -> dict[str, set[str]]:
    """Module → the first-party modules it imports, at any depth (functions and
    TYPE_CHECKING blocks too: a circle hidden in a function is still a circle)."""

    def resolve(name: str) -> str | None:
        while name and name not in known:
            name = name.rpartition(".")[0]
        return name or None

    edges: dict[str, set[str]] = {}
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: list[str] = []
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parts, base] if base else parts)
                # `from bot.records import activities` names a module, not only a package.
                targets += [f"{base}.{alias.name}" for alias in node.names]
        edges[name] = set()
        for target in targets:
            found = resolve(target)
            # A package's own modules importing through it is not an arrow back to it.
            if found and found != name and not name.startswith(f"{found}."):
                edges[name].add(found)
    return edges


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(edges.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return sorted(found)


def room_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == "bot" and len(parts) > 1 and parts[1] in ROOMS else None


def test_no_import_circle_anywhere():
    assert circles(graph(modules())) == []


def test_imports_never_go_up_from_db_to_bot_to_handlers():
    level = {package: n for n, package in enumerate(PACKAGES)}
    upward = sorted(
        f"{source} -> {target}"
        for source, targets in graph(modules()).items()
        for target in targets
        if level[target.split(".")[0]] > level[source.split(".")[0]]
    )
    assert upward == []


def test_the_rooms_of_the_centre_form_no_circle():
    rooms: dict[str, set[str]] = {room: set() for room in ROOMS}
    for source, targets in graph(modules()).items():
        for target in targets:
            if room_of(source) and room_of(target) and room_of(source) != room_of(target):
                rooms[room_of(source)].add(room_of(target))
    assert circles(rooms) == []


def test_every_room_says_what_it_holds_and_what_it_may_import():
    for room in ROOMS:
        doc = ast.get_docstring(ast.parse((ROOT / "bot" / room / "__init__.py").read_text()))
        assert doc and "May import" in doc, f"bot/{room}/__init__.py"


def test_the_product_never_imports_the_tests():
    leaning = sorted(
        f"{source} -> {target}"
        for source, targets in graph(modules()).items()
        for target in targets
        if target.split(".")[0] == "tests"
    )
    assert leaning == []
    # and the fakes the tests play the platforms with are not shipped (the Slack one stays:
    # `ciw-bot shell` plays Slack with it)
    assert not (ROOT / "handlers" / "teams" / "double.py").exists()


def test_the_walker_finds_a_circle_through_a_function_and_an_upward_arrow(tmp_path):
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "bot" / "a.py").write_text("from bot import b\n")
    (tmp_path / "bot" / "b.py").write_text("def f():\n    from bot.a import x\n")
    (tmp_path / "db" / "m.py").write_text("from bot.a import thing\n")
    (tmp_path / "handlers" / "h.py").write_text("import bot.b\n")
    edges = graph(modules(tmp_path))
    assert circles(edges) == [["bot.a", "bot.b"]]
    assert edges["db.m"] == {"bot.a"}
    assert edges["handlers.h"] == {"bot.b"}
