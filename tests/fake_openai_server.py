"""A real local HTTP server that answers ``/v1/chat/completions`` (and the Batch API) the way the OpenAI service does.

Used by the judge tests and benchmarks: the product's real ``openai`` client talks HTTP to it on
127.0.0.1. Each test scripts the replies (normal JSON, malformed JSON, a 429 with ``retry-after``,
a reply slower than the client's timeout, a 500 ...) and reads back the requests it received.

The Batch API: ``POST /v1/files`` (a multipart upload, ``purpose=batch``), ``GET /v1/files/ID/content``,
``POST /v1/batches`` and ``GET /v1/batches/ID``. A batch is ``validating``, then ``in_progress``, and
is answered on the ``batch_polls``-th retrieve: every line goes through the same script or responder
as a chat request, and the answers go to an output file and the failures (a non-200 reply) to an
error file. ``batch_outcome`` makes batches end ``failed`` (no output, ``errors`` say why) or
``expired`` (the first ``expire_after`` lines answered, the rest in the error file as
``batch_expired``).

Run as a script (``python tests/fake_openai_server.py --delay 0.02``) it serves stance answers in a
separate process and prints its port, which the judge benchmark uses so that the server does not
share the benchmark's interpreter lock.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    """One scripted reply.

    Attributes:
        content: the assistant message content (wrapped into a chat.completion body), or None.
        status: the HTTP status.
        body: a whole response body instead of ``content`` (dict as JSON, str sent as is).
        headers: extra response headers (e.g. ``retry-after``).
        delay: seconds to wait before answering (a slow server).
        finish_reason: the choice's finish reason.
        refusal: a refusal text instead of content.
    """

    content: str | None = None
    status: int = 200
    body: dict[str, Any] | str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    finish_reason: str = "stop"
    refusal: str | None = None
    line_error: dict[str, Any] | None = None  # a batch line's own ``error`` object instead of a response


def json_reply(data: dict[str, Any], **kwargs: Any) -> Reply:
    """Return a reply whose content is ``data`` as JSON."""
    return Reply(content=json.dumps(data), **kwargs)


def error_reply(status: int, message: str, *, code: str | None = None, **kwargs: Any) -> Reply:
    """Return an error reply shaped like the service's (``{"error": {...}}``)."""
    kind = {429: "requests", 500: "server_error", 401: "invalid_request_error", 404: "invalid_request_error"}
    body = {"error": {"message": message, "type": kind.get(status, "invalid_request_error"), "param": None,
                      "code": code}}
    return Reply(status=status, body=body, **kwargs)


def completion_body(model: str, content: str | None, *, finish_reason: str = "stop", refusal: str | None = None,
                    prompt_tokens: int = 10, completion_tokens: int = 5, cached_tokens: int = 0) -> dict[str, Any]:
    """Return a ``chat.completion`` object as the service sends it (usage with the prompt cache's share)."""
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": content, "refusal": refusal, "annotations": []},
            "logprobs": None,
            "finish_reason": finish_reason,
        }],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens,
                  "prompt_tokens_details": {"cached_tokens": cached_tokens, "audio_tokens": 0},
                  "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}},
        "system_fingerprint": "fp_test",
    }


