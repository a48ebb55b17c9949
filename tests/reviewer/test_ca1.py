import hashlib
import io
import json

import pytest

from cli.crowd import TextProgress
from cli.main import main
from reviewer import audit
from reviewer.ca1 import (
    CONFLICTS_KEY,
    assessment_id,
    conversation_id,
    detect_kind,
    import_ca1,
    justification_id,
    participant_id,
)
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.importing import fast_stable_id, list_quarantine
from reviewer.progress import Cancelled
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with

SPANISH = "La respuesta B respeta mi autonomía y explica los riesgos sin sermonear."
JAPANESE = "回答Cは丁寧ですが、質問に直接答えていません。"
ARABIC = "الإجابة A هي الأفضل لأنها تحترم ثقافتي وتشرح المخاطر بوضوح."


# ---- builders for files in the CA-1 format ---------------------------------------------------


def responses():
    return [{"response_index": letter, "messages": [{"role": "assistant", "content": f"Answer {letter}"}]}
            for letter in "ABCD"]


def assessment(annotator, prompt, *, world="A>B>C>D", world_why="Clear and kind.", personal=None,
               unacceptable=None, importance="Very important", **extra):
    blocks = {"world": [{"ranking": world, "rationale": world_why}]}
    if personal is not None:
        blocks["personal"] = [{"ranking": personal[0], "rationale": personal[1]}]
    if unacceptable is not None:
        blocks["unacceptable"] = [{"rating": unacceptable[0], "rationale": unacceptable[1]}]
    return {
        "annotator_id": annotator, "conversation_id": prompt, "importance": importance,
        "representativeness": "It is very likely that I would ask a question like this to an AI chatbot.",
        "subjectivity": "It depends on values or culture", "ranking_blocks": blocks, **extra,
    }


def comparison(prompt, assessments=(), **extra):
    return {"prompt_id": prompt, "prompt": {"id": prompt, "messages": [{"role": "user", "content": f"Question {prompt}"}]},
            "responses": responses(), "metadata": {"assessments": list(assessments)}, **extra}


def annotator(annotator_id, assessments=(), **extra):
    demographics = {"age": "25-34", "country_of_residence": "Mexico", "ideal-model-behavior": "Honest."}
    return {"annotator_id": annotator_id, "demographics": demographics, "assessments": list(assessments), **extra}


def write_jsonl(path, lines):
    with open(path, "wb") as handle:
        for line in lines:
            if isinstance(line, bytes):
                handle.write(line + b"\n")
            elif isinstance(line, str):
                handle.write(line.encode("utf-8") + b"\n")
            else:
                handle.write(json.dumps(line, ensure_ascii=False).encode("utf-8") + b"\n")
    return path


def release(tmp_path, name="rel"):
    """A small release: 2 prompts, 3 annotators, 5 assessments with ties, blocks and three scripts."""
    folder = tmp_path / name
    folder.mkdir()
    a = {
        ("p1", "u1"): assessment("u1", "p1", world="A>C=B>D", world_why=SPANISH, personal=("B>A>C>D", JAPANESE),
                                 unacceptable=(["D is unacceptable"], ARABIC)),
        ("p1", "u2"): assessment("u2", "p1", world="B>A>C>D"),
        ("p2", "u1"): assessment("u1", "p2", world="D=C=B=A"),
        ("p2", "u2"): assessment("u2", "p2", personal=("A>B>C>D", "Me.")),
        ("p2", "u3"): assessment("u3", "p2", unacceptable=(["A is unacceptable", "B is unacceptable"], "Both rude.")),
    }
    comparisons = write_jsonl(folder / "comparisons.jsonl", [
        comparison("p1", [a["p1", "u1"], a["p1", "u2"]]),
        comparison("p2", [a["p2", "u1"], a["p2", "u2"], a["p2", "u3"]]),
    ])
    annotators = write_jsonl(folder / "annotators.jsonl", [
        annotator(u, [v for (p, w), v in a.items() if w == u]) for u in ("u1", "u2", "u3")
    ])
    return comparisons, annotators


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "w.db", create=True)
    yield s
    s.close()


def table(store, name, order="id"):
    return store.db.execute(f"SELECT * FROM {name} ORDER BY {order}").fetchall()


