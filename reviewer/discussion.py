"""Discussion: comment threads on a proposal, on a section of its diff, or on one of its justifications.

A thread is its first comment and the replies to it, all on one target: the proposal as a whole,
one of the sections it changes, or one of the justifications linked to it. It is named by its
first comment's id. Comments are never edited or deleted; a thread is resolved and reopened by
events of their own. Only members take part (any role).

A comment can mention members as ``@Name``. Names hold spaces ("@Jonas Lindqvist"), so the
longest member name that follows the ``@`` is taken, in any case, and only where it ends a word;
an ``@`` inside a word (an email address) mentions nobody. The names found are stored with the
comment and carried by its event, so the log says whom it mentioned whatever the members are later.
A member's queue (``reviewer.queue.waiting_for``) holds the open threads that mention them, and
those they started that have a reply, until they answer.

Every row travels whole in its event (``comment.add``, ``comment.resolve``, ``comment.reopen``):
``reviewer.replay`` checks the tables against the log, ``reviewer.rebuild`` writes them from it, and
``reviewer.sync`` receives them.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.governance import get_member, member_names, visible
from reviewer.ids import new_id, utc_now
from reviewer.store import Store, connection_of, read_errors, require_proposal, sql_errors

MOST_COMMENT_CHARS = 10_000
"""A comment's longest text: a long argument fits; a pasted document does not."""


@dataclass(frozen=True)
class Comment:
    """One comment, as written (never edited).

    Attributes:
        id: UUID of the comment.
        thread_id: the thread it belongs to (its first comment's id).
        author: the member who wrote it.
        text: what they wrote (untrusted: escape it wherever it is shown).
        mentions: the members' names it mentions, in the order they first appear.
        created_at: when it was written (UTC ISO-8601).
    """

    id: str
    thread_id: str
    author: str
    text: str
    mentions: tuple[str, ...]
    created_at: str


@dataclass(frozen=True)
class Thread:
    """A thread: its target, its state and its comments, oldest first.

    Attributes:
        id: the thread's id (its first comment's id).
        proposal_id: the proposal discussed.
        section_id: the section the thread is on, or None.
        justification_id: the justification the thread is on, or None.
        started_by: who wrote the first comment.
        created_at: when.
        resolved_by: who resolved it, or None while it is open.
        resolved_at: when, or None.
        comments: its comments, oldest first.
    """

    id: str
    proposal_id: str
    section_id: str | None
    justification_id: str | None
    started_by: str
    created_at: str
    resolved_by: str | None
    resolved_at: str | None
    comments: tuple[Comment, ...] = ()

    @property
    def resolved(self) -> bool:
        """Whether the thread is resolved."""
        return self.resolved_at is not None

    @property
    def target(self) -> str:
        """What the thread is on, in a few words: ``the proposal``, ``section #id``, ``justification 1a2b3c4d``."""
        return target_text(self.section_id, self.justification_id)


def target_text(section_id: str | None, justification_id: str | None) -> str:
    """What a thread is on, in a few words."""
    if section_id:
        return f"section #{section_id}"
    if justification_id:
        return f"justification {justification_id[:8]}"
    return "the proposal"


# ---- text and mentions -----------------------------------------------------------------------------


def clean_text(text: str) -> str:
    """Return a comment's text as the record keeps it: NFC, one kind of line end, trimmed.

    Raises:
        KnownError: nothing visible, longer than ``MOST_COMMENT_CHARS``, or control characters
            other than line breaks and tabs.
    """
    value = unicodedata.normalize("NFC", text or "").replace("\r\n", "\n").replace("\r", "\n").strip()
    if not visible(value):
        raise KnownError("A comment needs text: write what you want to say.")
    if len(value) > MOST_COMMENT_CHARS:
        raise KnownError(f"A comment holds at most {MOST_COMMENT_CHARS:,} characters; this one has {len(value):,}.",
                         hint="Say it in fewer words, or in several replies.")
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\t" for ch in value):
        raise KnownError("A comment cannot hold control characters (other than line breaks and tabs).",
                         hint="Paste it as plain text.")
    return value


