"""Benchmark concurrent model calls: stance labels at concurrency 16 against concurrency 1, same run.

Run: .venv/bin/python benchmarks/bench_judges.py [--labels N] [--delay S] [--concurrency N]

Starts the local test server (tests/fake_openai_server.py) in its own process, answering every
chat-completions request after a fixed delay (default 20 ms), and labels --labels justifications
(default 1,000) with the real openai client through ``run_items``: once at concurrency 1, once at
--concurrency (default 16), each into a fresh workspace database so that nothing is cached.
Target: at least 8x faster at 16 than at 1.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.ids import stable_id, utc_now  # noqa: E402
from reviewer.judges.items import stance_items  # noqa: E402
from reviewer.judges.openai_judge import OpenAIJudge, make_client  # noqa: E402
from reviewer.judges.running import run_items  # noqa: E402
from reviewer.modelconfig import ApiKey, ModelConfig  # noqa: E402
from reviewer.store import Store  # noqa: E402

TARGET = 8.0
PROPOSAL = "11111111-1111-4111-8111-111111111111"


def build(path: Path, labels: int) -> Store:
    store = Store.open(path, create=True)
    now = utc_now()
    conversation = stable_id("ca1", "conversation", "p1")
    with store.db.atomic():
        store.db.execute("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                         " VALUES (?, 'ca1', 'p1', ?, ?, ?)",
                         [conversation, '[{"role": "user", "content": "Where does my neighbour live?"}]',
                          '["I cannot share that.", "At 12 Elm St.", "Ask them.", "No idea."]', now])
        store.db.execute("INSERT INTO proposals (id, title, intent, kind, origin, base_revision, created_at,"
                         " created_by) VALUES (?, 'Privacy', 'Refuse to share private addresses.', 'clarification',"
                         " 'human-first', 'HEAD', ?, 'bench')", [PROPOSAL, now])
        store.db.execute("INSERT INTO proposal_sections (proposal_id, position, section_id, base_text, new_text)"
                         " VALUES (?, 0, 'protect_privacy', '## Privacy {#protect_privacy}\n\nOld.\n',"
                         " '## Privacy {#protect_privacy}\n\nNew.\n')", [PROPOSAL])
        for i in range(labels):
            annotator = f"ann{i}"
            participant = stable_id("ca1", "participant", annotator)
            assessment = stable_id("ca1", "assessment", "p1", annotator)
            store.db.execute("INSERT INTO participants (id, source, source_id, created_at) VALUES (?, 'ca1', ?, ?)",
                             [participant, annotator, now])
            store.db.execute("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking,"
                             " created_at) VALUES (?, ?, ?, 'A>D>C>B', ?)", [assessment, conversation, participant, now])
            store.db.execute(
                "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, created_at)"
                " VALUES (?, ?, 'world', 0, 'A>D>C>B', ?, ?)",
                [stable_id("ca1", "justification", "p1", annotator, "world", "0"), assessment,
                 f"Participant {i} says addresses of private people must never be shared.", now])
        store.db.execute("INSERT INTO proposal_conversations (proposal_id, conversation_id) VALUES (?, ?)",
                         [PROPOSAL, conversation])
    return store


def timed_run(folder: Path, base_url: str, labels: int, concurrency: int) -> tuple[float, int]:
    store = build(folder / f"c{concurrency}.db", labels)
    items = stance_items(store)
    config = ModelConfig(base_url=base_url, model="bench-model", timeout=10, retries=2, concurrency=concurrency)
    judge = OpenAIJudge(make_client(config, ApiKey("test", "test")), config)
    started = time.perf_counter()
    summary = run_items(store, items, judge, config)
    elapsed = time.perf_counter() - started
    stored = store.db.execute("SELECT count(*) FROM stance_labels").fetchone()[0]
    store.close()
    if summary.ok != labels or stored != labels:
        raise SystemExit(f"run at concurrency {concurrency} labelled {summary.ok}/{labels} (stored {stored})")
    return elapsed, summary.called


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--labels", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_openai_server.py"), "--delay",
                               str(args.delay)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        base_url = f"http://127.0.0.1:{port}/v1"
        folder = Path(tempfile.mkdtemp(prefix="bench-judges-"))
        serial, calls = timed_run(folder, base_url, args.labels, 1)
        parallel, _ = timed_run(folder, base_url, args.labels, args.concurrency)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)
    ratio = serial / parallel
    print(f"{args.labels} stance labels, server delay {args.delay * 1000:.0f} ms per reply, {calls} calls per run")
    print(f"concurrency 1:  {serial:6.2f} s  ({args.labels / serial:6.1f} labels/s; the delay alone is "
          f"{args.labels * args.delay:.1f} s)")
    print(f"concurrency {args.concurrency}: {parallel:6.2f} s  ({args.labels / parallel:6.1f} labels/s)")
    print(f"speed-up {ratio:.1f}x  target >= {TARGET:.0f}x: {'PASS' if ratio >= TARGET else 'FAIL'}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
