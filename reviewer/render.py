"""Markdown to HTML for spec and crowd text, with raw HTML shown as text, never interpreted."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import markdown

_EXTENSIONS = ["fenced_code", "tables", "footnotes", "admonition", "sane_lists"]
_ATTR_BLOCK = re.compile(r"[ \t]*\{#[^}\n]*\}[ \t]*$", re.MULTILINE)
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "#")


def _make_renderer() -> markdown.Markdown:
    import markdown  # about 0.1 s of regex compiling: only when something is first rendered

    md = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    # Python-Markdown passes raw HTML through; taking out the two processors that recognise it
    # makes every tag render as escaped text (code blocks stay escaped exactly once).
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md


_renderer: markdown.Markdown | None = None
_LINK = re.compile(r'(href|src)="([^"]*)"')


def _neutralise_links(rendered: str) -> str:
    def fix(match: re.Match[str]) -> str:
        url = html.unescape(match.group(2)).strip()
        if url.lower().startswith(_SAFE_SCHEMES) or "://" not in url and ":" not in url.split("/")[0]:
            return match.group(0)
        return f'{match.group(1)}="#"'

    return _LINK.sub(fix, rendered)


def render_markdown(text: str, *, strip_heading_attrs: bool = True) -> str:
    """Render spec or crowd Markdown to HTML that is safe to show.

    Args:
        text: untrusted Markdown.
        strip_heading_attrs: drop the ``{#id authority=...}`` blocks from headings.

    Returns:
        An HTML fragment in which any raw HTML of the input appears as escaped text, and links
        other than http(s), mailto and in-page anchors are disabled.
    """
    if strip_heading_attrs:
        text = _ATTR_BLOCK.sub("", text)
    global _renderer
    if _renderer is None:
        _renderer = _make_renderer()
    _renderer.reset()
    return _neutralise_links(_renderer.convert(text))


def escape(text: str) -> str:
    """Escape plain text for inclusion in HTML (crowd text shown verbatim)."""
    return html.escape(text, quote=True)
