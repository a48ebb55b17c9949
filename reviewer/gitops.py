"""The only module that uses GitPython: repository checks, reading the spec, demo repository seeding.

Each operation opens a short-lived ``Repo`` (GitPython "is not suited for long-running processes").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

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


def _refused_by_git(repo: Repo, path: Path) -> None:
    """Raise a clear error when git itself refuses to read the repository (another user's files).

    Git will not read a repository owned by another user unless told it is safe (its config
    could run programs): say so, and how, rather than "no revision HEAD".
    """
    status, _out, err = _run(repo, "rev-parse", "--git-dir")
    if status != 0 and "dubious ownership" in err:
        raise KnownError(
            f"git refuses to read the spec repository {path}: it belongs to another user.",
            hint=f"If you trust it, allow it with `git config --global --add safe.directory {path}`.",
        )


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
        except (git.BadName, ValueError, git.GitCommandError, OSError) as exc:
            # OSError: GitPython's reader process died (git refused to start on the repository).
            _refused_by_git(repo, path)
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
        except (git.BadName, ValueError, git.GitCommandError, OSError) as exc:
            # OSError: GitPython's reader process died (git refused to start on the repository).
            _refused_by_git(repo, path)
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
    """One release of a bundled spec, used to seed the demo repository.

    Attributes:
        tag: the tag to create, e.g. ``v2025.04.11``.
        date: ISO-8601 UTC date of the release commit.
        message: the commit message.
        tree: folder with the repository's files at this release.
        extra: files added beside them, unchanged in every release (e.g. the licence).
    """

    tag: str
    date: str
    message: str
    tree: Path
    extra: tuple[Path, ...] = ()


# Not a person: the demo repository re-creates published releases, so no one is named as their author.
DEMO_AUTHOR = ("Model Spec (demo import)", "model-spec-demo-import@example.org")


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
            for extra in release.extra:
                shutil.copyfile(extra, target / extra.name)
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


# ---- committing, merging and reading history (governance) --------------------------------------


@dataclass(frozen=True)
class WorktreeState:
    """What a commit needs to know about the working tree.

    Attributes:
        head: the full sha of HEAD (None in a repository without commits).
        branch: the current branch, or None when HEAD is detached.
        dirty: tracked paths with staged or unstaged changes.
    """

    head: str | None
    branch: str | None
    dirty: tuple[str, ...]


def _run(repo: Repo, *args: str) -> tuple[int, str, str]:
    """Run git in ``repo``; return (exit status, stdout exactly as written, stderr)."""
    status, out, err = repo.git.execute(
        ["git", *args], with_extended_output=True, with_exceptions=False, strip_newline_in_stdout=False,
    )
    return int(status), str(out), str(err)


def worktree_state(path: Path) -> WorktreeState:
    """Describe HEAD, the branch and uncommitted changes to tracked files, with one git call.

    Raises:
        KnownError: not a repository.
    """
    with open_repo(path) as repo:
        status, out, err = _run(repo, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status != 0:
        raise KnownError(f"git status failed in {path}: {err.strip()}")
    head: str | None = None
    branch: str | None = None
    dirty = []
    for line in out.splitlines():
        if line.startswith("# branch.oid "):
            value = line[len("# branch.oid "):]
            head = None if value == "(initial)" else value
        elif line.startswith("# branch.head "):
            value = line[len("# branch.head "):]
            branch = None if value == "(detached)" else value
        elif line and not line.startswith("#"):
            # "1 XY ... path", "2 XY ... path<TAB>orig", "u XY ... path": the path is the last field
            dirty.append(line.split("\t")[0].split(" ")[-1])
    return WorktreeState(head=head, branch=branch, dirty=tuple(dirty))


def is_tracked(path: Path, name: str, rev: str = "HEAD") -> bool:
    """Return whether file ``name`` exists in the tree of ``rev``."""
    with open_repo(path) as repo:
        status, out, _ = _run(repo, "ls-tree", "--name-only", rev, "--", name)
    return status == 0 and bool(out.strip())


def is_in_index(path: Path, name: str) -> bool:
    """Return whether ``name`` is in the index (read in-process; equals HEAD when the tree is clean)."""
    with open_repo(path) as repo:
        try:
            return (name, 0) in repo.index.entries
        except (OSError, ValueError):
            return False


def is_untracked(path: Path, name: str) -> bool:
    """Return whether ``name`` exists in the working tree without being tracked."""
    with open_repo(path) as repo:
        status, out, _ = _run(repo, "ls-files", "--others", "--", name)
    return status == 0 and bool(out.strip())


@dataclass(frozen=True)
class MergeResult:
    """The result of a three-way merge of one text.

    Attributes:
        text: the merged text (with conflict markers when ``conflicts`` > 0).
        conflicts: the number of conflicting hunks.
    """

    text: str
    conflicts: int


def merge_text(base: str, ours: str, theirs: str, labels: tuple[str, str, str] = ("current", "base", "proposal"),
               *, diff3: bool = False) -> MergeResult:
    """Merge ``theirs`` into ``ours`` against ``base`` with ``git merge-file -p`` (byte-exact).

    With ``diff3``, a conflict shows the base's lines too (``|||||||``), as a three-way view needs.

    Raises:
        KnownError: git could not run the merge.
    """
    import tempfile

    git = _git()
    with tempfile.TemporaryDirectory(prefix="spec-review-merge-") as tmp:
        files = []
        for name, text in (("ours", ours), ("base", base), ("theirs", theirs)):
            file = Path(tmp) / name
            file.write_bytes(text.encode("utf-8"))
            files.append(str(file))
        status, out, err = git.Git().execute(
            ["git", "merge-file", "-p", *(["--diff3"] if diff3 else []), "-L", labels[0], "-L", labels[1], "-L",
             labels[2], *files],
            with_extended_output=True, with_exceptions=False, strip_newline_in_stdout=False,
            stdout_as_string=False,
        )
    if status < 0 or status > 127:
        raise KnownError(f"git merge-file failed: {err.strip() if isinstance(err, str) else err}")
    return MergeResult(text=bytes(out).decode("utf-8"), conflicts=int(status))


def commit_files(path: Path, files: dict[str, bytes], message: str, *, expected_head: str) -> str:
    """Write ``files`` byte for byte and commit exactly them on the current branch; hooks run.

    On any failure the files get their original bytes back and the index is left as it was.

    Args:
        path: the repository.
        files: repository path to new content.
        message: the commit message (kept verbatim apart from surrounding whitespace).
        expected_head: the sha HEAD must still have (guards against a concurrent commit).

    Returns:
        The new commit's sha.

    Raises:
        KnownError: HEAD moved, or git (a hook, for example) refused the commit.
    """
    with open_repo(path) as repo:
        if _head_sha(repo) != expected_head:
            raise KnownError(
                "The spec repository's HEAD moved while committing.", hint="Run the command again; nothing was changed."
            )
        root = Path(repo.working_tree_dir or path)
        originals = {name: (root / name).read_bytes() if (root / name).exists() else None for name in files}
        # Inside .git, under one fixed name: a run killed here leaves no stray file in the
        # system's temporary folder, and the next run writes over it.
        message_file = str(Path(repo.git_dir) / "SPEC_REVIEW_COMMIT_MSG")
        try:
            with open(message_file, "wb") as handle:
                handle.write(message.encode("utf-8"))
            try:
                for name, data in files.items():
                    target = root / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(data)
                new_files = [name for name, data in originals.items() if data is None]
                if new_files:
                    _run(repo, "add", "--", *new_files)
                status, out, err = _run(
                    repo, "commit", "--quiet", "--only", "--cleanup=whitespace", "-F", message_file, "--", *files
                )
                if status != 0:
                    raise KnownError(
                        f"git refused the commit (exit {status}): {_one_line(err or out)}.",
                        hint=f"{_why_git_refused(err or out, Path(repo.git_dir))} The working tree was restored "
                             "and nothing was committed.",
                    )
            except BaseException:
                for name, original in originals.items():
                    target = root / name
                    if original is None:
                        target.unlink(missing_ok=True)
                    else:
                        target.write_bytes(original)
                _run(repo, "reset", "--quiet", "--", *files)
                raise
        finally:
            with contextlib.suppress(OSError):
                os.unlink(message_file)
        sha = _head_sha(repo)
        if sha is None or sha == expected_head:
            raise KnownError("git reported success but HEAD did not move; nothing was recorded.")
        return sha


def head_sha(path: Path) -> str | None:
    """Return HEAD's sha (None in a repository without commits)."""
    with open_repo(path) as repo:
        return _head_sha(repo)


def undo_commit(path: Path, sha: str, parent: str) -> None:
    """Move the branch back from our own commit ``sha`` to ``parent``, keeping any local change.

    Raises:
        KnownError: HEAD is no longer ``sha`` (someone committed on top), or git refused.
    """
    with open_repo(path) as repo:
        if _head_sha(repo) != sha:
            raise KnownError(f"Cannot undo commit {sha[:10]}: the branch has moved on since.",
                             hint=f"Revert it by hand with `git revert {sha[:10]}`.")
        status, out, err = _run(repo, "reset", "--quiet", "--keep", parent)
    if status != 0:
        raise KnownError(f"git could not undo commit {sha[:10]}: {_one_line(err or out)}.",
                         hint=f"Revert it by hand with `git revert {sha[:10]}`.")


def undo_half_applied(path: Path, name: str, applied: bytes) -> bool:
    """Undo a change our own run wrote to ``name`` but never committed (the run was killed).

    The file is restored from HEAD only when it holds exactly ``applied`` (our bytes, nobody
    else's); a stale ``index.lock`` left by the killed git is removed first. The caller must hold
    the workspace lock, so no run of ours is using the index.

    Returns:
        True when something was undone.
    """
    with open_repo(path) as repo:
        git_dir = Path(repo.git_dir)
        root = Path(repo.working_tree_dir or path)
        target = root / name
        ours = target.is_file() and target.read_bytes() == applied
        lock = git_dir / "index.lock"
        undone = False
        if lock.exists() and (ours or _index_lock_is_ours(lock)):
            lock.unlink()
            undone = True
        if ours:
            status, out, err = _run(repo, "checkout", "HEAD", "--", name)
            if status != 0:
                raise KnownError(f"git could not restore {name} from HEAD: {_one_line(err or out)}.")
            undone = True
    return undone


def _index_lock_is_ours(lock: Path) -> bool:
    """An empty or older-than-a-minute ``index.lock`` is one a killed git left (a live git holds it briefly)."""
    import time

    try:
        info = lock.stat()
    except OSError:
        return False
    return info.st_size == 0 or time.time() - info.st_mtime > 60


def _why_git_refused(text: str, git_dir: Path) -> str:
    """Say in a sentence what most likely stopped ``git commit``, from what git printed."""
    lower = text.lower()
    if "no space left" in lower or "disk quota" in lower:
        return "The disk is full: free some space and try again."
    if "gpg" in lower or "signing" in lower or "ssh-keygen" in lower:
        return "Signing the commit failed: check git's signing settings (user.signingkey, gpg.format) or your key agent."
    if "index.lock" in lower:
        return "Another git process is using the repository (or a stale .git/index.lock was left); wait and try again."
    hooks = [h for h in ("pre-commit", "commit-msg", "prepare-commit-msg") if (git_dir / "hooks" / h).is_file()]
    if hooks:
        return f"A hook ({', '.join(hooks)}) refused it: see its message above."
    return "See git's message above."


def _one_line(text: str) -> str:
    """Git's message on one line (its lines joined by " | "), at most 300 characters."""
    joined = " | ".join(line.strip() for line in (text or "").splitlines() if line.strip())
    return (joined[:297] + "...") if len(joined) > 300 else joined or "no message"


def _head_sha(repo: Repo) -> str | None:
    """Read HEAD's sha from the ref files, without starting a git process."""
    git = _git()
    try:
        return str(git.refs.symbolic.SymbolicReference.dereference_recursive(repo, "HEAD"))
    except ValueError:
        return None


@dataclass(frozen=True)
class LogEntry:
    """One commit with its trailers.

    Attributes:
        sha: the commit.
        parents: its parents' shas.
        committed_at: ISO-8601 committer date.
        subject: the first line of the message.
        trailers: ``(key, value)`` pairs of the message's trailer block, in order.
    """

    sha: str
    parents: tuple[str, ...]
    committed_at: str
    subject: str
    trailers: tuple[tuple[str, str], ...]

    def trailer(self, key: str) -> list[str]:
        """Return every value of trailer ``key`` (case-insensitive)."""
        return [v for k, v in self.trailers if k.lower() == key.lower()]


def log_with_trailers(path: Path, rev_range: str = "HEAD", *, paths: Sequence[str] = ()) -> list[LogEntry]:
    """Return the commits of ``rev_range`` (newest first) with their trailers, in one git call.

    Args:
        path: the repository.
        rev_range: e.g. ``HEAD`` or ``BASE..HEAD``.
        paths: only commits that change these paths.
    """
    with open_repo(path) as repo:
        status, out, err = _run(
            repo, "log", "--format=%H%x1f%P%x1f%cI%x1f%s%x1f%(trailers:only,unfold)%x1e", rev_range,
            "--", *paths,
        )
    if status != 0:
        raise KnownError(f"git log {rev_range} failed: {err.strip()}")
    entries = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, date, subject, trailer_text = record.split("\x1f")
        trailers = []
        for line in trailer_text.splitlines():
            key, sep, value = line.partition(":")
            if sep and key.strip():
                trailers.append((key.strip(), value.strip()))
        entries.append(LogEntry(sha, tuple(parents.split()), date, subject, tuple(trailers)))
    return entries


def is_ancestor(path: Path, ancestor: str, descendant: str = "HEAD") -> bool:
    """Return whether ``ancestor`` is reachable from ``descendant`` (both must exist)."""
    with open_repo(path) as repo:
        status, _, _ = _run(repo, "merge-base", "--is-ancestor", ancestor, descendant)
    return status == 0


def commit_exists(path: Path, sha: str) -> bool:
    """Return whether ``sha`` names a commit in the repository."""
    with open_repo(path) as repo:
        status, _, _ = _run(repo, "cat-file", "-e", f"{sha}^{{commit}}")
    return status == 0


def tag_exists(path: Path, tag: str) -> bool:
    """Return whether tag ``tag`` exists."""
    with open_repo(path) as repo:
        status, _, _ = _run(repo, "rev-parse", "--quiet", "--verify", f"refs/tags/{tag}")
    return status == 0


def check_tag_name(path: Path, tag: str) -> None:
    """Refuse a tag name git does not accept.

    Raises:
        KnownError: the name is not a valid tag name.
    """
    with open_repo(path) as repo:
        status, _, _ = _run(repo, "check-ref-format", f"refs/tags/{tag}")
    if status != 0 or not tag or tag.startswith("-"):
        raise KnownError(f"{tag!r} is not a valid git tag name.", hint="Use something like v2026.01.15.")


def create_tag(path: Path, tag: str, message: str, rev: str = "HEAD") -> str:
    """Create the annotated tag ``tag`` on ``rev``; return the tagged commit's sha.

    Raises:
        KnownError: git refused (the tag exists, for example).
    """
    with open_repo(path) as repo:
        status, out, err = _run(repo, "tag", "-a", tag, "-m", message, rev)
        if status != 0:
            raise KnownError(f"git could not create tag {tag!r}: {(err or out).strip()}")
        status, out, err = _run(repo, "rev-parse", f"refs/tags/{tag}^{{commit}}")
    return out.strip()


def tag_target(path: Path, tag: str) -> str | None:
    """Return the commit ``tag`` points at, or None when there is no such tag."""
    with open_repo(path) as repo:
        status, out, _err = _run(repo, "rev-parse", "--verify", "--quiet", f"refs/tags/{tag}^{{commit}}")
    return out.strip() if status == 0 and out.strip() else None


def read_files_at(path: Path, wanted: Sequence[tuple[str, str]]) -> list[str | None]:
    """Return the text of each ``(rev, name)`` (None when the revision or file does not exist).

    One repository session serves every read, so reading many revisions stays cheap.
    """
    git = _git()
    results: list[str | None] = []
    with open_repo(path) as repo:
        for rev, name in wanted:
            try:
                blob = repo.commit(rev).tree / name
                results.append(blob.data_stream.read().decode("utf-8"))
            except (git.BadName, ValueError, KeyError, git.GitCommandError, UnicodeDecodeError):
                results.append(None)
    return results


# ---- plumbing for the log ref (one git process per step, no GitPython session) -------------------

ZERO_SHA = "0" * 40


def _plumb(path: Path, *args: str, data: bytes | None = None, env: dict[str, str] | None = None,
           check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C path args`` with ``data`` on stdin; raise a one-line KnownError when it fails (``check``)."""
    try:
        done = subprocess.run(
            ["git", "-C", str(path), *args], input=data, capture_output=True, check=False,
            env={**os.environ, **env} if env else None,
        )
    except FileNotFoundError as exc:
        raise KnownError("The git program was not found.", hint="Install git and try again.") from exc
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace") or done.stdout.decode("utf-8", "replace")
        raise KnownError(f"git {args[0]} failed in {path} (exit {done.returncode}): {_one_line(message)}.")
    return done


def ref_sha(path: Path, ref: str) -> str | None:
    """Return the commit ``ref`` points at, or None when there is no such ref."""
    done = _plumb(path, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    sha = done.stdout.decode("ascii", "replace").strip()
    return sha if done.returncode == 0 and sha else None


def init_bare(path: Path) -> None:
    """Make ``path`` (an existing, empty folder) a bare repository."""
    _plumb(path, "init", "--quiet", "--bare")


def set_config(path: Path, key: str, value: str) -> None:
    """Set one of the repository's own git settings."""
    _plumb(path, "config", key, value)


def fetch_refspecs(path: Path, source: str, refspecs: Sequence[str], *, tags: bool = False, what: str = "") -> None:
    """Fetch ``refspecs`` from ``source`` (a remote's name, a path or a URL), with its tags when ``tags``.

    Raises:
        KnownError: git could not reach or read it (naming ``what`` was fetched, and git's words).
    """
    done = _plumb(path, "fetch", "--quiet", "--tags" if tags else "--no-tags", source, *refspecs, check=False,
                  env={"GIT_TERMINAL_PROMPT": "0"})
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace")
        raise KnownError(f"git could not fetch {what or 'from'} {source}: {_one_line(said)}.", hint=_remote_hint(said))


def list_refs(path: Path, prefix: str) -> list[str]:
    """The names of the refs under ``prefix`` (e.g. ``refs/spec-review/``)."""
    return _plumb(path, "for-each-ref", "--format=%(refname)", prefix).stdout.decode("utf-8", "replace").split()


def rev_list(path: Path, tip: str, exclude: str | None = None) -> list[str]:
    """The commits reachable from ``tip`` and not from ``exclude``, newest first."""
    args = ["rev-list", tip] + ([f"^{exclude}"] if exclude else [])
    return _plumb(path, *args).stdout.decode("ascii").split()


def commit_message(path: Path, sha: str) -> str:
    """The whole message of one commit."""
    return _plumb(path, "log", "-1", "--format=%B", sha).stdout.decode("utf-8", "replace")


def fast_forward(path: Path, target: str) -> str | None:
    """Move the checked-out branch forward to ``target`` (``merge --ff-only``); git's reason when it cannot."""
    done = _plumb(path, "merge", "--quiet", "--ff-only", target, check=False)
    return None if done.returncode == 0 else _one_line(done.stderr.decode("utf-8", "replace"))


def tags_on(path: Path, shas: set[str]) -> list[str]:
    """The tag refs that name one of the commits ``shas`` (an annotated tag through its tag object)."""
    listed = _plumb(path, "for-each-ref", "--format=%(refname) %(objectname) %(*objectname)", "refs/tags")
    return [line.split()[0] for line in listed.stdout.decode("utf-8", "replace").splitlines()
            if shas.intersection(line.split()[1:])]


def signs_commits(path: Path) -> bool:
    """Whether the repository's git configuration asks for signed commits (``commit.gpgSign``)."""
    done = _plumb(path, "config", "--bool", "commit.gpgsign", check=False)
    return done.stdout.strip() == b"true"


def write_commit(path: Path, files: dict[str, bytes], message: str, *, author: tuple[str, str],
                 parents: Sequence[str] = (), sign: bool = False) -> str:
    """Write a commit whose tree holds exactly ``files`` and return its sha; no ref moves.

    A name is a file at the top (``events.json``) or in one folder (``imports/<sha256>``). The
    author is ``(name, email)``; the committer is git's own identity, or the author when git has
    none. ``sign`` signs it as git is configured to (gpg or ssh, ``user.signingKey``).
    """
    top: dict[str, bytes] = {}
    folders: dict[str, dict[str, bytes]] = {}
    for name, data in files.items():
        folder, _slash, leaf = name.rpartition("/")
        if "/" in folder or (folder and not leaf) or name.startswith("/"):
            raise ValueError(f"a log commit holds files at the top or one folder down, not {name!r}")
        (folders.setdefault(folder, {}) if folder else top)[leaf or name] = data
    objects = _loose_objects(path)
    entries = {name: ("100644", _write_blob(path, objects, data)) for name, data in top.items()}
    for folder, inside in folders.items():
        entries[folder] = ("40000", _write_tree(path, objects, {
            leaf: ("100644", _write_blob(path, objects, data)) for leaf, data in inside.items()}))
    tree = _write_tree(path, objects, entries)
    env = {"GIT_AUTHOR_NAME": author[0], "GIT_AUTHOR_EMAIL": author[1]}
    args = ["commit-tree", tree, *[a for p in parents for a in ("-p", p)], *(["-S"] if sign else [])]
    done = _plumb(path, *args, data=message.encode("utf-8"), env=env, check=False)
    if done.returncode != 0 and any(
        words in done.stderr.lower() for words in (b"tell me who you are", b"identity", b"email address")
    ):
        env.update({"GIT_COMMITTER_NAME": author[0], "GIT_COMMITTER_EMAIL": author[1]})
        done = _plumb(path, *args, data=message.encode("utf-8"), env=env, check=False)
    if done.returncode != 0:
        why = _one_line(done.stderr.decode("utf-8", "replace"))
        raise KnownError(f"git could not write the log commit: {why}.",
                         hint="Check git's signing settings (commit.gpgSign, user.signingKey)." if sign else "")
    return done.stdout.decode("ascii").strip()


def _write_blob(path: Path, objects: Path | None, data: bytes) -> str:
    """Write one blob (a loose object in Python when ``objects`` is given, else through git)."""
    if objects is not None:
        return _write_loose(objects, b"blob", data)
    return _plumb(path, "hash-object", "-w", "--stdin", data=data).stdout.decode("ascii").strip()


def _write_tree(path: Path, objects: Path | None, entries: dict[str, tuple[str, str]]) -> str:
    """Write one tree of ``{name: (mode, sha)}`` (a folder's mode is ``40000``), sorted as git sorts them."""
    # git orders a tree's entries by name, a folder's name compared as if it ended in "/".
    names = sorted(entries, key=lambda n: n + "/" if entries[n][0] == "40000" else n)
    if objects is not None:
        raw = b"".join(entries[n][0].encode("ascii") + b" " + n.encode("utf-8") + b"\0" + bytes.fromhex(entries[n][1])
                       for n in names)
        return _write_loose(objects, b"tree", raw)
    text = "".join(
        f"{'040000 tree' if entries[n][0] == '40000' else '100644 blob'} {entries[n][1]}\t{n}\n" for n in names)
    return _plumb(path, "mktree", data=text.encode("utf-8")).stdout.decode("ascii").strip()


def _loose_objects(path: Path) -> Path | None:
    """The objects folder of a plain SHA-1 repository (None otherwise: git's own commands write the objects)."""
    git_dir = path / ".git"
    objects = git_dir / "objects"
    if not objects.is_dir():
        return None
    try:
        config = (git_dir / "config").read_text(encoding="utf-8", errors="replace").lower()
    except OSError:
        return None
    if "objectformat" in config or "[extensions]" in config:
        return None  # SHA-256 objects, or an extension we do not know: leave the writing to git
    return objects


def _write_loose(objects: Path, kind: bytes, data: bytes) -> str:
    """Write one object as git stores a loose object (zlib over "kind size NUL data", named by its SHA-1)."""
    raw = kind + b" " + str(len(data)).encode("ascii") + b"\0" + data
    sha = hashlib.sha1(raw, usedforsecurity=False).hexdigest()
    target = objects / sha[:2] / sha[2:]
    if not target.exists():
        target.parent.mkdir(exist_ok=True)
        temporary = target.parent / f"tmp_obj_{os.getpid()}_{sha[2:10]}"
        temporary.write_bytes(zlib.compress(raw))
        os.replace(temporary, target)
    return sha


def read_loose_ref(path: Path, ref: str) -> str | None:
    """The sha in ``ref``'s own file, without a git process (None when it has none: packed, or no such ref)."""
    try:
        text = (path / ".git" / ref).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None
    return text if len(text) == 40 and all(c in "0123456789abcdef" for c in text) else None


def move_ref(path: Path, ref: str, new: str, old: str | None, reason: str) -> bool:
    """Point ``ref`` at ``new`` if it still points at ``old`` (None: if it does not exist yet).

    Returns:
        False when the ref had moved meanwhile (nothing changed); True when it now points at ``new``.
    """
    done = _plumb(path, "update-ref", "-m", reason, ref, new, old or ZERO_SHA, check=False)
    if done.returncode == 0:
        return True
    if ref_sha(path, ref) != (old or None):
        return False
    raise KnownError(f"git could not move {ref}: {_one_line(done.stderr.decode('utf-8', 'replace'))}.")


def commits_of(path: Path, ref: str) -> list[tuple[str, tuple[str, ...]]]:
    """Return ``(sha, parents)`` of every commit reachable from ``ref``, parents before children."""
    out = _plumb(path, "rev-list", "--topo-order", "--reverse", "--parents", ref).stdout.decode("ascii")
    commits = []
    for line in out.splitlines():
        sha, *parents = line.split()
        commits.append((sha, tuple(parents)))
    return commits


def read_blobs(path: Path, specs: Sequence[str]) -> list[bytes | None]:
    """Return the contents of each object named ``rev:file`` (None when missing), through one git process."""
    if not specs:
        return []
    if any("\n" in spec for spec in specs):
        raise KnownError("An object name holds a line break.")
    out = _plumb(path, "cat-file", "--batch", data="".join(f"{s}\n" for s in specs).encode("utf-8")).stdout
    results: list[bytes | None] = []
    at = 0
    for _spec in specs:
        end = out.index(b"\n", at)
        header = out[at:end].split()
        at = end + 1
        if len(header) == 3 and header[1] in (b"blob", b"commit", b"tree", b"tag"):
            size = int(header[2])
            results.append(out[at:at + size])
            at += size + 1  # the content and its newline
        else:
            results.append(None)  # "<name> missing" or "ambiguous"
    return results


def remotes(path: Path) -> list[str]:
    """The names of the repository's remotes."""
    return _plumb(path, "remote").stdout.decode("utf-8", "replace").split()


def fetch_ref(path: Path, remote: str, ref: str, into: str) -> str | None:
    """Fetch ``ref`` from ``remote`` into the local ref ``into`` (forced: the caller checks the history).

    Returns:
        The fetched commit, or None when the remote has no such ref (``into`` is then deleted).

    Raises:
        KnownError: the remote cannot be reached or refused (the message says what git said).
    """
    done = _plumb(path, "fetch", "--no-tags", "--quiet", "--no-write-fetch-head", remote, f"+{ref}:{into}",
                  check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace")
        if "couldn't find remote ref" in said.lower():
            _plumb(path, "update-ref", "-d", into, check=False)
            return None
        raise KnownError(f"git could not fetch from {remote}: {_one_line(said)}.", hint=_remote_hint(said))
    return ref_sha(path, into)


def clone(url: str, target: Path) -> None:
    """Clone the repository at ``url`` (a URL or a path) into the new folder ``target``.

    Raises:
        KnownError: git could not reach or read it (the message says what git said).
    """
    done = subprocess.run(["git", "clone", "--quiet", "--", url, str(target)], capture_output=True, check=False,
                          env={**os.environ, "GIT_TERMINAL_PROMPT": "0"})
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace")
        raise KnownError(f"git could not clone {url}: {_one_line(said)}.", hint=_remote_hint(said))


def remote_refs(path: Path, remote: str, pattern: str) -> dict[str, str]:
    """``{ref: sha}`` of the refs on ``remote`` matching ``pattern`` (``git ls-remote``).

    Raises:
        KnownError: the remote cannot be reached.
    """
    done = _plumb(path, "ls-remote", "--refs", remote, pattern, check=False, env={"GIT_TERMINAL_PROMPT": "0"})
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace")
        raise KnownError(f"git could not list the refs of {remote}: {_one_line(said)}.", hint=_remote_hint(said))
    refs: dict[str, str] = {}
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        sha, _tab, ref = line.partition("\t")
        if ref:
            refs[ref.strip()] = sha.strip()
    return refs


def push_ref(path: Path, remote: str, sha: str, ref: str) -> bool:
    """Push ``sha`` to ``ref`` on ``remote``, only as a fast-forward.

    Returns:
        False when the remote refused because its ref moved on (fetch and try again); True when pushed.

    Raises:
        KnownError: any other refusal (no network, authentication, a hook).
    """
    return _push(path, remote, f"{sha}:{ref}")


def push_with_lease(path: Path, remote: str, source: str, ref: str, expected: str | None) -> bool:
    """Set (or, with ``source`` "", delete) ``ref`` on ``remote`` only if it is still ``expected`` there.

    ``expected`` None: only if the remote has no such ref. git checks it on the remote side
    (``--force-with-lease``): of two machines racing, one wins.

    Returns:
        False when the remote's ref was not what was expected (nothing changed there).

    Raises:
        KnownError: any other refusal (no network, authentication, a hook).
    """
    return _push(path, remote, f"{source}:{ref}", f"--force-with-lease={ref}:{expected or ''}")


def _push(path: Path, remote: str, refspec: str, *options: str) -> bool:
    """Push one refspec; False when the remote refused it as no longer what this machine saw."""
    done = _plumb(path, "push", "--quiet", "--porcelain", *options, remote, refspec, check=False,
                  env={"GIT_TERMINAL_PROMPT": "0"})
    if done.returncode == 0:
        return True
    said = done.stdout.decode("utf-8", "replace") + done.stderr.decode("utf-8", "replace")
    if any(words in said for words in ("non-fast-forward", "fetch first", "stale info", "[rejected]")):
        return False
    raise KnownError(f"git could not push to {remote}: {_one_line(said)}.", hint=_remote_hint(said))


def _remote_hint(said: str) -> str:
    text = said.lower()
    if "could not resolve host" in text or "network is unreachable" in text or "connection" in text:
        return "Check the network connection, then run sync again; nothing was changed here."
    if "authentication" in text or "permission denied" in text or "403" in text:
        return "The remote refused your credentials: check git's access to it (ssh key or token), then sync again."
    if "does not appear to be a git repository" in text or "no such remote" in text:
        return "Check the remote's name and URL (`git remote -v` in the spec repository)."
    return "Run sync again; if it keeps failing, try `git fetch` in the spec repository to see git's own message."


class CommitFacts(NamedTuple):
    """What ``audit verify`` reads of a log commit.

    Attributes:
        author: the author's name.
        email: the author's email ("" when none).
        signature: git's ``%G?``: ``G`` good, ``N`` none, ``B`` bad, ``U``/``X``/``Y``/``R``/``E`` (see
            ``git log --help``); ssh signatures need ``gpg.ssh.allowedSignersFile`` to be ``G``.
        key: the key that signed it, as git names it (``%GF``, else ``%GK``: an ssh key's
            ``SHA256:…`` fingerprint, a gpg key's fingerprint or id); "" when unsigned or unknown.
    """

    author: str
    email: str
    signature: str
    key: str = ""


NO_FACTS = CommitFacts("", "", "")


def commit_facts(path: Path, ref: str) -> dict[str, CommitFacts]:
    """The author, author email and signature status of every commit reachable from ``ref``, in one git call."""
    out = _plumb(path, "log", "--format=%H%x1f%an%x1f%ae%x1f%G?%x1f%GF%x1f%GK", ref).stdout.decode("utf-8", "replace")
    facts = {}
    for line in out.splitlines():
        sha, author, email, status, fingerprint, key = (line.split("\x1f") + [""] * 5)[:6]
        facts[sha] = CommitFacts(author, email, status, fingerprint or key)
    return facts
