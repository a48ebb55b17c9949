"""Start-up: app start to first painted window on the demo workspace, against a bare PySide6 QMainWindow.

Both are measured the same way, in fresh processes: from just before the process is started to
the first Paint event of the top-level window (offscreen). Target: at most 3x the bare start.
Also reports the time until the workspace's data is on screen.

    .venv/bin/python benchmarks/bench_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BARE = r"""
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv[:1])
w = QMainWindow()
w.resize(1280, 800)
class F(QObject):
    def eventFilter(self, obj, ev):
        if ev.type() == QEvent.Type.Paint and not getattr(self, "done", False):
            self.done = True
            print(f"first-paint {time.time():.6f}", flush=True)
            QTimer.singleShot(0, w.close)
        return False
f = F(w)
w.installEventFilter(f)
w.show()
app.exec()
"""


def _run(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    start = time.time()
    out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"failed: {' '.join(argv)}\n{out.stderr}")
    marks = {}
    for line in out.stdout.splitlines():
        name, _, value = line.partition(" ")
        if name in ("first-paint", "loaded"):
            marks[name] = float(value) - start
    return marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SPEC_REVIEW_STARTUP_PROBE": "1"}
    with tempfile.TemporaryDirectory() as tmp:
        env["SPEC_REVIEW_HOME"] = str(Path(tmp) / "home")
        workspace = Path(tmp) / "demo"
        subprocess.run([sys.executable, "-m", "cli", "init", str(workspace), "--demo"], check=True,
                       capture_output=True, cwd=ROOT, env=env)
        # One warm-up each, so both read the same files from the page cache.
        _run([sys.executable, "-c", BARE], env)
        _run([sys.executable, "-m", "cli", "gui", str(workspace)], env)
        bare, paint, loaded = [], [], []
        for _ in range(args.runs):
            bare.append(_run([sys.executable, "-c", BARE], env)["first-paint"])
            marks = _run([sys.executable, "-m", "cli", "gui", str(workspace)], env)
            paint.append(marks["first-paint"])
            loaded.append(marks["loaded"])
    b, p, loaded_ms = statistics.median(bare), statistics.median(paint), statistics.median(loaded)
    print(f"runs: {args.runs} each, medians, offscreen, 2-core machine")
    print(f"bare QMainWindow start to first paint:      {b * 1000:7.1f} ms  (baseline 1.00x)")
    print(f"spec-review demo start to first paint:      {p * 1000:7.1f} ms  ({p / b:.2f}x)")
    print(f"spec-review demo start to data on screen:   {loaded_ms * 1000:7.1f} ms  ({loaded_ms / b:.2f}x)")
    verdict = "PASS" if p <= 3 * b else "FAIL"
    print(f"target first paint <= 3x bare: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
