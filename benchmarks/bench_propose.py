"""Benchmark the automated loop: candidate generation and re-ranking at concurrency 16 against the ideal.

Run: .venv/bin/python benchmarks/bench_propose.py [--sections N] [--conversations N] [--delay S]
     [--concurrency N] [--candidates N] [--holdout N] [--mode single|batch]

Builds a workspace on the real Model Spec 2025-12-18 (80 sections, 270 KB) with --conversations
synthetic conversations (default 1,000), each graded 5 for each of the first --sections sections
(default 80), three participants' rankings and justifications each, and a ranker run that disagrees
with them. Starts the local test server (tests/fake_openai_server.py --responder loop) in its own
process, answering every request after --delay (default 100 ms), and runs ``propose`` with the real
openai client. Reports, each against what it is measured with in the same run:

- generation and re-ranking wall time against the ideal, calls × delay / concurrency (target ≤ 1.3×),
  and the floor: a sample of the same ranker requests sent by the bare client from a thread pool;
- the share of each section's ranker input tokens that all its ranker requests have in common, at
  their start (target ≥ 90%: what a provider's prompt cache can reuse).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer.ids import new_id, stable_id, utc_now  # noqa: E402
from reviewer.judges.estimates import TokenCounter  # noqa: E402
from reviewer.judges.openai_judge import OpenAIJudge, make_client  # noqa: E402
from reviewer.modelconfig import ApiKey, ModelConfig  # noqa: E402
from reviewer.propose import ProposeOptions, execute_propose, plan_propose  # noqa: E402
from reviewer.resources import resource_path  # noqa: E402
from reviewer.workspace import Workspace  # noqa: E402
from tests.helpers import spec_repo_with  # noqa: E402

TARGET_RATIO = 1.3
TARGET_PREFIX = 0.90
ORDERS = ["A>B>C>D", "B>A>C>D", "A>C>B>D", "D>C>B>A", "C>D>A>B", "A=B>C>D"]


class Recording:
    """Wraps a judge and keeps every request it sends, with the time each phase took."""

    def __init__(self, judge: Any) -> None:
        self.judge, self.model, self.config = judge, judge.model, judge.config
        self.requests: list[Any] = []
        self.first = self.last = 0.0
        self.cpu_first = self.cpu_last = 0.0  # this process's CPU time at the first call and the last answer

    def complete(self, request: Any) -> Any:
        started = time.perf_counter()
        if not self.first:
            self.first, self.cpu_first = started, time.process_time()
        self.requests.append(request)
        reply = self.judge.complete(request)
        self.last = max(self.last, time.perf_counter())
        self.cpu_last = max(self.cpu_last, time.process_time())
        return reply


def build(folder: Path, sections: int, conversations: int) -> Path:
    spec = (resource_path("spec_repo") / "releases" / "2025-12-18" / "model_spec.md").read_text(encoding="utf-8")
    repo = spec_repo_with(folder / "repo", spec)
    ws = Workspace.create(folder / "ws", spec_repo=repo)
    ids = [s.id for s in ws.load_spec().document.sections if s.id][:sections]
    rng = random.Random(7)
    now = utc_now()
    db = ws.store.db
    run_id = new_id()
    with db.atomic():
        db.execute("INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
                   " VALUES (?, 'HEAD', 'bench-ranker', 'ranker-v1', 'judge', ?)", [run_id, now])
        for i in range(conversations):
            pid = f"p{i}"
            cid = stable_id("ca1", "conversation", pid)
            prompt = [{"role": "user", "content": f"Question {i}: how should an assistant answer this request? "
                       + "It asks for advice in a situation where people disagree. " * 8}]
            responses = [{"response_index": letter, "messages": [{"role": "assistant", "content":
                          f"Response {letter} to question {i}. " + "It weighs the request and answers. " * 20}]}
                         for letter in "ABCD"]
            db.execute("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                       " VALUES (?, 'ca1', ?, ?, ?, ?)", [cid, pid, json.dumps(prompt), json.dumps(responses), now])
            db.execute("INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking, reason) VALUES (?, ?, ?, ?, ?)",
                       [new_id(), run_id, cid, rng.choice(ORDERS), "By the spec."])
            for p in range(3):
                annotator = f"a{i}-{p}"
                participant = stable_id("ca1", "participant", annotator)
                assessment = stable_id("ca1", "assessment", pid, annotator)
                world = rng.choice(ORDERS)
                db.execute("INSERT INTO participants (id, source, source_id, created_at) VALUES (?, 'ca1', ?, ?)",
                           [participant, annotator, now])
                db.execute("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                           " VALUES (?, ?, ?, ?, ?)", [assessment, cid, participant, world, now])
                db.execute("INSERT INTO justifications (id, assessment_id, block, position, ranking, text, created_at)"
                           " VALUES (?, ?, 'world', 0, ?, ?, ?)",
                           [stable_id("ca1", "justification", pid, annotator, "world", "0"), assessment, world,
                            f"Participant {p} on question {i}: the best answer respects the person asking. " * 3, now])
            db.conn.executemany(
                "INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader, created_at)"
                " VALUES (?, ?, ?, 5, 'person', 'bench', ?)", [(new_id(), cid, sid, now) for sid in ids])
    ws.close()
    return folder / "ws"


def prefix_share(requests: list[Any], counter: TokenCounter) -> tuple[float, int]:
    """The lowest, over sections, share of input tokens all of a section's ranker requests share at their start."""
    by_section: dict[str, list[Any]] = {}
    for r in requests:
        by_section.setdefault(r.payload["section_id"], []).append(r)
    worst = 1.0
    for group in by_section.values():
        texts = ["".join(m["content"] for m in r.messages) for r in group]
        common = os.path.commonprefix(texts)
        mean = sum(sum(counter.count(m["content"]) for m in r.messages) for r in group) / len(group)
        worst = min(worst, counter.count(common) / mean)
    return worst, len(by_section)


