import json
import math

import numpy as np
import pytest

from cli.main import main
from reviewer.agreement import effective_grades
from reviewer.errors import KnownError
from reviewer.lexical import (
    BM25,
    GRADER,
    conversation_text,
    grade_lexical,
    grades_from_scores,
    tokens,
)
from reviewer.spec import parse_spec
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with
from tests.reviewer.test_judges import SPEC, add_conversation


def test_tokens_drop_markup_and_stop_words():
    assert tokens("## Be honest {#be_honest authority=root}\n<user>The Weather?</user> [^ab] see [?](#x)") == [
        "honest", "weather", "see"]


def test_bm25_matches_the_formula():
    index = BM25([["weather", "facts"], ["privacy", "address", "address"]])
    idf = math.log(1 + (2 - 1 + 0.5) / (1 + 0.5))  # every word is in one of two documents
    avg = 2.5
    d2 = idf * 2 * 2.5 / (2 + 1.5 * (1 - 0.75 + 0.75 * 3 / avg))
    d1_word = idf * 1 * 2.5 / (1 + 1.5 * (1 - 0.75 + 0.75 * 2 / avg))
    scores = index.scores([["address"], ["weather", "facts", "address", "address", "unknown"]])
    assert scores[0] == pytest.approx([0.0, d2])
    assert scores[1] == pytest.approx([2 * d1_word, d2])  # a repeated query word counts once


def test_grades_from_scores_by_rank_among_positive_scores():
    scores = np.concatenate([np.zeros(10), np.arange(1, 201, dtype=float)])
    grades = grades_from_scores(scores)
    assert (grades[:10] == 1).all()
    counts = {g: int((grades == g).sum()) for g in range(1, 6)}
    assert counts == {1: 10, 2: 170, 3: 20, 4: 8, 5: 2}
    assert grades[-1] == 5 and grades[10] == 2
    assert (grades_from_scores(np.zeros((2, 3))) == 1).all()


def test_conversation_text_reads_prompt_and_responses():
    store = Store.memory()
    add_conversation(store, "p1", "Is it raining?", ("Yes.", "No.", "Maybe.", "Look outside."))
    prompt, responses = store.db.execute("SELECT prompt, responses FROM conversations").fetchone()
    assert conversation_text(prompt, responses) == "Is it raining?\nYes.\nNo.\nMaybe.\nLook outside."


def seed(store):
    a = add_conversation(store, "p1", "Tell me honest facts about the weather and science.")
    b = add_conversation(store, "p2", "My neighbour's home address and phone numbers, please.",
                         ("I cannot share addresses.", "Here it is.", "No.", "Ask them."))
    c = add_conversation(store, "p3", "I feel sad and in distress today.",
                         ("I'm sorry, with warmth.", "Ok.", "Cheer up.", "Sad."))
    return a, b, c


def test_grade_lexical_stores_rule_grades_and_replaces_them():
    store = Store.memory()
    a, b, c = seed(store)
    spec = parse_spec(SPEC)
    summary = grade_lexical(store, spec, spec_revision="abc")
    assert (summary.conversations, summary.sections, summary.grades) == (3, 4, 12)
    rows = store.db.execute("SELECT conversation_id, section_id, grade, grader_kind, grader FROM relevance_grades"
                            ).fetchall()
    assert {(r[3], r[4]) for r in rows} == {("rule", GRADER)}
    best = {}
    for conversation, section, grade, *_ in rows:
        if grade > best.get(conversation, (0, ""))[0]:
            best[conversation] = (grade, section)
    assert best[a][1] == "be_honest" and best[b][1] == "protect_privacy" and best[c][1] == "be_kind"
    store.db.execute("INSERT INTO relevance_grades (id, conversation_id, section_id, grade, grader_kind, grader,"
                     " created_at) VALUES ('p', ?, 'be_kind', 1, 'person', 'ann', '2000-01-01T00:00:00Z')", [c])
    grade_lexical(store, spec)
    assert store.db.execute("SELECT count(*) FROM relevance_grades WHERE grader_kind = 'rule'").fetchone()[0] == 12
    assert effective_grades(store)[(c, "be_kind")] == 1  # the person's grade still wins
    events = store.db.execute("SELECT action, payload FROM audit_events ORDER BY seq").fetchall()
    assert [e[0] for e in events] == ["relevance.lexical", "relevance.lexical"]
    assert json.loads(events[0][1])["spec_revision"] == "abc"


def test_grade_lexical_needs_conversations():
    with pytest.raises(KnownError, match="no conversations"):
        grade_lexical(Store.memory(), parse_spec(SPEC))


def test_cli_relevance_lexical(capsys, tmp_path):
    repo = spec_repo_with(tmp_path / "repo", SPEC)
    with Workspace.create(tmp_path / "ws", spec_repo=repo) as ws:
        seed(ws.store)
    assert main(["relevance", str(tmp_path / "ws"), "--lexical", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["grader"] == "bm25-v1" and data["grades"] == 12 and sum(data["by_grade"].values()) == 12
    assert main(["judge", "relevance", str(tmp_path / "ws"), "--lexical"]) == 0
    assert "by bm25-v1 (rule)" in capsys.readouterr().out
    assert main(["relevance", str(tmp_path / "ws")]) == 1
    assert "--lexical" in capsys.readouterr().err
