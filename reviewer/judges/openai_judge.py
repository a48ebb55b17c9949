"""A judge for any OpenAI-compatible chat-completions endpoint (through an injected ``openai`` client); the connection test."""

from __future__ import annotations

import json
import time
from typing import Any

from reviewer.errors import KnownError
from reviewer.judges.base import JudgeError, JudgeReply, JudgeRequest
from reviewer.modelconfig import HOSTED_URL, ApiKey, ModelConfig, redact, require_endpoint

_SHARED_PART = 16_384
"""Message texts at least this long (characters) are kept encoded, for the next requests that share them."""
_SHARED_PARTS_KEPT = 64


def make_client(config: ModelConfig, key: ApiKey) -> Any:
    """Return an ``openai.OpenAI`` client for ``config`` with an explicit timeout and no client retries.

    The client makes one attempt per call (``max_retries=0``): the task runner retries, so that a
    rate limit seen by one worker pauses all of them and every attempt is counted.
    """
    import openai

    # The endpoint is always given: left out, the client would read OPENAI_BASE_URL itself, and the
    # requests (and the key) would go somewhere other than the endpoint shown and checked.
    return openai.OpenAI(
        api_key=key.value, base_url=config.base_url or HOSTED_URL, timeout=config.timeout, max_retries=0,
    )


