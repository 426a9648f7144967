"""The layers point one way: bot → handlers → storage. This parses every import to check."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_LIBRARIES = {"slack_bolt", "slack_sdk", "botbuilder", "botframework", "msrest", "aiohttp"}


def imported_modules(path: Path) -> set[str]:
    """Return the top-level names of every module a file imports, anywhere in it."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def python_files(package: str) -> list[Path]:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no Python files under {package}/"
    return files


@pytest.mark.parametrize("package", ["handlers", "storage"])
def test_no_platform_library_below_bot(package):
    offenders = {
        f"{p.relative_to(ROOT)}: {sorted(imported_modules(p) & PLATFORM_LIBRARIES)}" for p in python_files(package) if imported_modules(p) & PLATFORM_LIBRARIES
    }
    assert not offenders, offenders


@pytest.mark.parametrize("package, forbidden", [("storage", {"handlers", "bot"}), ("handlers", {"bot"})])
def test_no_import_against_the_arrow(package, forbidden):
    offenders = {f"{p.relative_to(ROOT)}: {sorted(imported_modules(p) & forbidden)}" for p in python_files(package) if imported_modules(p) & forbidden}
    assert not offenders, offenders


def test_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from slack_sdk import WebClient\n    import bot.cli\n")
    assert imported_modules(bad) >= {"slack_sdk", "bot"}


def test_only_config_reads_the_environment():
    readers = {
        str(p.relative_to(ROOT))
        for package in ("bot", "handlers", "storage")
        for p in python_files(package)
        if "os.environ" in p.read_text(encoding="utf-8") or "getenv" in p.read_text(encoding="utf-8")
    }
    assert readers <= {"bot/config.py"}, readers
