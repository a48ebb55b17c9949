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
SUPPORTED = "3f6c2a8e-5b1d-4e7a-9c24-8d1e0f7b6a53"  # root level: two reviewers adopt it
MULTI_SECTION = "b2d47c19-0e8a-4f35-a6b1-5c93e2d8f471"  # user level: one reviewer adopts it


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
        # Two adopted proposals, so the Editor tab shows what waits to be committed.
        for reviewer in ("Amara Okafor", "Priya Raman"):
            governance.record_decision(
                ws, SUPPORTED, "adopt", reviewer,
                "86% of the crowd supports it, in every country; it narrows a refusal without touching the "
                "prohibition on targeting individuals or groups.", None,
            )
        governance.record_decision(
            ws, MULTI_SECTION, "adopt", "Jonas Lindqvist",
            "A clarification the crowd leans towards; the jirga example shows the respect asked for.", None,
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
    window.evidence_view.grab().save(str(out / "evidence-view.png"))
    saved = ["review-desk.png", "decision-panel.png", "evidence-view.png"]

    # The conversation behind the first supporting justification.
    row = window.evidence_view.models["supports"].row_at(0)
    if row is not None:
        window.conversation_dialog.open_conversation(row.conversation_id, row.justification_id)
        window.conversation_dialog.resize(1100, 900)
        settle(1200)
        window.conversation_dialog.grab().save(str(out / "conversation-view.png"))
        window.conversation_dialog.close()
        saved.append("conversation-view.png")

    for index, name in ((1, "main-window-sections.png"), (2, "editor-view.png"), (3, "auditor-view.png"),
                        (4, "agreement-chart.png")):
        window.tabs.setCurrentIndex(index)
        settle(2500)
        if index == 1:  # a section the demo's proposals change, rendered
            section = window.section_model.index_of("avoid_targeted_political_manipulation")
            window.section_tree.setCurrentIndex(section)
            window.section_tree.scrollTo(section)
            settle(800)
        window.grab().save(str(out / name))
        saved.append(name)
    try:
        window.agreement_view.export_png(out / "agreement-chart-export.png")
        saved.append("agreement-chart-export.png")
    except Exception as exc:  # nothing computed yet: say so, keep the other pictures
        print(f"agreement chart not exported: {exc}")

    from ui.views.import_dialog import ImportDialog
    from ui.views.model_settings import ModelSettingsDialog

    for name, dialog in (("import-dialog.png", ImportDialog(window.lane, window)),
                         ("model-settings.png", ModelSettingsDialog(folder, window))):
        dialog.show()
        settle(600)
        dialog.grab().save(str(out / name))
        dialog.close()
        saved.append(name)
    window.close()
    print(f"saved {', '.join(saved)} in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
