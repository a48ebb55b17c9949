"""A workspace: a folder with the SQLite database and a reference to the spec's git repository."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from reviewer import audit, gitops
from reviewer.errors import KnownError
from reviewer.ids import new_id, utc_now
from reviewer.progress import NoProgress, Progress
from reviewer.resources import resource_path
from reviewer.spec import SpecDocument, parse_spec
from reviewer.store import APP_ACTOR, ProposalSummary, Store, sql_errors
from reviewer.workspace_file import (
    DB_FILE,
    DEFAULT_SPEC_FILE,
    WORKSPACE_FILE,
    WorkspaceConfig,
    read_config,
    write_config,
)

# Problems that make sections impossible to address by id; the others are reported as warnings.
FATAL_PROBLEMS = frozenset({"duplicate_id", "unterminated_fence"})


@dataclass(frozen=True)
class Overview:
    """Everything the main window shows when a workspace opens, read in one go.

    Attributes:
        name: the workspace's display name.
        root: the workspace folder.
        spec_repo: the spec repository's folder.
        spec_file: the spec's path inside the repository.
        spec: the spec at the current commit.
        branch: the spec repository's branch (None when detached).
        dirty: whether the spec repository has uncommitted changes.
        releases: the repository's tags as ``(tag, sha)``, oldest first.
        proposals: the proposal queue.
        counts: stored object counts.
    """

    name: str
    root: Path
    spec_repo: Path
    spec_file: str
    spec: LoadedSpec
    branch: str | None
    dirty: bool
    releases: list[tuple[str, str]]
    proposals: list[ProposalSummary]
    counts: dict[str, int]


_SPECS_KEPT = 4  # HEAD, the base of a proposal or two, a release being compared


@dataclass(frozen=True)
class LoadedSpec:
    """The spec read from the repository at one revision.

    Attributes:
        document: the parsed spec.
        revision: the full commit sha it was read at.
        text: the exact file text.
    """

    document: SpecDocument
    revision: str
    text: str


def check_spec_text(text: str, where: str) -> SpecDocument:
    """Parse spec text and refuse it when its sections cannot be addressed by id.

    Raises:
        KnownError: a duplicate id or an unterminated fence, naming the line.
    """
    document = parse_spec(text)
    fatal = [p for p in document.problems if p.kind in FATAL_PROBLEMS]
    if fatal:
        first = fatal[0]
        more = f" (and {len(fatal) - 1} more)" if len(fatal) > 1 else ""
        raise KnownError(
            f"The spec {where} does not parse: line {first.line}: {first.message}{more}.",
            hint="Fix the file (see `spec-review spec check FILE`) and try again.",
        )
    return document


class SpecRepoMissing(KnownError):
    """The workspace's spec repository is not where ``workspace.json`` says: moved, renamed or not mounted.

    The app offers "Choose the moved folder…" for it, and the command line ``spec-review repo
    relocate`` (both call ``Workspace.relocate_spec_repo``).

    Attributes:
        workspace: the workspace folder.
        repo: where the workspace looked for the repository.
    """

    def __init__(self, workspace: Path, repo: Path, why: str) -> None:
        super().__init__(
            f"The workspace's spec repository {repo} {why}.",
            hint=("If it was moved or renamed, point the workspace at its new folder: "
                  f"`spec-review repo relocate {workspace} NEW_FOLDER` (in the app: Choose the moved folder…)."),
        )
        self.workspace = workspace
        self.repo = repo


@dataclass(frozen=True)
class Relocation:
    """What ``Workspace.relocate_spec_repo`` recorded.

    Attributes:
        old: where the workspace looked for the spec repository before.
        new: the repository's folder now.
        recorded: what ``workspace.json`` now says (relative to the workspace when inside it).
        head: the repository's current commit.
        baseline: the workspace's baseline commit, found in the repository's history.
    """

    old: Path
    new: Path
    recorded: str
    head: str
    baseline: str


class Workspace:
    """An open workspace.

    Attributes:
        root: the workspace folder.
        config: what ``workspace.json`` says.
        store: the open database (use only on the thread that opened the workspace).
    """

    def __init__(self, root: Path, config: WorkspaceConfig, store: Store) -> None:
        self.root = root
        self.config = config
        self.store = store
        # What went wrong writing a new workspace's first events to its log ref (reported by ``init``).
        self.creation_warnings: tuple[str, ...] = ()
        # Parsed specs by (commit, file): a commit's file never changes, so each is read and parsed once.
        self._specs: OrderedDict[tuple[str, str], LoadedSpec] = OrderedDict()

    # ---- opening and creating --------------------------------------------------------------

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> Workspace:
        """Open the workspace at ``path``.

        Raises:
            KnownError: not a workspace, a newer format, or a database that cannot be opened.
        """
        root = Path(path).expanduser().resolve()
        config = read_config(root)
        store = Store.open(root / DB_FILE)
        workspace = cls(root, config, store)
        from reviewer.logref import LogRef

        store.log_ref = LogRef(workspace.spec_repo_path, config.id, root)
        return workspace

    @classmethod
    def create(
        cls,
        path: str | os.PathLike[str],
        *,
        spec_repo: str | os.PathLike[str],
        spec_file: str = DEFAULT_SPEC_FILE,
        name: str | None = None,
    ) -> Workspace:
        """Create a workspace at ``path`` for an existing spec repository.

        Nothing is written to the repository but the workspace's log ref (``reviewer.logref``),
        which gets the workspace's first event. The workspace is built in a temporary folder and moved
        into place at the end, so a failure leaves nothing behind.

        Raises:
            KnownError: the target is not empty or not writable, or the repository or spec is unusable.
        """
        root = Path(path).expanduser().absolute()
        repo_path = Path(spec_repo).expanduser().resolve()
        info = gitops.repo_info(repo_path)
        text = gitops.read_file_at(repo_path, info.head, spec_file)
        check_spec_text(text, f"file {spec_file} at {info.head[:10]}")

        def fill(tmp: Path) -> None:
            config = WorkspaceConfig(
                id=new_id(), name=name or root.name, spec_repo=str(repo_path), spec_file=spec_file,
                created_at=utc_now(),
            )
            _write_new_workspace(tmp, config, baseline=info.head)

        build_atomically(root, fill)
        return cls._opened_and_published(root)

    @classmethod
    def _opened_and_published(cls, root: Path) -> Workspace:
        """Open a new workspace and write its first events to its log ref (a failure there is only reported later)."""
        from reviewer.ops import publish_log

        workspace = cls.open(root)
        workspace.creation_warnings = publish_log(workspace.store)
        return workspace

    @classmethod
    def create_demo(cls, path: str | os.PathLike[str], progress: Progress | None = None) -> Workspace:
        """Create the demo workspace: the Model Spec's releases up to 2025-04-11 and synthetic crowd data.

        The spec repository gets one tagged commit per release marked ``"demo": true`` in
        ``spec_repo/releases.json``; the crowd data, ranker run, relevance grades and proposals come
        from ``resources/demo/`` (the crowd data is synthetic, and the workspace's name says so).

        Raises:
            KnownError: the target is not empty or not writable.
        """
        progress = progress or NoProgress()
        root = Path(path).expanduser().absolute()

        def fill(tmp: Path) -> None:
            # Read inside: the target folder is checked first, and a folder that cannot be written
            # is reported as such whatever else fails.
            releases = spec_releases(demo_only=True)
            progress.start(len(releases) + 2, "Creating the demo workspace")
            gitops.seed_repository(tmp / "spec", releases)
            progress.tick(len(releases))
            config = WorkspaceConfig(
                id=new_id(), name=DEMO_NAME, spec_repo="spec", spec_file=DEFAULT_SPEC_FILE,
                created_at=utc_now(),
            )
            # The workspace begins at the newest release: the releases before it are the spec's
            # history, not changes this board must account for (trace fails on any change to the
            # spec after the baseline that no adopted proposal explains).
            _write_new_workspace(tmp, config, baseline=gitops.resolve_revision(tmp / "spec", "HEAD"))
            workspace = Workspace.open(tmp)
            try:
                _import_demo_data(workspace)
            finally:
                workspace.close()
            progress.tick()
            progress.finish()

        build_atomically(root, fill)
        return cls._opened_and_published(root)

    def close(self) -> None:
        """Close the database."""
        self.store.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the spec --------------------------------------------------------------------------

    @property
    def spec_repo_path(self) -> Path:
        """The spec repository's folder."""
        return (self.root / self.config.spec_repo).resolve()

    def require_spec_repo(self) -> Path:
        """Return the spec repository's folder once it is seen to be there (a cheap check: no git call).

        Raises:
            SpecRepoMissing: the folder is gone, or holds no git repository.
        """
        path = self.spec_repo_path
        if not path.exists():
            raise SpecRepoMissing(self.root, path, "does not exist")
        if not path.is_dir() or not (path / ".git").exists():
            raise SpecRepoMissing(self.root, path, "is not a git repository")
        return path

    def relocate_spec_repo(self, new: str | os.PathLike[str]) -> Relocation:
        """Point the workspace at its spec repository's new folder, after it was moved or renamed.

        The folder must be the top of a git repository whose HEAD holds the spec file and whose
        history holds the workspace's baseline commit (so it is the same repository, not merely one
        with a file of that name). Only then is ``workspace.json`` rewritten (atomically); on any
        refusal nothing changes. The path is this machine's own (each board member's clone lives
        elsewhere), so it is kept in ``workspace.json``, like ``models.json``, not in the shared log.

        Args:
            new: the repository's folder now.

        Returns:
            What was recorded.

        Raises:
            KnownError: the folder is missing, not the top of a git repository, without commits, or
                without the spec file or the workspace's baseline commit; or ``workspace.json``
                cannot be written.
        """
        folder = Path(new).expanduser()
        if not folder.exists():
            raise KnownError(f"The folder {folder} does not exist.", hint="Choose the folder the repository moved to.")
        if not folder.is_dir():
            raise KnownError(f"{folder} is a file, not a folder.", hint="Choose the folder the repository moved to.")
        folder = folder.resolve()
        if not (folder / ".git").exists():
            raise KnownError(
                f"{folder} is not the top of a git repository (it has no .git).",
                hint="Choose the folder that holds the spec repository's .git folder.",
            )
        head = gitops.repo_info(folder).head
        spec_file = self.config.spec_file
        if not gitops.is_tracked(folder, spec_file, head):
            raise KnownError(
                f"The repository {folder} holds no {spec_file} at its current commit ({head[:10]}).",
                hint="Choose the repository that holds this workspace's spec.",
            )
        baseline = self.store.get_info("baseline_revision") or ""
        if baseline and not gitops.commit_exists(folder, baseline):
            raise KnownError(
                f"The repository {folder} does not hold this workspace's history: its first spec commit "
                f"{baseline[:10]} is not there.",
                hint="Choose the moved copy of the workspace's own spec repository, not another one.",
            )
        recorded = gitops.relpath_or_abs(folder, self.root)
        old = self.spec_repo_path
        config = replace(self.config, spec_repo=recorded)
        write_config(self.root, config)
        self.config = config
        self._specs.clear()
        from reviewer.logref import LogRef

        self.store.log_ref = LogRef(self.spec_repo_path, config.id, self.root)
        return Relocation(old=old, new=folder, recorded=recorded, head=head, baseline=baseline)

    def repo_info(self) -> gitops.RepoInfo:
        """Describe the spec repository (HEAD, branch, dirty)."""
        return gitops.repo_info(self.spec_repo_path)

    def resolve(self, rev: str) -> str:
        """Return the commit sha a revision names in the spec repository."""
        return gitops.resolve_revision(self.spec_repo_path, rev)

    def load_spec(self, rev: str = "HEAD") -> LoadedSpec:
        """Read and parse the spec file at ``rev`` (default: the current commit).

        Raises:
            SpecRepoMissing: the repository is not where the workspace says (moved, renamed).
            KnownError: the revision or file is missing, or the file does not parse.
        """
        sha = gitops.resolve_revision(self.require_spec_repo(), rev)
        key = (sha, self.config.spec_file)
        loaded = self._specs.get(key)
        if loaded is not None:
            self._specs.move_to_end(key)
            return loaded
        text = gitops.read_file_at(self.spec_repo_path, sha, self.config.spec_file)
        document = check_spec_text(text, f"file {self.config.spec_file} at {sha[:10]}")
        loaded = LoadedSpec(document=document, revision=sha, text=text)
        self._specs[key] = loaded
        if len(self._specs) > _SPECS_KEPT:
            self._specs.popitem(last=False)
        return loaded

    def releases(self) -> list[tuple[str, str]]:
        """Return the spec repository's tags as ``(tag, sha)``, oldest first."""
        return gitops.list_tags(self.spec_repo_path)

    # ---- reports ---------------------------------------------------------------------------

    def overview(self) -> Overview:
        """Read what the main window shows when the workspace opens."""
        spec = self.load_spec()
        info = self.repo_info()
        return Overview(
            name=self.config.name,
            root=self.root,
            spec_repo=self.spec_repo_path,
            spec_file=self.config.spec_file,
            spec=spec,
            branch=info.branch,
            dirty=info.dirty,
            releases=self.releases(),
            proposals=self.store.list_proposals(),
            counts=self.store.counts(),
        )

    def status(self) -> dict[str, Any]:
        """Return the workspace's identity and the counts of what it holds."""
        from reviewer.held import held_log

        loaded = self.load_spec()
        counts = self.store.counts()
        info = self.repo_info()
        held = held_log(self.store)
        return {
            "workspace": str(self.root),
            "id": self.config.id,
            "name": self.config.name,
            "spec_repo": str(self.spec_repo_path),
            "spec_file": self.config.spec_file,
            "spec_revision": loaded.revision,
            "branch": info.branch,
            "dirty": info.dirty,
            "schema": self.store.schema_version(),
            "counts": {
                "sections": sum(1 for s in loaded.document.sections if s.id),
                "conversations": counts["conversations"],
                "participants": counts["participants"],
                "assessments": counts["assessments"],
                "proposals": counts["proposals"],
                "decisions": counts["decisions"],
                "audit_events": counts["audit_events"],
            },
            # A join that goes on without a crowd file too large for the log (reviewer.held).
            "waiting": None if held is None else {
                "events": held.held, "files": list(held.files), "remote": held.remote, "message": held.describe()},
        }


# Shown in the window title and header: the crowd data of the demo is made up, the spec is real.
DEMO_NAME = "Demo workspace (synthetic crowd data)"

DEMO_MEMBERS = (
    ("Amara Okafor", ("reviewer",)),
    ("Jonas Lindqvist", ("reviewer",)),
    ("Priya Raman", ("reviewer", "editor")),
    ("Sofía Herrera", ("editor",)),
    ("Wei Chen", ("auditor",)),
)


def _import_demo_data(workspace: Workspace) -> None:
    """Load the bundled crowd data, ranker run, relevance grades and proposals, then label stances."""
    # Imported here: only creating the demo needs the importers, and the app opens faster without them.
    from reviewer import evidence, formats, governance
    from reviewer.ca1 import import_ca1

    demo = resource_path("resources", "demo")
    store = workspace.store
    for name, roles in DEMO_MEMBERS:
        governance.add_member(store, name, roles)
    # Order matters: proposals link conversations, and the ranking rule needs the ranker run.
    import_ca1(store, [demo / "ca1" / "comparisons.jsonl", demo / "ca1" / "annotators.jsonl"], strict=True)
    formats.import_rankings(workspace, demo / "rankings.jsonl")
    formats.import_relevance(store, demo / "relevance.jsonl")
    formats.import_proposals(workspace, demo / "proposals.jsonl")
    for proposal_id in store.proposal_ids():
        evidence.apply_ranking_rule(store, proposal_id)


def spec_releases(*, demo_only: bool = False) -> list[gitops.Release]:
    """Return the vendored Model Spec releases, oldest first (``spec_repo/releases.json``).

    Args:
        demo_only: only the releases marked ``"demo": true``, which the demo repository is seeded with.
    """
    base = resource_path("spec_repo")
    entries = json.loads((base / "releases.json").read_text(encoding="utf-8"))
    licence = (base / "LICENSE",)
    return [
        gitops.Release(tag=e["tag"], date=e["date"], message=e["message"], tree=base / e["dir"], extra=licence)
        for e in entries
        if e.get("demo") or not demo_only
    ]


def _write_new_workspace(root: Path, config: WorkspaceConfig, *, baseline: str) -> None:
    (root / WORKSPACE_FILE).write_text(json.dumps(asdict(config), indent=2) + "\n", encoding="utf-8")
    store = Store.open(root / DB_FILE, create=True)
    try:
        with sql_errors("creating the workspace"), store.db.atomic():
            for key, value in (
                ("workspace_id", config.id),
                ("spec_file", config.spec_file),
                ("baseline_revision", baseline),
                ("created_at", config.created_at),
            ):
                store.db.execute("INSERT INTO workspace_info (key, value) VALUES (?, ?)", [key, value])
            audit.append_event(
                store.db, actor=APP_ACTOR, action="workspace.create", object_type="workspace",
                object_id=config.id,
                payload={"spec_repo": config.spec_repo, "spec_file": config.spec_file, "baseline_revision": baseline,
                         "created_at": config.created_at, "name": config.name},
            )
        # Fold the write-ahead log back so the folder can be moved as plain files.
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()


def build_atomically(root: Path, fill: Any) -> None:
    """Run ``fill(tmp)`` in a temporary sibling folder, then move it to ``root``."""
    if root.exists():
        if not root.is_dir():
            raise KnownError(f"{root} exists and is a file, not a folder.")
        if (root / WORKSPACE_FILE).exists():
            raise KnownError(f"{root} is already a workspace.", hint=f"Open it with `spec-review gui {root}`.")
        if any(root.iterdir()):
            raise KnownError(f"{root} is not empty.", hint="Choose a new or empty folder for the workspace.")
    parent = root.parent
    if not parent.exists():
        raise KnownError(f"The folder {parent} does not exist.", hint="Create it first, or choose another place.")
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{root.name}.creating-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)
    except OSError as exc:
        raise KnownError(f"Cannot write in {parent}: {exc.strerror}.", hint="Choose a folder you can write to.") from exc
    try:
        fill(tmp)
        if root.exists():
            root.rmdir()  # empty, checked above
        os.replace(tmp, root)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise KnownError(f"Cannot create the workspace at {root}: {exc.strerror or exc}.") from exc
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
