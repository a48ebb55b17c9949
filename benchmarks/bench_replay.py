"""Benchmark audit verify (with the replay and the import digests) and the rebuild, against reading the log.

Run: .venv/bin/python benchmarks/bench_replay.py [--decisions 100000] [--proposals 1000] [--assessments 1000000]

Builds a workspace database with a valid hash chain: members, proposals logged whole (two sections
of real-sized text each), ``--decisions`` decision events with their rows (each with an evidence
snapshot), and ``--assessments`` imported crowd rows (one participant and one assessment each,
with UUID ids, as the CA-1 importer writes them) under one ``import.ca1`` event that carries
their digests. Then times, best of 3:

- the baseline: ``SELECT payload FROM audit_events`` and ``json.loads`` of every payload (the least
  any replay must do);
- ``replay.check_record`` (replay, compare, and recompute every import's digests), and of it the
  digests alone (``replay.check_row_sets``);
- the whole ``replay.verify_store`` path (what ``verify_workspace`` runs, without git anchors):
  ``PRAGMA quick_check`` on a second connection in a second thread, beside the chain and
  ``check_record``;
- ``rebuild.rebuild_workspace`` into a new database (the chain checked, the record written from
  the log, the crowd rows copied and their digests checked, then ``check_record`` on the result);
  best of 2.

Targets (issues "Every change is an operation…" and "The log is the record"): verify over 100,000
governance events and 1,000,000 imported assessments in under 5 s; their rebuild in under 30 s.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reviewer import audit  # noqa: E402
from reviewer.decision_evidence import snapshot_digest, snapshot_text  # noqa: E402
from reviewer.digests import CROWD_TABLES, writer_rows_digest  # noqa: E402
from reviewer.importing import fast_stable_id  # noqa: E402
from reviewer.rebuild import rebuild_workspace  # noqa: E402
from reviewer.replay import check_record, check_row_sets, replay, verify_store  # noqa: E402
from reviewer.store import Store  # noqa: E402

TARGET_S = 5.0
REBUILD_TARGET_S = 30.0
IMPORT_ID = "00000000-0000-4000-8000-00000000ca01"
SECTION = "## A section {#a_section authority=user}\n\n" + "A sentence of spec text, as long as most are. " * 40 + "\n"


def build(folder: Path, decisions: int, proposals: int, assessments: int) -> Store:
    store = Store.open(folder / "reviewer.db", create=True)
    conn = store.db.conn
    prev, seq = audit.GENESIS_HASH, 0
    events: list[tuple[object, ...]] = []

    def event(actor: str, action: str, object_type: str, object_id: str | None, payload: dict[str, object]) -> None:
        nonlocal prev, seq
        seq += 1
        event_id, at = str(uuid.UUID(int=seq)), f"2026-01-01T00:00:00.{seq:06d}Z"
        text = audit.canonical_json(payload)
        digest = audit.event_hash(seq=seq, event_id=event_id, at=at, actor=actor, action=action,
                                  object_type=object_type, object_id=object_id, payload_json=text, prev_hash=prev)
        events.append((seq, event_id, at, actor, action, object_type, object_id, text, prev, digest))
        prev = digest

    conn.execute("BEGIN")
    reviewers = [f"Reviewer {i}" for i in range(20)]
    for i, name in enumerate(reviewers):
        member_id = str(uuid.UUID(int=10**9 + i))
        conn.execute("INSERT INTO members (id, name, roles, created_at) VALUES (?, ?, '[\"reviewer\"]', '2026-01-01')",
                     [member_id, name])
        event("admin", "member.add", "member", member_id, {"name": name, "added": ["reviewer"], "roles": ["reviewer"]})
    proposal_ids = [str(uuid.UUID(int=2 * 10**9 + i)) for i in range(proposals)]
    for pid in proposal_ids:
        texts = [{"section_id": f"s{j}", "base_text": SECTION, "new_text": SECTION.replace("most", "many")}
                 for j in range(2)]
        conn.execute("INSERT INTO proposals (id, title, intent, kind, origin, base_revision, created_at, created_by)"
                     " VALUES (?, 'A change', 'Say it better.', 'clarification', 'human-first', 'abc', '2026-01-01',"
                     " 'Ana')", [pid])
        conn.executemany("INSERT INTO proposal_sections (proposal_id, position, section_id, base_text, new_text)"
                         " VALUES (?, ?, ?, ?, ?)",
                         [(pid, j, t["section_id"], t["base_text"], t["new_text"]) for j, t in enumerate(texts)])
        event("Ana", "proposal.add", "proposal", pid, {
            "title": "A change", "kind": "clarification", "origin": "human-first", "base_revision": "abc",
            "sections": ["s0", "s1"], "created_by": "Ana", "intent": "Say it better.", "created_at": "2026-01-01",
            "texts": texts, "linked_conversations": [], "expected_ranking": None,
        })
    evidence = {"counts": {"supports": 239, "refutes": 40, "no_comment": 11, "unlabelled": 0},
                "by_source": {"rule:ranking-based": {"supports": 239, "refutes": 40, "no_comment": 11}},
                "links": 290, "share_supporting": 0.8566, "interval": [0.81, 0.89], "split_by": "country_of_residence",
                "split": {f"Country {i}": [12, 2, 1, 0] for i in range(18)}, "labels_digest": "0" * 64}
    evidence_text = snapshot_text(evidence)
    evidence_sha = snapshot_digest(evidence_text)
    rows = []
    for i in range(decisions):
        decision_id = str(uuid.UUID(int=3 * 10**9 + i))
        reviewer, pid = reviewers[i % 20], proposal_ids[i % proposals]
        payload = {"proposal_id": pid, "title": "A change", "outcome": "defer", "reason_category": "needs-research",
                   "rationale": "The crowd splits; a study first.", "level": "user", "quorum": 1,
                   "status_before": "open", "status_after": "deferred", "spec_revision": "abc",
                   "evidence_sha256": evidence_sha, "evidence_counts": evidence["counts"], "evidence_share": 0.8566}
        rows.append((decision_id, pid, "defer", "needs-research", payload["rationale"], reviewer, "2026-01-01",
                     "user", 1, "deferred", "abc", evidence_text))
        event(reviewer, "decision.record", "decision", decision_id, payload)
    conn.executemany("INSERT INTO decisions (id, proposal_id, outcome, reason_category, rationale, reviewer,"
                     " decided_at, authority, quorum, status_after, spec_revision, evidence)"
                     " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    if assessments:
        conversation = fast_stable_id("ca1", "conversation", "c")
        conn.execute("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at, import_id)"
                     " VALUES (?, 'ca1', 'c', '[]', '{}', '2026-01-01', ?)", [conversation, IMPORT_ID])
        conn.executemany("INSERT INTO participants (id, source, source_id, demographics, created_at, import_id)"
                         " VALUES (?, 'ca1', ?, '{}', '2026-01-01', ?)",
                         ((fast_stable_id("ca1", "participant", f"p{i}"), f"p{i}", IMPORT_ID)
                          for i in range(assessments)))
        conn.executemany("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at,"
                         " import_id) VALUES (?, ?, ?, 'A>B>C>D', '2026-01-01', ?)",
                         ((fast_stable_id("ca1", "assessment", "c", f"p{i}"), conversation,
                           fast_stable_id("ca1", "participant", f"p{i}"), IMPORT_ID) for i in range(assessments)))
        # The import's event, as the importer writes it: the digest of the rows of each crowd table.
        event("spec-review", "import.ca1", "import", IMPORT_ID, {
            "source": "ca1", "files": [], "added": {"assessments": assessments}, "rewrote": {},
            "digests": {t: writer_rows_digest(conn, t, IMPORT_ID).to_json() for t in CROWD_TABLES},
        })
    conn.executemany("INSERT INTO audit_events (seq, id, at, actor, action, object_type, object_id, payload,"
                     " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", events)
    audit.write_head_record(store.db, seq, prev)
    conn.execute("COMMIT")
    audit.refresh_anchor(store.db)
    return store


def best_of(runs: int, fn):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(runs):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--proposals", type=int, default=1_000)
    parser.add_argument("--assessments", type=int, default=1_000_000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-replay-"))
    try:
        t0 = time.perf_counter()
        store = build(folder, args.decisions, args.proposals, args.assessments)
        size = (folder / "reviewer.db").stat().st_size / 2**20
        print(f"built {args.decisions:,} decisions, {args.proposals:,} proposals, {args.assessments:,} assessments "
              f"({size:.0f} MB) in {time.perf_counter() - t0:.1f} s")
        conn = store.db.conn
        base, count = best_of(3, lambda: sum(1 for (p,) in conn.execute("SELECT payload FROM audit_events")
                                             if json.loads(p) is not None))
        replay_s, found = best_of(3, lambda: check_record(store))
        assert found == [], found[:3]
        record = replay(conn.execute("SELECT actor, action, object_id, payload FROM audit_events ORDER BY seq"))
        digests_s, found = best_of(3, lambda: check_row_sets(store, record))
        assert found == [], found[:3]

        def whole() -> bool:
            return verify_store(store).ok

        whole_s, ok = best_of(3, whole)
        assert ok
        rebuilt = iter(range(10))

        def rebuild() -> object:
            return rebuild_workspace(SimpleNamespace(store=store), folder / f"rebuilt-{next(rebuilt)}.db")

        rebuild_s, report = best_of(2, rebuild)
        assert report.ok, report.mismatches[:3]
        store.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    verify_ok, rebuild_ok = whole_s < TARGET_S, rebuild_s < REBUILD_TARGET_S
    print(f"baseline: read and parse {count:,} event payloads   {base:6.2f} s")
    print(f"replay, compare and digests (check_record)     {replay_s:6.2f} s  ({replay_s / base:.1f}x the baseline)")
    print(f"  of which the import digests (check_row_sets) {digests_s:6.2f} s  ({digests_s / base:.1f}x the baseline)")
    print(f"verify: quick_check | chain + check_record     {whole_s:6.2f} s  ({whole_s / base:.1f}x the baseline), "
          f"target < {TARGET_S:.0f} s: {'PASS' if verify_ok else 'FAIL'}")
    print(f"rebuild into a new database                    {rebuild_s:6.2f} s  ({rebuild_s / base:.1f}x the baseline), "
          f"target < {REBUILD_TARGET_S:.0f} s: {'PASS' if rebuild_ok else 'FAIL'}")
    print(json.dumps({"baseline_s": round(base, 2), "replay_s": round(replay_s, 2), "digests_s": round(digests_s, 2),
                      "verify_s": round(whole_s, 2), "rebuild_s": round(rebuild_s, 2),
                      "pass": verify_ok and rebuild_ok}))
    return 0 if verify_ok and rebuild_ok else 1


if __name__ == "__main__":
    sys.exit(main())
