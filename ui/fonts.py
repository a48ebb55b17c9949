"""Load the fallback fonts for the world's common scripts once, when the window is idle, and find those missing.

Crowd text comes in many languages. The first time Qt draws a script (Devanagari, Japanese,
Arabic...) it looks up and loads a fallback font, which takes 10-20 ms; that should happen while
the window is idle after loading, not in the middle of the reviewer's scroll.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont, QFontDatabase, QFontMetrics, QImage, QPainter, QTextLayout

_WS = QFontDatabase.WritingSystem
SCRIPT_SAMPLES = {
    "Arabic": (_WS.Arabic, "مثال"), "Hebrew": (_WS.Hebrew, "עברית"), "Devanagari": (_WS.Devanagari, "उदाहरण"),
    "Bengali": (_WS.Bengali, "উদাহরণ"), "Tamil": (_WS.Tamil, "உதாரணம்"), "Thai": (_WS.Thai, "ตัวอย่าง"),
    "Chinese": (_WS.SimplifiedChinese, "例子"), "Japanese": (_WS.Japanese, "ひらがなカタカナ"),
    "Korean": (_WS.Korean, "예시"), "Cyrillic": (_WS.Cyrillic, "Пример"), "Greek": (_WS.Greek, "Ελληνικά"),
}
"""A word in each script the crowd is likely to write in, with its writing system, to find those no font shows."""
FONT_PACKAGES = "fonts-noto-core fonts-noto-cjk"
"""The Debian packages that cover them (README, Setup)."""

# One short sample of each script the crowd is likely to write in.
SAMPLES = (
    "Aa Ää Çç Ññ Øø Łł Ğğ Őő",  # Latin with diacritics
    "Пример Ελληνικά Հայերեն ქართული",  # Cyrillic, Greek, Armenian, Georgian
    "مثال עברית اردو",  # Arabic, Hebrew, Urdu
    "उदाहरण উদাহরণ ਉਦਾਹਰਨ ઉદાહરણ ଉଦାହରଣ உதாரணம் ఉదాహరణ ಉದಾಹರಣೆ ഉദാഹരണം",  # Indic
    "ตัวอย่าง ຕົວຢ່າງ ဥပမာ ឧទាហរណ៍",  # Thai, Lao, Myanmar, Khmer
    "例え ひらがな カタカナ 例子 예시 😀",  # CJK, kana, Hangul, emoji
    "ምሳሌ Ọ̀rọ̀ Tiếng Việt",  # Ethiopic, Yoruba, Vietnamese
)


def warm_up(font: QFont) -> None:
    """Lay out and draw every sample once in ``font`` (into a small off-screen image)."""
    image = QImage(8, 8, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor(0, 0, 0, 0))
    painter = QPainter(image)
    try:
        for sample in SAMPLES:
            layout = QTextLayout(sample, font)
            layout.beginLayout()
            line = layout.createLine()
            line.setLineWidth(4000)
            layout.endLayout()
            layout.draw(painter, QPointF(0, 0))
    finally:
        painter.end()


def shows_every_glyph(text: str, writing_system: QFontDatabase.WritingSystem) -> bool:
    """Whether an installed font of ``writing_system`` has a glyph for every letter of ``text``.

    Qt falls back to such fonts for letters the chosen font lacks; with none, the letters show as
    boxes. (A laid-out text cannot tell: the box is a glyph too, and not glyph 0 in every font.)
    """
    letters = {ord(char) for char in text if not char.isspace()}
    for family in QFontDatabase.families(writing_system):
        metrics = QFontMetrics(QFont(family))
        if all(metrics.inFontUcs4(code) for code in letters):
            return True
    return False


def missing_scripts(samples: dict[str, tuple[QFontDatabase.WritingSystem, str]] | None = None) -> list[str]:
    """The scripts (of ``SCRIPT_SAMPLES``) that would show as boxes here: no installed font has their letters."""
    return [name for name, (system, sample) in (SCRIPT_SAMPLES if samples is None else samples).items()
            if not shows_every_glyph(sample, system)]


def missing_fonts_message(scripts: list[str], *, every: bool = False) -> str:
    """Say which scripts show as boxes and how to fix it ('' when none do).

    Two scripts at most are named unless ``every``: the status bar has one line, beside the
    permanent labels (the full list is the tooltip of the "no font" label).
    """
    if not scripts:
        return ""
    named = scripts if every or len(scripts) <= 2 else [*scripts[:2], f"{len(scripts) - 2} more"]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    return f"No font for {listed}: shown as boxes (install {FONT_PACKAGES})."