def counts(store):
    return {t: store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("conversations", "participants", "assessments", "justifications", "quarantine", "audit_events")}


# ---- the happy path --------------------------------------------------------------------------


def test_ids_follow_the_agreed_convention():
    for parts in [("ca1", "conversation", "p1"), ("ca1", "justification", "日本", "u", "world", "0"), ("x",)]:
        assert fast_stable_id(*parts) == stable_id(*parts)
    assert conversation_id("p1") == stable_id("ca1", "conversation", "p1")
    assert participant_id("u1") == stable_id("ca1", "participant", "u1")
    assert assessment_id("p1", "u1") == stable_id("ca1", "assessment", "p1", "u1")
    assert justification_id("p1", "u1", "personal", 0) == stable_id("ca1", "justification", "p1", "u1", "personal", "0")


def test_release_is_imported_exactly(store, tmp_path):
    comparisons, annotators = release(tmp_path)
    summary = import_ca1(store, [comparisons, annotators])
    assert summary.added == {"conversations": 2, "participants": 3, "assessments": 5, "justifications": 9}
    assert summary.quarantined == 0
    assert summary.unchanged["assessments"] == 5  # the copies in annotators.jsonl are the same assessments
    assert summary.updated["participants"] == 3  # known by id from comparisons, completed by annotators

    conv = store.db.execute("SELECT source, source_id, prompt, responses FROM conversations WHERE id = ?",
                            [conversation_id("p1")]).fetchone()
    assert conv[:2] == ("ca1", "p1")
    assert json.loads(conv[2]) == {"id": "p1", "messages": [{"role": "user", "content": "Question p1"}]}
    assert json.loads(conv[3]) == responses()

    row = store.db.execute(
        "SELECT conversation_id, participant_id, importance, personal_ranking, world_ranking, unacceptable, extra"
        " FROM assessments WHERE id = ?", [assessment_id("p1", "u1")]).fetchone()
    assert row[:3] == (conversation_id("p1"), participant_id("u1"), "Very important")
    assert row[3:5] == ("B>A>C>D", "A>B=C>D")  # ties parsed exactly, tied letters in canonical order
    assert json.loads(row[5]) == ["D is unacceptable"]
    assert json.loads(row[6]) == {}
    tie = store.db.execute("SELECT world_ranking FROM assessments WHERE id = ?", [assessment_id("p2", "u1")]).fetchone()
    assert tie[0] == "A=B=C=D"

    justs = store.db.execute(
        "SELECT block, position, ranking, text, language FROM justifications WHERE assessment_id = ?"
        " ORDER BY block", [assessment_id("p1", "u1")]).fetchall()
    assert justs == [
        ("personal", 0, "B>A>C>D", JAPANESE, None),
        ("unacceptable", 0, '["D is unacceptable"]', ARABIC, None),
        ("world", 0, "A>B=C>D", SPANISH, None),
    ]
    assert store.db.execute("SELECT id FROM justifications WHERE text = ?", [ARABIC]).fetchone()[0] == \
        justification_id("p1", "u1", "unacceptable", 0)
    demo = store.db.execute("SELECT demographics FROM participants WHERE id = ?", [participant_id("u3")]).fetchone()
    assert json.loads(demo[0])["country_of_residence"] == "Mexico"


def test_audit_event_records_files_with_hashes_and_counts(store, tmp_path):
    comparisons, annotators = release(tmp_path)
    summary = import_ca1(store, [comparisons, annotators], actor="Ana")
    events = store.db.execute("SELECT actor, action, object_id, payload FROM audit_events").fetchall()
    assert len(events) == 1
    actor, action, object_id, payload = events[0]
    assert (actor, action, object_id) == ("Ana", "import.ca1", summary.import_id)
    data = json.loads(payload)
    assert [(f["path"], f["kind"], f["sha256"]) for f in data["files"]] == [
        (str(comparisons), "comparisons", hashlib.sha256(comparisons.read_bytes()).hexdigest()),
        (str(annotators), "annotators", hashlib.sha256(annotators.read_bytes()).hexdigest()),
    ]
    assert data["added"]["assessments"] == 5 and data["quarantined"] == 0
    assert audit.verify_chain(store.db).ok


