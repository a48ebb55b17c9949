"""The domain package never imports Qt: enforced by ruff's banned-api rule and checked at import."""

import subprocess
import sys
from pathlib import Path

from tests.datapaths import ROOT

RUFF = Path(sys.executable).with_name("ruff")


def _ruff_stdin(filename: str, source: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(RUFF), "check", "--no-cache", "--select", "TID251", "--stdin-filename", filename, "-"],
        input=source, capture_output=True, text=True, cwd=ROOT,
    )


def test_ruff_bans_pyside6_in_reviewer():
    result = _ruff_stdin("reviewer/probe.py", '"""Probe."""\nfrom PySide6 import QtCore\n')
    assert result.returncode == 1
    assert "TID251" in result.stdout and "never imports Qt" in result.stdout


def test_ruff_allows_pyside6_in_ui():
    result = _ruff_stdin("ui/probe.py", '"""Probe."""\nfrom PySide6 import QtCore\n')
    assert result.returncode == 0, result.stdout


def test_importing_every_domain_module_loads_no_qt():
    modules = sorted(p.stem for p in (ROOT / "reviewer").glob("*.py") if p.stem not in ("__init__", "__main__"))
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module('reviewer.' + m)\n"
        "print(sorted(k for k in sys.modules if k.startswith('PySide6')))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _imported_modules(path: Path) -> set[str]:
    import ast

    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_domain_imports_neither_the_command_line_nor_the_gui():
    offenders = {
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted((ROOT / "reviewer").rglob("*.py"))
        for name in _imported_modules(path)
        if name.split(".")[0] in ("cli", "ui")
    }
    assert not offenders, "reviewer/ is the domain layer; the CLI and the GUI import it, never the reverse"
