"""Model answers: checked against the task's JSON schema and its own rules, then turned into verdicts."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from reviewer.errors import BugError, KnownError
from reviewer.judges.base import JudgeReply, RankVerdict, RelevanceVerdict, StanceVerdict
from reviewer.judges.data import unescape_data
from reviewer.judges.items import WorkItem
from reviewer.rankings import normalise


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
