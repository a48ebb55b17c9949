"""Builders for real git repositories and workspaces in temporary folders."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GIT_ENV = {
    **os.environ,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Test Editor",
    "GIT_AUTHOR_EMAIL": "editor@example.org",
    "GIT_COMMITTER_NAME": "Test Editor",
    "GIT_COMMITTER_EMAIL": "editor@example.org",
}


def git(repo: Path, *args: str) -> str:
    """Run git in ``repo`` and return its output (raises on failure)."""
    return subprocess.run(
        ["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def git_bytes(repo: Path, *args: str) -> bytes:
    """Run git in ``repo`` and return its raw output (for comparing file contents byte for byte)."""
    return subprocess.run(["git", *args], cwd=repo, env=GIT_ENV, check=True, capture_output=True).stdout


def init_repo(path: Path) -> Path:
    """Create an empty repository with a local identity and no signing (git-cola's initialize_repo)."""
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.name", "Test Editor")
    git(path, "config", "user.email", "editor@example.org")
    git(path, "config", "commit.gpgsign", "false")
    return path


def commit_file(repo: Path, name: str, content: str | bytes, message: str = "update") -> str:
    """Write ``name`` with ``content``, commit it, and return the new commit's sha."""
    target = repo / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    else:
        with open(target, "w", encoding="utf-8", newline="") as handle:
            handle.write(content)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def spec_repo_with(path: Path, spec_text: str, name: str = "model_spec.md") -> Path:
    """Return a new repository whose one commit holds ``spec_text`` as ``name``."""
    init_repo(path)
    commit_file(path, name, spec_text, "Add the spec")
    return path


def tree_snapshot(path: Path) -> dict[str, bytes]:
    """Return every file below ``path`` with its bytes (to prove that nothing changed)."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): p.read_bytes()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def tamper(database: Path, sql: str, params: Sequence[Any] = ()) -> None:
    """Change a database with plain sqlite3, as someone going round the app would."""
    import sqlite3

    conn = sqlite3.connect(database)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def memory_keyring() -> Any:
    """Return a system keyring stand-in that keeps passwords in a dict (``.store``), for ``keyring.set_keyring``."""
    from keyring.backend import KeyringBackend

    class MemoryKeyring(KeyringBackend):
        priority = 10  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.store: dict[tuple[str, str], str] = {}

        def get_password(self, service: str, username: str) -> str | None:
            return self.store.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.store[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            self.store.pop((service, username), None)

    return MemoryKeyring()


def bare_remote(workspace_root: Path, tmp_path: Path) -> Path:
    """A bare repository, added as ``origin`` of the workspace's spec repository (a board's shared remote)."""
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", str(remote))
    git(workspace_root / "spec", "remote", "add", "origin", str(remote))
    return remote


def forge_log_commit(repo: Path, ref: str, author: tuple[str, str]) -> str:
    """Put on ``ref`` a copy of its tip authored by ``author`` (name, email), as someone with git alone would.

    The copy has the tip's tree, parents and message; returns its sha.
    """
    tip = git(repo, "rev-parse", ref)
    tree = git(repo, "rev-parse", f"{tip}^{{tree}}")
    parents = git(repo, "rev-list", "--parents", "-1", tip).split()[1:]
    message = git(repo, "log", "-1", "--format=%B", tip)
    env = {**GIT_ENV, "GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
    forged = subprocess.run(["git", "commit-tree", tree, *[a for p in parents for a in ("-p", p)], "-m", message],
                            cwd=repo, env=env, check=True, capture_output=True, text=True).stdout.strip()
    git(repo, "update-ref", ref, forged)
    return forged


def answers(workspace, proposal_id: str, outcome: str) -> dict[str, str]:
    """A sentence for each group deciding ``outcome`` owes an answer now (``reviewer.duty``), for tests that decide."""
    from reviewer.duty import groups_owed

    return {g.id: f"We heard {g.name}; the reasons above answer it." for g in
            groups_owed(workspace.store, proposal_id, outcome)}
