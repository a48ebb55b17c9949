"""Crowd text as data: delimited, escaped blocks for conversations, spec sections and justifications.

Everything a participant or a model wrote is sent inside tagged blocks, with any tag text inside it
escaped, so that it cannot close its block and pass for instructions.
"""

from __future__ import annotations

import json
import re
from typing import Any

from reviewer.rankings import LETTERS
from reviewer.spec import Section

DATA_TAGS = ("spec_section", "conversation", "message", "response", "proposal", "section_before",
             "section_after", "justification", "disagreement", "ranker_reason")
_DELIMITER = re.compile(r"<(?=\s*/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)
_ESCAPED = re.compile(r"&lt;(?=\s*/?\s*(?:" + "|".join(DATA_TAGS) + r")\b)", re.IGNORECASE)


def escape_data(text: str) -> str:
    """Neutralise anything in ``text`` that would open or close a data block (``<`` becomes ``&lt;``)."""
    return _DELIMITER.sub("&lt;", text)


def unescape_data(text: str) -> str:
    """Undo ``escape_data`` (a quote copied from an escaped block is checked against the original)."""
    return _ESCAPED.sub("<", text)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def data_block(tag: str, text: str, **attrs: str) -> str:
    """Wrap untrusted ``text`` in ``<tag ...>`` ... ``</tag>`` with delimiters inside it escaped."""
    attributes = "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>\n{escape_data(text)}\n</{tag}>"


def wrap_blocks(tag: str, inner: str, **attrs: str) -> str:
    """Wrap text made of delimited blocks (and lines the product wrote) in an outer ``<tag ...>`` block.

    Unlike ``data_block``, ``inner`` is not escaped: every untrusted part of it must already be in
    its own data block.
    """
    attributes = "".join(f' {k}="{_attr(v)}"' for k, v in attrs.items())
    return f"<{tag}{attributes}>\n{inner}\n</{tag}>"


def prompt_messages(raw: Any) -> list[tuple[str, str]]:
    """Read the messages of a stored prompt or response in the shapes the importers write."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError:
            return [("user", raw)]
    if isinstance(raw, dict):
        if "messages" in raw:
            return prompt_messages(raw["messages"])
        if "content" in raw:
            return [(str(raw.get("role", "user")), _content_text(raw["content"]))]
        return [("user", json.dumps(raw, ensure_ascii=False))]
    if isinstance(raw, list):
        out: list[tuple[str, str]] = []
        for entry in raw:
            if isinstance(entry, dict) and "content" in entry:
                out.append((str(entry.get("role", "user")), _content_text(entry["content"])))
            elif isinstance(entry, str):
                out.append(("user", entry))
            else:
                out.extend(prompt_messages(entry))
        return out
    return [("user", "" if raw is None else str(raw))]


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: [{"type": "text", "text": ...}]
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return "" if content is None else str(content)


def response_messages(raw: str) -> dict[str, list[tuple[str, str]]]:
    """Map A–D to each response's messages, from the stored ``responses`` column."""
    try:
        data: Any = json.loads(raw)
    except json.JSONDecodeError:
        return {"A": [("assistant", raw)]}
    out: dict[str, list[tuple[str, str]]] = {}
    if isinstance(data, dict):
        for letter, value in data.items():
            out[str(letter)] = prompt_messages(value) if not isinstance(value, str) else [("assistant", value)]
    elif isinstance(data, list):
        for i, entry in enumerate(data):
            letter = LETTERS[i] if i < len(LETTERS) else str(i)
            if isinstance(entry, dict):
                letter = str(entry.get("response_index") or entry.get("letter") or letter)
                value = entry.get("messages", entry.get("content", entry.get("text", "")))
                out[letter] = prompt_messages(value) if not isinstance(value, str) else [("assistant", value)]
            else:
                out[letter] = [("assistant", str(entry))]
    return out


def conversation_block(prompt: str, responses: str) -> str:
    """Render a stored conversation and its four responses as delimited data blocks."""
    messages = "\n".join(data_block("message", text, role=role) for role, text in prompt_messages(prompt))
    answers = "\n".join(
        data_block("response", "\n\n".join(text for _role, text in msgs), letter=letter)
        for letter, msgs in sorted(response_messages(responses).items())
    )
    return f"<conversation>\n{messages}\n{answers}\n</conversation>"


def section_block(section: Section) -> str:
    """Render one spec section as a delimited data block."""
    attrs = {"id": section.id or ""}
    if section.authority:
        attrs["authority"] = section.authority
    return data_block("spec_section", section.text.rstrip("\n"), **attrs)
