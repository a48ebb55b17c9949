"""Everything the command line writes to the terminal goes through here, neutralised.

Crowd text, titles, names and model answers are other people's text: printed raw, their escape
sequences and bidi controls would act on the terminal (colours, links, the window title, a forged
"Audit log intact"). Human-readable output has them replaced by visible escapes
(``reviewer.textsafe.terminal_text``); JSON output keeps every character, spelled as a JSON
escape. No command writes to ``sys.stdout`` or ``sys.stderr`` itself (``tests/cli/test_output.py``
checks it).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from reviewer.textsafe import json_terminal_text, terminal_text

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from reviewer.ops import OpResult

T = TypeVar("T")


def json_text(data: Any) -> str:
    """Return ``data`` as indented JSON that is safe to print (the same value, terminal-inert)."""
    return json_terminal_text(json.dumps(data, indent=2, ensure_ascii=False))


def emit(data: Any, as_json: bool, human: str | Callable[[Any], str]) -> None:
    """Print a command's result: ``data`` as JSON, or its human-readable text.

    Args:
        data: the result as JSON data.
        as_json: print JSON instead of text.
        human: the text, or a function from ``data`` to the text (called only without ``as_json``).
    """
    if as_json:
        sys.stdout.write(json_text(data) + "\n")
    else:
        say(human(data) if callable(human) else human)


def say(text: str, *, end: str = "\n", stream: SupportsWrite[str] | None = None) -> None:
    """Write human-readable ``text`` (stdout unless ``stream`` is given), neutralised."""
    (stream or sys.stdout).write(terminal_text(text) + end)


def warn(text: str, *, end: str = "\n") -> None:
    """Write human-readable ``text`` to stderr, neutralised."""
    say(text, end=end, stream=sys.stderr)


def redraw(stream: Any, text: str) -> None:
    """Draw a progress line over the previous one (the carriage return is ours, the text is not)."""
    stream.write("\r" + terminal_text(text))
    stream.flush()


def value_of(result: OpResult[T]) -> T:
    """An operation's value; what went wrong after its change was saved (its warnings) goes to stderr."""
    for warning in result.warnings:
        warn(f"warning: {warning}")
    return result.value