def _word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def find_mentions(text: str, names: Iterable[str]) -> tuple[str, ...]:
    """Return the members ``@``-mentioned in ``text``, in the order they first appear (each once).

    At each ``@`` that does not follow a letter or digit, the longest of ``names`` that follows it,
    compared without case, is taken when it ends there (not followed by a letter or digit): in
    "@Jonas Lindqvist's point", Jonas Lindqvist, not a member called Jonas.
    """
    longest_first = sorted({n for n in names if n}, key=len, reverse=True)
    folded = [(name, name.casefold()) for name in longest_first]
    found: list[str] = []
    start = text.find("@")
    while start >= 0:
        if start == 0 or not _word_char(text[start - 1]):
            rest = text[start + 1:]
            for name, key in folded:
                head = rest[:len(name)]
                after = rest[len(name):len(name) + 1]
                if head.casefold() == key and not (after and _word_char(after)):
                    if name not in found:
                        found.append(name)
                    break
        start = text.find("@", start + 1)
    return tuple(found)


# ---- writing ---------------------------------------------------------------------------------------


def _require_member(store: Store, actor: str) -> str:
    member = get_member(store, actor)
    if member is None:
        raise KnownError(f"{actor} is not a member of this workspace: only members take part in the discussion.",
                         hint=f"Add them with `spec-review member add WORKSPACE {actor!r} --role auditor` (any role).")
    return member.name


_THREAD_COLUMNS = "id, proposal_id, section_id, justification_id, started_by, created_at, resolved_by, resolved_at"
_COMMENT_COLUMNS = "id, thread_id, author, text, mentions, created_at"


def _thread_row(conn: sqlite3.Connection, ref: str) -> tuple[Any, ...]:
    """The thread named by ``ref``: a thread's id, or the id of any comment in it.

    Raises:
        KnownError: no thread or comment has that id.
    """
    row = conn.execute(f"SELECT {_THREAD_COLUMNS} FROM comment_threads WHERE id = ?", [ref]).fetchone()
    if row is None:
        row = conn.execute(f"SELECT {_THREAD_COLUMNS} FROM comment_threads WHERE id ="
                           " (SELECT thread_id FROM comments WHERE id = ?)", [ref]).fetchone()
    if row is None:
        raise KnownError(f"No thread or comment with id {ref}.",
                         hint="List a proposal's threads with `spec-review comment list WORKSPACE PROPOSAL_ID`.")
    return tuple(row)


def _check_target(conn: sqlite3.Connection, proposal_id: str, section_id: str | None,
                  justification_id: str | None) -> None:
    if section_id and justification_id:
        raise KnownError("A thread is on a section or on a justification, not both.")
    if section_id:
        sections = [r[0] for r in conn.execute(
            "SELECT section_id FROM proposal_sections WHERE proposal_id = ? ORDER BY position", [proposal_id])]
        if section_id not in sections:
            raise KnownError(f"The proposal does not change a section {section_id!r}.",
                             hint=f"It changes: {', '.join(sections) or 'no section'}.")
    if justification_id and conn.execute(
        "SELECT 1 FROM evidence_current WHERE proposal_id = ? AND justification_id = ?", [proposal_id, justification_id]
    ).fetchone() is None:
        raise KnownError(f"Justification {justification_id} is not linked to this proposal.",
                         hint="See its evidence with `spec-review evidence WORKSPACE PROPOSAL_ID`.")


