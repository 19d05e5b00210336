"""`pip install .` gives a bot that runs every command: the wheel, installed in a fresh
environment with its runtime dependencies only (nothing from the dev extra), runs
`shell --demo`, `draft-letter --out` and `serve` from a folder outside the source tree.

The wheel is built from a copy of the source (never from a `build/` folder left behind)
and installed once for the session by pip. Its dependencies are the distributions its
metadata asks for (and theirs, with the extras asked for), taken from this test
environment, where the same install resolved them from the package index, rather than
resolved and unpacked from it again (about 15 s of pip's time): file by file, so the fresh
environment holds what the wheel declares and nothing else, and `pip check` finds every
requirement met. A source checkout is checked too: its commands, with every module of the
dev extra hidden."""

from __future__ import annotations

import email
import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tomllib
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docx
import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from handlers.slack.double import FakeSlack, SignedRequests
from tests.serving import ServeProcess

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The folders pyproject.toml packages ("bot*", …): every file in them belongs in the wheel.
PACKAGES = [
    name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
]
# The module each package of the dev extra brings (its import name).
DEV_MODULES = {
    "pytest": "pytest",
    "pytest-xdist": "xdist",
    "hypothesis": "hypothesis",
    "ruff": "ruff",
    "PyYAML": "yaml",
    "websockets": "websockets",
    "markdown-it-py": "markdown_it",
}
# What a working copy holds that is no part of the source.
NOT_SOURCE = shutil.ignore_patterns(
    ".git",
    ".venv",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    "*.pyc",
    ".pytest_cache",
    ".ruff_cache",
    ".hypothesis",
    "*.db",
    "*.db-*",
)
SECRET = "wheel-signing-secret"


@dataclass
class Installed:
    wheel: Path
    venv: Path

    @property
    def program(self) -> str:
        return str(self.venv / "bin" / "ciw-bot")


