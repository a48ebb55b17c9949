"""A deterministic judge for tests and demos: the same request always gets the same valid answer."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from itertools import permutations

from reviewer.judges.base import JudgeReply, JudgeRequest

_PERMUTATIONS = [">".join(p) for p in permutations("ABCD")]


def _number(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:8], "big")


def default_answer(request: JudgeRequest) -> str:
    """Return a valid answer for ``request`` derived only from its inputs.

    Stance labels quote the justification's first words; rankings and grades are hash-derived.
    """
    payload = request.payload
    if request.task == "stance":
        text = str(payload.get("text", ""))
        n = _number("stance", text)
        stance = ("supports", "refutes", "no_comment")[n % 3]
        quote = " ".join(text.split(" ")[:5]) if stance != "no_comment" else ""
        return json.dumps({"stance": stance, "quote": quote, "reason": f"The fake judge chose {stance}.",
                           "confidence": round(0.5 + (n % 50) / 100, 2)})
    if request.task == "ranker":
        ranking = _PERMUTATIONS[_number("ranker", str(payload.get("conversation_id", ""))) % len(_PERMUTATIONS)]
        return json.dumps({"ranking": ranking, "reason": "Fake ranking."})
    if request.task == "relevance":
        conversation = str(payload.get("conversation_id", ""))
        grades = [{"section_id": s, "grade": _number("relevance", conversation, s) % 5 + 1}
                  for s in payload.get("section_ids", [])]
        return json.dumps({"grades": grades})
    return "OK"


class FakeJudge:
    """A judge that answers without a network, for tests and the demo.

    Attributes:
        model: the model name results are recorded under.
        answer: builds the answer text for a request (default: ``default_answer``).
        requests: every request received, in order (thread-safe).
    """

    def __init__(self, model: str = "fake-judge", answer: Callable[[JudgeRequest], str] | None = None) -> None:
        self.model = model
        self.answer = answer or default_answer
        self.requests: list[JudgeRequest] = []
        self._lock = threading.Lock()

    def complete(self, request: JudgeRequest) -> JudgeReply:
        """Answer ``request`` (the ``answer`` callable may raise ``JudgeError`` to simulate failures)."""
        with self._lock:
            self.requests.append(request)
        content = self.answer(request)
        return JudgeReply(content=content, input_tokens=sum(len(m["content"]) // 4 for m in request.messages),
                          output_tokens=len(content) // 4, model=self.model)