def test_files_in_any_order_give_the_same_rows(tmp_path):
    comparisons, annotators = release(tmp_path)
    queries = [
        "SELECT id, source, source_id, prompt, responses, extra, content_hash FROM conversations ORDER BY id",
        "SELECT id, source, source_id, demographics, extra, content_hash FROM participants ORDER BY id",
        "SELECT id, conversation_id, participant_id, importance, representativeness, subjectivity,"
        " personal_ranking, world_ranking, unacceptable, extra, content_hash FROM assessments ORDER BY id",
        "SELECT id, assessment_id, block, position, ranking, text, language, extra FROM justifications ORDER BY id",
    ]
    results = []
    for name, files in (("a", [comparisons, annotators]), ("b", [annotators, comparisons])):
        s = Store.open(tmp_path / f"{name}.db", create=True)
        summary = import_ca1(s, files)
        assert summary.quarantined == 0
        assert [f.kind for f in summary.files] == ["comparisons", "annotators"]  # comparisons always first
        results.append([s.db.execute(q).fetchall() for q in queries])
        s.close()
    assert results[0] == results[1]
    assert [len(rows) for rows in results[0]] == [2, 3, 5, 9]


def test_kinds_are_recognised_by_content_then_name(tmp_path):
    comparisons, annotators = release(tmp_path)
    renamed = tmp_path / "release-2.jsonl"
    renamed.write_bytes(annotators.read_bytes())
    assert detect_kind(renamed) == "annotators"
    assert detect_kind(comparisons) == "comparisons"
    broken = write_jsonl(tmp_path / "merged_comparisons_annotators.jsonl", ["{not json"])
    assert detect_kind(broken) == "merged"
    unknown = write_jsonl(tmp_path / "x.jsonl", ['{"hello": 1}'])
    with pytest.raises(KnownError, match="Cannot tell"):
        detect_kind(unknown)


def test_missing_optional_blocks_and_fields(store, tmp_path):
    bare = {"annotator_id": "u1", "conversation_id": "p1", "ranking_blocks": {"world": [{"ranking": "A>B>C>D"}]}}
    none = {"annotator_id": "u2", "conversation_id": "p1"}
    path = write_jsonl(tmp_path / "comparisons.jsonl", [comparison("p1", [bare, none])])
    summary = import_ca1(store, [path])
    assert summary.quarantined == 0 and summary.added["assessments"] == 2
    row = store.db.execute("SELECT importance, representativeness, subjectivity, personal_ranking, world_ranking,"
                           " unacceptable FROM assessments WHERE id = ?", [assessment_id("p1", "u1")]).fetchone()
    assert row == (None, None, None, None, "A>B>C>D", "[]")
    assert store.db.execute("SELECT text FROM justifications").fetchall() == [("",)]
    row = store.db.execute("SELECT world_ranking FROM assessments WHERE id = ?", [assessment_id("p1", "u2")]).fetchone()
    assert row == (None,)


def test_unknown_keys_are_kept_with_their_rows(store, tmp_path):
    entry = {"ranking": "A>B>C>D", "rationale": "ok", "confidence": 0.8, "language": "es"}
    odd = assessment("u1", "p1", time_spent=42)
    odd["ranking_blocks"]["world"] = [entry]
    odd["ranking_blocks"]["rubric"] = [{"item": "tone", "score": 3}]
    comparisons = write_jsonl(tmp_path / "comparisons.jsonl", [
        comparison("p1", [odd], source="round-1", metadata={"assessments": [odd], "batch": 7}),
    ])
    annotators = write_jsonl(tmp_path / "annotators.jsonl", [annotator("u1", [], cohort="B")])
    merged_line = {k: v for k, v in assessment("u2", "p1").items() if k != "conversation_id"}
    merged_line |= {"prompt_id": "p1", "demographics": {"age": "65+"}, "prompt_text": "Question p1"}
    merged = write_jsonl(tmp_path / "merged_comparisons_annotators.jsonl", [merged_line])
    summary = import_ca1(store, [merged, annotators, comparisons])
    assert summary.quarantined == 0
    conv_extra = json.loads(store.db.execute("SELECT extra FROM conversations").fetchone()[0])
    assert conv_extra == {"source": "round-1", "metadata": {"batch": 7}}
    extra = json.loads(store.db.execute("SELECT extra FROM assessments WHERE id = ?",
                                        [assessment_id("p1", "u1")]).fetchone()[0])
    assert extra == {"time_spent": 42, "ranking_blocks": {"rubric": [{"item": "tone", "score": 3}]}}
    just = store.db.execute("SELECT language, extra FROM justifications WHERE assessment_id = ?",
                            [assessment_id("p1", "u1")]).fetchone()
    assert just[0] == "es" and json.loads(just[1]) == {"confidence": 0.8}
    part = store.db.execute("SELECT extra FROM participants WHERE id = ?", [participant_id("u1")]).fetchone()
    assert json.loads(part[0]) == {"cohort": "B"}
    merged_extra = json.loads(store.db.execute("SELECT extra FROM assessments WHERE id = ?",
                                               [assessment_id("p1", "u2")]).fetchone()[0])
    assert merged_extra == {"prompt_text": "Question p1"}
    demo = store.db.execute("SELECT demographics FROM participants WHERE id = ?", [participant_id("u2")]).fetchone()
    assert json.loads(demo[0]) == {"age": "65+"}


