"""The three model tasks (ranker, relevance, stance): prompts, validation, caching, concurrent runs and resume.

A run goes: build the work items (each a request whose crowd text is delimited as data), look each
up in the cache by (task, prompt version, model, input hash), estimate the calls and tokens left,
then call the model from a thread pool of ``concurrency`` workers while the calling thread alone
writes to the database. Every answer is validated against the task's JSON schema and its own rules;
an invalid answer is asked again, then recorded as a failure with the raw answer, never guessed.
The job table and the cache let a crashed or cancelled run resume without redoing finished items.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

from reviewer import audit
from reviewer.errors import BugError, KnownError
from reviewer.ids import new_id, stable_id, utc_now
from reviewer.judges.base import (
    Judge,
    JudgeError,
    JudgeReply,
    JudgeRequest,
    RankVerdict,
    RelevanceVerdict,
    StanceVerdict,
)
from reviewer.modelconfig import ModelConfig, safe_url
from reviewer.progress import Cancelled, NoProgress, Progress
from reviewer.rankings import LETTERS, normalise
from reviewer.resources import resource_path
from reviewer.spec import Section, SpecDocument
from reviewer.store import APP_ACTOR, Store, sql_errors

TASKS = ("ranker", "relevance", "stance")
PROMPT_VERSIONS = {"ranker": "ranker-v1", "relevance": "relevance-v1", "stance": "stance-v1"}
# Answer length guesses for the estimate (tokens); the prompts ask for short answers.
_OUTPUT_TOKENS = {"ranker": 80, "stance": 90, "relevance_per_section": 12, "relevance": 10}
# Chat formatting adds a few tokens per message and for the reply (OpenAI's published rule of thumb).
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_REPLY = 3

# ---- prompts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt and the JSON schema its answers must follow.

    Attributes:
        task: ``ranker``, ``relevance`` or ``stance``.
        version: the prompt's version name (its file name), e.g. ``stance-v1``.
        system: the system message text.
        schema: the answer's JSON schema (sent as a strict ``json_schema`` response format).
    """

    task: str
    version: str
    system: str
    schema: dict[str, Any]


