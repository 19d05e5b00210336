"""The core knows no chat platform: nothing under bot/ imports Slack's or Teams' SDKs, nor
the adapters under handlers/ (SPEC "Layout")."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLATFORM_PACKAGES = ("slack_sdk", "slack_bolt", "microsoft_teams", "handlers")


def imports_of(path: Path) -> list[tuple[int, str]]:
    """Every module an import statement in `path` names, at any depth (functions too)."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_no_module_of_the_core_imports_a_platform():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in sorted((ROOT / "bot").rglob("*.py"))
        for line, module in imports_of(path)
        if module.split(".")[0] in PLATFORM_PACKAGES
    ]
    assert offenders == []


def test_the_walker_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from slack_sdk import WebClient\n    import handlers.slack\n")
    assert [m for _, m in imports_of(sample)] == ["slack_sdk", "handlers.slack"]


def test_importing_the_whole_core_loads_no_platform():
    modules = sorted(
        ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for path in (ROOT / "bot").rglob("*.py")
    )
    probe = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {PLATFORM_PACKAGES!r})\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
