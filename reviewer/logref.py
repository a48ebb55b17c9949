"""The audit log as a git history: each operation's events become one commit on a ref of the spec repository.

The model is Gerrit's NoteDb: review metadata stored as commits on refs of the repository it is
about, so that copies, backups and (with ``sync``) work on many machines come from git itself.

- The ref is ``refs/spec-review/<workspace id>/log``. Each commit's tree holds ``events.json``:
  the events of one operation, in order, as machine-independent records (id, time, actor,
  action, object, payload; not the local sequence number or chain hash). Beside it, what an
  event vouches for by digest only travels whole, so another machine can rebuild it: a
  decision's evidence snapshot (``evidence-<decision id>.json``), the crowd files an import
  read (``imports/<sha256>``, up to 50 MB each; a larger one is named by its hash and size), and
  the rows of runs and format imports (``rows/<event id>.json``, ``reviewer.log_rows``). The
  message summarises them; the author is the member who acted (``Name <email>`` with the email
  recorded for them as of the commit's last event, or an empty email when none was); the
  committer is this machine's git identity. A commit is signed when the repository's git is
  configured to sign (``commit.gpgSign``), with git's own gpg or ssh settings.
- The SQLite log stays the local record and index. After each operation ``publish`` writes what
  the ref does not hold yet; events left out by a crash or a read-only repository are written by
  the next publish (grouped by actor). A failed publish never undoes the operation: it is
  reported, and ``audit verify`` says how far the ref lags.
- The workspace folder remembers the ref's tip after each publish (``log-ref.json``). A ref whose
  history no longer contains that tip was rewritten: publishing refuses to write over it, and
  ``audit verify`` names the first event that differs.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from reviewer import gitops
from reviewer.audit import canonical_json
from reviewer.errors import KnownError
from reviewer.log_rows import carries_rows, rows_blob, rows_name
from reviewer.store import Store, sql_errors

EVENTS_FILE = "events.json"
REQUIRE_SIGNED = "log.require_signed"  # workspace setting: "true" when every log commit must be signed
SIGNATURE_STATES = {"G": "good", "N": "none", "B": "bad", "U": "good, but from an unknown key",
                    "X": "expired", "Y": "made by an expired key", "R": "made by a revoked key",
                    "E": "cannot be checked (no key or no allowed-signers file)"}
TIP_FILE = "log-ref.json"
MOST_PER_COMMIT = 500  # events per commit when catching up (an operation's own events are never split)
FIELDS = ("id", "at", "actor", "action", "object_type", "object_id", "payload")


def log_ref(workspace_id: str) -> str:
    """The ref that holds a workspace's log."""
    return f"refs/spec-review/{workspace_id}/log"


def event_record(row: Sequence[Any]) -> dict[str, Any]:
    """An event as the log ref holds it, from ``(id, at, actor, action, object_type, object_id, payload)``."""
    record = dict(zip(FIELDS, row, strict=True))
    record["payload"] = json.loads(record["payload"] or "{}")
    return record


def events_blob(records: Sequence[dict[str, Any]]) -> bytes:
    """The bytes of one commit's ``events.json``: canonical JSON, one event per line."""
    return ("[\n" + ",\n".join(canonical_json(r) for r in records) + "\n]\n").encode("utf-8")


@dataclass(frozen=True)
class LogCommit:
    """One commit of the log ref.

    Attributes:
        sha: the commit.
        parents: its parents.
        events: its events (none for a merge).
    """

    sha: str
    parents: tuple[str, ...]
    events: tuple[dict[str, Any], ...]


@dataclass(frozen=True)
class Published:
    """What ``publish`` wrote.

    Attributes:
        commits: commits written.
        events: events they hold.
        tip: the ref's tip afterwards (None when nothing is on it).
    """

    commits: int
    events: int
    tip: str | None


