"""No SQL above the domain: ``ui/`` calls named queries in ``reviewer/`` and never runs SQL itself.

Anki's UI never queries the collection's tables; ours reads through functions such as
``reviewer.audit_queries.log_page`` (called with the page reader's connection), so a schema change
is made and tested in one layer. There is no allowance: even the read-only connection's set-up
PRAGMAs live in ``reviewer.store.open_read_only``.
"""

import ast
import re
from pathlib import Path

from tests.datapaths import ROOT

# Methods of sqlite3 connections and cursors (and of sqlite-utils databases) that run SQL.
_RUNS_SQL = {"execute", "executemany", "executescript", "query"}
# SQL in a string literal: statements, clauses and placeholders compared with a column.
# Upper case only, as every statement in the code base is written: labels such as "Select a
# proposal" are not SQL.
_SQL = re.compile(
    r"\b(SELECT|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|PRAGMA|CREATE\s+(TABLE|INDEX|VIEW)|DROP\s+TABLE"
    r"|WITH\s+RECURSIVE|ORDER\s+BY|GROUP\s+BY)\b"
    r"|\w+\s*(=|<|>|<=|>=|!=)\s*\?"  # a parameter compared with a column: "actor = ?"
    r"|\bjson_(each|extract|valid)\("
)


def _strings(node: ast.AST) -> list[tuple[int, str]]:
    """Return the string literals in ``node`` (f-strings by their literal parts), with their lines."""
    found = []
    for child in ast.walk(node):
        if isinstance(child, ast.Constant) and isinstance(child.value, str):
            found.append((child.lineno, child.value))
    return found


def sql_in(path: Path, root: Path = ROOT) -> list[str]:
    """Return ``file:line: what`` (the file relative to ``root``) for every place ``path`` runs or spells SQL."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    relative = path.relative_to(root).as_posix()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            name = node.func.attr
            if name in _RUNS_SQL:
                problems.append(f"{relative}:{node.lineno}: calls .{name}(...)")
            elif name == "connect" and isinstance(node.func.value, ast.Name) and node.func.value.id == "sqlite3":
                problems.append(f"{relative}:{node.lineno}: opens a connection (sqlite3.connect)")
    for line, text in _strings(tree):
        match = _SQL.search(text)
        if match:
            problems.append(f"{relative}:{line}: SQL in a string ({match.group(0).strip()!r})")
    return sorted(set(problems), key=lambda p: (int(p.split(":")[1]), p))


def test_ui_runs_no_sql():
    problems = [p for path in sorted((ROOT / "ui").rglob("*.py")) for p in sql_in(path)]
    assert not problems, (
        "ui/ must not run SQL; give each read a named query in reviewer/ and call it:\n" + "\n".join(problems)
    )


def test_the_check_finds_sql(tmp_path):
    probe = tmp_path / "ui" / "probe.py"
    probe.parent.mkdir()
    probe.write_text(
        'import sqlite3\n'
        'conn = sqlite3.connect(":memory:")\n'
        'conn.execute("PRAGMA query_only = ON")\n'
        'rows = conn.execute(f"SELECT seq FROM audit_events WHERE {where}").fetchall()\n'
        'clause = "actor = ?"\n'
        'label = "Select a proposal to see its evidence."\n',
        encoding="utf-8",
    )
    assert sql_in(probe, root=tmp_path) == [
        "ui/probe.py:2: opens a connection (sqlite3.connect)",
        "ui/probe.py:3: SQL in a string ('PRAGMA')",
        "ui/probe.py:3: calls .execute(...)",
        "ui/probe.py:4: SQL in a string ('SELECT')",
        "ui/probe.py:4: calls .execute(...)",
        "ui/probe.py:5: SQL in a string ('actor = ?')",
    ]