class OpenAIJudge:
    """Sends chat-completions requests with a strict JSON-schema ``response_format``.

    Attributes:
        client: the ``openai.OpenAI`` client (injected; tests point it at a local server).
        config: the endpoint settings (model, temperature).
        model: the model name.
    """

    def __init__(self, client: Any, config: ModelConfig, key: ApiKey | None = None) -> None:
        if not config.model:
            raise KnownError("No model name is set.", hint="Set --model NAME or SPEC_REVIEW_MODEL.")
        self.client = client
        self.config = config
        self.model: str = config.model
        self._key = key
        self._encoded: dict[str, bytes] = {}

    @classmethod
    def from_config(cls, config: ModelConfig, key: ApiKey | None = None) -> OpenAIJudge:
        """Make a judge and its client from settings (the key is looked up when not given).

        Raises:
            KnownError: no endpoint or key is configured.
        """
        key = key or require_endpoint(config)
        return cls(make_client(config, key), config, key)

    def complete(self, request: JudgeRequest) -> JudgeReply:
        """Send ``request`` once and return the raw answer.

        Raises:
            JudgeError: the call failed; ``kind`` says whether trying again can help.
        """
        import openai

        kwargs = self.request_body(request)
        try:
            # The client's generic ``post`` sends exactly what ``chat.completions.create`` sends, but
            # returns the JSON as a dict: the typed method spends twice the CPU of the whole HTTP
            # exchange on request transforms and response models, which limits concurrent runs.
            completion = self.client.post("/chat/completions", content=self._encode(kwargs), cast_to=dict,
                                          options={"headers": {"Content-Type": "application/json"}})
        except openai.APITimeoutError as exc:
            raise JudgeError(f"The model did not answer within {self.config.timeout:g} s.", kind="timeout") from exc
        except openai.APIConnectionError as exc:
            raise JudgeError(
                f"Cannot reach the model endpoint {self.config.endpoint}: {self._clean(str(exc.__cause__ or exc))}.",
                kind="connection", hint="Check the base URL and that the server is running.",
            ) from exc
        except openai.APIStatusError as exc:
            raise self._status_error(exc) from exc
        except json.JSONDecodeError as exc:
            # The client parses the body before we see it; keep what came back for the failure record.
            raise JudgeError("The endpoint's reply is not valid JSON.", kind="malformed",
                             raw=self._clean(exc.doc[:20000])) from exc
        except openai.APIResponseValidationError as exc:
            raise JudgeError(f"The endpoint's reply is not a chat completion: {self._clean(str(exc))}.",
                             kind="malformed") from exc
        return self.reply_from(completion)

    def request_body(self, request: JudgeRequest) -> dict[str, Any]:
        """The chat-completions request body for ``request`` (what ``complete`` sends, and a batch line holds)."""
        kwargs: dict[str, Any] = {"model": self.model, "messages": list(request.messages)}
        if request.schema:
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": request.schema_name, "strict": True, "schema": request.schema},
            }
        if self.config.temperature is not None:
            kwargs["temperature"] = self.config.temperature
        return kwargs

    def reply_from(self, completion: Any) -> JudgeReply:
        """Read a ``chat.completion`` body (a dict): the answer, and the usage the endpoint reported.

        Raises:
            JudgeError: the body has no answer in it (``malformed``).
        """
        try:
            choice = completion["choices"][0]
            message = choice["message"]
            usage = completion.get("usage") or {}
            details = usage.get("prompt_tokens_details") or {}
            content, refusal = message.get("content"), message.get("refusal")
            if content is not None and not isinstance(content, str):
                raise TypeError("content is not text")
            # Redacted here, before anything parses, stores, logs or prints it: a server may echo the key.
            return JudgeReply(
                content=redact(content, self._key),
                refusal=self._clean(str(refusal)) if refusal else None,
                finish_reason=choice.get("finish_reason"),
                input_tokens=int(usage.get("prompt_tokens") or 0),
                output_tokens=int(usage.get("completion_tokens") or 0),
                model=self._clean(str(completion.get("model") or "")),
                cached_tokens=int(details.get("cached_tokens") or 0) if isinstance(details, dict) else 0,
            )
        except (AttributeError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise JudgeError("The endpoint's reply has no answer in it.", kind="malformed",
                             raw=self._clean(json.dumps(completion, ensure_ascii=False)[:20000])) from exc

    def encode_body(self, body: dict[str, Any]) -> bytes:
        """The request body as JSON bytes, long shared parts encoded once (what a batch file's line holds)."""
        return self._encode(body)

    def _encode(self, body: dict[str, Any]) -> bytes:
        """Return the request body as the client would send it (compact JSON, UTF-8), as bytes.

        The client would encode every message again for every request; a part shared by many
        requests (the whole spec, hundreds of KB, before each conversation) is encoded once here
        and reused while it is among the last few long parts seen, which halves the CPU a
        concurrent run spends per call.
        """
        head = {k: v for k, v in body.items() if k != "messages"}
        pieces = [json.dumps(head, ensure_ascii=False, separators=(",", ":"), allow_nan=False)[:-1].encode("utf-8"),
                  b',"messages":[']
        for n, message in enumerate(body["messages"]):
            content = message["content"]
            shared = len(content) >= _SHARED_PART
            encoded = self._encoded.get(content) if shared else None
            if encoded is None:
                encoded = json.dumps(content, ensure_ascii=False).encode("utf-8")
                if shared:
                    if len(self._encoded) >= _SHARED_PARTS_KEPT:
                        self._encoded.clear()
                    self._encoded[content] = encoded
            rest = {k: v for k, v in message.items() if k != "content"}
            pieces += [b"," if n else b"", json.dumps(rest, ensure_ascii=False, separators=(",", ":"))[:-1].encode(
                "utf-8"), b',"content":' if rest else b'"content":', encoded, b"}"]
        pieces.append(b"]}")
        return b"".join(pieces)

    def clean(self, text: str) -> str:
        """Return ``text`` with the key and anything like a key redacted."""
        return redact(text, self._key) or ""

    _clean = clean

    def _status_error(self, exc: Any) -> JudgeError:
        return self.status_error(int(exc.status_code), self._clean(_error_message(exc)), self._clean(_body_text(exc)),
                                 exc.response.headers)

    def status_error(self, status: int, detail: str, body: str, headers: Any = None) -> JudgeError:
        """The error for an HTTP status the endpoint answered (a call's, or a Batch API line's)."""
        if status == 429:
            return JudgeError(f"The endpoint is rate limiting requests (429): {detail}", kind="rate_limited",
                              retry_after=retry_after_seconds(headers), raw=body)
        if status in (401, 403):
            return JudgeError(f"The endpoint refused the API key ({status}): {detail}", kind="auth", raw=body,
                              hint="Check SPEC_REVIEW_API_KEY / OPENAI_API_KEY or the key in the keyring.")
        if status == 404:
            return JudgeError(f"Not found at {self.config.endpoint} ({status}): {detail}", kind="not_found",
                              raw=body, hint="Check the base URL (it usually ends in /v1) and the model name.")
        if status >= 500:
            return JudgeError(f"The endpoint failed ({status}): {detail}", kind="server", raw=body)
        return JudgeError(f"The endpoint refused the request ({status}): {detail}", kind="bad_request", raw=body)


def test_connection(config: ModelConfig, *, client: Any = None, key: ApiKey | None = None) -> str:
    """Send one tiny chat request to the endpoint and say how it went.

    Args:
        config: the endpoint settings.
        client: an ``openai.OpenAI`` client to use instead of one made from ``config`` (tests).
        key: a key to use instead of looking one up (one the user has just typed for this endpoint).

    Returns:
        A sentence naming the endpoint, the model and the answer time.

    Raises:
        KnownError: nothing is configured, or the endpoint failed (the message says how).
    """
    if key is None or not config.configured:
        key = require_endpoint(config, "Testing the connection")
    judge = OpenAIJudge(client, config, key) if client is not None else OpenAIJudge.from_config(config, key)
    started = time.perf_counter()
    reply = judge.complete(JudgeRequest(
        task="test", messages=({"role": "user", "content": "Reply with the single word OK."},),
        schema_name="", schema={},
    ))
    elapsed = time.perf_counter() - started
    said = (reply.content or reply.refusal or "").strip().replace("\n", " ")[:40]
    return (f"Connected to {config.endpoint}: model {config.model} answered {said!r} in {elapsed:.2f} s "
            f"(API key from {key.source}).")


def retry_after_seconds(headers: Any) -> float | None:
    """Return the wait a response asks for (``retry-after-ms`` or ``retry-after`` in seconds), if any."""
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name) if headers is not None else None
        if value:
            try:
                seconds = float(value) * scale
            except ValueError:
                continue  # an HTTP date: rare for this API; fall back to our own backoff
            if seconds >= 0:
                return seconds
    return None


def _error_message(exc: Any) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])
    return str(getattr(exc, "message", exc))


def _body_text(exc: Any) -> str:
    try:
        return str(exc.response.text)[:20000]
    except Exception:  # noqa: BLE001 - the body is only kept for the record
        return ""