# ---- bad rows --------------------------------------------------------------------------------


def test_each_kind_of_bad_row_is_quarantined_with_its_line(store, tmp_path):
    good = comparison("p1", [assessment("u1", "p1")])
    bad_ranking = assessment("u2", "p1", world="A>B>C", personal=("A>B>C>D", "fine"))
    no_annotator = {k: v for k, v in assessment("u3", "p1").items() if k != "annotator_id"}
    comparisons = write_jsonl(tmp_path / "comparisons.jsonl", [
        good,                                                        # 1
        '{"prompt_id": "p2", "prompt": ',                            # 2 invalid JSON
        comparison("p3", [bad_ranking, no_annotator, assessment("u4", "p3")]),  # 3 two bad items, one good
        {k: v for k, v in comparison("p4").items() if k != "prompt_id"},       # 4 missing id
        json.dumps(comparison("p5", [assessment("u5", "p5", world_why="caf\u00e9")]),
                   ensure_ascii=False).encode("utf-8").replace("caf\u00e9".encode(), b"caf\xe9"),  # 5 Latin-1 byte
        "",                                                          # 6 blank: skipped, still counted
        '["not", "an", "object"]',                                   # 7
        json.dumps(comparison("p8", [assessment("u8", "p8", world_why="x\ud800y")])),  # 8 lone surrogate escape
        {**comparison("p9"), "responses": responses()[:3]},          # 9 three responses
        '{"prompt_id": "p10", "score": NaN}',                       # 10 not JSON, though Python reads it
        {**comparison("p11"), "responses": [{"response_index": ["A"]}] * 4},  # 11
    ])
    annotators = write_jsonl(tmp_path / "annotators.jsonl", [
        annotator("u1", [assessment("u1", "p1"), assessment("u1", "nope")]),  # 1 unknown conversation
    ])
    summary = import_ca1(store, [comparisons, annotators])
    found = {(e.file.rsplit("/", 1)[-1], e.line, e.item): e.reason for e in list_quarantine(store)}
    assert set(found) == {
        ("comparisons.jsonl", 2, None),
        ("comparisons.jsonl", 3, "metadata.assessments[0]"),
        ("comparisons.jsonl", 3, "metadata.assessments[1]"),
        ("comparisons.jsonl", 4, None),
        ("comparisons.jsonl", 5, None),
        ("comparisons.jsonl", 7, None),
        ("comparisons.jsonl", 8, None),
        ("comparisons.jsonl", 9, None),
        ("comparisons.jsonl", 10, None),
        ("comparisons.jsonl", 11, None),
        ("annotators.jsonl", 1, "assessments[1]"),
    }
    assert found["comparisons.jsonl", 10, None] == "invalid JSON: NaN is not a JSON value"
    assert "four responses" in found["comparisons.jsonl", 11, None]
    assert found["comparisons.jsonl", 2, None].startswith("invalid JSON")
    assert "not a permutation" in found["comparisons.jsonl", 3, "metadata.assessments[0]"]
    assert found["comparisons.jsonl", 3, "metadata.assessments[1]"] == "missing annotator_id"
    assert found["comparisons.jsonl", 4, None] == "missing prompt_id"
    assert found["comparisons.jsonl", 5, None].startswith("not UTF-8 text (byte 0xe9")
    assert found["comparisons.jsonl", 7, None] == "not a JSON object"
    assert "lone surrogate" in found["comparisons.jsonl", 8, None]
    assert "four responses" in found["comparisons.jsonl", 9, None]
    assert "unknown conversation 'nope'" in found["annotators.jsonl", 1, "assessments[1]"]
    assert summary.quarantined == summary.quarantined_new == 11
    assert [(p.line, p.item) for p in summary.first_problems] == [
        (2, None), (3, "metadata.assessments[0]"), (3, "metadata.assessments[1]"), (4, None), (5, None)]
    # The good rows around the bad ones are in; nothing of a bad row is (no half-written assessment).
    assert summary.added["conversations"] == 2  # p1 and p3
    assert {r[0] for r in store.db.execute("SELECT source_id FROM conversations")} == {"p1", "p3"}
    assert store.db.execute("SELECT count(*) FROM assessments WHERE id = ?", [assessment_id("p3", "u2")]).fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM justifications WHERE assessment_id = ?",
                            [assessment_id("p3", "u2")]).fetchone()[0] == 0
    assert store.db.execute("SELECT count(*) FROM assessments").fetchone()[0] == 2  # p1/u1 and p3/u4
    raw5 = next(e.raw for e in list_quarantine(store) if e.line == 5)
    assert "caf\\xe9" in raw5  # the bad byte is kept, visibly
    assert json.loads(next(e.raw for e in list_quarantine(store) if e.item == "metadata.assessments[0]")) == bad_ranking