@cache
def load_prompt(task: str, version: str | None = None) -> Prompt:
    """Read ``resources/prompts/<version>.md`` and its ``.schema.json``.

    Raises:
        KnownError: the task is unknown. ``BugError``: the bundled files are missing or broken.
    """
    if task not in TASKS:
        raise KnownError(f"Unknown model task {task!r}.", hint=f"Use one of: {', '.join(TASKS)}.")
    version = version or PROMPT_VERSIONS[task]
    try:
        system = resource_path("resources", "prompts", f"{version}.md").read_text(encoding="utf-8")
        schema = json.loads(resource_path("resources", "prompts", f"{version}.schema.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BugError(f"The bundled prompt {version} is missing or broken: {exc}") from exc
    return Prompt(task=task, version=version, system=system.strip() + "\n", schema=schema)


# ---- JSON schema (the subset the prompts use) ------------------------------------------------


def validate(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Check ``value`` against a JSON schema, for the keywords the prompts use.

    Supported: type (incl. lists), properties, required, additionalProperties (false), enum,
    minimum, maximum, minLength, maxLength, pattern, items, minItems, maxItems.

    Returns:
        One message per violation (empty when the value is valid).
    """
    errors: list[str] = []
    kinds = schema.get("type")
    if kinds is not None:
        allowed = [kinds] if isinstance(kinds, str) else list(kinds)
        if not any(_is_type(value, kind) for kind in allowed):
            return [f"{path}: expected {' or '.join(allowed)}, got {type(value).__name__}"]
    if "enum" in schema and value not in schema["enum"]:
        errors.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: {value} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: {value} is above {schema['maximum']}")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            errors.append(f"{path}: shorter than {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            errors.append(f"{path}: longer than {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            errors.append(f"{path}: {value!r} does not match {schema['pattern']}")
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            if name not in value:
                errors.append(f"{path}: missing {name!r}")
        if schema.get("additionalProperties") is False:
            errors.extend(f"{path}: unexpected {name!r}" for name in value if name not in properties)
        for name, sub in properties.items():
            if name in value:
                errors.extend(validate(value[name], sub, f"{path}.{name}"))
    if isinstance(value, list):
        if "minItems" in schema and len(value) < schema["minItems"]:
            errors.append(f"{path}: fewer than {schema['minItems']} items")
        if "maxItems" in schema and len(value) > schema["maxItems"]:
            errors.append(f"{path}: more than {schema['maxItems']} items")
        if "items" in schema:
            for i, item in enumerate(value):
                errors.extend(validate(item, schema["items"], f"{path}[{i}]"))
    return errors


def _is_type(value: Any, kind: str) -> bool:
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "null":
        return value is None
    raise BugError(f"unsupported schema type {kind!r}")


# ---- crowd text as data ----------------------------------------------------------------------

DATA_TAGS = ("spec_section", "conversation", "message", "response", "proposal", "section_before",
             "section_after", "justification")
_DELIMITER = re.compile(r"<(?=\s*/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)
_ESCAPED = re.compile(r"&lt;(?=\s*/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)


def escape_data(text: str) -> str:
    """Neutralise anything in ``text`` that would open or close a data block (``<`` becomes ``&lt;``)."""
    return _DELIMITER.sub("&lt;", text)


def unescape_data(text: str) -> str:
    """Undo ``escape_data`` (a quote copied from an escaped block is checked against the original)."""
    return _ESCAPED.sub("<", text)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def data_block(tag: str, text: str, **attrs: str) -> str:
    """Wrap untrusted ``text`` in ``<tag ...>`` ... ``</tag>`` with delimiters inside it escaped."""
    attributes = "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>\n{escape_data(text)}\n</{tag}>"


def prompt_messages(raw: Any) -> list[tuple[str, str]]:
    """Read the messages of a stored prompt or response in the shapes the importers write."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return [("user", raw)]
    if isinstance(raw, dict):
        if "messages" in raw:
            return prompt_messages(raw["messages"])
        if "content" in raw:
            return [(str(raw.get("role", "user")), _content_text(raw["content"]))]
        return [("user", json.dumps(raw, ensure_ascii=False))]
    if isinstance(raw, list):
        out: list[tuple[str, str]] = []
        for entry in raw:
            if isinstance(entry, dict) and "content" in entry:
                out.append((str(entry.get("role", "user")), _content_text(entry["content"])))
            elif isinstance(entry, str):
                out.append(("user", entry))
            else:
                out.extend(prompt_messages(entry))
        return out
    return [("user", "" if raw is None else str(raw))]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def response_messages(raw: str) -> dict[str, list[tuple[str, str]]]:
    """Map A–D to each response's messages, from the stored ``responses`` column."""
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError:
        return {"A": [("assistant", raw)]}
    out: dict[str, list[tuple[str, str]]] = {}
    if isinstance(data, dict):
        for letter, value in data.items():
            out[str(letter)] = prompt_messages(value) if not isinstance(value, str) else [("assistant", value)]
    elif isinstance(data, list):
        for i, entry in enumerate(data):
            letter = LETTERS[i] if i < len(LETTERS) else str(i)
            if isinstance(entry, dict):
                letter = str(entry.get("response_index") or entry.get("letter") or letter)
                value = entry.get("messages", entry.get("content", entry.get("text", "")))
                out[letter] = prompt_messages(value) if not isinstance(value, str) else [("assistant", value)]
            else:
                out[letter] = [("assistant", str(entry))]
    return out


def conversation_block(prompt: str, responses: str) -> str:
    """Render a stored conversation and its four responses as delimited data blocks."""
    messages = "\n".join(data_block("message", text, role=role) for role, text in prompt_messages(prompt))
    answers = "\n".join(
        data_block("response", "\n\n".join(text for _role, text in msgs), letter=letter)
        for letter, msgs in sorted(response_messages(responses).items())
    )
    return f"<conversation>\n{messages}\n{answers}\n</conversation>"


def section_block(section: Section) -> str:
    """Render one spec section as a delimited data block."""
    attrs = {"id": section.id or ""}
    if section.authority:
        attrs["authority"] = section.authority
    return data_block("spec_section", section.text.rstrip("\n"), **attrs)


# ---- work items ------------------------------------------------------------------------------


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


# ---- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parsed:
    """What came of one answer.

    Attributes:
        verdict: the parsed verdict (a flagged stance verdict may come with a problem).
        problem: why the answer is not acceptable as is (asked again while retries remain).
        acceptable: whether ``verdict`` may be kept, flagged, once retries run out.
    """

    verdict: Any = None
    problem: str | None = None
    acceptable: bool = False


def parse_answer(reply: JudgeReply, item: WorkItem) -> Parsed:
    """Validate a reply for ``item``'s task and turn it into a verdict."""
    if reply.content is None or not reply.content.strip():
        if reply.refusal:
            return Parsed(problem=f"the model refused: {reply.refusal}")
        return Parsed(problem="the answer is empty")
    if reply.finish_reason == "length":
        return Parsed(problem="the answer was cut off (length limit)")
    try:
        data = json.loads(reply.content)
    except json.JSONDecodeError as exc:
        return Parsed(problem=f"the answer is not valid JSON ({exc.msg} at character {exc.pos})")
    errors = validate(data, item.request.schema)
    if errors:
        return Parsed(problem="the answer does not follow the schema: " + "; ".join(errors[:5]))
    task = item.request.task
    if task == "ranker":
        try:
            ranking = normalise(data["ranking"])
        except KnownError as exc:
            return Parsed(problem=f"the ranking is not valid: {exc}")
        return Parsed(RankVerdict(ranking=ranking, reason=data["reason"].strip()))
    if task == "relevance":
        wanted = list(item.request.payload["section_ids"])
        given = [g["section_id"] for g in data["grades"]]
        if sorted(given) != sorted(wanted):
            missing = sorted(set(wanted) - set(given))
            doubled = sorted({s for s in given if given.count(s) > 1})
            return Parsed(problem=f"the grades must list every section once (missing {missing[:5]}, "
                                  f"repeated {doubled[:5]})")
        return Parsed(RelevanceVerdict(grades={g["section_id"]: int(g["grade"]) for g in data["grades"]}))
    if task == "stance":
        return _parse_stance(data, str(item.request.payload["text"]))
    raise BugError(f"no parser for task {task!r}")


def _parse_stance(data: dict[str, Any], text: str) -> Parsed:
    quote = data["quote"]
    base = {"stance": data["stance"], "reason": data["reason"].strip(), "confidence": float(data["confidence"])}
    if not quote.strip():
        if data["stance"] == "no_comment":
            return Parsed(StanceVerdict(quote=None, **base))
        verdict = StanceVerdict(quote=None, flags=("no_quote",), **base)
        return Parsed(verdict, f"a {data['stance']} label needs a quote from the justification", acceptable=True)
    if quote in text:
        return Parsed(StanceVerdict(quote=quote, **base))
    if unescape_data(quote) in text:
        return Parsed(StanceVerdict(quote=unescape_data(quote), **base))
    verdict = StanceVerdict(quote=None, flags=("quote_not_verbatim",), rejected_quote=quote, **base)
    return Parsed(verdict, "the quote does not occur verbatim in the justification", acceptable=True)


def verdict_json(verdict: Any) -> dict[str, Any]:
    """Return a verdict as JSON data (what the cache keeps)."""
    data = asdict(verdict)
    if "flags" in data:
        data["flags"] = list(data["flags"])
    return data


def verdict_from_json(task: str, data: dict[str, Any]) -> Any:
    """Rebuild a cached verdict."""
    if task == "ranker":
        return RankVerdict(**data)
    if task == "relevance":
        return RelevanceVerdict(grades={k: int(v) for k, v in data["grades"].items()})
    if task == "stance":
        return StanceVerdict(**{**data, "flags": tuple(data.get("flags", ()))})
    raise BugError(f"unknown task {task!r}")


# ---- calling the model -----------------------------------------------------------------------


class RateGate:
    """A pause shared by every worker: a 429 seen by one makes all of them wait.

    Attributes:
        not_before: the monotonic time before which no request may start.
    """

    def __init__(self) -> None:
        self.not_before = 0.0
        self._lock = threading.Lock()

    def pause(self, seconds: float) -> None:
        """Hold every request back for ``seconds`` from now."""
        with self._lock:
            self.not_before = max(self.not_before, time.monotonic() + seconds)

    def wait(self, cancel: threading.Event) -> None:
        """Sleep until the pause is over (or the run is cancelled)."""
        while True:
            with self._lock:
                remaining = self.not_before - time.monotonic()
            if remaining <= 0 or cancel.wait(remaining):
                return


@dataclass(frozen=True)
class Outcome:
    """The end of one item's attempts.

    Attributes:
        status: ``ok``, ``failed`` or ``cancelled``.
        verdict: the verdict when ``ok``.
        raw: the last raw answer (or error body).
        error: why it failed.
        kind: the failure kind (``invalid_output``, ``refusal``, ``timeout``, ``rate_limited``...).
        attempts: requests sent for this item.
        input_tokens: prompt tokens the endpoint reported, over all attempts.
        output_tokens: completion tokens the endpoint reported, over all attempts.
    """

    status: str
    verdict: Any = None
    raw: str | None = None
    error: str | None = None
    kind: str | None = None
    attempts: int = 0
    input_tokens: int = 0
    output_tokens: int = 0


def attempt_item(judge: Judge, item: WorkItem, config: ModelConfig, gate: RateGate,
                 cancel: threading.Event) -> Outcome:
    """Get a valid answer for ``item``: retry transient failures with backoff, re-ask invalid answers.

    Raises:
        JudgeError: a failure that every request would meet (bad key, wrong URL or model, no server).
    """
    messages = list(item.request.messages)
    transient = invalid = attempts = tokens_in = tokens_out = 0
    while True:
        gate.wait(cancel)
        if cancel.is_set():
            return Outcome("cancelled", attempts=attempts, input_tokens=tokens_in, output_tokens=tokens_out)
        attempts += 1
        request = item.request if len(messages) == len(item.request.messages) else JudgeRequest(
            task=item.request.task, messages=tuple(messages), schema_name=item.request.schema_name,
            schema=item.request.schema, payload=item.request.payload)
        try:
            reply = judge.complete(request)
        except JudgeError as exc:
            if exc.fatal:
                raise
            if exc.retryable and transient < config.retries:
                transient += 1
                delay = config.backoff * (2 ** (transient - 1)) * (1 + random.random() / 10)
                if exc.retry_after is not None:
                    delay = exc.retry_after  # the server knows best; capped below like our own
                delay = min(delay, config.backoff_max)
                if exc.kind == "rate_limited":
                    gate.pause(delay)  # every worker waits, not just this one
                else:
                    cancel.wait(delay)
                continue
            return Outcome("failed", raw=exc.raw, error=str(exc), kind=exc.kind, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out)
        tokens_in += reply.input_tokens
        tokens_out += reply.output_tokens
        parsed = parse_answer(reply, item)
        raw = reply.content if reply.content is not None else reply.refusal
        if parsed.problem is None:
            return Outcome("ok", verdict=parsed.verdict, raw=raw, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out)
        if invalid < config.invalid_retries:
            invalid += 1
            # Show the model its answer and what was wrong, then ask again.
            messages = [*item.request.messages, {"role": "assistant", "content": raw or ""},
                        {"role": "user", "content": f"That answer was not accepted: {parsed.problem}. "
                         "Answer again with JSON only, following the schema and the rules above."}]
            continue
        if parsed.acceptable:
            return Outcome("ok", verdict=parsed.verdict, raw=raw, attempts=attempts,
                           input_tokens=tokens_in, output_tokens=tokens_out)
        kind = "refusal" if reply.refusal and not reply.content else "invalid_output"
        return Outcome("failed", raw=raw, error=parsed.problem, kind=kind, attempts=attempts,
                       input_tokens=tokens_in, output_tokens=tokens_out)


# ---- storing ---------------------------------------------------------------------------------


# ROUTE-THROUGH-EVIDENCE: the one place that writes a model stance label. The lead may route this
# through reviewer.evidence (which owns labels and the effective stance) without touching callers.
def store_model_stance(store: Store, *, proposal_id: str, justification_id: str, verdict: StanceVerdict,
                       model: str, prompt_version: str, input_hash: str, job_id: str | None = None) -> bool:
    """Insert one model stance label (call inside the caller's transaction; no audit event of its own).

    The label id is derived from its inputs, so storing the same answer again adds nothing.

    Returns:
        Whether a new label was written.
    """
    label_id = stable_id("model-stance", proposal_id, justification_id, model, prompt_version, input_hash)
    detail: dict[str, Any] = {"reason": verdict.reason, "flags": list(verdict.flags), "input_hash": input_hash}
    if verdict.rejected_quote is not None:
        detail["rejected_quote"] = verdict.rejected_quote
    if job_id is not None:
        detail["job_id"] = job_id
    cursor = store.db.execute(
        "INSERT OR IGNORE INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name,"
        " prompt_version, confidence, quote, detail, supersedes, created_at)"
        " VALUES (?, ?, ?, ?, 'model', ?, ?, ?, ?, ?, NULL, ?)",
        [label_id, proposal_id, justification_id, verdict.stance, model, prompt_version, verdict.confidence,
         verdict.quote, json.dumps(detail, ensure_ascii=False), utc_now()],
    )
    return bool(cursor.rowcount)


def model_grader_name(model: str, prompt_version: str) -> str:
    """Return the ``grader`` recorded on model relevance grades, e.g. ``gpt-4.1@relevance-v1``."""
    return f"{model}@{prompt_version}"


def _store_relevance(store: Store, conversation_id: str, verdict: RelevanceVerdict, model: str,
                     prompt_version: str, input_hash: str) -> int:
    grader = model_grader_name(model, prompt_version)
    now = utc_now()
    rows = [(stable_id("model-relevance", conversation_id, section, grader, input_hash), conversation_id,
             section, grade, grader, now) for section, grade in sorted(verdict.grades.items())]
    cursor = store.db.conn.executemany(
        "INSERT OR IGNORE INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
        " created_at) VALUES (?, ?, ?, ?, 'model', ?, ?)", rows)
    return int(cursor.rowcount)


# ---- estimates -------------------------------------------------------------------------------


@cache
def _o200k() -> Any:
    """Load the o200k_base encoding once per process (about a second), or None when unavailable."""
    try:
        import bpe_openai  # built-in encodings: works offline, unlike tiktoken, which downloads at first use

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - any failure means: estimate instead
        return None


class TokenCounter:
    """Counts tokens with the o200k_base encoding when ``bpe-openai`` is installed, else estimates.

    Attributes:
        method: the encoding name, or a description of the approximation.
        exact: whether counts come from a real tokenizer.
    """

    APPROXIMATE = "approximate (UTF-8 bytes / 4)"

    def __init__(self, use_tokenizer: bool = True) -> None:
        self._use_tokenizer = use_tokenizer
        self._memo: dict[str, int] = {}

    @property
    def _encoding(self) -> Any:
        # Loaded at the first count, so an estimate with nothing to send costs no load.
        return _o200k() if self._use_tokenizer else None

    @property
    def exact(self) -> bool:
        """Whether counts come from a real tokenizer."""
        return self._encoding is not None

    @property
    def method(self) -> str:
        """The encoding name, or a description of the approximation."""
        return "o200k_base" if self.exact else self.APPROXIMATE

    def count(self, text: str) -> int:
        """Return the number of tokens in ``text`` (memoised: shared spec parts are counted once)."""
        cached = self._memo.get(text)
        if cached is not None:
            return cached
        if self._encoding is not None:
            try:
                value = len(self._encoding.encode_ordinary(text))
            except ValueError:  # over the encoder's size limit: estimate that part
                value = -(-len(text.encode("utf-8")) // 4)
        else:
            value = -(-len(text.encode("utf-8")) // 4)
        self._memo[text] = value
        return value


@dataclass(frozen=True)
class Estimate:
    """What a run will cost, shown before it starts.

    Attributes:
        task: the task.
        model: the model.
        prompt_version: the prompt.
        items: work items in the run.
        cached: items already answered (no call).
        calls: model calls to make (one per item not cached; retries come on top).
        input_tokens: prompt tokens of those calls.
        output_tokens: an approximate answer size for those calls.
        tokenizer: how input tokens were counted (``o200k_base`` or an approximation).
        exact: whether ``input_tokens`` comes from a real tokenizer (exact for OpenAI's o200k models).
        decided_proposals: proposals with decisions whose evidence this run may relabel (stance runs).
        decided_labels: the items of this run on those proposals.
    """

    task: str
    model: str
    prompt_version: str
    items: int
    cached: int
    calls: int
    input_tokens: int
    output_tokens: int
    tokenizer: str
    exact: bool
    decided_proposals: int = 0
    decided_labels: int = 0

    def describe(self) -> str:
        """Return the estimate as one paragraph for the terminal."""
        how = "counted with o200k_base" if self.exact else "approximate"
        text = (f"{self.task} with {self.model} ({self.prompt_version}): {self.items} items, {self.cached} already "
                f"answered, {self.calls} model calls; about {self.input_tokens:,} input tokens ({how}) and "
                f"{self.output_tokens:,} output tokens (approximate).")
        if self.decided_proposals:
            text += (f" It may relabel the evidence of {self.decided_proposals} proposal"
                     f"{'' if self.decided_proposals == 1 else 's'} already decided ({self.decided_labels} labels);"
                     " their decisions keep the evidence they were made on, and the desk and report will show both.")
        return text


def cached_results(store: Store, task: str, prompt_version: str, model: str,
                   hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return the cached ``ok`` results by input hash."""
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, dict[str, Any]] = {}
    with sql_errors("reading the judge cache"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = store.db.execute(
                "SELECT input_hash, result FROM judge_cache WHERE task = ? AND prompt_version = ? AND model = ?"
                f" AND status = 'ok' AND input_hash IN ({','.join('?' * len(chunk))})",
                [task, prompt_version, model, *chunk]).fetchall()
            found.update((h, json.loads(r)) for h, r in rows)
    return found


def estimate(store: Store, items: Sequence[WorkItem], model: str, *, prompt_version: str | None = None,
             counter: TokenCounter | None = None) -> Estimate:
    """Count the calls and tokens a run of ``items`` will need, leaving out cached answers."""
    if not items:
        raise KnownError("There is nothing to send to the model.")
    task = items[0].request.task
    version = prompt_version or PROMPT_VERSIONS[task]
    cached = cached_results(store, task, version, model, (i.input_hash for i in items))
    todo = [i for i in items if i.input_hash not in cached]
    counter = counter or TokenCounter()
    tokens_in = sum(sum(counter.count(p) for p in i.token_parts) + 2 * _TOKENS_PER_MESSAGE + _TOKENS_PER_REPLY
                    for i in todo)
    if task == "relevance":
        tokens_out = sum(_OUTPUT_TOKENS["relevance"] + _OUTPUT_TOKENS["relevance_per_section"]
                         * len(i.request.payload["section_ids"]) for i in todo)
    else:
        tokens_out = _OUTPUT_TOKENS[task] * len(todo)
    decided_proposals = decided_labels = 0
    if task == "stance":
        by_proposal = Counter(item.request.payload["proposal_id"] for item in items)
        decided = _decided(store, by_proposal)
        decided_proposals, decided_labels = len(decided), sum(by_proposal[p] for p in decided)
    # Nothing to send: zero is exact, and the tokenizer need not be loaded.
    return Estimate(task=task, model=model, prompt_version=version, items=len(items), cached=len(items) - len(todo),
                    calls=len(todo), input_tokens=tokens_in, output_tokens=tokens_out,
                    tokenizer=counter.method if todo else "none needed", exact=counter.exact if todo else True,
                    decided_proposals=decided_proposals, decided_labels=decided_labels)


def _decided(store: Store, proposal_ids: Iterable[str]) -> set[str]:
    """Return those of ``proposal_ids`` that have at least one decision."""
    wanted = list(proposal_ids)
    found: set[str] = set()
    with sql_errors("reading which proposals are decided"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update(r[0] for r in store.db.execute(
                f"SELECT DISTINCT proposal_id FROM decisions WHERE proposal_id IN ({','.join('?' * len(chunk))})",
                chunk))
    return found


# ---- running ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """An item that got no usable answer.

    Attributes:
        item_key: the item.
        kind: how it failed.
        error: what went wrong.
    """

    item_key: str
    kind: str
    error: str


@dataclass(frozen=True)
class RunSummary:
    """What a run did.

    Attributes:
        job_id: the judge job (reused when resuming).
        task: the task.
        model: the model.
        prompt_version: the prompt.
        status: ``done`` (every item attempted), ``cancelled`` or ``failed`` (stopped by a fatal error).
        resumed: whether an earlier unfinished job was continued.
        items: items in the run.
        cached: items answered from the cache (no call).
        called: items sent to the model in this run.
        ok: items with a usable answer now.
        failed: items whose answer failed (recorded with the raw answer).
        flagged: stance labels kept with a flag (quote rejected).
        stored: new rows written (labels, grades or rankings).
        ranker_run_id: the ranker run (ranker only).
        input_tokens: prompt tokens the endpoint reported for this run's calls.
        output_tokens: completion tokens the endpoint reported.
        failures: the failed items.
    """

    job_id: str
    task: str
    model: str
    prompt_version: str
    status: str
    resumed: bool
    items: int
    cached: int
    called: int
    ok: int
    failed: int
    flagged: int
    stored: int
    ranker_run_id: str | None
    input_tokens: int
    output_tokens: int
    failures: tuple[Failure, ...] = ()


@dataclass
class _Tally:
    cached: int = 0
    called: int = 0
    ok: int = 0
    failed: int = 0
    flagged: int = 0
    stored: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    failures: list[Failure] = field(default_factory=list)


class _Run:
    """One run's database side: the job, the batches of results, the finish. Calling thread only."""

    def __init__(self, store: Store, items: Sequence[WorkItem], *, model: str, prompt_version: str,
                 endpoint: str | None, spec_revision: str | None, params: dict[str, Any], actor: str) -> None:
        self.store = store
        self.items = {i.key: i for i in items}
        if len(self.items) != len(items):
            raise BugError("duplicate work item keys")
        self.task = items[0].request.task
        self.model = model
        self.prompt_version = prompt_version
        self.endpoint = safe_url(endpoint) if endpoint else None
        self.spec_revision = spec_revision
        self.params = params
        self.actor = actor
        self.tally = _Tally()
        key_material = audit.canonical_json([self.task, prompt_version, model, spec_revision,
                                             sorted(i.input_hash for i in items)])
        self.job_key = hashlib.sha256(key_material.encode("utf-8")).hexdigest()
        self.job_id = ""
        self.resumed = False
        self.ranker_run_id: str | None = None

    def open_job(self, cached: int, calls: int) -> None:
        """Find the job doing the same work (resume it) or start one; one audit event either way."""
        now = utc_now()
        with sql_errors("starting the judge run"), self.store.db.atomic():
            row = self.store.db.execute(
                "SELECT id, status, ranker_run_id FROM judge_jobs WHERE job_key = ? ORDER BY created_at DESC LIMIT 1",
                [self.job_key]).fetchone()
            if row is not None:
                # The same work again: an unfinished job resumes; a finished one is reused (only
                # failed items are sent again, and a ranker run gets its missing rankings).
                self.job_id, previous, self.ranker_run_id = row
                self.resumed = previous != "done"
                self.store.db.execute("UPDATE judge_jobs SET status = 'running', endpoint = ?, updated_at = ?"
                                      " WHERE id = ?", [self.endpoint, now, self.job_id])
            else:
                previous = None
                self.job_id = new_id()
                self.store.db.execute(
                    "INSERT INTO judge_jobs (id, job_key, task, prompt_version, model, endpoint, spec_revision,"
                    " params, status, items_total, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)",
                    [self.job_id, self.job_key, self.task, self.prompt_version, self.model, self.endpoint,
                     self.spec_revision, json.dumps(self.params, ensure_ascii=False), len(self.items), now, now])
                self.store.db.conn.executemany(
                    "INSERT INTO judge_job_items (job_id, item_key, input_hash, status, updated_at)"
                    " VALUES (?, ?, ?, 'pending', ?)",
                    [(self.job_id, i.key, i.input_hash, now) for i in self.items.values()])
            audit.append_event(
                self.store.db, actor=self.actor, action="judge.resume" if self.resumed else "judge.start",
                object_type="judge_job", object_id=self.job_id,
                payload={"task": self.task, "model": self.model, "prompt_version": self.prompt_version,
                         "endpoint": self.endpoint, "spec_revision": self.spec_revision, "items": len(self.items),
                         "cached": cached, "calls": calls, "previous_status": previous, "params": self.params},
            )

    def write(self, results: Sequence[tuple[WorkItem, Outcome | dict[str, Any]]]) -> None:
        """Store a batch of results in one transaction: cache, failure records, labels or grades."""
        now = utc_now()
        with sql_errors("saving model answers"), self.store.db.atomic():
            for item, result in results:
                if isinstance(result, dict):  # from the cache
                    verdict = verdict_from_json(self.task, result)
                    self.tally.cached += 1
                    self._store_verdict(item, verdict)
                    self._mark(item, "done", now)
                    continue
                self.tally.called += 1
                self.tally.input_tokens += result.input_tokens
                self.tally.output_tokens += result.output_tokens
                if result.status == "ok":
                    self.store.db.execute(
                        "INSERT INTO judge_cache (task, prompt_version, model, input_hash, status, raw, result, error,"
                        " attempts, input_tokens, output_tokens, created_at)"
                        " VALUES (?, ?, ?, ?, 'ok', ?, ?, NULL, ?, ?, ?, ?)"
                        " ON CONFLICT (task, prompt_version, model, input_hash) DO UPDATE SET status = 'ok',"
                        " raw = excluded.raw, result = excluded.result, error = NULL, attempts = excluded.attempts,"
                        " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
                        " created_at = excluded.created_at",
                        [self.task, self.prompt_version, self.model, item.input_hash, result.raw,
                         json.dumps(verdict_json(result.verdict), ensure_ascii=False), result.attempts,
                         result.input_tokens, result.output_tokens, now])
                    self._store_verdict(item, result.verdict)
                    self._mark(item, "done", now)
                else:
                    self.tally.failed += 1
                    self.tally.failures.append(Failure(item.key, result.kind or "failed", result.error or ""))
                    self.store.db.execute(
                        "INSERT INTO judge_cache (task, prompt_version, model, input_hash, status, raw, result, error,"
                        " attempts, created_at) VALUES (?, ?, ?, ?, 'failed', ?, NULL, ?, ?, ?)"
                        " ON CONFLICT (task, prompt_version, model, input_hash) DO UPDATE SET status = 'failed',"
                        " raw = excluded.raw, result = NULL, error = excluded.error, attempts = excluded.attempts,"
                        " created_at = excluded.created_at WHERE judge_cache.status != 'ok'",
                        [self.task, self.prompt_version, self.model, item.input_hash, result.raw, result.error,
                         result.attempts, now])
                    self.store.db.execute(
                        "INSERT INTO judge_failures (id, job_id, task, prompt_version, model, input_hash, item_key,"
                        " kind, error, raw, attempts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [new_id(), self.job_id, self.task, self.prompt_version, self.model, item.input_hash, item.key,
                         result.kind or "failed", result.error or "", result.raw, result.attempts, now])
                    self._mark(item, "failed", now)
            self.store.db.execute(
                "UPDATE judge_jobs SET updated_at = ?,"
                " items_done = (SELECT count(*) FROM judge_job_items WHERE job_id = ? AND status = 'done'),"
                " items_failed = (SELECT count(*) FROM judge_job_items WHERE job_id = ? AND status = 'failed')"
                " WHERE id = ?", [now, self.job_id, self.job_id, self.job_id])

    def _mark(self, item: WorkItem, status: str, now: str) -> None:
        self.store.db.execute("UPDATE judge_job_items SET status = ?, updated_at = ? WHERE job_id = ? AND item_key = ?",
                              [status, now, self.job_id, item.key])

    def _store_verdict(self, item: WorkItem, verdict: Any) -> None:
        self.tally.ok += 1
        payload = item.request.payload
        if self.task == "stance":
            if verdict.flags:
                self.tally.flagged += 1
            if store_model_stance(self.store, proposal_id=payload["proposal_id"],
                                  justification_id=payload["justification_id"], verdict=verdict, model=self.model,
                                  prompt_version=self.prompt_version, input_hash=item.input_hash, job_id=self.job_id):
                self.tally.stored += 1
        elif self.task == "relevance":
            self.tally.stored += _store_relevance(self.store, payload["conversation_id"], verdict, self.model,
                                                  self.prompt_version, item.input_hash)
        # Ranker answers wait in the cache; the ranker run is written whole when the job finishes.

    def finish(self, status: str) -> None:
        """Close the job (writing the ranker run when it is done) with one audit event."""
        now = utc_now()
        with sql_errors("finishing the judge run"), self.store.db.atomic():
            if self.task == "ranker" and status == "done":
                self._write_ranker_run(now)
            self.store.db.execute("UPDATE judge_jobs SET status = ?, ranker_run_id = ?, updated_at = ? WHERE id = ?",
                                  [status, self.ranker_run_id, now, self.job_id])
            t = self.tally
            audit.append_event(
                self.store.db, actor=self.actor, action={"done": "judge.finish", "cancelled": "judge.cancel"}.get(
                    status, "judge.fail"), object_type="judge_job", object_id=self.job_id,
                payload={"task": self.task, "model": self.model, "status": status, "cached": t.cached,
                         "called": t.called, "ok": t.ok, "failed": t.failed, "flagged": t.flagged,
                         "stored": t.stored, "ranker_run_id": self.ranker_run_id,
                         "input_tokens": t.input_tokens, "output_tokens": t.output_tokens},
            )

    def _write_ranker_run(self, now: str) -> None:
        rows = self.store.db.execute(
            "SELECT i.item_key, c.result FROM judge_job_items i JOIN judge_cache c ON c.input_hash = i.input_hash"
            " AND c.task = ? AND c.prompt_version = ? AND c.model = ? AND c.status = 'ok'"
            " WHERE i.job_id = ? AND i.status = 'done' ORDER BY i.item_key",
            [self.task, self.prompt_version, self.model, self.job_id]).fetchall()
        if not rows:
            return
        if self.ranker_run_id is None:
            self.ranker_run_id = new_id()
            self.store.db.execute(
                "INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
                " VALUES (?, ?, ?, ?, 'judge', ?)",
                [self.ranker_run_id, self.spec_revision or "", self.model, self.prompt_version, now])
        run_id = self.ranker_run_id
        values = []
        for conversation_id, result in rows:
            verdict = json.loads(result)
            values.append((stable_id("ranker-ranking", run_id, conversation_id), run_id, conversation_id,
                           verdict["ranking"], verdict["reason"]))
        cursor = self.store.db.conn.executemany(
            "INSERT OR IGNORE INTO ranker_rankings (id, run_id, conversation_id, ranking, reason)"
            " VALUES (?, ?, ?, ?, ?)", values)
        self.tally.stored += int(cursor.rowcount)

    def summary(self, status: str) -> RunSummary:
        t = self.tally
        return RunSummary(
            job_id=self.job_id, task=self.task, model=self.model, prompt_version=self.prompt_version, status=status,
            resumed=self.resumed, items=len(self.items), cached=t.cached, called=t.called, ok=t.ok, failed=t.failed,
            flagged=t.flagged, stored=t.stored, ranker_run_id=self.ranker_run_id, input_tokens=t.input_tokens,
            output_tokens=t.output_tokens, failures=tuple(t.failures))


def _batches(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


def run_items(store: Store, items: Sequence[WorkItem], judge: Judge, config: ModelConfig, *,
              progress: Progress | None = None, spec_revision: str | None = None,
              params: dict[str, Any] | None = None, actor: str = APP_ACTOR,
              on_cancel_wait: float = 5.0) -> RunSummary:
    """Answer every item: from the cache where possible, else by calling ``judge`` concurrently.

    Only the calling thread touches the database; up to ``config.concurrency`` worker threads call
    the judge. Results are written as they arrive, in one transaction per batch, so a crash loses
    at most the answers still in flight, and running the same work again resumes the same job.

    Args:
        store: the workspace database (used on this thread only).
        items: the work (all of one task).
        judge: the model (its ``model`` names the results).
        config: concurrency, retries and backoff (the judge holds the endpoint itself).
        progress: receives one tick per finished item; raising ``Cancelled`` from ``tick`` stops the run.
        spec_revision: the spec commit the requests were built from (recorded; the ranker run's revision).
        params: the run's options, recorded with the job.
        actor: who started it (audit events).
        on_cancel_wait: seconds to wait for calls already in flight when cancelled (their answers are kept).

    Returns:
        What the run did.

    Raises:
        Cancelled: the progress object cancelled the run (finished answers are kept; run again to resume).
        JudgeError: the endpoint refused every request (bad key, wrong URL or model, no server).
    """
    progress = progress or NoProgress()
    if not items:
        raise KnownError("There is nothing to send to the model.")
    tasks = {i.request.task for i in items}
    if len(tasks) != 1:
        raise BugError(f"one run holds one task, got {sorted(tasks)}")
    task = tasks.pop()
    prompt_version = PROMPT_VERSIONS[task]
    run = _Run(store, items, model=judge.model, prompt_version=prompt_version,
               endpoint=getattr(getattr(judge, "config", None), "endpoint", None), spec_revision=spec_revision,
               params=params or {}, actor=actor)
    cached = cached_results(store, task, prompt_version, judge.model, (i.input_hash for i in items))
    todo = [i for i in items if i.input_hash not in cached]
    run.open_job(cached=len(items) - len(todo), calls=len(todo))
    progress.start(len(items), f"{task} with {judge.model}")
    status = "failed"
    try:
        done_cached = [(i, cached[i.input_hash]) for i in items if i.input_hash in cached]
        for batch in _batches(done_cached, 500):
            run.write(batch)
            progress.tick(len(batch))
        _call_concurrently(run, todo, judge, config, progress, on_cancel_wait)
        status = "done"
    except (Cancelled, KeyboardInterrupt):
        status = "cancelled"
        raise
    finally:
        run.finish(status)
        progress.finish()
    return run.summary(status)


def _call_concurrently(run: _Run, todo: Sequence[WorkItem], judge: Judge, config: ModelConfig,
                       progress: Progress, on_cancel_wait: float) -> None:
    if not todo:
        return
    cancel = threading.Event()
    gate = RateGate()
    pending = iter(todo)
    inflight: dict[Future[Outcome], WorkItem] = {}
    executor = ThreadPoolExecutor(max_workers=config.concurrency, thread_name_prefix="judge")

    def fill() -> None:
        # Keep a bounded queue so cancelling never leaves thousands of submitted calls behind.
        while len(inflight) < config.concurrency * 2 and not cancel.is_set():
            item = next(pending, None)
            if item is None:
                return
            inflight[executor.submit(attempt_item, judge, item, config, gate, cancel)] = item

    def collect(done: Iterable[Future[Outcome]]) -> tuple[list[tuple[WorkItem, Outcome]], BaseException | None]:
        results: list[tuple[WorkItem, Outcome]] = []
        error: BaseException | None = None
        for future in done:
            item = inflight.pop(future)
            try:
                outcome = future.result()
            except BaseException as exc:  # noqa: BLE001 - re-raised after the batch is saved
                error = error or exc
                continue
            if outcome.status != "cancelled":
                results.append((item, outcome))
        return results, error

    try:
        fill()
        while inflight:
            done, _ = wait(list(inflight), timeout=0.25, return_when=FIRST_COMPLETED)
            if not done:
                progress.tick(0)  # lets a GUI cancel while every call is still waiting
                continue
            results, error = collect(done)
            if results:
                run.write(results)
            if error is not None:
                raise error
            fill()
            progress.tick(len(results))
    except BaseException:
        cancel.set()
        # Answers already paid for are kept: wait briefly for the calls in flight, then save them.
        if inflight:
            done, _ = wait(list(inflight), timeout=on_cancel_wait)
            results, _error = collect(done)
            if results:
                run.write(results)
        raise
    finally:
        cancel.set()
        executor.shutdown(wait=False, cancel_futures=True)
