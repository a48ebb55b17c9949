"""The ``Judge`` protocol: one chat-completions call in, the raw answer out; and the verdicts tasks parse."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from reviewer.errors import KnownError

# What a failed call was, as recorded with a failure and used to decide whether to try again.
ERROR_KINDS = (
    "rate_limited",  # 429: wait (honouring retry-after) and try again
    "timeout",  # no answer within the configured timeout
    "server",  # 5xx
    "connection",  # the endpoint cannot be reached
    "auth",  # 401/403: no point going on
    "not_found",  # 404: wrong base URL or model name
    "bad_request",  # 400/422: this item's request is refused (too long, unsupported option...)
    "malformed",  # the HTTP body is not a chat completion
)
RETRYABLE_KINDS = frozenset({"rate_limited", "timeout", "server", "malformed"})
FATAL_KINDS = frozenset({"auth", "not_found", "connection"})


class JudgeError(KnownError):
    """A call to the model failed.

    Attributes:
        kind: one of ``ERROR_KINDS``.
        retry_after: seconds the server asked us to wait, if it said.
        raw: the raw response body, if there was one (kept with the failure record).
    """

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None, raw: str | None = None,
                 hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.kind = kind
        self.retry_after = retry_after
        self.raw = raw

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed if sent again later."""
        return self.kind in RETRYABLE_KINDS

    @property
    def fatal(self) -> bool:
        """Whether every other request would fail the same way (stop the whole run)."""
        return self.kind in FATAL_KINDS


@dataclass(frozen=True)
class JudgeRequest:
    """One structured-output chat-completions request.

    Attributes:
        task: ``ranker``, ``relevance``, ``stance`` or ``propose``.
        messages: the chat messages (``{"role", "content"}``), crowd text already delimited as data.
        schema_name: the name sent with the JSON schema.
        schema: the JSON schema the answer must follow (sent as strict ``json_schema``).
        payload: the item's inputs as plain data; never sent, but lets a fake judge answer sensibly.
    """

    task: str
    messages: tuple[dict[str, str], ...]
    schema_name: str
    schema: dict[str, Any]
    payload: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class JudgeReply:
    """The model's answer to one request, not yet validated.

    Attributes:
        content: the assistant message text (expected to be JSON), or None when there was none.
        refusal: the model's refusal text, if it refused.
        finish_reason: why the model stopped (``stop``, ``length``...).
        input_tokens: prompt tokens the endpoint reported (0 when it did not).
        output_tokens: completion tokens the endpoint reported.
        model: the model name the endpoint reported.
        cached_tokens: of ``input_tokens``, those the endpoint read from its prompt cache
            (``usage.prompt_tokens_details.cached_tokens``; 0 when it did not say).
    """

    content: str | None
    refusal: str | None = None
    finish_reason: str | None = "stop"
    input_tokens: int = 0
    output_tokens: int = 0
    model: str = ""
    cached_tokens: int = 0


class Judge(Protocol):
    """Sends one request to a model and returns its raw answer.

    Implementations make exactly one attempt: the task runner owns retries, backoff and the shared
    rate-limit pause, so that a 429 seen by one worker pauses every worker.

    Attributes:
        model: the model name results are recorded under.
    """

    model: str

    def complete(self, request: JudgeRequest) -> JudgeReply:
        """Send ``request`` once.

        Raises:
            JudgeError: the call failed (its ``kind`` says how).
        """
        ...


@dataclass(frozen=True)
class RankVerdict:
    """The spec-based ranking of a conversation's four responses.

    Attributes:
        ranking: normalised ranking string, e.g. ``A>B=C>D``.
        reason: the model's short reason.
    """

    ranking: str
    reason: str


@dataclass(frozen=True)
class RelevanceVerdict:
    """How relevant a conversation is to each section.

    Attributes:
        grades: section id to grade 1–5.
    """

    grades: dict[str, int]


@dataclass(frozen=True)
class StanceVerdict:
    """A justification's stance towards a proposal's intent.

    Attributes:
        stance: ``supports``, ``refutes`` or ``no_comment``.
        quote: the quoted span, verbatim from the justification; None when it was rejected or empty.
        reason: the model's one-sentence reason.
        confidence: the model's confidence 0–1.
        flags: problems found with the answer (``quote_not_verbatim``, ``no_quote``).
        rejected_quote: the quote as the model gave it when it did not occur verbatim.
    """

    stance: str
    quote: str | None
    reason: str
    confidence: float | None
    flags: tuple[str, ...] = ()
    rejected_quote: str | None = None


FLAGS = {
    "no_quote": "gave supports or refutes without quoting the justification",
    "quote_not_verbatim": "quoted words the justification does not contain, so the quote was dropped",
}
"""What each stance flag means: how the model's answer broke the rule that a label quotes its evidence."""

FLAGGED_MEANING = (
    "Flagged: a stance label the model gave that is kept, although its answer broke the rule that a "
    "supports or refutes label quotes the justification word for word, even after it was asked again. "
    "Such a label counts like the model's other labels; check it, and relabel it (S / R / N) if it is wrong."
)
"""What "flagged" means, wherever a run's flagged count is shown."""


@dataclass(frozen=True)
class ProposeVerdict:
    """A model's proposed new text for one spec section (checked against the spec by ``reviewer.propose``).

    Attributes:
        section_text: the whole new section, heading line included.
        title: a short title for the change.
        intent: one or two sentences saying what the change is for.
        kind: ``clarification`` or ``principle``.
        reason: the model's short reason.
    """

    section_text: str
    title: str
    intent: str
    kind: str
    reason: str


@dataclass(frozen=True)
class TranslationVerdict:
    """A machine translation of one justification (``reviewer.translation``).

    Attributes:
        translation: the whole text in the target language.
        source_language: the language the model says the original is in (its English name).
    """

    translation: str
    source_language: str
