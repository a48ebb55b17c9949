"""Scripted answers for the automated loop: proposing models and rankers that react (or not) to an edit.

Used with ``FakeJudge`` (domain tests) and with the local OpenAI-compatible server (``tests.fake_openai_server``):
the proposing model appends ``MARK`` to the section it is shown; the ranker ranks ``A>B>C>D`` when
the spec it is given holds ``MARK`` (the crowd's order in the tests) and ``D>C>B>A`` otherwise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from reviewer.judges.data import unescape_data
from tests.fake_openai_server import LOOP_MARK as MARK

INERT = "This sentence changes nothing for the ranker."
_SECTION = re.compile(r"<spec_section id=\"([^\"]*)\"[^>]*>\n(.*?)\n</spec_section>", re.S)


def section_of(messages: list[dict[str, Any]]) -> tuple[str, str]:
    """The id and text of the section a propose request asks to edit."""
    text = "\n".join(m["content"] for m in messages if m["role"] == "user")
    match = _SECTION.search(text)
    assert match is not None, "no section in the request"
    return match.group(1), unescape_data(match.group(2)) + "\n"


def edit_answer(messages: list[dict[str, Any]], *, add: str = MARK, text: Callable[[str, str], str] | None = None,
                kind: str = "clarification") -> str:
    """A propose answer: the section with ``add`` appended (or ``text(id, current)``)."""
    section_id, current = section_of(messages)
    new = text(section_id, current) if text else current.rstrip("\n") + f"\n\n{add}\n"
    return json.dumps({"section_text": new, "title": f"Clarify {section_id}", "intent": "Follow the crowd here.",
                       "kind": kind, "reason": "The crowd disagreed."})


def rank_answer(messages: list[dict[str, Any]], *, reacts_to: str = MARK) -> str:
    """A ranker answer: the crowd's order when the spec holds ``reacts_to``, the reverse otherwise."""
    spec = messages[1]["content"]
    ranking = "A>B>C>D" if reacts_to in spec else "D>C>B>A"
    return json.dumps({"ranking": ranking, "reason": "By the spec."})


def is_propose(messages: list[dict[str, Any]]) -> bool:
    """Whether a request is a propose request (by its system prompt)."""
    return messages[0]["content"].startswith("You propose edits")


def fake_answer(request: Any) -> str:
    """For ``FakeJudge``: propose with ``MARK``, rank by ``rank_answer``."""
    messages = list(request.messages)
    return edit_answer(messages) if request.task == "propose" else rank_answer(messages)


DEMO_SECTIONS = ("be_empathetic", "be_creative", "be_kind")
"""Demo sections with conversations graded ≥ 4 where crowd and ranker disagree."""


def fake_propose(workspace: Any, mode: str = "single", *, sections: tuple[str, ...] = DEMO_SECTIONS,
                 actor: str = "Amara Okafor", **options: Any) -> Any:
    """Run the ``propose`` operation on a workspace with ``FakeJudge``s answering as above; returns its summary."""
    from reviewer import operations
    from reviewer.judges.fake import FakeJudge
    from reviewer.modelconfig import ModelConfig
    from reviewer.propose import ProposeOptions, plan_propose

    options.setdefault("min_relevance", 4)
    options.setdefault("holdout", 5)
    plan = plan_propose(workspace, ProposeOptions(mode=mode, sections=sections, **options),
                        ModelConfig(model="fake-judge"))
    result = operations.propose(workspace, plan, actor=actor, judge=FakeJudge(answer=fake_answer),
                                ranker=FakeJudge(answer=fake_answer))
    return result.value
