"""Smoke-tests a built Spec Review: the frozen executable, or the ``spec-review`` script of an install.

    python packaging/smoke_test.py dist/spec-review/spec-review            # everything
    python packaging/smoke_test.py VENV/bin/spec-review --quick            # without the --help walk

Runs with any Python 3.11+ (standard library only), in a temporary folder outside the checkout
with its own HOME and SPEC_REVIEW_HOME, and checks:
- ``--version`` prints the version written in pyproject.toml, and ``--help`` works;
- ``--help`` of every command and sub-command, found by walking the executable's own help
  (argparse lists each sub-parser's commands), unless ``--quick``;
- ``init WS --demo`` makes a workspace with proposals, and ``proposal list`` shows them;
- ``gui WS --screenshot PNG`` (offscreen) writes a 1600×940 PNG, with the app icon drawn;
- a model task (``judge stance --limit 2 --yes`` against a local stub endpoint) sends its bundled
  prompt word for word and counts tokens with the bundled tokenizer;
- ``desktop-install --prefix DIR`` writes a desktop entry that runs this executable, and the icon.

Exits 0 when all pass; otherwise 1, naming the command that failed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT_SIZE = (1600, 940)  # ui/app.py run_gui resizes the window to this before the grab
ICON_WARNING = "app icon could not be drawn"
TIMEOUT_S = 180


class SmokeFailure(Exception):
    """A check failed; the message names the command."""


def expected_version(root: Path = ROOT) -> str:
    """Return the version written in ``pyproject.toml``."""
    with (root / "pyproject.toml").open("rb") as f:
        return str(tomllib.load(f)["project"]["version"])


def parse_subcommands(help_text: str) -> list[str]:
    """Return the sub-command names an argparse ``--help`` lists (none for a leaf command).

    argparse prints a sub-parsers action as a positional argument (``  COMMAND``, indented two
    spaces) followed by one line per choice indented two more (``    init   create a workspace``);
    help that does not fit continues at a much deeper indent.
    """
    names: list[str] = []
    in_positionals = False
    for line in help_text.splitlines():
        if line == "positional arguments:":
            in_positionals = True
            continue
        if in_positionals and (not line.strip() or not line.startswith(" ")):
            in_positionals = False
        if in_positionals and re.match(r"^    \S", line):
            names.append(line.split()[0])
    return names


def list_commands(help_of: Callable[[tuple[str, ...]], str]) -> list[tuple[str, ...]]:
    """Walk the command tree from the top-level help: every command and sub-command, as word tuples.

    Args:
        help_of: returns the ``--help`` text of a command path (``()`` is the top level).
    """
    found: list[tuple[str, ...]] = []
    queue: list[tuple[str, ...]] = [()]
    while queue:
        path = queue.pop(0)
        for name in parse_subcommands(help_of(path)):
            found.append((*path, name))
            queue.append((*path, name))
    return found


def png_size(path: Path) -> tuple[int, int]:
    """Return a PNG file's width and height (from its IHDR chunk).

    Raises:
        SmokeFailure: the file is not a PNG.
    """
    head = path.read_bytes()[:24]
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        raise SmokeFailure(f"{path} is not a PNG file")
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def desktop_exec_argv(value: str) -> list[str]:
    r"""Split a desktop entry's ``Exec`` value into arguments (Desktop Entry spec, "The Exec key").

    The string value's escapes (``\\`` for a backslash) are undone first; then an argument in
    double quotes may hold spaces, and a backslash in it escapes a double quote, a backtick, ``$``
    or a backslash.
    """
    value = value.replace("\\\\", "\\")
    argv: list[str] = []
    current: str | None = None
    quoted, i = False, 0
    while i < len(value):
        char = value[i]
        if quoted and char == "\\" and i + 1 < len(value) and value[i + 1] in '"`$\\':
            current, i = (current or "") + value[i + 1], i + 2
            continue
        if char == '"':
            quoted, current = not quoted, current or ""
        elif char == " " and not quoted:
            if current is not None:
                argv.append(current)
            current = None
        else:
            current = (current or "") + char
        i += 1
    return argv + ([current] if current is not None else [])


def clean_env(home: Path) -> dict[str, str]:
    """Return the environment for the commands: own HOME and data folders, offscreen Qt, wide help."""
    drop = ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
            "XDG_STATE_HOME", "OPENAI_API_KEY", "OPENAI_BASE_URL")
    env = {k: v for k, v in os.environ.items() if k not in drop and not k.startswith("SPEC_REVIEW_")}
    env.update(HOME=str(home / "home"), SPEC_REVIEW_HOME=str(home / "spec-review-home"),
               QT_QPA_PLATFORM="offscreen", COLUMNS="200", GIT_CONFIG_NOSYSTEM="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    (home / "home").mkdir(parents=True, exist_ok=True)
    return env


class Runner:
    """Runs the built command in a scratch folder and fails loudly, naming the command.

    Attributes:
        command: the executable (and any leading arguments) that is ``spec-review``.
        cwd: the scratch folder the commands run in.
        env: their environment (see ``clean_env``).
        log: where progress lines go.
    """

    def __init__(self, command: Sequence[str], cwd: Path, env: dict[str, str],
                 log: Callable[[str], None] = print) -> None:
        self.command = list(command)
        self.cwd = cwd
        self.env = env
        self.log = log

    def run(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run ``spec-review ARGS``; raise ``SmokeFailure`` unless it exits with ``expect``."""
        shown = "spec-review " + " ".join(args)
        try:
            result = subprocess.run([*self.command, *args], cwd=self.cwd, env=self.env, capture_output=True,
                                    text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise SmokeFailure(f"`{shown}` did not finish in {TIMEOUT_S} s") from exc
        except OSError as exc:
            raise SmokeFailure(f"`{shown}` could not start: {exc}") from exc
        if result.returncode != expect:
            raise SmokeFailure(f"`{shown}` exited {result.returncode} (expected {expect})\n"
                               f"--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-3000:]}")
        return result

    def json(self, *args: str, expect: int = 0) -> object:
        """Run a ``--json`` command and return what it printed, parsed."""
        out = self.run(*args, expect=expect).stdout
        try:
            return json.loads(out)
        except json.JSONDecodeError as exc:
            raise SmokeFailure(f"`spec-review {' '.join(args)}` did not print JSON: {out[:500]!r}") from exc


def check_version_and_help(runner: Runner, version: str) -> None:
    """``--version`` names the project's version; ``--help`` prints the usage."""
    printed = runner.run("--version").stdout.strip()
    if printed != f"spec-review {version}":
        raise SmokeFailure(f"`spec-review --version` printed {printed!r}, expected 'spec-review {version}'")
    runner.log(f"ok   --version: {printed}")
    if not runner.run("--help").stdout.startswith("usage: spec-review"):
        raise SmokeFailure("`spec-review --help` did not print the usage")
    runner.log("ok   --help")


def check_every_help(runner: Runner) -> list[tuple[str, ...]]:
    """``--help`` of every command and sub-command exits 0 and prints that command's usage."""
    def help_of(path: tuple[str, ...]) -> str:
        out = runner.run(*path, "--help").stdout
        if not out.startswith("usage: " + " ".join(("spec-review", *path))):
            raise SmokeFailure(f"`spec-review {' '.join(path)} --help` printed another usage: {out[:200]!r}")
        return out

    commands = list_commands(help_of)
    if not {("gui",), ("init",), ("desktop-install",)} <= set(commands):
        raise SmokeFailure(f"the top-level --help does not list the commands (found {commands})")
    runner.log(f"ok   --help of all {len(commands)} commands and sub-commands")
    return commands


def check_demo_and_gui(runner: Runner) -> Path:
    """``init WS --demo`` makes a workspace with proposals; ``gui --screenshot`` pictures it."""
    workspace = runner.cwd / "demo-ws"
    status = runner.json("init", str(workspace), "--demo", "--json")
    proposals = status["counts"]["proposals"] if isinstance(status, dict) else 0
    if not proposals:
        raise SmokeFailure(f"`spec-review init WS --demo` made a workspace without proposals: {status}")
    listed = runner.json("proposal", "list", str(workspace), "--json")
    if not isinstance(listed, list) or len(listed) != proposals:
        raise SmokeFailure(f"`spec-review proposal list WS` shows {listed!r}, expected {proposals} proposals")
    runner.log(f"ok   init WS --demo: {proposals} proposals")

    shot = runner.cwd / "review-desk.png"
    result = runner.run("gui", str(workspace), "--screenshot", str(shot))
    if not shot.is_file():
        raise SmokeFailure("`spec-review gui WS --screenshot PNG` exited 0 but wrote no PNG")
    if png_size(shot) != SCREENSHOT_SIZE:
        raise SmokeFailure(f"`spec-review gui WS --screenshot PNG` wrote a {png_size(shot)} picture, "
                           f"expected {SCREENSHOT_SIZE}")
    if ICON_WARNING in result.stderr:
        raise SmokeFailure(f"`spec-review gui WS --screenshot PNG`: {result.stderr.strip()}")
    runner.log(f"ok   gui WS --screenshot PNG: {SCREENSHOT_SIZE[0]}x{SCREENSHOT_SIZE[1]}, icon drawn")
    return workspace


class ModelStub:
    """A chat-completions endpoint on 127.0.0.1 that records each request and answers ``no_comment``.

    Attributes:
        requests: the JSON bodies received, in order.
        url: the base URL to pass as ``--base-url``.
    """

    def __init__(self) -> None:
        self.requests: list[dict[str, object]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the stdlib name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                stub.requests.append(body)
                answer = {"stance": "no_comment", "quote": "", "reason": "Smoke test.", "confidence": 0.5}
                payload = json.dumps({
                    "id": "chatcmpl-smoke", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", ""), "system_fingerprint": "fp_smoke",
                    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                                 "message": {"role": "assistant", "content": json.dumps(answer), "refusal": None}}],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib name
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> ModelStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


def check_model_task(runner: Runner, workspace: Path, root: Path = ROOT) -> None:
    """A model task sends its bundled prompt, word for word, and stores the answers.

    ``judge stance --limit 2 --yes`` runs against a local stub endpoint: the system message of each
    request must be ``resources/prompts/stance-v1.md`` as ``load_prompt`` reads it, and the token
    estimate must come from the bundled o200k tokenizer (bpe-openai's data), not the fallback.
    """
    expected = (root / "resources" / "prompts" / "stance-v1.md").read_text(encoding="utf-8").strip() + "\n"
    with ModelStub() as stub:
        data = runner.json("judge", "stance", str(workspace), "--model", "smoke-test", "--base-url", stub.url,
                           "--limit", "2", "--yes", "--json")
    shown = "`spec-review judge stance WS --limit 2 --yes`"
    summary = data.get("summary", {}) if isinstance(data, dict) else {}
    estimate = data.get("estimate", {}) if isinstance(data, dict) else {}
    if summary.get("called") != 2 or summary.get("ok") != 2 or len(stub.requests) != 2:
        raise SmokeFailure(f"{shown} did not send and store 2 answers: {data}; the endpoint got "
                           f"{len(stub.requests)} requests")
    for request in stub.requests:
        messages = request.get("messages")
        system = messages[0] if isinstance(messages, list) and messages else {}
        if system != {"role": "system", "content": expected}:
            raise SmokeFailure(f"{shown} sent a system message that is not resources/prompts/stance-v1.md: "
                               f"{str(system)[:300]!r}")
    if estimate.get("exact") is not True:
        raise SmokeFailure(f"{shown} estimated tokens without the o200k tokenizer: {estimate.get('tokenizer')!r}")
    runner.log(f"ok   judge stance: prompt {summary.get('prompt_version')} sent word for word, "
               f"{estimate.get('input_tokens')} tokens counted with {estimate.get('tokenizer')}")


def check_desktop_install(runner: Runner, root: Path = ROOT) -> None:
    """``desktop-install`` writes an entry that runs this same executable, and the SVG icon."""
    prefix = runner.cwd / "share"
    runner.json("desktop-install", "--prefix", str(prefix), "--json")
    entry = prefix / "applications" / "spec-review.desktop"
    icon = prefix / "icons" / "hicolor" / "scalable" / "apps" / "spec-review.svg"
    if not entry.is_file() or not icon.is_file():
        raise SmokeFailure(f"`spec-review desktop-install` did not write {entry} and {icon}")
    keys = dict(line.split("=", 1) for line in entry.read_text(encoding="utf-8").splitlines() if "=" in line)
    program = (desktop_exec_argv(keys.get("Exec", "")) or [""])[0]
    if program != str(Path(runner.command[0]).absolute()) or keys.get("Icon") != "spec-review":
        raise SmokeFailure(f"`spec-review desktop-install` wrote Exec={keys.get('Exec')!r}, Icon={keys.get('Icon')!r}; "
                           f"expected it to run {runner.command[0]} with Icon=spec-review")
    source = root / "resources" / "icons" / "spec-review.svg"
    if source.is_file() and icon.read_bytes() != source.read_bytes():
        raise SmokeFailure(f"`spec-review desktop-install` wrote an icon that differs from {source}")
    runner.log(f"ok   desktop-install: Exec={keys['Exec']}")


def smoke_test(command: Sequence[str], workdir: Path, *, every_help: bool = True, version: str | None = None,
               log: Callable[[str], None] = print) -> Runner:
    """Run every check against ``command`` in ``workdir``; raises ``SmokeFailure`` at the first failure.

    Args:
        command: the built ``spec-review`` (an executable path, plus leading arguments if any).
        workdir: an empty scratch folder outside the checkout.
        every_help: also run ``--help`` of every command and sub-command.
        version: the expected ``--version`` (default: pyproject.toml's).
        log: where progress lines go.

    Returns:
        The runner, for further checks in the same scratch folder and environment.
    """
    runner = Runner(command, workdir, clean_env(workdir), log)
    check_version_and_help(runner, version or expected_version())
    if every_help:
        check_every_help(runner)
    workspace = check_demo_and_gui(runner)
    check_model_task(runner, workspace)
    check_desktop_install(runner)
    return runner


def main(argv: Sequence[str] | None = None) -> int:
    """Run the smoke test from the command line; returns the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("executable", help="the built spec-review (frozen executable or installed script)")
    parser.add_argument("--quick", action="store_true", help="skip --help of every command")
    args = parser.parse_args(argv)
    executable = Path(args.executable).absolute()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="spec-review-smoke-") as tmp:
        try:
            smoke_test([str(executable)], Path(tmp), every_help=not args.quick)
        except SmokeFailure as exc:
            print(f"smoke test FAILED: {exc}", file=sys.stderr)
            return 1
    print(f"smoke test passed in {time.monotonic() - started:.0f} s: {executable}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