def tokens(text: str) -> int:
    """This server's token count: a quarter of the characters, rounded up (providers count with their tokenizer)."""
    return -(-len(text) // 4)


def message_tokens(messages: list[dict[str, Any]]) -> list[int]:
    """Each message's tokens (its text content; other content counts nothing)."""
    return [tokens(m["content"]) if isinstance(m.get("content"), str) else 0 for m in messages]


def cached_prefix(messages: list[dict[str, Any]], previous: list[dict[str, Any]] | None) -> int:
    """The prompt cache's share: the tokens of the leading messages the previous request began with too.

    A provider caches the start of a request and serves it to a later request that begins the same
    way; this server counts whole messages, which is how the product's requests share their start
    (the instructions, then the spec, then what differs).
    """
    if not previous:
        return 0
    shared = 0
    for mine, theirs, n in zip(messages, previous, message_tokens(messages)):
        if mine.get("role") != theirs.get("role") or mine.get("content") != theirs.get("content"):
            break
        shared += n
    return shared


_JUSTIFICATION = re.compile(r"<justification>\n(.*?)\n</justification>", re.S)


def stance_responder(request: dict[str, Any]) -> Reply:
    """Answer a stance request with a valid label quoting the justification's first words."""
    text = "\n".join(m["content"] for m in request.get("messages", []) if isinstance(m.get("content"), str))
    match = _JUSTIFICATION.search(text)
    quote = " ".join(match.group(1).split(" ")[:3]) if match else ""
    return json_reply({"stance": "supports", "quote": quote, "reason": "It agrees.", "confidence": 0.8})


LOOP_MARK = "When people read it otherwise, follow the crowd's reading."
_SECTION = re.compile(r"<spec_section id=\"([^\"]*)\"[^>]*>\n(.*?)\n</spec_section>", re.S)


def loop_responder(request: dict[str, Any]) -> Reply:
    """Answer the automated loop: a propose request with its section plus ``LOOP_MARK``; a ranker
    request with ``A>B>C>D`` when the spec it is given holds ``LOOP_MARK``, else ``D>C>B>A``."""
    messages = request.get("messages", [])
    system = str(messages[0].get("content", "")) if messages else ""
    if system.startswith("You propose edits"):
        text = "\n".join(str(m.get("content", "")) for m in messages[1:])
        match = _SECTION.search(text)
        section = match.group(2).replace("&lt;", "<") if match else ""
        return json_reply({"section_text": f"{section}\n\n{LOOP_MARK}\n", "title": "Follow the crowd",
                           "intent": "Follow the crowd here.", "kind": "clarification", "reason": "Disagreement."})
    spec = str(messages[1].get("content", "")) if len(messages) > 1 else ""
    return json_reply({"ranking": "A>B>C>D" if LOOP_MARK in spec else "D>C>B>A", "reason": "By the spec."})


class FakeOpenAIServer:
    """A scriptable chat-completions server on 127.0.0.1 (port chosen by the OS).

    Attributes:
        requests: the JSON bodies received on ``/v1/chat/completions``, in order.
        headers: the request headers received, in the same order.
        times: the monotonic arrival time of each request.
        script: replies served first, in order.
        responder: builds a reply from the request once the script is used up.
        delay: seconds added before every reply.
        keep: whether to keep the requests (``requests``, ``headers``); a long benchmark keeps none.
        active: chat requests being answered right now.
        max_active: the most chat requests answered at once so far.
        usage: the ``usage`` of each chat completion served, in the order of ``requests`` (when kept).
        files: uploaded and written files by id: ``(filename, purpose, bytes)``.
        batches: Batch API batches by id (the batch objects as served).
        batches_created: how many batches were created (a resumed run creates none).
        batch_polls: a batch is answered on this retrieve of it.
        batch_outcome: ``completed``, ``failed`` or ``expired``: how the next batches end.
        expire_after: (``expired``) lines answered before the batch expired.
        batch_bodies: the chat request bodies received in batch input files, in order.
    """

    def __init__(self, responder: Callable[[dict[str, Any]], Reply] | None = None, *, delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.times: list[float] = []
        self.script: deque[Reply] = deque()
        self.responder = responder
        self.delay = delay
        self.keep = True
        self.active = 0
        self.max_active = 0
        self.usage: list[dict[str, int]] = []
        self.files: dict[str, tuple[str, str, bytes]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.batches_created = 0
        self.batch_polls = 2
        self.batch_outcome = "completed"
        self.expire_after = 0
        self.batch_bodies: list[dict[str, Any]] = []
        self._polls: dict[str, int] = {}
        self._previous: dict[str, list[dict[str, Any]]] = {}  # the last messages received, by model
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def queue(self, *replies: Reply) -> None:
        """Add replies to the script."""
        with self._lock:
            self.script.extend(replies)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        assert self._httpd is not None
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """The ``base_url`` to give the openai client."""
        return f"http://127.0.0.1:{self.port}/v1"

    def _next_reply(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            if self.script:
                return self.script.popleft()
        if self.responder is not None:
            return self.responder(body)
        return error_reply(500, "no reply scripted")

    def _received(self, body: dict[str, Any], headers: dict[str, str], *, batch: bool = False) -> dict[str, int]:
        """Keep a chat request (a batch line's too) and return its usage, the completion tokens to be filled in."""
        messages = body.get("messages") or []
        with self._lock:
            model = str(body.get("model", ""))
            usage = {"prompt_tokens": sum(message_tokens(messages)),
                     "cached_tokens": cached_prefix(messages, self._previous.get(model)), "completion_tokens": 0}
            self._previous[model] = messages
            if self.keep:
                self.usage.append(usage)
                self.requests.append(body)
                self.headers.append(headers)
                if batch:
                    self.batch_bodies.append(body)
        return usage

    # ---- the Batch API ---------------------------------------------------------------------------

    def upload(self, content_type: str, raw: bytes) -> dict[str, Any]:
        """Keep a multipart upload (``file`` and ``purpose``) as a file; return the file object."""
        from email.parser import BytesParser
        from email.policy import default

        message = BytesParser(policy=default).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + raw)
        fields: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = (part.get_filename(), part.get_payload(decode=True))
        if "file" not in fields or "purpose" not in fields:
            return {"error": {"message": "file and purpose are required"}}
        filename, data = fields["file"]
        purpose = fields["purpose"][1].decode()
        return self._add_file(filename or "upload.jsonl", purpose, data)

    def _add_file(self, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        with self._lock:
            file_id = f"file-{len(self.files) + 1}"
            self.files[file_id] = (filename, purpose, data)
        return {"id": file_id, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                "filename": filename, "purpose": purpose, "status": "processed"}

    def create_batch(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create a batch over an uploaded file (``validating`` until polled)."""
        found = self.files.get(str(body.get("input_file_id")))
        if found is None or found[1] != "batch":
            return {"error": {"message": "input_file_id must name a file uploaded with purpose batch"}}
        lines = [json.loads(line) for line in found[2].decode().splitlines() if line.strip()]
        with self._lock:
            self.batches_created += 1
            batch_id = f"batch_{self.batches_created}"
            self.batches[batch_id] = {
                "id": batch_id, "object": "batch", "endpoint": body.get("endpoint"), "errors": None,
                "input_file_id": body["input_file_id"], "completion_window": body.get("completion_window"),
                "status": "validating", "output_file_id": None, "error_file_id": None,
                "created_at": int(time.time()), "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
                "metadata": body.get("metadata"), "_lines": lines, "_outcome": self.batch_outcome,
                "_expire_after": self.expire_after,
            }
            self._polls[batch_id] = 0
            return self._public(batch_id)

    def _public(self, batch_id: str) -> dict[str, Any]:
        return {k: v for k, v in self.batches[batch_id].items() if not k.startswith("_")}

    def retrieve_batch(self, batch_id: str) -> dict[str, Any] | None:
        """Return the batch; on its ``batch_polls``-th retrieve, answer its lines and end it."""
        with self._lock:
            batch = self.batches.get(batch_id)
            if batch is None:
                return None
            self._polls[batch_id] += 1
            polls = self._polls[batch_id]
        if batch["status"] in ("validating", "in_progress"):
            if polls < self.batch_polls:
                batch["status"] = "in_progress"
            else:
                self._finish_batch(batch)
        with self._lock:
            return self._public(batch_id)

    def _finish_batch(self, batch: dict[str, Any]) -> None:
        outcome, lines = batch["_outcome"], batch["_lines"]
        now = int(time.time())
        if outcome == "failed":
            batch.update(status="failed", failed_at=now, errors={"object": "list", "data": [
                {"code": "invalid_request", "message": "The input file could not be read (scripted failure).",
                 "line": 1, "param": None}]})
            return
        answered = lines if outcome != "expired" else lines[:batch["_expire_after"]]
        output, errors = [], []
        for n, line in enumerate(lines):
            request_id = f"req_{batch['id']}_{n}"
            record: dict[str, Any] = {"id": f"batch_req_{n}", "custom_id": line["custom_id"], "response": None,
                                      "error": None}
            if n >= len(answered):
                record["error"] = {"code": "batch_expired",
                                   "message": "This request could not be executed before the completion window expired."}
                errors.append(record)
                continue
            body = line["body"]
            status, payload = self.answer(body, batch=True)
            if isinstance(payload, dict) and "_line_error" in payload:
                record["error"] = payload["_line_error"]
                errors.append(record)
                continue
            record["response"] = {"status_code": status, "request_id": request_id,
                                  "body": payload if isinstance(payload, dict) else {"raw": payload}}
            (output if status == 200 else errors).append(record)
        counts = {"total": len(lines), "completed": len(output), "failed": len(errors)}
        files = {}
        for name, records in (("output_file_id", output), ("error_file_id", errors)):
            if records:
                data = "".join(json.dumps(r) + "\n" for r in records).encode()
                files[name] = self._add_file(f"{batch['id']}_{name}.jsonl", "batch_output", data)["id"]
        batch.update(status=outcome, request_counts=counts, **files,
                     **({"completed_at": now} if outcome == "completed" else {"expired_at": now}))

    def answer(self, body: dict[str, Any], *, batch: bool = False) -> tuple[int, dict[str, Any] | str]:
        """A batch line's status and body, from the script or the responder, with its usage (no delay).

        The body is kept in ``requests`` (and ``batch_bodies``) like a chat request's.
        """
        usage = self._received(body, {}, batch=batch)
        model = str(body.get("model", ""))
        reply = self._next_reply(body)
        if reply.line_error is not None:
            return 0, {"_line_error": reply.line_error}
        if reply.body is not None:
            return reply.status, reply.body
        usage["completion_tokens"] = tokens(reply.content or reply.refusal or "")
        return reply.status, completion_body(model, reply.content, finish_reason=reply.finish_reason,
                                             refusal=reply.refusal, **usage)

    def start(self) -> FakeOpenAIServer:
        """Start serving in a daemon thread."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes: without this, Nagle's algorithm and the client's
            # delayed ACK add ~40 ms to every reply on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib name
                pass

            def _send(self, status: int, payload: bytes, headers: dict[str, str],
                      content_type: str = "application/json") -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

            def do_GET(self) -> None:  # noqa: N802 - the stdlib name
                path = self.path.split("?")[0].rstrip("/")
                content = re.fullmatch(r".*/files/([^/]+)/content", path)
                batch = re.fullmatch(r".*/batches/([^/]+)", path)
                if content:
                    found = server.files.get(content.group(1))
                    if found is None:
                        self._send(404, b'{"error": {"message": "No such file."}}', {})
                    else:
                        self._send(200, found[2], {}, "application/octet-stream")
                elif batch:
                    answer = server.retrieve_batch(batch.group(1))
                    status = 200 if answer is not None else 404
                    self._send(status, json.dumps(answer or {"error": {"message": "No such batch."}}).encode(), {})
                elif path.endswith("/models"):
                    body = {"object": "list", "data": [{"id": "test-model", "object": "model", "created": 0,
                                                        "owned_by": "test"}]}
                    self._send(200, json.dumps(body).encode(), {})
                else:
                    self._send(404, b'{"error": {"message": "not found"}}', {})

            def do_POST(self) -> None:  # noqa: N802 - the stdlib name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                path = self.path.split("?")[0].rstrip("/")
                if path.endswith("/files"):
                    answer = server.upload(str(self.headers.get("Content-Type", "")), raw)
                    self._send(200 if "id" in answer else 400, json.dumps(answer).encode(), {})
                    return
                if path.endswith("/batches"):
                    answer = server.create_batch(json.loads(raw))
                    self._send(200 if "id" in answer else 400, json.dumps(answer).encode(), {})
                    return
                if not path.endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "not found"}}', {})
                    return
                body = json.loads(raw)
                usage = server._received(body, {k.lower(): v for k, v in self.headers.items()})
                with server._lock:
                    server.times.append(time.monotonic())
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    reply = server._next_reply(body)
                    wait = server.delay + reply.delay
                    if wait:
                        time.sleep(wait)
                finally:
                    with server._lock:
                        server.active -= 1
                if reply.body is not None:
                    payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                else:
                    usage["completion_tokens"] = tokens(reply.content or reply.refusal or "")
                    payload = json.dumps(completion_body(body.get("model", ""), reply.content,
                                                         finish_reason=reply.finish_reason, refusal=reply.refusal,
                                                         **usage))
                self._send(reply.status, payload.encode(), reply.headers)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> int:
    """Serve stance (or loop) answers until stdin closes (for the judge and propose benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--delay", type=float, default=0.02, help="seconds before each reply")
    parser.add_argument("--responder", choices=("stance", "loop"), default="stance",
                        help="stance answers (default), or the automated loop's propose and ranker answers")
    args = parser.parse_args(argv)
    responder = loop_responder if args.responder == "loop" else stance_responder
    server = FakeOpenAIServer(responder, delay=args.delay)
    server.keep = False  # a benchmark sends thousands of requests of hundreds of KB each
    server.start()
    sys.stdout.write(f"{server.port}\n")
    sys.stdout.flush()
    try:
        sys.stdin.read()  # the parent closes our stdin (or exits) to stop us
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
