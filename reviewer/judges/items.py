"""The work items of the three model tasks: one request each, with its crowd text delimited as data."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.judges.base import JudgeRequest
from reviewer.judges.data import conversation_block, data_block, section_block
from reviewer.judges.prompts import Prompt, load_prompt
from reviewer.spec import Section, SpecDocument
from reviewer.store import Store, sql_errors


@dataclass(frozen=True)
class WorkItem:
    """One request to make (or find in the cache).

    Attributes:
        key: what the item is about, unique within a run (e.g. ``proposal:justification``).
        request: the request, with its inputs in ``payload``.
        input_hash: SHA-256 of the messages and schema; the cache key with task, prompt and model.
        token_parts: the texts that make up the request, counted one by one for the estimate.
    """

    key: str
    request: JudgeRequest
    input_hash: str
    token_parts: tuple[str, ...] = field(default=(), repr=False, compare=False)


def make_item(prompt: Prompt, key: str, parts: Sequence[str], payload: dict[str, Any],
              schema: dict[str, Any] | None = None) -> WorkItem:
    """Build a work item whose user message is ``parts`` joined by blank lines."""
    schema = schema if schema is not None else prompt.schema
    user = "\n\n".join(parts)
    messages = ({"role": "system", "content": prompt.system}, {"role": "user", "content": user})
    request = JudgeRequest(task=prompt.task, messages=messages, schema_name=prompt.version.replace("-", "_"),
                           schema=schema, payload=payload)
    material = audit.canonical_json({"messages": list(messages), "schema": schema, "name": request.schema_name})
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return WorkItem(key=key, request=request, input_hash=digest, token_parts=(prompt.system, *parts))


class Digests:
    """The SHA-256 of message texts, remembered by the text object itself.

    A run's requests share a few long texts (the spec, 270 KB: over 1 MB in memory when it holds an
    emoji): each is hashed once, and never hashed again as a dictionary key (which for such a string
    costs as much as the SHA-256). A text whose digest is known (built from a hashed prefix) is
    given with ``put``.
    """

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, str]] = {}

    def of(self, text: str) -> str:
        """The hex SHA-256 of ``text`` in UTF-8."""
        found = self._by_id.get(id(text))
        if found is not None and found[0] is text:
            return found[1]
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        self._by_id[id(text)] = (text, digest)  # the text is kept, so its id is not reused meanwhile
        return digest

    def put(self, text: str, digest: str) -> None:
        """Remember ``digest`` as the SHA-256 of ``text`` (the caller computed it)."""
        self._by_id[id(text)] = (text, digest)


_SCHEMA_JSON: dict[int, tuple[dict[str, Any], str]] = {}


def _schema_json(schema: dict[str, Any]) -> str:
    found = _SCHEMA_JSON.get(id(schema))
    if found is None or found[0] is not schema:
        found = _SCHEMA_JSON[id(schema)] = (schema, audit.canonical_json(schema))
    return found[1]


def messages_material(message_sha256: Sequence[Sequence[str]], schema: dict[str, Any], name: str) -> str:
    """``canonical_json({"message_sha256": ..., "schema": ..., "name": ...})``, the schema's part serialised once.

    What an item's input hash is taken over; the same text as the dictionary's canonical JSON (its
    keys in sorted order), so the hashes, and so the cache, stay as they were.
    """
    return (f'{{"message_sha256":{audit.canonical_json(message_sha256)},"name":{audit.canonical_json(name)},'
            f'"schema":{_schema_json(schema)}}}')


def make_messages_item(prompt: Prompt, key: str, contents: Sequence[str], payload: dict[str, Any],
                       digests: Digests | None = None) -> WorkItem:
    """Build a work item whose user messages are ``contents``, in order, after the prompt's system message.

    For requests that share a long part (the whole spec, the same for hundreds of conversations):
    each part is its own message, so every request holds the same string object instead of a copy,
    and the request starts with the same text as its neighbours (the provider's prompt cache reuses
    it). The input hash is taken over each message's SHA-256, remembered in ``digests`` by the
    text object, so a long shared part is hashed once per run.
    """
    memo = digests if digests is not None else Digests()
    messages = ({"role": "system", "content": prompt.system},
                *({"role": "user", "content": text} for text in contents))
    request = JudgeRequest(task=prompt.task, messages=messages, schema_name=prompt.version.replace("-", "_"),
                           schema=prompt.schema, payload=payload)
    material = messages_material([[m["role"], memo.of(m["content"])] for m in messages], prompt.schema,
                                 request.schema_name)
    digest = hashlib.sha256(material.encode("utf-8")).hexdigest()
    return WorkItem(key=key, request=request, input_hash=digest, token_parts=(prompt.system, *contents))


def _spec_part(sections: Iterable[Section], cache: dict[tuple[str, ...], str]) -> str:
    chosen = tuple(sections)
    ids = tuple(s.id or f"line{s.start_line}" for s in chosen)
    if ids not in cache:
        cache[ids] = "<spec>\n" + "\n".join(section_block(s) for s in chosen) + "\n</spec>"
    return cache[ids]


def _conversations(store: Store, conversation_ids: Sequence[str] | None, limit: int | None,
                   ranked_only: bool = False) -> list[tuple[str, str, str, str]]:
    sql = "SELECT id, source_id, prompt, responses FROM conversations"
    params: list[Any] = []
    if conversation_ids is not None:
        sql += f" WHERE id IN ({','.join('?' * len(conversation_ids))})"
        params.extend(conversation_ids)
    sql += " ORDER BY source, source_id, id"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(int(limit))
    with sql_errors("reading conversations"):
        return [tuple(r) for r in store.db.execute(sql, params).fetchall()]  # type: ignore[misc]


def ranker_items(store: Store, spec: SpecDocument, *, min_relevance: int | None = None,
                 limit: int | None = None, conversation_ids: Sequence[str] | None = None,
                 prompt: Prompt | None = None) -> tuple[list[WorkItem], list[str]]:
    """Build ranker requests: each conversation against the whole spec or its relevant sections.

    Args:
        store: the workspace database.
        spec: the spec at the revision the ranker applies.
        min_relevance: when set, send only the sections graded at least this for the conversation
            (a conversation with none is skipped); when None, send the whole spec.
        limit: at most this many conversations.
        conversation_ids: only these conversations.
        prompt: the prompt (default: the current ranker prompt).

    Returns:
        The items, and the ids of conversations skipped for having no relevant section.
    """
    from reviewer.agreement import effective_grades

    prompt = prompt or load_prompt("ranker")
    sections = [s for s in spec.sections if s.text.strip()]
    by_id = {s.id: s for s in sections if s.id}
    grades = effective_grades(store) if min_relevance is not None else {}
    relevant: dict[str, list[str]] = {}
    for (conversation, section), grade in grades.items():
        if min_relevance is not None and grade >= min_relevance and section in by_id:
            relevant.setdefault(conversation, []).append(section)
    cache: dict[tuple[str, ...], str] = {}
    items: list[WorkItem] = []
    skipped: list[str] = []
    for conversation_id, source_id, prompt_raw, responses in _conversations(store, conversation_ids, None):
        if limit is not None and len(items) >= limit:
            break
        if min_relevance is None:
            chosen = sections
        else:
            wanted = set(relevant.get(conversation_id, ()))
            chosen = [s for s in sections if s.id in wanted]  # spec order, not grade order
            if not chosen:
                skipped.append(conversation_id)
                continue
        parts = [_spec_part(chosen, cache), conversation_block(prompt_raw, responses)]
        payload = {"conversation_id": conversation_id, "prompt_id": source_id,
                   "section_ids": [s.id for s in chosen if s.id] if min_relevance is not None else None}
        items.append(make_item(prompt, conversation_id, parts, payload))
    return items, skipped


def relevance_items(store: Store, spec: SpecDocument, *, section_ids: Sequence[str] | None = None,
                    limit: int | None = None, conversation_ids: Sequence[str] | None = None,
                    prompt: Prompt | None = None) -> list[WorkItem]:
    """Build relevance requests: each conversation against every section with an id (or ``section_ids``).

    Raises:
        KnownError: a requested section id is not in the spec.
    """
    prompt = prompt or load_prompt("relevance")
    with_ids = [s for s in spec.sections if s.id]
    if section_ids:
        known = {s.id for s in with_ids}
        missing = [s for s in section_ids if s not in known]
        if missing:
            raise KnownError(f"No section {missing[0]!r} in the spec.", hint="See `spec-review spec sections FILE`.")
        chosen = [s for s in with_ids if s.id in set(section_ids)]
    else:
        chosen = with_ids
    ids = [s.id for s in chosen if s.id]
    schema = json.loads(json.dumps(prompt.schema))
    item_schema = schema["properties"]["grades"]["items"]["properties"]["section_id"]
    item_schema["enum"] = ids
    cache: dict[tuple[str, ...], str] = {}
    items = []
    for conversation_id, source_id, prompt_raw, responses in _conversations(store, conversation_ids, limit):
        parts = [_spec_part(chosen, cache), conversation_block(prompt_raw, responses)]
        payload = {"conversation_id": conversation_id, "prompt_id": source_id, "section_ids": ids}
        items.append(make_item(prompt, conversation_id, parts, payload, schema))
    return items


def stance_items(store: Store, *, proposal_id: str | None = None, limit: int | None = None,
                 prompt: Prompt | None = None) -> list[WorkItem]:
    """Build stance requests: every justification on the conversations linked to the proposal(s).

    Raises:
        KnownError: ``proposal_id`` is not stored.
    """
    prompt = prompt or load_prompt("stance")
    with sql_errors("reading proposals"):
        if proposal_id is not None:
            rows = store.db.execute("SELECT id, title, intent, kind FROM proposals WHERE id = ?",
                                    [proposal_id]).fetchall()
            if not rows:
                raise KnownError(f"No proposal {proposal_id} in this workspace.",
                                 hint="See `spec-review proposal list WORKSPACE`.")
        else:
            rows = store.db.execute("SELECT id, title, intent, kind FROM proposals ORDER BY created_at, id").fetchall()
    items: list[WorkItem] = []
    for pid, title, intent, kind in rows:
        sections = store.db.execute(
            "SELECT section_id, base_text, new_text FROM proposal_sections WHERE proposal_id = ? ORDER BY position",
            [pid]).fetchall()
        proposal_part = data_block("proposal", f"Title: {title}\nKind: {kind}\nIntent: {intent}")
        change_parts = [
            data_block("section_before", base.rstrip("\n"), id=sid) + "\n"
            + data_block("section_after", new.rstrip("\n"), id=sid)
            for sid, base, new in sections
        ]
        head = "\n".join([proposal_part, *change_parts])
        conversations: dict[str, str] = {}
        query = store.db.execute(
            "SELECT j.id, j.text, j.block, j.ranking, c.id, c.source_id, c.prompt, c.responses"
            " FROM proposal_conversations pc"
            " JOIN conversations c ON c.id = pc.conversation_id"
            " JOIN assessments a ON a.conversation_id = c.id"
            " JOIN justifications j ON j.assessment_id = a.id"
            " WHERE pc.proposal_id = ? AND trim(j.text) != ''"
            " ORDER BY c.source_id, a.participant_id, j.block, j.position, j.id",
            [pid])
        for jid, text, block, ranking, cid, source_id, prompt_raw, responses in query:
            if limit is not None and len(items) >= limit:
                return items
            if cid not in conversations:
                conversations[cid] = conversation_block(prompt_raw, responses)
            context = f"The participant's {block} ranking: {ranking}" if ranking else f"Block: {block}"
            parts = [head, conversations[cid], context, data_block("justification", text)]
            payload = {"proposal_id": pid, "justification_id": jid, "text": text, "prompt_id": source_id}
            items.append(make_item(prompt, f"{pid}:{jid}", parts, payload))
    return items
