"""Builds the wheel from the project's own files only: those git tracks plus new files it does not ignore.

The files are copied to a temporary folder first, so a stale ``build/`` or ``*.egg-info`` in the
checkout never reaches the wheel, and a new file that is not committed yet does.
Used by ``bash scripts/dev package`` and ``tests/test_packaging.py``; runs with any Python 3.11+:

    python packaging/build_wheel.py OUT_DIR      # prints the wheel's path
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def project_files(root: Path = ROOT) -> list[str]:
    """Return the files git tracks or would track (untracked but not ignored), relative to ``root``.

    A tracked file deleted from the working tree is left out: the wheel is built from what is there.

    Raises:
        RuntimeError: ``root`` is not a git checkout, or git is missing.
    """
    try:
        out = subprocess.run(
            # safe.directory: CI may check out as another user than the one running the build.
            ["git", "-c", f"safe.directory={root}", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        raise RuntimeError(f"Cannot list the project's files with git in {root}: {exc} "
                           f"{detail.decode(errors='replace').strip()}") from exc
    names = sorted({name for name in out.decode("utf-8").split("\0") if name})
    return [name for name in names if (root / name).is_file()]


def export(dest: Path, root: Path = ROOT) -> list[str]:
    """Copy the project's files (see ``project_files``) into ``dest``; returns their names."""
    names = project_files(root)
    for name in names:
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    return names


def build_wheel(out_dir: Path, root: Path = ROOT, python: str = sys.executable) -> Path:
    """Build the project's wheel into ``out_dir`` from a clean copy of its files.

    Args:
        out_dir: where the wheel is written (created if needed).
        root: the checkout.
        python: the interpreter whose pip builds it (in an isolated build environment, so
            the setuptools ``[build-system]`` asks for is used, not the caller's).

    Returns:
        The wheel's path.

    Raises:
        RuntimeError: the build failed (with pip's output).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="spec-review-src-") as tmp:
        source, built = Path(tmp) / "src", Path(tmp) / "wheel"
        export(source, root)
        result = subprocess.run(
            [python, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
             "-w", str(built), str(source)],
            capture_output=True, text=True,
        )
        wheels = sorted(built.glob("spec_review-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            raise RuntimeError(f"Building the wheel failed (exit {result.returncode}, wheels {wheels}):\n"
                               f"{result.stdout}\n{result.stderr}")
        return Path(shutil.move(wheels[0], out_dir / wheels[0].name))


def main(argv: list[str]) -> int:
    """Build the wheel into the folder named by ``argv[0]`` and print its path."""
    if len(argv) != 1:
        sys.stderr.write("usage: python packaging/build_wheel.py OUT_DIR\n")
        return 2
    try:
        wheel = build_wheel(Path(argv[0]).resolve())
    except RuntimeError as exc:
        sys.stderr.write(f"build_wheel: {exc}\n")
        return 1
    print(wheel)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
