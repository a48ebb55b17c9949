"""Benchmark spec parsing and the section level diff against same-run baselines.

Run: .venv/bin/python benchmarks/bench_spec.py [--releases DIR] [--repeat N]

The releases are the vendored ones in spec_repo/releases/ (one folder per release date).

(a) parse all five real releases and index their sections, against reading the files
    (also shown: the same with every example message read, which parse_spec defers);
(b) parse 2025-04-11 and 2025-09-12 and diff them section by section with word level
    refinement, against ``git diff --no-index --word-diff=porcelain`` on the same files.
    Target: at most 2x git.

Every figure is the best of N runs; the runs of a comparison are interleaved so that a
busy spell of the machine slows both sides alike. Wall-clock time decides the target; CPU
time (ours: this process; git: the child plus the spawning) is shown beside it because
it is much less disturbed by other work on the machine.
"""

from __future__ import annotations

import argparse
import gc
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.diffing import diff_specs  # noqa: E402
from reviewer.spec import SpecDocument, parse_spec  # noqa: E402

RELEASES = [
    "2025-02-12/model_spec.md",
    "2025-04-11/model_spec.md",
    "2025-09-12/model_spec.md",
    "2025-10-27/model_spec.md",
    "2025-12-18/model_spec.md",
]
OLD, NEW = "2025-04-11/model_spec.md", "2025-09-12/model_spec.md"
DIFF_TARGET = 2.0  # (b): at most 2x git


def cpu_seconds() -> float:
    """CPU time used so far by this process and its finished children.

    Returns:
        User plus system seconds.
    """
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def best_of(funcs: dict[str, Callable[[], object]], repeat: int) -> dict[str, tuple[float, float]]:
    """Time functions, interleaved so a slow spell of the machine hits them alike.

    Args:
        funcs: What to run, by name.
        repeat: How many rounds; each round runs every function once.

    Returns:
        For each function its fastest wall-clock run and its smallest CPU time, in ms.
    """
    for func in funcs.values():
        func()  # warm up (imports, regex caches, page cache)
    wall = dict.fromkeys(funcs, float("inf"))
    cpu = dict.fromkeys(funcs, float("inf"))
    gc_was_enabled = gc.isenabled()
    try:
        for _ in range(repeat):
            for name, func in funcs.items():
                gc.collect()
                gc.disable()  # as timeit does: a collection would land on a random run
                cpu_start = cpu_seconds()
                start = time.perf_counter()
                func()
                wall[name] = min(wall[name], time.perf_counter() - start)
                cpu[name] = min(cpu[name], cpu_seconds() - cpu_start)
                gc.enable()
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: (wall[name] * 1000, cpu[name] * 1000) for name in funcs}


def index_sections(doc: SpecDocument) -> int:
    """Index a document's sections by id, as a caller would.

    Args:
        doc: A parsed spec.

    Returns:
        The number of ids found again.
    """
    return sum(doc.get(section_id) is not None for section_id in doc.ids())


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the figures.

    Args:
        argv: Command line arguments (default: sys.argv[1:]).

    Returns:
        0 when the target holds, 1 when it does not, 2 when data or git is missing.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--releases", type=Path, default=ROOT / "spec_repo" / "releases", help="folder of release folders"
    )
    parser.add_argument("--repeat", type=int, default=50, help="runs per figure (best of)")
    args = parser.parse_args(argv)
    data = args.releases
    paths = [data / name for name in RELEASES]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"missing data: {', '.join(missing)}", file=sys.stderr)
        return 2
    git = shutil.which("git")
    if git is None:
        print("git not found on PATH", file=sys.stderr)
        return 2

    def read_all() -> list[str]:
        return [p.read_bytes().decode("utf-8") for p in paths]

    def parse_all() -> int:
        return sum(index_sections(parse_spec(text)) for text in read_all())

    def parse_all_with_messages() -> int:
        total = 0
        for text in read_all():
            doc = parse_spec(text)
            total += index_sections(doc) + len(doc.problems)
            total += sum(len(e.messages) for s in doc.sections for e in s.examples)
        return total

    times = best_of(
        {"read": read_all, "parse": parse_all, "messages": parse_all_with_messages}, args.repeat
    )
    read_ms, parse_ms, full_ms = times["read"][0], times["parse"][0], times["messages"][0]
    print(f"(a) read + parse 5 releases, {parse_all()} sections indexed: {parse_ms:.2f} ms")
    print(f"    baseline read 5 files: {read_ms:.2f} ms -> ratio {parse_ms / read_ms:.1f}x")
    print(
        f"    with every example message read too: {full_ms:.2f} ms "
        f"-> ratio {full_ms / read_ms:.1f}x"
    )

    old_path, new_path = data / OLD, data / NEW

    def section_diff() -> int:
        old = parse_spec(old_path.read_bytes().decode("utf-8"))
        new = parse_spec(new_path.read_bytes().decode("utf-8"))
        return len(diff_specs(old, new).changed())

    command = [git, "diff", "--no-index", "--word-diff=porcelain", str(old_path), str(new_path)]

    def git_word_diff() -> int:
        result = subprocess.run(command, stdout=subprocess.PIPE, check=False)
        if result.returncode not in (0, 1):
            raise SystemExit(f"git diff failed with {result.returncode}")
        return len(result.stdout)

    times = best_of({"git": git_word_diff, "diff": section_diff}, args.repeat)
    (git_ms, git_cpu), (diff_ms, diff_cpu) = times["git"], times["diff"]
    ratio = diff_ms / git_ms
    verdict = "PASS" if ratio <= DIFF_TARGET else "FAIL"
    print(
        f"(b) {OLD} -> {NEW}: read + parse both + diff_specs "
        f"({section_diff()} sections differ, word level): {diff_ms:.2f} ms"
    )
    print(f"    baseline git diff --no-index --word-diff=porcelain: {git_ms:.2f} ms")
    print(f"    ratio {ratio:.2f}x git (target <= {DIFF_TARGET:.1f}x): {verdict}")
    print(
        f"    CPU time: {diff_cpu:.2f} ms vs git {git_cpu:.2f} ms -> ratio "
        f"{diff_cpu / git_cpu:.2f}x (for information)"
    )
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