def add_comment(store: Store, proposal_id: str, text: str, *, actor: str, section_id: str | None = None,
                justification_id: str | None = None, reply_to: str | None = None) -> Comment:
    """Write a comment as ``actor``: a new thread on its target, or (``reply_to``) a reply in a thread.

    Args:
        store: the workspace store.
        proposal_id: the proposal discussed.
        text: the comment (``clean_text``); ``@Name`` mentions a member.
        actor: who writes it (a member, any role).
        section_id: start the thread on this section of the proposal.
        justification_id: start the thread on this justification linked to the proposal.
        reply_to: reply in this thread (its id, or any of its comments' ids).

    Raises:
        KnownError: not a member, no such proposal, section, justification or thread, a reply that
            also names a target or goes to another proposal's thread or to a resolved one, or text
            ``clean_text`` refuses.
    """
    body = clean_text(text)
    section_id, justification_id = section_id or None, justification_id or None
    with sql_errors("saving the comment"), store.db.atomic():
        author = _require_member(store, actor)
        conn = store.db.conn
        require_proposal(conn, proposal_id)
        comment_id, now = new_id(), utc_now()
        if reply_to:
            if section_id or justification_id:
                raise KnownError("A reply is on its thread's target: leave out the section and the justification.")
            thread = _thread_row(conn, reply_to)
            thread_id, thread_proposal, section_id, justification_id = thread[:4]
            if thread_proposal != proposal_id:
                raise KnownError(f"Thread {thread_id} is on another proposal ({thread_proposal}).")
            if thread[7] is not None:
                raise KnownError(f"Thread {thread_id} is resolved: reopen it to reply.",
                                 hint=f"`spec-review comment reopen WORKSPACE {thread_id} --by NAME`.")
        else:
            _check_target(conn, proposal_id, section_id, justification_id)
            thread_id = comment_id
            conn.execute(
                "INSERT INTO comment_threads (id, proposal_id, section_id, justification_id, started_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)", [thread_id, proposal_id, section_id, justification_id, author, now])
        mentions = find_mentions(body, member_names(store))
        conn.execute(f"INSERT INTO comments ({_COMMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
                     [comment_id, thread_id, author, body, json.dumps(list(mentions), ensure_ascii=False), now])
        audit.append_event(
            store.db, actor=author, action="comment.add", object_type="proposal", object_id=proposal_id,
            payload={"comment_id": comment_id, "thread_id": thread_id, "section_id": section_id,
                     "justification_id": justification_id, "text": body, "mentions": list(mentions),
                     "created_at": now},
        )
    return Comment(comment_id, thread_id, author, body, mentions, now)


def set_resolved(store: Store, thread_ref: str, resolved: bool, *, actor: str) -> Thread:
    """Resolve (or reopen) a thread as ``actor``; returns the thread as it is now.

    Raises:
        KnownError: not a member, no such thread, or the thread is already resolved (open).
    """
    with sql_errors("resolving the thread" if resolved else "reopening the thread"), store.db.atomic():
        who = _require_member(store, actor)
        conn = store.db.conn
        thread_id, proposal_id, *_rest, resolved_at = _thread_row(conn, thread_ref)
        if (resolved_at is not None) == resolved:
            raise KnownError(f"Thread {thread_id} is already {'resolved' if resolved else 'open'}.")
        now = utc_now()
        conn.execute("UPDATE comment_threads SET resolved_by = ?, resolved_at = ? WHERE id = ?",
                     [who if resolved else None, now if resolved else None, thread_id])
        audit.append_event(
            store.db, actor=who, action="comment.resolve" if resolved else "comment.reopen", object_type="proposal",
            object_id=proposal_id, payload={"thread_id": thread_id, "at": now},
        )
    return thread(store, thread_id)


# ---- reading ---------------------------------------------------------------------------------------


def _comment(row: Sequence[Any]) -> Comment:
    return Comment(row[0], row[1], row[2], row[3], tuple(json.loads(row[4] or "[]")), row[5])


def _threads(conn: sqlite3.Connection, where: str, params: Sequence[Any]) -> list[Thread]:
    threads = [Thread(*row) for row in conn.execute(
        f"SELECT {_THREAD_COLUMNS} FROM comment_threads WHERE {where} ORDER BY created_at, id", params)]
    if not threads:
        return []
    ids = json.dumps([t.id for t in threads])
    comments: dict[str, list[Comment]] = {}
    for row in conn.execute(f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE thread_id IN"
                            " (SELECT value FROM json_each(?)) ORDER BY created_at, id", [ids]):
        comment = _comment(row)
        comments.setdefault(comment.thread_id, []).append(comment)
    return [dataclasses.replace(t, comments=tuple(comments.get(t.id, ()))) for t in threads]


def threads_of(source: Store | sqlite3.Connection, proposal_id: str) -> list[Thread]:
    """Every thread on a proposal with its comments, oldest first.

    Raises:
        KnownError: no such proposal, or the database cannot be read.
    """
    conn = connection_of(source)
    with read_errors("reading the discussion"):
        require_proposal(conn, proposal_id)
        return _threads(conn, "proposal_id = ?", [proposal_id])


@dataclass(frozen=True)
class DiscussionView:
    """What the desk's discussion pane shows of one proposal.

    Attributes:
        proposal_id: the proposal.
        threads: its threads with their comments, oldest first.
        section_ids: the sections it changes (the targets a new thread can have).
        members: every member's name (who can be mentioned).
    """

    proposal_id: str
    threads: list[Thread]
    section_ids: list[str]
    members: list[str]