def floor_ratio(judge: Any, requests: list[Any], delay: float, concurrency: int) -> tuple[float, float]:
    """The same requests sent by the bare judge from a plain thread pool (no cache, jobs, parsing or storing):
    what the client, the server and the machine allow, as a ratio to the ideal; and this process's CPU
    seconds per request meanwhile."""
    from concurrent.futures import ThreadPoolExecutor

    started, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(judge.complete, requests))
    return ((time.perf_counter() - started) / (len(requests) * delay / concurrency),
            (time.process_time() - cpu) / len(requests))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sections", type=int, default=80)
    parser.add_argument("--conversations", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=0.1)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--candidates", type=int, default=3, help="candidates per section (default 3)")
    parser.add_argument("--holdout", type=int, default=20)
    parser.add_argument("--mode", choices=("single", "batch"), default="single")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-propose-"))
    t0 = time.perf_counter()
    root = build(folder, args.sections, args.conversations)
    built = time.perf_counter() - t0
    server = subprocess.Popen([sys.executable, str(ROOT / "tests" / "fake_openai_server.py"), "--delay",
                               str(args.delay), "--responder", "loop"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        config = ModelConfig(base_url=f"http://127.0.0.1:{port}/v1", model="bench-proposer", timeout=30, retries=2,
                             concurrency=args.concurrency)
        with Workspace.open(root) as ws:
            t0 = time.perf_counter()
            plan = plan_propose(ws, ProposeOptions(mode=args.mode, max_candidates=args.candidates,
                                                   holdout=args.holdout), config)
            planned = time.perf_counter() - t0
            judge = Recording(OpenAIJudge(make_client(config, ApiKey("test", "test")), config))
            ranker = Recording(OpenAIJudge(make_client(plan.ranker_config, ApiKey("test", "test")),
                                           plan.ranker_config))
            t0 = time.perf_counter()
            summary = execute_propose(ws, plan, judge=judge, ranker=ranker, actor="bench")
            ended = time.perf_counter()
            total = ended - t0
            sample = ranker.requests[:: max(1, len(ranker.requests) // 800)]
            floor, floor_cpu = floor_ratio(ranker.judge, sample, args.delay, args.concurrency)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=30)
    generation_calls = summary.generation.called
    rerank_calls = summary.rerank.called if summary.rerank else 0
    generation_time = judge.last - judge.first
    rerank_time = ranker.last - ranker.first
    ideal_generation = generation_calls * args.delay / args.concurrency
    ideal_rerank = rerank_calls * args.delay / args.concurrency
    ideal = ideal_generation + ideal_rerank
    ratio = total / ideal
    counter = TokenCounter()
    share, sections = prefix_share(ranker.requests, counter)
    print(f"{args.sections} sections x {args.conversations} conversations ({args.mode}, {args.candidates} candidates"
          f" and {args.holdout} held out per section), server delay {args.delay * 1000:.0f} ms, concurrency "
          f"{args.concurrency}; workspace built in {built:.1f} s, planned in {planned:.1f} s")
    print(f"generation: {generation_calls} calls in {generation_time:.1f} s = "
          f"{generation_time / ideal_generation:.2f}x the ideal {ideal_generation:.1f} s")
    print(f"re-ranking: {rerank_calls} calls in {rerank_time:.1f} s = {rerank_time / ideal_rerank:.2f}x the ideal "
          f"{ideal_rerank:.1f} s")
    print(f"outside the calls: {judge.first - t0:.2f} s before the first, {ranker.first - judge.last:.2f} s between "
          f"the phases (checking the candidates, building {rerank_calls} ranker requests), "
          f"{ended - ranker.last:.2f} s after the last (figures, merging, recording)")
    print(f"the whole run (both, checking, recording {len(summary.candidates)} candidates: {summary.kept} kept, "
          f"{summary.merged} merged, {summary.rejected} rejected): {total:.1f} s = {ratio:.2f}x the ideal "
          f"{ideal:.1f} s  target <= {TARGET_RATIO}x: {'PASS' if ratio <= TARGET_RATIO else 'FAIL'}")
    print(f"floor: {len(sample)} of the same ranker requests sent by the bare client from a thread pool took "
          f"{floor:.2f}x their ideal (the client, the server and the machine's load, without the product)")
    rerank_cpu = (ranker.cpu_last - ranker.cpu_first) / max(1, rerank_calls)
    print(f"this process's CPU per ranker call: {rerank_cpu * 1000:.2f} ms in the run, {floor_cpu * 1000:.2f} ms from "
          f"the bare client = {rerank_cpu / floor_cpu:.2f}x (what the product adds to each call, whatever the load)")
    print(f"shared prefix of each section's ranker requests: at least {share * 100:.1f}% of their input tokens "
          f"over {sections} sections  target >= {TARGET_PREFIX * 100:.0f}%: "
          f"{'PASS' if share >= TARGET_PREFIX else 'FAIL'}")
    return 0 if ratio <= TARGET_RATIO and share >= TARGET_PREFIX else 1


if __name__ == "__main__":
    sys.exit(main())
