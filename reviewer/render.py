r"""Markdown to HTML for spec and crowd text: raw HTML shown as text, the result sanitised by an allow-list.

Spec sections, proposals and crowd text are rendered into Qt's text browsers, which load any
``<img src>`` they are given: a local file (``/etc/hostname``, ``../../etc/passwd``), a share
(``\\evil\share``) or a remote server (``//evil.example``). So no image is rendered at all (its alt
text is shown instead), and after Python-Markdown the HTML goes through nh3, an allow-list sanitiser:
only the tags Markdown makes, only http(s) and mailto links and in-page ``#anchors``.
"""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any

from reviewer.textsafe import dir_attributes, display_text

if TYPE_CHECKING:
    import markdown
    import nh3

_EXTENSIONS = ["fenced_code", "tables", "footnotes", "admonition", "sane_lists"]
_ATTR_BLOCK = re.compile(r"[ \t]*\{#[^}\n]*\}[ \t]*$", re.MULTILINE)

# What the Markdown extensions above produce, and nothing else.
_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "code", "pre", "blockquote",
    "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "div", "span", "sup", "del",
}
_ATTRIBUTES = {
    "a": {"href", "title", "id", "class"},  # footnote references and back-references
    "sup": {"id"},
    "li": {"id"},
    "ol": {"start"},
    "div": {"class"},  # admonitions and the footnotes block
    "p": {"class"},  # an admonition's title
    "code": {"class"},  # a fenced block's language
    "th": {"style"},
    "td": {"style"},
}
_URL_SCHEMES = {"http", "https", "mailto"}


def _only_anchors(url: str) -> str | None:
    """Keep in-page links (``#section_id``); any other URL without a scheme is a path: drop it."""
    return url if url.startswith("#") else None


def _images_as_text(md: markdown.Markdown) -> Any:
    from markdown.treeprocessors import Treeprocessor

    class ImagesAsText(Treeprocessor):
        """Replace every image with its alt text: nothing is loaded, whatever its source."""

        def run(self, root: Any) -> None:
            for element in root.iter("img"):
                alt = (element.get("alt") or "").strip()
                element.tag = "span"
                element.attrib.clear()
                element.text = f"[image: {alt}]" if alt else "[image]"

    return ImagesAsText(md)


def _make_renderer() -> markdown.Markdown:
    import markdown  # about 0.1 s of regex compiling: only when something is first rendered

    md = markdown.Markdown(extensions=_EXTENSIONS, output_format="html")
    # Python-Markdown passes raw HTML through; taking out the two processors that recognise it
    # makes every tag render as escaped text (code blocks stay escaped exactly once).
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.treeprocessors.register(_images_as_text(md), "images_as_text", 17)  # after the inline patterns
    return md


def _make_cleaner() -> nh3.Cleaner:
    import nh3

    return nh3.Cleaner(
        tags=_TAGS, attributes=_ATTRIBUTES, url_schemes=_URL_SCHEMES, url_relative=_only_anchors,
        filter_style_properties={"text-align"}, link_rel=None,
    )


_renderer: markdown.Markdown | None = None
_cleaner: nh3.Cleaner | None = None


def render_markdown(text: str, *, strip_heading_attrs: bool = True) -> str:
    """Render spec or crowd Markdown to HTML that is safe to show.

    Args:
        text: untrusted Markdown.
        strip_heading_attrs: drop the ``{#id authority=...}`` blocks from headings.

    Returns:
        An HTML fragment in which any raw HTML of the input appears as escaped text, images appear
        as their alt text, links other than http(s), mailto and in-page anchors have no target, and
        bidi overrides are shown as markers (``reviewer.textsafe.display_text``).
    """
    if strip_heading_attrs:
        text = _ATTR_BLOCK.sub("", text)
    global _renderer, _cleaner
    if _renderer is None or _cleaner is None:
        _renderer, _cleaner = _make_renderer(), _make_cleaner()
    _renderer.reset()
    return directed_blocks(_cleaner.clean(_renderer.convert(display_text(text))))


_RTL_LETTER = re.compile("[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]")
_BLOCK = re.compile(r"<(p|li|h[1-6]|td|th|blockquote)>(.*?)</\1>", re.S)
_TAG = re.compile(r"<[^>]*>")


def directed_blocks(fragment: str) -> str:
    """Mark each paragraph, list item, heading or cell whose text reads right to left as such.

    Arabic and Hebrew paragraphs then align to the right and order their words right to left, each
    by its own first strong letter, in a document that mixes them with left-to-right ones (a
    conversation's prompt and responses). Runs after sanitising and adds only fixed attributes.
    """
    if not _RTL_LETTER.search(fragment):
        return fragment  # the usual case (the spec): nothing to look at

    def mark(match: re.Match[str]) -> str:
        text = html.unescape(_TAG.sub("", match.group(2)))
        return f"<{match.group(1)}{dir_attributes(text)}>{match.group(2)}</{match.group(1)}>"

    return _BLOCK.sub(mark, fragment)


def escape(text: str) -> str:
    """Escape plain text for inclusion in HTML (crowd text shown verbatim, bidi overrides as markers)."""
    return html.escape(display_text(text), quote=True)