def discussion_view(source: Store | sqlite3.Connection, proposal_id: str) -> DiscussionView:
    """A proposal's threads, its section ids and the members' names, in one read (no section texts).

    Raises:
        KnownError: no such proposal, or the database cannot be read.
    """
    conn = connection_of(source)
    threads = threads_of(conn, proposal_id)
    with read_errors("reading the discussion"):
        sections = [str(r[0]) for r in conn.execute(
            "SELECT section_id FROM proposal_sections WHERE proposal_id = ? ORDER BY position", [proposal_id])]
    return DiscussionView(proposal_id, threads, sections, member_names(conn))


def thread(source: Store | sqlite3.Connection, thread_ref: str) -> Thread:
    """One thread with its comments (named by its id or any of its comments' ids).

    Raises:
        KnownError: no such thread or comment.
    """
    conn = connection_of(source)
    with read_errors("reading the thread"):
        (found,) = _threads(conn, "id = ?", [_thread_row(conn, thread_ref)[0]])
    return found


def open_thread_counts(source: Store | sqlite3.Connection) -> dict[str, int]:
    """``{proposal id: open threads}`` for every proposal with an open thread."""
    conn = connection_of(source)
    with read_errors("counting open threads"):
        return dict(conn.execute("SELECT proposal_id, count(*) FROM comment_threads WHERE resolved_at IS NULL"
                                 " GROUP BY proposal_id").fetchall())


@dataclass(frozen=True)
class Awaiting:
    """An open thread that waits for one member's answer.

    Attributes:
        thread: the thread.
        kind: ``mention`` (a comment since their last mentions them) or ``reply`` (a thread they
            started has a reply since their last comment).
        comment: the newest comment that makes it wait.
    """

    thread: Thread
    kind: str
    comment: Comment

    def describe(self) -> str:
        """A few words for people: ``Jonas Lindqvist mentioned you on section #x: “…”``."""
        said = " ".join(self.comment.text.split())
        said = said if len(said) <= 80 else said[:79] + "…"
        verb = "mentioned you" if self.kind == "mention" else "replied in your thread"
        return f"{self.comment.author} {verb} on {self.thread.target}: \u201c{said}\u201d"


def awaiting(source: Store | sqlite3.Connection, name: str) -> list[Awaiting]:
    """The open threads that wait for ``name`` to answer, oldest first.

    A thread waits when a comment by someone else, written after ``name``'s own last comment in it,
    mentions them (``mention``); or, failing that, when ``name`` started it and someone else has
    written in it since ``name`` last did (``reply``).
    """
    conn = connection_of(source)
    with read_errors("reading the discussion"):
        candidates = _threads(conn, "resolved_at IS NULL AND (started_by = ? OR id IN (SELECT c.thread_id FROM"
                                    " comments c, json_each(c.mentions) m WHERE m.value = ?))", [name, name])
    found = []
    for item in candidates:
        last_own = max((i for i, c in enumerate(item.comments) if c.author == name), default=-1)
        since = [c for c in item.comments[last_own + 1:] if c.author != name]
        mentioned = [c for c in since if name in c.mentions]
        if mentioned:
            found.append(Awaiting(item, "mention", mentioned[-1]))
        elif since and item.started_by == name:
            found.append(Awaiting(item, "reply", since[-1]))
    return found


def comment_json(comment: Comment) -> dict[str, Any]:
    """A comment as JSON data."""
    return {"id": comment.id, "thread_id": comment.thread_id, "author": comment.author, "text": comment.text,
            "mentions": list(comment.mentions), "created_at": comment.created_at}


def thread_json(item: Thread) -> dict[str, Any]:
    """A thread with its comments as JSON data."""
    return {"id": item.id, "proposal_id": item.proposal_id, "section_id": item.section_id,
            "justification_id": item.justification_id, "target": item.target, "started_by": item.started_by,
            "created_at": item.created_at, "resolved": item.resolved, "resolved_by": item.resolved_by,
            "resolved_at": item.resolved_at, "comments": [comment_json(c) for c in item.comments]}


__all__ = [
    "MOST_COMMENT_CHARS", "Awaiting", "Comment", "Thread", "add_comment", "awaiting", "clean_text", "comment_json",
    "find_mentions", "open_thread_counts", "set_resolved", "target_text", "thread", "thread_json", "threads_of",
]