def test_strict_mode_writes_nothing(store, tmp_path):
    comparisons, annotators = release(tmp_path)
    bad = write_jsonl(tmp_path / "more_comparisons.jsonl", [comparison("p9"), '{"prompt_id": '])
    with pytest.raises(KnownError, match=r"more_comparisons.jsonl:2: invalid JSON.*nothing was imported"):
        import_ca1(store, [comparisons, annotators, bad], strict=True)
    assert counts(store) == {k: 0 for k in counts(store)}
    # A bad ranking deep inside a line fails the same way.
    bad_item = write_jsonl(tmp_path / "c2.jsonl", [comparison("p1", [assessment("u1", "p1", world="A>A>B>C")])])
    with pytest.raises(KnownError, match=r"c2.jsonl:1 \(metadata.assessments\[0\]\).*not a permutation"):
        import_ca1(store, [bad_item], strict=True)
    assert counts(store) == {k: 0 for k in counts(store)}
    # And without --strict the same files import, keeping the bad rows aside.
    summary = import_ca1(store, [comparisons, annotators, bad, bad_item])
    assert summary.quarantined == 2


def test_reimport_adds_nothing_but_its_audit_event(store, tmp_path):
    comparisons, annotators = release(tmp_path)
    broken = write_jsonl(tmp_path / "c3.jsonl", [comparison("p7"), "{oops"])
    first = import_ca1(store, [comparisons, annotators, broken])
    before = counts(store)
    snapshot = {t: table(store, t) for t in ("conversations", "participants", "assessments", "justifications", "quarantine")}
    second = import_ca1(store, [annotators, broken, comparisons])
    after = counts(store)
    # A no-op import still logs one event: it records which files (by hash) were brought in.
    assert after == {**before, "audit_events": before["audit_events"] + 1}
    assert {t: table(store, t) for t in snapshot} == snapshot
    assert all(v == 0 for v in second.added.values())
    assert all(v == 0 for v in second.updated.values())
    assert second.unchanged["conversations"] == first.added["conversations"]
    assert second.unchanged["assessments"] == 10 and second.unchanged["participants"] == 3
    assert second.unchanged["justifications"] == 18
    assert (second.quarantined, second.quarantined_new) == (1, 0)
    event = json.loads(store.db.execute("SELECT payload FROM audit_events ORDER BY seq DESC").fetchone()[0])
    assert event["added"] == second.added and event["quarantined"] == 1
    assert audit.verify_chain(store.db).ok