class LogRef:
    """The log ref of one workspace in its spec repository.

    Attributes:
        repo: the spec repository.
        ref: the ref's full name.
        tip_file: where the workspace remembers the tip it last wrote or checked.
    """

    def __init__(self, repo: Path, workspace_id: str, folder: Path) -> None:
        self.repo = repo
        self.ref = log_ref(workspace_id)
        self.tip_file = folder / TIP_FILE
        self._signing: tuple[tuple[float, ...], bool] | None = None

    # ---- reading ---------------------------------------------------------------------------

    def tip(self) -> str | None:
        """The commit the ref points at, or None before anything was published."""
        return gitops.read_loose_ref(self.repo, self.ref) or gitops.ref_sha(self.repo, self.ref)

    def _remembered(self) -> dict[str, Any]:
        try:
            data = json.loads(self.tip_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise KnownError(f"{self.tip_file} cannot be read: {exc}.",
                             hint="Delete it only if you trust the log ref as it is now.") from exc
        return data if isinstance(data, dict) else {}

    def remembered_tip(self) -> str | None:
        """The tip this workspace last wrote or checked (None when it never did)."""
        tip = self._remembered().get("tip")
        return tip if isinstance(tip, str) else None

    def remember(self, tip: str | None, last: tuple[int, str] | None = None) -> None:
        """Remember ``tip`` as the ref's tip, and the local seq and id of its last event (written atomically)."""
        data: dict[str, Any] = {**self._remembered(), "ref": self.ref, "tip": tip}  # what sync remembers stays
        data.pop("seq", None)
        data.pop("event", None)
        if last is not None:
            data["seq"], data["event"] = last
        temporary = self.tip_file.with_name(self.tip_file.name + ".tmp")
        temporary.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(temporary, self.tip_file)

    def signs(self) -> bool:
        """Whether git is configured to sign commits here; read again only when a config file changed."""
        stamp = tuple(_mtime(p) for p in (self.repo / ".git" / "config", Path.home() / ".gitconfig",
                                          Path.home() / ".config" / "git" / "config", Path("/etc/gitconfig")))
        if self._signing is None or self._signing[0] != stamp or os.environ.get("GIT_CONFIG_GLOBAL"):
            self._signing = (stamp, gitops.signs_commits(self.repo))
        return self._signing[1]

    def commits(self, tip: str | None = None) -> list[LogCommit]:
        """Every commit of the ref (or of ``tip``), parents first, with its events."""
        tip = tip or self.tip()
        if tip is None:
            return []
        history = gitops.commits_of(self.repo, tip)
        blobs = gitops.read_blobs(self.repo, [f"{sha}:{EVENTS_FILE}" for sha, _ in history])
        result = []
        for (sha, parents), blob in zip(history, blobs, strict=True):
            events: tuple[dict[str, Any], ...] = ()
            if blob is not None:
                try:
                    loaded = json.loads(blob.decode("utf-8"))
                except (UnicodeDecodeError, ValueError) as exc:
                    raise KnownError(f"The log commit {sha[:12]} holds an {EVENTS_FILE} that is not JSON.") from exc
                if not isinstance(loaded, list) or not all(isinstance(e, dict) for e in loaded):
                    raise KnownError(f"The log commit {sha[:12]} holds an {EVENTS_FILE} that is not a list of events.")
                events = tuple(loaded)
            result.append(LogCommit(sha, parents, events))
        return result

    def last_event_id(self, tip: str) -> str | None:
        """The id of the last event of the tip commit (None for a commit without events)."""
        (blob,) = gitops.read_blobs(self.repo, [f"{tip}:{EVENTS_FILE}"])
        if blob is None:
            return None
        try:
            events = json.loads(blob.decode("utf-8"))
            return str(events[-1]["id"]) if events else None
        except (UnicodeDecodeError, ValueError, LookupError, TypeError) as exc:
            raise KnownError(f"The log commit {tip[:12]} holds an {EVENTS_FILE} that cannot be read.") from exc

    def check_not_rewritten(self, tip: str | None) -> None:
        """Refuse a ref whose history no longer holds the tip this workspace remembers.

        Raises:
            KnownError: the ref was rewritten (or deleted) since this workspace last wrote it.
        """
        remembered = self.remembered_tip()
        if remembered is None or remembered == tip:
            return
        if tip is None or not gitops.commit_exists(self.repo, remembered) or not gitops.is_ancestor(
            self.repo, remembered, tip
        ):
            raise KnownError(
                f"The log ref {self.ref} was rewritten: its history no longer holds commit {remembered[:12]}, "
                "which this workspace wrote. Nothing was written to it.",
                hint="Run `spec-review audit verify WORKSPACE` to see the first event that differs; restore the "
                     "ref from a copy you trust (its commits are in the remote and in the reflog).",
            )

    # ---- writing ---------------------------------------------------------------------------

    def publish(self, store: Store, *, operation: str | None = None, first_seq: int | None = None) -> Published:
        """Write the events the ref does not hold yet, as commits on it.

        Args:
            store: the workspace's store.
            operation: the operation that just wrote events from ``first_seq`` on: they become one
                commit named after it. Earlier events the ref lacks are written first, grouped by actor.
            first_seq: the first event of that operation.

        Raises:
            KnownError: the ref was rewritten, holds events this workspace has not seen, or git refused.
        """
        for _attempt in range(5):
            tip = self.tip()
            self.check_not_rewritten(tip)
            after = self._remembered_seq(store, tip)
            if after is None:
                after = self._published_seq(store, tip)
            with sql_errors("reading the audit log"):
                rows = store.db.execute(
                    "SELECT seq, id, at, actor, action, object_type, object_id, payload FROM audit_events"
                    " WHERE seq > ? ORDER BY seq", [after],
                ).fetchall()
            if not rows:
                if tip is not None and self.remembered_tip() != tip:
                    self.remember(tip, self._last_of(store, after))
                return Published(0, 0, tip)
            sign = self.signs()
            if not sign and store.get_info(REQUIRE_SIGNED) == "true":
                raise KnownError(
                    "This workspace requires signed log commits, and git here is not set to sign; nothing was "
                    "written to the log ref.",
                    hint="Set `commit.gpgSign` and `user.signingKey` in git (gpg or ssh), then run any command: the "
                         "events are written then.",
                )
            new_tip, commits = tip, 0
            emails = _identity_events(store, int(rows[-1][0]))
            for group, title in _groups(rows, operation, first_seq):
                records = [event_record(r[1:]) for r in group]
                message = _message(title, records)
                actor = group[-1][3]
                files = {EVENTS_FILE: events_blob(records), **_attachments(store, records)}
                author = (actor, _email_as_of(emails, actor, int(group[-1][0])) or "")
                new_tip = gitops.write_commit(
                    self.repo, files, message, author=author, parents=[new_tip] if new_tip else [], sign=sign,
                )
                commits += 1
            assert new_tip is not None
            if gitops.move_ref(self.repo, self.ref, new_tip, tip, f"spec-review: {operation or 'publish'}"):
                self.remember(new_tip, (int(rows[-1][0]), str(rows[-1][1])))
                return Published(commits, len(rows), new_tip)
            # Another process moved the ref first (it published the same events, or more): look again.
        raise KnownError(f"The log ref {self.ref} kept moving while publishing; nothing was lost.",
                         hint="Run the command again; the events are written with the next operation.")

    def _remembered_seq(self, store: Store, tip: str | None) -> int | None:
        """The local seq of the ref's last event as remembered with ``tip`` (None: read it from git)."""
        data = self._remembered()
        if tip is None or data.get("tip") != tip or not isinstance(data.get("seq"), int):
            return None
        with sql_errors("reading the audit log"):
            row = store.db.execute("SELECT id FROM audit_events WHERE seq = ?", [data["seq"]]).fetchone()
        return int(data["seq"]) if row is not None and row[0] == data.get("event") else None

    @staticmethod
    def _last_of(store: Store, seq: int) -> tuple[int, str] | None:
        with sql_errors("reading the audit log"):
            row = store.db.execute("SELECT seq, id FROM audit_events WHERE seq = ?", [seq]).fetchone()
        return (int(row[0]), str(row[1])) if row else None

    def _published_seq(self, store: Store, tip: str | None) -> int:
        """The local seq of the last event the ref holds (0 when it holds none).

        Raises:
            KnownError: the ref ends with an event this workspace does not have.
        """
        if tip is None:
            return 0
        event_id = self.last_event_id(tip)
        if event_id is None:
            return 0 if len(gitops.commits_of(self.repo, tip)) <= 1 else self._last_seq_of_history(store, tip)
        with sql_errors("reading the audit log"):
            row = store.db.execute("SELECT seq FROM audit_events WHERE id = ?", [event_id]).fetchone()
        if row is None:
            raise KnownError(
                f"The log ref {self.ref} ends with event {event_id}, which this workspace does not have.",
                hint="Another machine wrote to it: run `spec-review sync WORKSPACE` to merge its events first.",
            )
        return int(row[0])

    def _last_seq_of_history(self, store: Store, tip: str) -> int:
        """The highest local seq among the events the ref holds (a merge's tip has none of its own)."""
        ids = [str(e.get("id")) for c in self.commits(tip) for e in c.events]
        if not ids:
            return 0
        seqs: dict[str, int] = {}
        with sql_errors("reading the audit log"):
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                seqs.update(store.db.execute(
                    f"SELECT id, seq FROM audit_events WHERE id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
        if len(seqs) < len(set(ids)):
            raise KnownError(f"The log ref {self.ref} holds events this workspace does not have.",
                             hint="Run `spec-review sync WORKSPACE` to merge them first.")
        return max(seqs.values())


@dataclass(frozen=True)
class RefCheck:
    """How the log ref compares with the workspace's log.

    Attributes:
        first_difference: ``(event id, field, on the ref, in the database)`` of the first event that
            differs (a rewritten ref, or a database edited since), or None.
        differences: how many events differ.
        unknown: events on the ref this workspace does not have.
        rewritten: the ref's history no longer holds the tip this workspace wrote last.
        notes: what is not wrong but worth saying (events not published yet, no ref yet).
        wrong_authors: commits not authored by the member whose events they hold (``author_problems``).
        unsigned: ``(commit, signature state)`` of commits that lack the good signature the workspace requires.
        wrong_keys: commits signed with another key than their member's recorded one (``key_problems``).
    """

    first_difference: tuple[str, str, Any, Any] | None
    differences: int
    unknown: int
    rewritten: bool
    notes: tuple[str, ...]
    wrong_authors: tuple[WrongAuthor, ...] = ()
    unsigned: tuple[tuple[str, str], ...] = ()
    wrong_keys: tuple[WrongKey, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing on the ref contradicts the database."""
        return (self.first_difference is None and not self.unknown and not self.rewritten
                and not self.wrong_authors and not self.unsigned and not self.wrong_keys)


def check_ref(log: LogRef, store: Store) -> RefCheck:
    """Compare the ref's events, in its order, with the database's events, in theirs.

    The ref may lag (events not published yet: a note); it may not differ, hold events the
    database lacks, or have lost the tip this workspace wrote.
    """
    tip = log.tip()
    rewritten = False
    try:
        log.check_not_rewritten(tip)
    except KnownError:
        rewritten = True
    with sql_errors("reading the audit log"):
        rows = store.db.execute(
            "SELECT id, at, actor, action, object_type, object_id, payload FROM audit_events ORDER BY seq").fetchall()
    local = {str(r[0]): event_record(r) for r in rows}
    commits = log.commits(tip) if tip else []
    on_ref = [e for c in commits for e in c.events]
    facts = gitops.commit_facts(log.repo, tip) if tip else {}
    position = {event_id: i for i, event_id in enumerate(local)}
    wrong_authors = tuple(author_problems(commits, facts, position))
    # Signatures are checked from the event that required them on (the commits before were made without).
    since = _required_since(store, list(local.values())) if store.get_info(REQUIRE_SIGNED) == "true" else None
    unsigned = tuple(
        (c.sha, SIGNATURE_STATES.get(facts.get(c.sha, gitops.NO_FACTS).signature, "unknown")) for c in commits
        if since is not None and c.events and position.get(str(c.events[0].get("id")), -1) > since
        and facts.get(c.sha, gitops.NO_FACTS).signature != "G"
    )
    first: tuple[str, str, Any, Any] | None = None
    differences = unknown = 0
    for published in on_ref:
        kept = local.get(str(published.get("id")))
        if kept is None:
            unknown += 1
        elif published != kept:
            differences += 1
            if first is None:
                field = next((f for f in FIELDS if published.get(f) != kept.get(f)), "event")
                first = (str(kept["id"]), field, published.get(field), kept.get(field))
    notes: list[str] = []
    if tip is None and not rewritten:
        notes.append(f"The log ref {log.ref} has not been written yet; the next operation writes its {len(local)} events.")
    elif len(on_ref) - unknown < len(local):
        lag = len(local) - (len(on_ref) - unknown)
        notes.append(f"{lag} event{'' if lag == 1 else 's'} are not on the log ref yet; the next operation writes them.")
    return RefCheck(first, differences, unknown, rewritten, tuple(notes), wrong_authors, unsigned,
                    tuple(key_problems(commits, facts, position)))


# ---- who authors a log commit -------------------------------------------------------------------

IDENTITY_ACTIONS = frozenset({"member.add", "member.set_identity"})
"""The events that record a member's git email (``reviewer.governance.set_identity``)."""


class WrongAuthor(NamedTuple):
    """A log commit not authored as the member whose events it holds.

    Attributes:
        sha: the commit.
        event: the id of its last event (whose actor authors it).
        expected: that member as git would name them: ``Name <email>`` when an email was recorded
            for them as of that event, else the name alone (only the name is checked then).
        actual: the commit's author, named the same way.
    """

    sha: str
    event: str
    expected: str
    actual: str


def recorded_email(event: dict[str, Any]) -> tuple[str, str | None] | None:
    """``(member name, email)`` when ``event`` records a member's git email (None: it records none), else None."""
    payload = event.get("payload") or {}
    if event.get("action") not in IDENTITY_ACTIONS or not isinstance(payload.get("name"), str):
        return None
    email = payload.get("email")
    return payload["name"], email if isinstance(email, str) and email else None


def recorded_key(event: dict[str, Any]) -> tuple[str, str | None] | None:
    """``(member name, signing key)`` when ``event`` sets a member's signing key (None: removed), else None.

    ``member.add`` sets it (to none when it names none); ``member.set_identity`` only when its
    payload names one ("" removes it).
    """
    payload = event.get("payload") or {}
    if event.get("action") not in IDENTITY_ACTIONS or not isinstance(payload.get("name"), str):
        return None
    if "signing_key" not in payload:
        return None if event.get("action") == "member.set_identity" else (payload["name"], None)
    key = payload.get("signing_key")
    return payload["name"], key if isinstance(key, str) and key.strip() else None


def expected_emails(commits: Sequence[LogCommit], position: dict[str, int],
                    reader: Any = recorded_email) -> dict[str, str | None]:
    """The email each commit's author had recorded as of its last event, by commit (None: none recorded).

    ``reader`` reads what an event records (``recorded_key``: the signing key instead).
    The writer knew the events of the commit's own history, no more: each commit sees the identity
    events of its ancestors and its own. Where two histories were merged, the one later in the
    log's order (``position``: event id -> place) counts, as on the machine that wrote the merge.

    Args:
        commits: the log's commits, parents first (``LogRef.commits``).
        position: each event's place in the log's order.
    """
    states: dict[str, dict[str, tuple[int, str | None]]] = {}
    expected: dict[str, str | None] = {}
    for commit in commits:
        parents = [states[p] for p in commit.parents if p in states]
        state = parents[0] if len(parents) == 1 else _merged(parents)
        for event in commit.events:
            change = reader(event)
            if change is not None:
                state = {**state, change[0]: (position.get(str(event.get("id")), -1), change[1])}
        states[commit.sha] = state  # shared with the parent while nothing changes: one dict per identity event
        if commit.events:
            expected[commit.sha] = state.get(str(commit.events[-1].get("actor")), (-1, None))[1]
    return expected


def _merged(states: Sequence[dict[str, tuple[int, str | None]]]) -> dict[str, tuple[int, str | None]]:
    merged: dict[str, tuple[int, str | None]] = {}
    for state in states:
        for name, entry in state.items():
            if name not in merged or entry[0] > merged[name][0]:
                merged[name] = entry
    return merged


def author_problems(commits: Sequence[LogCommit], facts: dict[str, gitops.CommitFacts],
                    position: dict[str, int]) -> list[WrongAuthor]:
    """The commits whose author is not the member whose events they hold (their last event's actor).

    The author's name must be the actor's; when the member had an email recorded as of that
    event (``expected_emails``), the author's email must be it too.
    """
    from reviewer.governance import git_identity

    expected = expected_emails(commits, position)
    found = []
    for commit in commits:
        if not commit.events:
            continue
        last = commit.events[-1]
        actor, email = str(last.get("actor")), expected.get(commit.sha)
        author = facts.get(commit.sha, gitops.NO_FACTS)
        if author.author != actor or (email is not None and author.email != email):
            found.append(WrongAuthor(commit.sha, str(last.get("id")), git_identity(actor, email),
                                     git_identity(author.author, author.email)))
    return found


class WrongKey(NamedTuple):
    """A log commit signed with another key than the one recorded for the member whose events it holds.

    Attributes:
        sha: the commit.
        event: the id of its last event.
        member: that event's actor.
        expected: the key recorded for them as of that event (as recorded).
        actual: the key that signed the commit, as git names it.
    """

    sha: str
    event: str
    member: str
    expected: str
    actual: str


def key_problems(commits: Sequence[LogCommit], facts: dict[str, gitops.CommitFacts],
                 position: dict[str, int]) -> list[WrongKey]:
    """The signed commits whose key is not the one recorded for their member as of their last event.

    A commit with no signature is not judged here (``signatures --require`` says whether it must
    have one); nor is a member with no key recorded.
    """
    expected = expected_emails(commits, position, recorded_key)
    found = []
    for commit in commits:
        key = expected.get(commit.sha)
        used = facts.get(commit.sha, gitops.NO_FACTS).key
        if commit.events and key is not None and used and not same_key(key, used):
            last = commit.events[-1]
            found.append(WrongKey(commit.sha, str(last.get("id")), str(last.get("actor")), key, used))
    return found


def same_key(recorded: str, used: str) -> bool:
    """Whether the key recorded for a member is the key git says signed a commit.

    Recorded may be an ssh public key (``ssh-ed25519 AAAA…``: its ``SHA256:`` fingerprint is
    compared), an ssh fingerprint, or a gpg fingerprint or key id (hex, any case and spacing; a key
    id matches the end of a fingerprint).
    """
    mine = _fingerprint(recorded.strip())
    if mine.startswith("SHA256:") or used.startswith("SHA256:"):
        return mine == used.strip()
    mine, theirs = _hex(mine), _hex(used)
    return bool(mine) and bool(theirs) and (mine == theirs or (min(len(mine), len(theirs)) >= 16 and (
        mine.endswith(theirs) or theirs.endswith(mine))))


def _hex(text: str) -> str:
    return "".join(text.split()).upper().removeprefix("0X")


_FINGERPRINTS: dict[str, str] = {}


def _fingerprint(key: str) -> str:
    """An ssh public key's ``SHA256:`` fingerprint (``ssh-keygen -lf``); anything else as it is."""
    if not key.startswith(("ssh-", "ecdsa-", "sk-")):
        return key
    if key not in _FINGERPRINTS:
        import subprocess

        try:
            done = subprocess.run(["ssh-keygen", "-lf", "-"], input=key.encode("utf-8"), capture_output=True,
                                  check=False)
            words = done.stdout.decode("utf-8", "replace").split()
            _FINGERPRINTS[key] = words[1] if done.returncode == 0 and len(words) > 1 else key
        except OSError:  # no ssh-keygen: compared as written
            _FINGERPRINTS[key] = key
    return _FINGERPRINTS[key]


def _identity_events(store: Store, up_to: int) -> list[tuple[int, str, str | None]]:
    """``(seq, member name, email)`` of the events up to ``up_to`` that record a git email, in log order."""
    with sql_errors("reading the members' identities"):
        rows = store.db.execute(
            f"SELECT seq, action, payload FROM audit_events WHERE action IN ({','.join('?' * len(IDENTITY_ACTIONS))})"
            " AND seq <= ? ORDER BY seq", [*sorted(IDENTITY_ACTIONS), up_to]).fetchall()
    found = []
    for seq, action, payload in rows:
        change = recorded_email({"action": action, "payload": json.loads(payload or "{}")})
        if change is not None:
            found.append((int(seq), *change))
    return found


def _email_as_of(identities: Sequence[tuple[int, str, str | None]], name: str, seq: int) -> str | None:
    """The email recorded for ``name`` as of the event ``seq`` (what ``expected_emails`` reads from the ref)."""
    email = None
    for at, who, recorded in identities:
        if at > seq:
            break
        if who == name:
            email = recorded
    return email


def _required_since(store: Store, events: list[dict[str, Any]]) -> int | None:
    """The position of the last event that turned the signature requirement on (None: it is off)."""
    since = None
    for i, event in enumerate(events):
        payload = event.get("payload") or {}
        if event.get("action") == "workspace.set" and payload.get("key") == REQUIRE_SIGNED:
            since = i if payload.get("value") == "true" else None
    return since


def attachment_name(record: dict[str, Any]) -> str | None:
    """The file beside ``events.json`` that carries what an event vouches for by digest only, if any.

    A decision's event holds the SHA-256 of the evidence snapshot kept with it; the snapshot itself
    travels as ``evidence-<decision id>.json``, so that another machine can rebuild the decision whole.
    """
    if record.get("action") == "decision.record" and record.get("object_id"):
        return f"evidence-{record['object_id']}.json"
    return None


def _attachments(store: Store, records: Sequence[dict[str, Any]]) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for record in records:
        files.update(_import_files(record))
        if carries_rows(record):
            with sql_errors("reading the rows an event vouches for"):
                files[rows_name(record)] = rows_blob(store.db.conn, record)
        name = attachment_name(record)
        if name is None:
            continue
        with sql_errors("reading a decision's evidence"):
            row = store.db.execute("SELECT evidence FROM decisions WHERE id = ?", [record["object_id"]]).fetchone()
        if row is not None and row[0] is not None:
            files[name] = str(row[0]).encode("utf-8")
    return files


IMPORTS_FOLDER = "imports"
MOST_IMPORT_BYTES = 50 * 1024 * 1024
"""The largest crowd file carried on the log ref (a larger one is named by its hash and size only)."""
CROWD_IMPORTS = frozenset({"import.ca1", "import.polis"})


def import_files(record: dict[str, Any]) -> list[dict[str, Any]]:
    """The files a crowd import's event names (path as given, kind, sha256, bytes), or none."""
    if record.get("action") not in CROWD_IMPORTS:
        return []
    files = (record.get("payload") or {}).get("files")
    return [f for f in files if isinstance(f, dict) and isinstance(f.get("sha256"), str)] if isinstance(files, list) else []


def _import_files(record: dict[str, Any]) -> dict[str, bytes]:
    """The crowd files an import read, as ``imports/<sha256>`` (those still at their path, unchanged, <= 50 MB).

    A new member then has the evidence after joining. A file that moved or changed since is left
    out: the receiving machine names it by hash and size and asks for it.
    """
    import hashlib

    found: dict[str, bytes] = {}
    for file in import_files(record):
        sha, size = file["sha256"], file.get("bytes")
        if not isinstance(size, int) or size > MOST_IMPORT_BYTES:
            continue
        try:
            data = Path(str(file.get("path", ""))).read_bytes()
        except OSError:
            continue
        if len(data) == size and hashlib.sha256(data).hexdigest() == sha:
            found[f"{IMPORTS_FOLDER}/{sha}"] = data
    return found


def read_rows(log: LogRef, commits: Sequence[LogCommit], wanted: set[str]) -> dict[str, bytes]:
    """The rows the events of ``wanted`` (by id) carry, by event id (``reviewer.log_rows``)."""
    specs = {str(e["id"]): f"{c.sha}:{rows_name(e)}" for c in commits for e in c.events
             if str(e.get("id")) in wanted and carries_rows(e)}
    blobs = gitops.read_blobs(log.repo, list(specs.values()))
    return {event_id: blob for event_id, blob in zip(specs, blobs, strict=True) if blob is not None}


def read_import_files(log: LogRef, commits: Sequence[LogCommit], wanted: set[str]) -> dict[str, bytes]:
    """The crowd files of ``wanted`` (by sha256) that the imports of ``commits`` carry."""
    specs: dict[str, str] = {}
    for commit in commits:
        for event in commit.events:
            for file in import_files(event):
                if file["sha256"] in wanted:
                    specs.setdefault(file["sha256"], f"{commit.sha}:{IMPORTS_FOLDER}/{file['sha256']}")
    blobs = gitops.read_blobs(log.repo, list(specs.values()))
    return {sha: blob for sha, blob in zip(specs, blobs, strict=True) if blob is not None}


def read_attachments(log: LogRef, commits: Sequence[LogCommit]) -> dict[str, bytes]:
    """The attachments of the events of ``commits``, by event id (events without one are left out)."""
    wanted = [(c.sha, e, name) for c in commits for e in c.events if (name := attachment_name(e)) is not None]
    blobs = gitops.read_blobs(log.repo, [f"{sha}:{name}" for sha, _e, name in wanted])
    return {str(e["id"]): blob for (_sha, e, _name), blob in zip(wanted, blobs, strict=True) if blob is not None}


def _groups(rows: Sequence[Sequence[Any]], operation: str | None,
            first_seq: int | None) -> list[tuple[list[Sequence[Any]], str]]:
    """Split pending events into commits: the operation's own in one, earlier ones by actor (at most 500 each)."""
    split = len(rows) if operation is None or first_seq is None else sum(1 for r in rows if r[0] < first_seq)
    earlier, own = rows[:split], rows[split:]
    groups: list[tuple[list[Sequence[Any]], str]] = []
    for row in earlier:
        if groups and groups[-1][0][-1][3] == row[3] and len(groups[-1][0]) < MOST_PER_COMMIT:
            groups[-1][0].append(row)
        else:
            groups.append(([row], "catch up"))
    if own:
        groups.append((list(own), operation or "publish"))
    return groups


def _message(title: str, records: Sequence[dict[str, Any]]) -> str:
    """The commit message: what happened, who, and one ``Event:`` trailer per event."""
    actions = sorted({str(r["action"]) for r in records})
    actor = str(records[-1]["actor"])
    count = len(records)
    subject = f"{title}: {', '.join(actions[:3])}{' …' if len(actions) > 3 else ''} by {actor}"
    body = f"{count} event{'' if count == 1 else 's'}, {records[0]['at']} to {records[-1]['at']}."
    trailers = "\n".join(f"Event: {r['id']} {r['action']}" for r in records[:MOST_PER_COMMIT])
    return f"{_one_line(subject)}\n\n{body}\n\n{trailers}\n"


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _one_line(text: str) -> str:
    return " ".join(text.split())[:200]


__all__ = ["EVENTS_FILE", "IDENTITY_ACTIONS", "REQUIRE_SIGNED", "WrongAuthor", "author_problems", "expected_emails",
           "recorded_email", "CROWD_IMPORTS", "IMPORTS_FOLDER", "MOST_IMPORT_BYTES", "attachment_name",
           "import_files", "read_attachments", "read_import_files", "read_rows", "LogCommit", "LogRef", "Published", "RefCheck", "check_ref", "event_record", "events_blob",
           "log_ref"]
