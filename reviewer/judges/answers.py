"""Model answers: checked against the task's JSON schema and its own rules, then turned into verdicts."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from reviewer.errors import BugError, KnownError
from reviewer.judges.base import (
    JudgeReply,
    ProposeVerdict,
    RankVerdict,
    RelevanceVerdict,
    StanceVerdict,
    TranslationVerdict,
)
from reviewer.judges.data import unescape_data
from reviewer.judges.items import WorkItem
from reviewer.rankings import normalise

# How each keyword's failure is worded, from the failing value and the keyword's value (``limit``).
# jsonschema's own messages repeat the value whole ("'...2,001 characters...' is too long"); these
# say what is wrong in a few words, as stored with a failure and shown beside it.
_WORDING = {
    "enum": "{value!r} is not one of {limit}",
    "minimum": "{value} is below {limit}",
    "maximum": "{value} is above {limit}",
    "minLength": "shorter than {limit} characters",
    "maxLength": "longer than {limit} characters",
    "pattern": "{value!r} does not match {limit}",
    "minItems": "fewer than {limit} items",
    "maxItems": "more than {limit} items",
}


_VALIDATORS: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}


def _validator(schema: dict[str, Any]) -> Draft202012Validator:
    """One validator per schema object (a task's schema is one object for the whole run), built once."""
    found = _VALIDATORS.get(id(schema))
    if found is None or found[0] is not schema:
        if len(_VALIDATORS) > 64:
            _VALIDATORS.clear()
        found = _VALIDATORS[id(schema)] = (schema, Draft202012Validator(schema))
    return found[1]


def validate(value: Any, schema: dict[str, Any]) -> list[str]:
    """Check ``value`` against a JSON schema (draft 2020-12, with ``jsonschema``).

    Returns:
        One ``path: problem`` line per violation, in document order, e.g.
        ``$.grades[0].grade: 6 is above 5`` (empty when the value is valid). A value of the wrong
        type gets that line only.
    """
    errors = sorted(_validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    mistyped = {e.json_path for e in errors if e.validator == "type"}
    lines = [f"{e.json_path}: {problem}" for e in errors if e.validator == "type" or e.json_path not in mistyped
             for problem in _problems(e)]
    return list(dict.fromkeys(lines))  # jsonschema reports each missing property with all of them


def _problems(error: ValidationError) -> list[str]:
    value, limit = error.instance, error.validator_value
    if error.validator == "type":
        kinds = [limit] if isinstance(limit, str) else list(limit)
        return [f"expected {' or '.join(kinds)}, got {type(value).__name__}"]
    if error.validator == "required":
        return [f"missing {name!r}" for name in limit if name not in value]
    if error.validator == "additionalProperties":  # false: name each property it does not allow
        schema = error.schema if isinstance(error.schema, dict) else {}
        known, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
        return [f"unexpected {name!r}" for name in value
                if name not in known and not any(re.search(p, name) for p in patterns)]
    wording = _WORDING.get(str(error.validator))
    return [wording.format(value=value, limit=limit) if wording else error.message]


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
    if task == "propose":
        # Only the shape is checked here: whether the text parses, keeps its id and its authority is
        # judged with the spec (``reviewer.propose``), and a failing edit is kept as a rejected candidate.
        return Parsed(ProposeVerdict(section_text=data["section_text"], title=data["title"].strip(),
                                     intent=data["intent"].strip(), kind=data["kind"], reason=data["reason"].strip()))
    if task == "translate":
        translation, language = data["translation"], " ".join(data["source_language"].split())
        if not translation.strip() or not language:
            return Parsed(problem="the translation and the source language must not be empty")
        return Parsed(TranslationVerdict(translation=translation, source_language=language))
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
    if task == "propose":
        return ProposeVerdict(**data)
    if task == "translate":
        return TranslationVerdict(**data)
    raise BugError(f"unknown task {task!r}")