def _run(args: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    assert result.returncode == 0, f"{' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result


def runtime_distributions(wheel: Path) -> list[importlib.metadata.Distribution]:
    """What installing the wheel brings: the distributions its Requires-Dist name, theirs,
    and so on (with the extras asked for, markers evaluated here), as installed in this
    environment; each must satisfy every requirement that named it."""
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        metadata = email.message_from_bytes(archive.read(name))
    found: dict[str, importlib.metadata.Distribution] = {}
    extras: dict[str, set[str]] = {}
    asked: list[tuple[Requirement, str]] = []

    def ask(requirements: list[str], by: str, wanted: set[str]) -> None:
        for text in requirements:
            needed = Requirement(text)
            if needed.marker is None or any(needed.marker.evaluate({"extra": e}) for e in wanted):
                asked.append((needed, by))

    ask(metadata.get_all("Requires-Dist") or [], "ciw-bot", {""})  # no extra: not the dev one
    while asked:
        requirement, by = asked.pop()
        key = canonicalize_name(requirement.name)
        try:
            distribution = found.get(key) or importlib.metadata.distribution(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            pytest.fail(f"{by} needs {requirement}, which this environment does not have")
        assert requirement.specifier.contains(distribution.version, prereleases=True), (
            f"{by} needs {requirement}; this environment has {distribution.version}"
        )
        new = set(requirement.extras) - extras.get(key, set())
        if key in found and not new:
            continue
        found[key] = distribution
        extras[key] = extras.get(key, set()) | new
        ask(distribution.requires or [], requirement.name, {"", *extras[key]})
    return list(found.values())


def link_into(site: Path, distributions: list[importlib.metadata.Distribution]) -> None:
    """Every file each distribution installed into site-packages (its RECORD), linked."""
    for distribution in distributions:
        for file in distribution.files or []:
            if file.parts[0] == "..":  # its scripts: not needed to import it
                continue
            target = site / file
            target.parent.mkdir(parents=True, exist_ok=True)
            source = Path(distribution.locate_file(file))
            if source.exists() and not target.exists():
                target.symlink_to(source)


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    """The wheel, and a fresh virtual environment with it and its dependencies installed."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCE)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    _run(
        [*pip, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(base / "dist"), str(source)], 300
    )
    (wheel,) = (base / "dist").glob("ciw_bot-*.whl")
    venv = base / "venv"
    # Without pip of its own: this pip installs into it (`--python`), which saves seeding one.
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], 60)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(venv), "platbase": str(venv)}))
    link_into(site, runtime_distributions(wheel))
    python = str(venv / "bin" / "python")
    _run(
        [*pip, "--python", python, "install", "--quiet", "--no-deps", "--no-index", str(wheel)], 120
    )
    _run([*pip, "--python", python, "check"], 120)  # every requirement of every one met
    # The bot is imported from the environment, not from a source tree.
    where = _run([python, "-c", "import bot, handlers; print(bot.__file__)"], 60, cwd=base)
    assert Path(where.stdout.strip()).is_relative_to(venv), where.stdout
    return Installed(wheel=wheel, venv=venv)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CIW_", "TEAMS_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'ciw.db'}"
    return env


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the installed program runs: outside the source tree."""
    path = tmp_path / "work"
    path.mkdir()
    return path


def test_the_wheel_carries_every_file_of_the_packages(installed: Installed):
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = set(wheel.namelist())
    source = {
        path.relative_to(ROOT).as_posix()
        for package in PACKAGES
        for path in (ROOT / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert "templates/letters/ciw-letter.docx" in source
    assert source <= shipped, f"not in the wheel: {sorted(source - shipped)}"
    assert not {name for name in shipped if name.startswith("tests/")}


IMPORT_EVERY_MODULE = """
import importlib, pkgutil, sys
for top in sys.argv[1:]:
    for found in pkgutil.walk_packages(importlib.import_module(top).__path__, top + "."):
        if not found.name.startswith("db.migrations"):  # Alembic runs env.py on import
            importlib.import_module(found.name)
"""


def test_every_module_imports_where_the_dev_extra_is_not_installed(installed: Installed):
    python = str(installed.venv / "bin" / "python")
    for module in ("pytest", "hypothesis", "ruff"):
        found = subprocess.run(
            [python, "-c", f"import {module}"], capture_output=True, timeout=60, check=False
        )
        assert found.returncode != 0, f"{module} is installed"
    _run([python, "-c", IMPORT_EVERY_MODULE, *PACKAGES], 120, cwd=installed.venv)


def test_from_the_source_tree_the_commands_import_nothing_from_the_dev_extra(
    env: dict[str, str], workdir: Path
):
    # A source checkout finds more than the wheel (manifest.yml, for one): its shell must
    # not need the dev extra either. Each module of it is made "not installed".
    dev = PYPROJECT["project"]["optional-dependencies"]["dev"]
    assert {re.split(r"[<>=!~\[ ]", requirement)[0] for requirement in dev} == set(DEV_MODULES)
    hide = "".join(f"sys.modules[{module!r}] = None\n" for module in DEV_MODULES.values())
    program = f"import sys\n{hide}from bot.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    script = "/ciw list wrexham 2019-20\n/ciw draft-letter wrexham 2019-20\n"
    shell = [sys.executable, "-c", program, "shell", "--demo"]
    out = _run(shell, 120, input=script, env={**env, "PYTHONPATH": str(ROOT)}, cwd=workdir).stdout
    assert "[file uploaded to G0SHELL: Draft letter Wrexham County Borough Council" in out
    assert "Slack would refuse" not in out


def test_shell_demo_from_the_wheel(installed: Installed, env: dict[str, str], workdir: Path):
    script = "/ciw list wrexham 2019-20\n/ciw draft-letter wrexham 2019-20\n"
    result = _run([installed.program, "shell", "--demo"], 120, input=script, env=env, cwd=workdir)
    out = result.stdout
    assert "Demo: Wrexham 2019-20 and 2020-21 records loaded" in out
    assert "focused activity in children's services, 24 and 25 September 2019" in out
    assert "Posted version 1 of the draft letter for Wrexham County Borough Council" in out
    assert "[file uploaded to G0SHELL: Draft letter Wrexham County Borough Council 2019-20" in out
    # The played Slack grants what the manifest asks for, as a real workspace would.
    assert "Slack would refuse" not in out
    assert "Traceback" not in result.stderr


def test_draft_letter_from_the_wheel(installed: Installed, env: dict[str, str], workdir: Path):
    _run([installed.program, "shell", "--demo"], 120, input="", env=env, cwd=workdir)
    args = [installed.program, "draft-letter", "wrexham", "--year", "2019-20", "--out"]
    _run([*args, "letter.docx"], 120, env=env, cwd=workdir)
    text = "\n".join(p.text for p in docx.Document(str(workdir / "letter.docx")).paragraphs)
    assert (
        "Care Inspectorate Wales (CIW) Local Authority Performance Review April 2019 - March 2020"
        in text
    )
    assert "inspection of Community Mental Health Team with Healthcare Inspectorate Wales" in text


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    double = FakeSlack().start()
    yield double
    double.stop()
    assert not double.refusals, "\n".join(str(r) for r in double.refusals)


def test_serve_from_the_wheel(
    installed: Installed, env: dict[str, str], workdir: Path, slack: FakeSlack
):
    env = {
        **env,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
    }
    served = ServeProcess(env, workdir / "serve.log", program=[installed.program], cwd=workdir)
    try:
        assert served.health == (200, {"status": "ok", "database": "ok"})
        body, headers = SignedRequests(SECRET, slack).command("help")
        request = urllib.request.Request(
            f"{served.url}/slack/events", data=body, headers=headers, method="POST"
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        assert "log-activity" in slack.wait_for(lambda s: s.responses())[0].get("text")
    finally:
        served.stop()
    # Stopped gracefully by the host's signal (uvicorn finishes, then re-raises the signal
    # so the host sees how it ended), with nothing but its own log lines.
    assert served.process.returncode in (0, -signal.SIGTERM), served.text()
    assert "Application shutdown complete" in served.text()
    assert "Traceback" not in served.text()