def test_larger_release_adds_only_what_is_new(store, tmp_path):
    old = write_jsonl(tmp_path / "comparisons.jsonl", [comparison("p1", [assessment("u1", "p1")])])
    import_ca1(store, [old])
    created = store.db.execute("SELECT id, created_at FROM assessments").fetchall()
    bigger = write_jsonl(tmp_path / "comparisons-v2.jsonl", [
        comparison("p1", [assessment("u1", "p1"), assessment("u2", "p1", personal=("A>B>C>D", "mine"))]),
        comparison("p2", [assessment("u1", "p2")]),
    ])
    summary = import_ca1(store, [bigger])
    assert summary.added == {"conversations": 1, "participants": 1, "assessments": 2, "justifications": 3}
    assert summary.unchanged["conversations"] == 1 and summary.unchanged["assessments"] == 1
    assert store.db.execute("SELECT id, created_at FROM assessments WHERE id = ?", [created[0][0]]).fetchall() == created


def test_conflicting_copy_keeps_the_first_and_records_the_difference(store, tmp_path):
    first = assessment("u1", "p1", world="A>B>C>D", importance="Very important")
    second = assessment("u1", "p1", world="D>C>B>A", importance="Not important")
    same_but_written_differently = assessment("u2", "p1", world="A>C=B>D")
    comparisons = write_jsonl(tmp_path / "comparisons.jsonl", [
        comparison("p1", [first, assessment("u2", "p1", world="A>B=C>D")])])
    annotators = write_jsonl(tmp_path / "annotators.jsonl", [annotator("u1", [second]),
                                                            annotator("u2", [same_but_written_differently])])
    summary = import_ca1(store, [annotators, comparisons])
    assert summary.conflicts["assessments"] == 1
    assert summary.unchanged["assessments"] == 1  # equal once normalised
    row = store.db.execute("SELECT importance, world_ranking, extra FROM assessments WHERE id = ?",
                           [assessment_id("p1", "u1")]).fetchone()
    assert row[:2] == ("Very important", "A>B>C>D")  # the first copy (comparisons.jsonl) is kept
    records = json.loads(row[2])[CONFLICTS_KEY]
    assert records == [{"file": "annotators.jsonl", "line": 1, "differs": {
        "importance": "Not important", "ranking_blocks.world": [{"ranking": "D>C>B>A", "rationale": "Clear and kind."}]}}]
    assert store.db.execute("SELECT ranking FROM justifications WHERE assessment_id = ?",
                            [assessment_id("p1", "u1")]).fetchall() == [("A>B>C>D",)]
    again = import_ca1(store, [annotators, comparisons])
    assert again.conflicts["assessments"] == 1
    row = store.db.execute("SELECT extra FROM assessments WHERE id = ?", [assessment_id("p1", "u1")]).fetchone()
    assert len(json.loads(row[0])[CONFLICTS_KEY]) == 1  # recorded once


def test_participants_named_by_comparisons_are_completed_later(store, tmp_path):
    comparisons, annotators = release(tmp_path)
    import_ca1(store, [comparisons])
    assert {json.loads(r[0]) == {} for r in store.db.execute("SELECT demographics FROM participants")} == {True}
    summary = import_ca1(store, [annotators])
    assert summary.updated["participants"] == 3 and summary.added["participants"] == 0
    assert all(json.loads(r[0])["age"] == "25-34" for r in store.db.execute("SELECT demographics FROM participants"))


def test_annotators_alone_quarantine_their_assessments(store, tmp_path):
    _comparisons, annotators = release(tmp_path)
    summary = import_ca1(store, [annotators])
    assert summary.added["participants"] == 3 and summary.added["assessments"] == 0
    assert summary.quarantined == 5
    assert {e.reason for e in list_quarantine(store)} == {
        "assessment of unknown conversation 'p1'", "assessment of unknown conversation 'p2'"}


def test_empty_file_and_crlf_and_bom(store, tmp_path):
    empty = tmp_path / "comparisons.jsonl"
    empty.write_bytes(b"")
    summary = import_ca1(store, [empty])
    assert [(f.kind, f.lines, f.bytes) for f in summary.files] == [("empty", 0, 0)]
    assert summary.added["conversations"] == 0 and counts(store)["audit_events"] == 1
    windows = tmp_path / "annotators_win.jsonl"
    line = json.dumps(comparison("p1", [assessment("u1", "p1")])).encode()
    windows.write_bytes(b"\xef\xbb\xbf" + line + b"\r\n\r\n")
    summary = import_ca1(store, [windows])
    assert summary.quarantined == 0 and summary.added["assessments"] == 1


