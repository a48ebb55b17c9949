"""Load the fallback fonts for the world's common scripts once, when the window is idle.

Crowd text comes in many languages. The first time Qt draws a script (Devanagari, Japanese,
Arabic...) it looks up and loads a fallback font, which takes 10-20 ms; that should happen while
the window is idle after loading, not in the middle of the reviewer's scroll.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QTextLayout

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
