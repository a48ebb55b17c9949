"""Take the README's screenshots of the review desk on a fresh demo workspace (offscreen).

    .venv/bin/python scripts/screenshots.py [OUT_DIR]   (default: docs/screenshots)
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The demo proposal the crowd splits on by country (erotica for verified adults; root level, quorum 2).
SPLIT_BY_COUNTRY = "5e27d8a4-61bf-4c09-93d2-e84a0b5f1c76"


def main() -> int:
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from reviewer import governance
    from reviewer.workspace import Workspace
    from ui.app import build_window

    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    _app = QApplication.instance() or QApplication([])  # kept alive until the end
    folder = Path(tempfile.mkdtemp(prefix="spec-review-shots-")) / "demo"
    with Workspace.create_demo(folder) as ws:
        for reviewer in ("Jonas Lindqvist", "Priya Raman"):
            governance.record_decision(
                ws, SPLIT_BY_COUNTRY, "defer", reviewer,
                "The crowd splits by country; we need to know how adult content is received in India, Kenya, Nigeria "
                "and the Philippines before changing a platform-level rule, and age verification must exist first.",
                "needs-research",
            )

    def settle(ms: int = 900) -> None:
        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()

    window = build_window(folder, remember_layout=False)
    window.resize(1720, 1000)
    window.show()
    window.reload()
    settle(1500)
    window.set_reviewer("Amara Okafor")
    window.queue.select(SPLIT_BY_COUNTRY)
    settle(1500)
    window.grab().save(str(out / "review-desk.png"))
    window.decision_panel.grab().save(str(out / "decision-panel.png"))
    window.close()
    print(f"saved review-desk.png and decision-panel.png in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
