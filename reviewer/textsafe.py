"""Text from crowd data, titles and model answers made safe to show: control and bidi characters neutralised.

Crowd text, proposal titles, names and model answers come from other people. Printed raw to a
terminal, an ESC sequence can colour text, set the window title or make a link (OSC 8), and a
carriage return can overwrite a line: a red "Audit log intact" can be forged. Shown anywhere, the
bidi embedding, override and isolate controls reorder what follows them (U+202E shows "evil" as
"live"). These functions replace such characters with visible stand-ins; ordinary right-to-left
text (Arabic, Hebrew) is left as it is, since only the explicit controls reorder other text.
"""

from __future__ import annotations

import re
import unicodedata

# The explicit bidi formatting controls: embeddings, overrides, their terminator, the isolates.
BIDI_CONTROLS = {
    "\u202a": "LRE", "\u202b": "RLE", "\u202c": "PDF", "\u202d": "LRO", "\u202e": "RLO",
    "\u2066": "LRI", "\u2067": "RLI", "\u2068": "FSI", "\u2069": "PDI",
}
# Implicit marks (LRM, RLM, ALM): legitimate in right-to-left text, invisible on a terminal.
BIDI_MARKS = "\u200e\u200f\u061c"

_BIDI = "".join(BIDI_CONTROLS)
# C0 controls but tab and newline, DEL, C1 controls, every bidi control and mark.
_TERMINAL_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}{BIDI_MARKS}]")
# What JSON (``json.dumps(..., ensure_ascii=False)``) leaves raw that a terminal would act on.
_JSON_UNSAFE = re.compile(f"[\x7f-\x9f{_BIDI}{BIDI_MARKS}]")
_DISPLAY_UNSAFE = re.compile(f"[{_BIDI}]")


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_text(text: str) -> str:
    r"""Return ``text`` safe to print on a terminal.

    Every control character but newline and tab (so every ESC, and with it every CSI, OSC 8 link
    and title-setting sequence), and every bidi control and mark, becomes a visible escape such as
    ``\x1b`` or ``\u202e``. A CRLF line end becomes a newline; a lone CR is escaped, since it
    would let text overwrite its own line.
    """
    return _TERMINAL_UNSAFE.sub(lambda m: _escape(m.group()), text.replace("\r\n", "\n"))


def json_terminal_text(text: str) -> str:
    r"""Return JSON text (from ``json.dumps`` with ``ensure_ascii=False``) safe to print on a terminal.

    The characters JSON leaves raw that a terminal acts on (DEL, C1 controls, bidi controls and
    marks) can only occur inside strings, so writing them as ``\uXXXX`` escapes gives the same
    JSON value: the data is kept, only its spelling changes.
    """
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def display_text(text: str) -> str:
    r"""Return ``text`` with each bidi embedding, override or isolate control shown as a marker.

    For the GUI: ``"\u202eevil"`` becomes ``"⟨RLO⟩evil"``, so reordered text can neither hide nor
    pass for other text. Right-to-left letters and the implicit marks are kept.
    """
    return _DISPLAY_UNSAFE.sub(lambda m: f"⟨{BIDI_CONTROLS[m.group()]}⟩", text)


def display_offset(text: str, offset: int) -> int:
    """Return where ``text[offset]`` lands in ``display_text(text)`` (for highlighting a span)."""
    return len(display_text(text[:offset]))


_STRONG_RTL = {"R", "AL"}
_ISOLATE_OPEN = {"\u2066", "\u2067", "\u2068"}


def base_direction(text: str) -> str:
    """Return ``"rtl"`` or ``"ltr"``: the direction of ``text``'s first strong letter (Unicode bidi rules P2-P3).

    Arabic and Hebrew text reads right to left and is aligned to the right; text with no strong
    letter (digits, punctuation) is left to right. Characters inside an isolate (FSI, LRI, RLI to
    PDI) are skipped, as the rules say.
    """
    import unicodedata

    depth = 0
    for char in text:
        if char in _ISOLATE_OPEN:
            depth += 1
        elif char == "\u2069":
            depth = max(depth - 1, 0)
        elif depth == 0:
            kind = unicodedata.bidirectional(char)
            if kind == "L":
                return "ltr"
            if kind in _STRONG_RTL:
                return "rtl"
    return "ltr"


def dir_attributes(text: str) -> str:
    """Return the HTML attributes that set a block's direction and alignment from its text ('' for left to right)."""
    return ' dir="rtl" align="right"' if base_direction(text) == "rtl" else ""


def visible(text: str) -> bool:
    """Whether ``text`` has a character one can see (not only spaces and invisible format characters)."""
    return any(not ch.isspace() and unicodedata.category(ch) not in ("Cf", "Cc", "Zs") for ch in text or "")
