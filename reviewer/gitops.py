"""The only module that uses GitPython: repository checks, reading the spec, demo repository seeding.

Each operation opens a short-lived ``Repo`` (GitPython "is not suited for long-running processes").
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from reviewer.errors import KnownError

if TYPE_CHECKING:
    from git import Repo


def _git() -> Any:
    try:
        import git
    except ImportError as exc:  # GitPython refuses to import when no git executable exists
        raise KnownError(
            "The git program was not found.", hint="Install git (e.g. `apt-get install git`) and try again."
        ) from exc
    return git


@contextlib.contextmanager
def open_repo(path: Path) -> Iterator[Repo]:
    """Open the repository at ``path`` for one operation.

    Raises:
        KnownError: the path is missing or is not the top of a git repository.
    """
    git = _git()
    if not path.exists():
        raise KnownError(f"The spec repository {path} does not exist.", hint="Check the path, or create it with `git init`.")
    if not path.is_dir():
        raise KnownError(f"The spec repository path {path} is a file, not a folder.")
    try:
        repo = git.Repo(path)
    except (git.InvalidGitRepositoryError, git.NoSuchPathError) as exc:
        raise KnownError(
            f"{path} is not a git repository.", hint="Point to the folder that holds the spec's .git folder."
        ) from exc
    try:
        yield repo
    finally:
        repo.close()


@dataclass(frozen=True)
class RepoInfo:
    """The state of a spec repository.

    Attributes:
        path: the repository's working tree.
        head: the full sha of HEAD.
        branch: the current branch, or None when HEAD is detached.
        dirty: whether tracked files have uncommitted changes.
    """

    path: Path
    head: str
    branch: str | None
    dirty: bool


def repo_info(path: Path) -> RepoInfo:
    """Describe the repository at ``path``.

    Raises:
        KnownError: not a repository, or one without any commit.
    """
    with open_repo(path) as repo:
        try:
            head = repo.head.commit.hexsha
        except ValueError as exc:
            raise KnownError(f"The spec repository {path} has no commits yet.", hint="Commit the spec file first.") from exc
        branch = None if repo.head.is_detached else repo.active_branch.name
        return RepoInfo(path=path, head=head, branch=branch, dirty=repo.is_dirty(untracked_files=False))


def resolve_revision(path: Path, rev: str) -> str:
    """Return the full commit sha that ``rev`` (a tag, branch or sha) names.

    Raises:
        KnownError: the revision does not exist.
    """
    git = _git()
    with open_repo(path) as repo:
        try:
            return str(repo.commit(rev).hexsha)
        except (git.BadName, ValueError, git.GitCommandError) as exc:
            raise KnownError(f"The spec repository has no revision {rev!r}.") from exc


def read_file_at(path: Path, rev: str, name: str) -> str:
    """Return the text of file ``name`` at revision ``rev``, exactly as committed.

    Raises:
        KnownError: the revision or the file does not exist, or the file is not UTF-8.
    """
    git = _git()
    with open_repo(path) as repo:
        try:
            commit = repo.commit(rev)
        except (git.BadName, ValueError, git.GitCommandError) as exc:
            raise KnownError(f"The spec repository has no revision {rev!r}.") from exc
        try:
            blob = commit.tree / name
        except KeyError as exc:
            raise KnownError(
                f"The spec file {name!r} is not in the repository at {rev} ({commit.hexsha[:10]}).",
                hint="Name the right file with --spec-file.",
            ) from exc
        data = blob.data_stream.read()
    try:
        return str(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise KnownError(f"The spec file {name!r} at {rev} is not UTF-8 text (byte {exc.start}).") from exc


def list_tags(path: Path) -> list[tuple[str, str]]:
    """Return ``(tag, commit sha)`` pairs, oldest commit first."""
    with open_repo(path) as repo:
        tags = [(t.name, t.commit) for t in repo.tags]
        tags.sort(key=lambda pair: pair[1].committed_date)
        return [(name, commit.hexsha) for name, commit in tags]


def file_log(path: Path, name: str, max_count: int = 50) -> list[tuple[str, str, str]]:
    """Return ``(sha, ISO date, subject)`` of the latest commits that changed ``name``, newest first."""
    with open_repo(path) as repo:
        return [
            (c.hexsha, c.committed_datetime.isoformat(), str(c.summary))
            for c in repo.iter_commits(paths=name, max_count=max_count)
        ]


@dataclass(frozen=True)
class Release:
    """One release of the bundled sample spec, used to seed the demo repository.

    Attributes:
        tag: the tag to create, e.g. ``v2026.01.15``.
        date: ISO-8601 UTC date of the release commit.
        message: the commit message.
        tree: folder with the full tree of the repository at this release.
    """

    tag: str
    date: str
    message: str
    tree: Path


DEMO_AUTHOR = ("Spec Editors", "spec-editors@example.org")


def seed_repository(target: Path, releases: Sequence[Release], *, branch: str = "main") -> str:
    """Create a git repository at ``target`` with one commit and one tag per release.

    The target must not exist yet. Returns the sha of the last commit.
    """
    git = _git()
    if target.exists():
        raise KnownError(f"{target} already exists; the demo repository needs a new folder.")
    repo = git.Repo.init(target, initial_branch=branch)
    try:
        with repo.config_writer() as cfg:
            cfg.set_value("user", "name", DEMO_AUTHOR[0])
            cfg.set_value("user", "email", DEMO_AUTHOR[1])
            cfg.set_value("commit", "gpgsign", "false")
            cfg.set_value("tag", "gpgsign", "false")
        for release in releases:
            for child in target.iterdir():
                if child.name == ".git":
                    continue
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
            shutil.copytree(release.tree, target, dirs_exist_ok=True)
            env = {
                "GIT_AUTHOR_DATE": release.date,
                "GIT_COMMITTER_DATE": release.date,
                "GIT_AUTHOR_NAME": DEMO_AUTHOR[0],
                "GIT_AUTHOR_EMAIL": DEMO_AUTHOR[1],
                "GIT_COMMITTER_NAME": DEMO_AUTHOR[0],
                "GIT_COMMITTER_EMAIL": DEMO_AUTHOR[1],
            }
            with repo.git.custom_environment(**env):
                repo.git.add("--all")
                repo.git.commit("--no-verify", "-m", release.message)
                repo.git.tag("-a", release.tag, "-m", release.message)
        return str(repo.head.commit.hexsha)
    finally:
        repo.close()


def is_inside(child: Path, parent: Path) -> bool:
    """Return whether ``child`` is ``parent`` or lies below it."""
    try:
        child.resolve().relative_to(parent.resolve())
    except ValueError:
        return False
    return True


def relpath_or_abs(path: Path, base: Path) -> str:
    """Return ``path`` relative to ``base`` when inside it, else absolute (for workspace files)."""
    if is_inside(path, base):
        return os.path.relpath(path.resolve(), base.resolve())
    return str(path.resolve())
