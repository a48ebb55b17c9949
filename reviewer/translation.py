"""Machine translation of justifications through the model endpoint: labelled as such, cached, never part of the record.

A reviewer who does not read a justification's language can ask the configured model for a
translation into a target language (English unless ``--to`` or ``SPEC_REVIEW_TRANSLATE_TO`` says
otherwise). The justification goes to the model as data, inside a delimited ``<justification>``
block (``reviewer.judges.data``); the answer must follow ``resources/prompts/translate-v1.schema.json``
(``{"translation": str, "source_language": str}``) and is asked again once when it does not.

A translation is a local convenience, not evidence and not a decision: it is never an event in the
audit log, it changes no label and no figure, and it is always shown labelled "machine translation".
It is kept in the judge cache (``judge_cache``, task ``translate``), keyed by the prompt version, the
model and the SHA-256 of the request, which holds the justification's text and the target language:
the same text asked of the same model in the same language never calls the endpoint twice. The
judge cache is machine-local: ``audit verify`` does not read it, a rebuild starts it empty and sync
never sends or touches it, so translations need nothing from any of them.

A failed request (endpoint down, timeout, an answer that is not a translation) is a ``KnownError``
and writes nothing; no API key is ever stored (the judge redacts it from every answer).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reviewer.errors import BugError, KnownError
from reviewer.ids import utc_now
from reviewer.judges.base import Judge, TranslationVerdict
from reviewer.judges.calls import Outcome, RateGate, attempt_item
from reviewer.judges.data import data_block
from reviewer.judges.items import WorkItem, make_item
from reviewer.judges.openai_judge import OpenAIJudge
from reviewer.judges.prompts import PROMPT_VERSIONS, Prompt, load_prompt
from reviewer.modelconfig import ModelConfig, load_config, require_endpoint
from reviewer.progress import NoProgress, Progress
from reviewer.store import Store, connection_of, sql_errors
from reviewer.textsafe import display_text

if TYPE_CHECKING:
    from reviewer.workspace import Workspace

TASK = "translate"
DEFAULT_TARGET = "English"
TARGET_ENV = "SPEC_REVIEW_TRANSLATE_TO"
MAX_AT_ONCE = 50
"""The most justifications one request to translate may name (each is one model call)."""
_POLL_S = 0.1  # how often a running call checks for a cancel
_TARGET = re.compile(r"[^\W\d_][\w()\- ]{0,39}")


@dataclass(frozen=True)
class Translation:
    """A machine translation of one justification.

    Attributes:
        justification_id: the justification translated.
        original: its text, as stored.
        translation: the text in ``target_language``, as the model gave it (untrusted: escape it).
        source_language: the language the model says the original is in (untrusted too).
        target_language: the language asked for.
        model: the model that translated it.
        prompt_version: the prompt it was asked with.
        cached: True when it came from the cache (no call was made now).
        created_at: when the model gave it (UTC, ISO 8601).
    """

    justification_id: str
    original: str
    translation: str
    source_language: str
    target_language: str
    model: str
    prompt_version: str
    cached: bool
    created_at: str

    @property
    def label(self) -> str:
        """How the command line labels it: ``machine translation (MODEL, from LANG)``."""
        return f"machine translation ({self.model}, from {self.source_language})"

    @property
    def caution(self) -> str:
        """How the GUI labels it: ``Machine translation (MODEL, from LANG into TARGET) — may be wrong``.

        The source language is the model's answer: bidi controls in it are shown as markers.
        """
        return (f"Machine translation ({self.model}, from {display_text(self.source_language)} into "
                f"{self.target_language}) — may be wrong")

    def to_json(self) -> dict[str, object]:
        """Return it as JSON data (the command line's ``--json``), with its label."""
        return {"justification_id": self.justification_id, "original": self.original,
                "translation": self.translation, "source_language": self.source_language,
                "target_language": self.target_language, "model": self.model,
                "prompt_version": self.prompt_version, "cached": self.cached, "created_at": self.created_at,
                "label": self.label}


def target_language(value: str | None = None, *, env: Mapping[str, str] | None = None) -> str:
    """Return the language to translate into: ``value``, else ``SPEC_REVIEW_TRANSLATE_TO``, else English.

    The name goes into the prompt, so it is held to a language name's shape: letters first, then
    letters, digits, spaces, hyphens or brackets, at most 40 characters ("Spanish", "pt-BR",
    "Chinese (Simplified)"). Spaces are tidied and the first letter capitalised, so "english" and
    "English" share a cache entry.

    Raises:
        KnownError: the name is not a language name's shape.
    """
    env = os.environ if env is None else env
    raw = value if value is not None else env.get(TARGET_ENV) or DEFAULT_TARGET
    name = " ".join(str(raw).split())
    if not _TARGET.fullmatch(name):
        where = f" (from {TARGET_ENV})" if value is None and env.get(TARGET_ENV) else ""
        raise KnownError(f"{name[:60]!r}{where} is not a language name.",
                         hint="Name the language to translate into, e.g. --to English or --to Spanish.")
    return name[:1].upper() + name[1:]


def translation_item(justification_id: str, text: str, target: str, prompt: Prompt | None = None) -> WorkItem:
    """Build the request that translates ``text`` into ``target`` (the text delimited as data).

    Its ``input_hash`` is taken over the whole request (the prompt, the target line and the
    delimited text), so it stands for the text's digest and the target language together.
    """
    prompt = prompt or load_prompt(TASK)
    parts = [f"Target language: {target}", data_block("justification", text)]
    payload = {"justification_id": justification_id, "target_language": target}
    return make_item(prompt, justification_id, parts, payload)


def justification_texts(source: Store | sqlite3.Connection, justification_ids: Sequence[str]) -> list[tuple[str, str]]:
    """Return ``(id, text)`` of each justification, in the order asked (each id once).

    Raises:
        KnownError: an id is unknown, a text is empty, or more than ``MAX_AT_ONCE`` are named.
    """
    wanted = list(dict.fromkeys(justification_ids))
    if not wanted:
        raise KnownError("Name a justification to translate.")
    if len(wanted) > MAX_AT_ONCE:
        raise KnownError(f"{len(wanted):,} justifications were chosen; translate at most {MAX_AT_ONCE} at once.",
                         hint="Each is one call to the model: choose fewer.")
    conn = connection_of(source)
    with sql_errors("reading the justifications"):
        rows = dict(conn.execute(f"SELECT id, text FROM justifications WHERE id IN ({','.join('?' * len(wanted))})",
                                 wanted).fetchall())
    missing = [j for j in wanted if j not in rows]
    if missing:
        raise KnownError(f"No justification with id {missing[0]}.",
                         hint="See the ids with `spec-review evidence WORKSPACE PROPOSAL --json`.")
    empty = [j for j in wanted if not str(rows[j]).strip()]
    if empty:
        raise KnownError(f"Justification {empty[0]} has no text to translate.")
    return [(j, str(rows[j])) for j in wanted]


def cached_translations(source: Store | sqlite3.Connection, justification_ids: Sequence[str], *, target: str,
                        model: str) -> dict[str, Translation]:
    """Return the translations already in the cache, by justification id (no call; a read connection will do).

    Raises:
        KnownError: an id is unknown or its text empty (``justification_texts``).
    """
    return _from_cache(connection_of(source), justification_texts(source, justification_ids), target, model)


def _from_cache(conn: sqlite3.Connection, rows: Sequence[tuple[str, str]], target: str,
                model: str) -> dict[str, Translation]:
    items = {jid: translation_item(jid, text, target) for jid, text in rows}
    found = _cache_rows(conn, model, (i.input_hash for i in items.values()))
    out: dict[str, Translation] = {}
    for jid, text in rows:
        hit = found.get(items[jid].input_hash)
        if hit is not None:
            result, created_at = hit
            out[jid] = _translation(jid, text, target, model, TranslationVerdict(**result), True, created_at)
    return out


def translate(store: Store, justification_ids: Sequence[str], judge: Judge, config: ModelConfig, *,
              target: str | None = None, progress: Progress | None = None) -> list[Translation]:
    """Translate justifications into ``target`` with ``judge``: from the cache where it has them, else one call each.

    Each translation received is written to the cache at once, in its own transaction; a failed
    call writes nothing. Calls go one at a time (a reviewer asks for a few), each on a daemon
    thread that a cancel leaves behind, so that quitting never waits for a slow endpoint.

    Args:
        store: the workspace database (this thread only).
        justification_ids: the justifications, at most ``MAX_AT_ONCE``.
        judge: the model (its ``model`` names the translation).
        config: retries and backoff (the judge holds the endpoint and its timeout).
        target: the language to translate into (``target_language``'s default when None).
        progress: one tick per justification; raising ``Cancelled`` from ``tick`` stops at once.

    Returns:
        The translations, in the order asked.

    Raises:
        KnownError: bad input; the endpoint could not be reached, timed out or refused; or the model's
            answer was not a translation (after asking again). ``JudgeError`` is a ``KnownError``.
        Cancelled: the progress object cancelled (translations already received are kept).
    """
    target = target_language(target)
    progress = progress or NoProgress()
    rows = justification_texts(store, justification_ids)
    cached = _from_cache(store.db.conn, rows, target, judge.model)
    progress.start(len(rows), f"Translating into {target} with {judge.model}")
    out: list[Translation] = []
    gate = RateGate()  # one for the run: a rate limit met by one call holds back the next ones too
    try:
        for jid, text in rows:
            if jid in cached:
                out.append(cached[jid])
                progress.tick(1)
                continue
            item = translation_item(jid, text, target)
            outcome = _attempt(judge, item, config, gate, progress)
            if outcome.status != "ok":
                raise KnownError(_failure_text(outcome, judge.model),
                                 hint="Nothing was saved; try again, or check the endpoint with "
                                      "`spec-review judge test`.")
            translation = _translation(jid, text, target, judge.model, outcome.verdict, False, utc_now())
            _store(store, item, outcome, translation)
            out.append(translation)
            progress.tick(1)
    finally:
        progress.finish()
    return out


def translate_in_workspace(workspace: Workspace, justification_ids: Sequence[str], *, target: str | None = None,
                           config: ModelConfig | None = None, progress: Progress | None = None) -> list[Translation]:
    """Translate with the workspace's model endpoint (``translate`` with a judge made from its settings).

    Args:
        workspace: the open workspace (its settings, its database).
        justification_ids: the justifications.
        target: the language to translate into (default: ``target_language()``).
        config: settings to use instead of the workspace's (the command line's, with its overrides).
        progress: as for ``translate``.

    Raises:
        KnownError: no endpoint or key is configured (saying what to set), or as for ``translate``.
    """
    config = config or load_config(workspace.root)
    judge = OpenAIJudge.from_config(config, require_endpoint(config, "Translating a justification"))
    return translate(workspace.store, justification_ids, judge, config, target=target, progress=progress)


def _attempt(judge: Judge, item: WorkItem, config: ModelConfig, gate: RateGate, progress: Progress) -> Outcome:
    """Run ``attempt_item`` on a daemon thread, checking for a cancel while it waits."""
    cancel = threading.Event()
    result: list[Outcome] = []
    error: list[BaseException] = []

    def run() -> None:
        try:
            result.append(attempt_item(judge, item, config, gate, cancel))
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            error.append(exc)

    worker = threading.Thread(target=run, name="translate", daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(_POLL_S)
            progress.tick(0)  # raises Cancelled once the user asked to stop
    except BaseException:
        cancel.set()  # the call in flight is left to end on its own; nothing it returns is kept
        raise
    if error:
        raise error[0]
    if not result:
        raise BugError("the translation call ended without an outcome")
    return result[0]


def _failure_text(outcome: Outcome, model: str) -> str:
    if outcome.kind in ("invalid_output", "refusal"):
        return f"{model}'s answer is not a translation: {outcome.error}."
    return f"No translation: {outcome.error}"


def _translation(jid: str, text: str, target: str, model: str, verdict: TranslationVerdict, cached: bool,
                 created_at: str) -> Translation:
    return Translation(justification_id=jid, original=text, translation=verdict.translation,
                       source_language=verdict.source_language, target_language=target, model=model,
                       prompt_version=PROMPT_VERSIONS[TASK], cached=cached, created_at=created_at)


def _cache_rows(conn: sqlite3.Connection, model: str, hashes: Iterable[str]) -> dict[str, tuple[dict[str, str], str]]:
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, tuple[dict[str, str], str]] = {}
    with sql_errors("reading the translation cache"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            for input_hash, result, created_at in conn.execute(
                "SELECT input_hash, result, created_at FROM judge_cache WHERE task = ? AND prompt_version = ?"
                f" AND model = ? AND status = 'ok' AND input_hash IN ({','.join('?' * len(chunk))})",
                [TASK, PROMPT_VERSIONS[TASK], model, *chunk],
            ):
                data = json.loads(result)
                found[input_hash] = ({"translation": str(data["translation"]),
                                      "source_language": str(data["source_language"])}, str(created_at))
    return found


def _store(store: Store, item: WorkItem, outcome: Outcome, translation: Translation) -> None:
    """Keep a translation in the judge cache (not in a read-only workspace, where it is only shown)."""
    if store.read_only:
        return
    result = json.dumps({"translation": translation.translation, "source_language": translation.source_language},
                        ensure_ascii=False)
    with sql_errors("saving the translation"), store.db.atomic():
        store.db.execute(
            "INSERT INTO judge_cache (task, prompt_version, model, input_hash, status, raw, result, error, attempts,"
            " input_tokens, output_tokens, created_at) VALUES (?, ?, ?, ?, 'ok', ?, ?, NULL, ?, ?, ?, ?)"
            " ON CONFLICT (task, prompt_version, model, input_hash) DO UPDATE SET status = 'ok', raw = excluded.raw,"
            " result = excluded.result, error = NULL, attempts = excluded.attempts,"
            " input_tokens = excluded.input_tokens, output_tokens = excluded.output_tokens,"
            " created_at = excluded.created_at",
            [TASK, translation.prompt_version, translation.model, item.input_hash, outcome.raw, result,
             outcome.attempts, outcome.input_tokens, outcome.output_tokens, translation.created_at])