def test_missing_file_writes_nothing(store, tmp_path):
    comparisons, _ = release(tmp_path)
    with pytest.raises(KnownError, match="does not exist"):
        import_ca1(store, [comparisons, tmp_path / "missing.jsonl"])
    with pytest.raises(KnownError, match="is not a file"):
        import_ca1(store, [tmp_path])
    assert counts(store) == {k: 0 for k in counts(store)}


class CancelAfter:
    def __init__(self, ticks):
        self.ticks = ticks
        self.started = self.finished = 0

    def start(self, total, label=""):
        self.started += 1

    def tick(self, amount=1):
        self.ticks -= 1
        if self.ticks < 0:
            raise Cancelled()

    def finish(self):
        self.finished += 1


def test_cancel_rolls_back(store, tmp_path, monkeypatch):
    monkeypatch.setattr("reviewer.importing.CHUNK_BYTES", 64)  # many ticks on a small file
    comparisons, annotators = release(tmp_path)
    progress = CancelAfter(ticks=5)
    with pytest.raises(Cancelled):
        import_ca1(store, [comparisons, annotators], progress=progress)
    assert counts(store) == {k: 0 for k in counts(store)}
    progress = CancelAfter(ticks=10**6)
    summary = import_ca1(store, [comparisons, annotators], progress=progress)
    assert summary.added["assessments"] == 5 and (progress.started, progress.finished) == (1, 1)


def test_text_progress_draws_a_bar():
    out = io.StringIO()
    bar = TextProgress(out, width=10, interval=0)
    bar.start(200, "Importing")
    bar.tick(100)
    bar.finish()
    text = out.getvalue()
    assert "\rImporting [#####-----]  50%" in text
    assert text.endswith("[##########] 100%\n")


# ---- command line ----------------------------------------------------------------------------


def test_cli_import_and_quarantine(tmp_path, capsys):
    repo = spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n")
    Workspace.create(tmp_path / "ws", spec_repo=repo).close()
    comparisons, annotators = release(tmp_path)
    bad = write_jsonl(tmp_path / "more.jsonl", [comparison("p8"), "{"])
    ws = str(tmp_path / "ws")
    assert main(["import", "ca1", ws, str(annotators), str(comparisons), str(bad), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["added"]["assessments"] == 5 and data["quarantined"] == 1
    assert data["first_problems"] == [{"file": str(bad), "line": 2, "item": None,
                                       "reason": "invalid JSON: Expecting property name enclosed in double quotes at column 2"}]
    assert main(["import", "ca1", ws, str(comparisons)]) == 0
    out = capsys.readouterr().out
    assert "assessments" in out and "No bad rows." in out
    assert main(["quarantine", ws, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["line"], r["raw"]) for r in rows] == [(2, "{")]
    assert main(["quarantine", ws]) == 0
    assert capsys.readouterr().out.strip().endswith("more.jsonl:2: invalid JSON: Expecting property name "
                                                    "enclosed in double quotes at column 2")
    code = main(["import", "ca1", ws, str(bad), "--strict"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "more.jsonl:2" in err
    code = main(["import", "ca1", ws, str(tmp_path / "nope.jsonl")])
    assert code == 1 and "does not exist" in capsys.readouterr().err


def test_a_line_nested_200000_deep_is_quarantined_and_the_rest_imported(store, tmp_path):
    deep = '{"prompt_id": ' + "[" * 200_000 + "]" * 200_000 + "}"
    comparisons = write_jsonl(tmp_path / "comparisons.jsonl", [deep, comparison("p1", [assessment("u1", "p1")])])
    summary = import_ca1(store, [comparisons])  # the deep line first: the kind is sniffed past it too
    (entry,) = list_quarantine(store)
    assert entry.line == 1 and entry.reason.startswith("invalid JSON")
    assert summary.added["conversations"] == 1 and summary.added["assessments"] == 1


def test_a_product_file_nested_too_deep_is_refused_naming_its_line(tmp_path):
    from reviewer.formats import read_jsonl

    path = tmp_path / "rankings.jsonl"
    path.write_text('{"ok": 1}\n{"x": ' + "[" * 200_000 + "]" * 200_000 + "}\n")
    with pytest.raises(KnownError, match="line 2: the JSON is nested too deeply"):
        read_jsonl(path)
