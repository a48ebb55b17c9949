"""The model tasks' prompts: versioned system messages and the JSON schemas their answers follow."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from reviewer.errors import BugError, KnownError
from reviewer.resources import resource_path

TASKS = ("ranker", "relevance", "stance", "propose", "translate")
PROMPT_VERSIONS = {"ranker": "ranker-v1", "relevance": "relevance-v1", "stance": "stance-v1", "propose": "propose-v1",
                   "translate": "translate-v1"}


@dataclass(frozen=True)
class Prompt:
    """A versioned prompt and the JSON schema its answers must follow.

    Attributes:
        task: ``ranker``, ``relevance``, ``stance``, ``propose`` or ``translate``.
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
        Draft202012Validator.check_schema(schema)  # a broken schema would reject every answer
    except (OSError, json.JSONDecodeError, SchemaError) as exc:
        raise BugError(f"The bundled prompt {version} is missing or broken: {exc}") from exc
    return Prompt(task=task, version=version, system=system.strip() + "\n", schema=schema)
