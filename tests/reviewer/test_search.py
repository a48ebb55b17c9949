"""Full-text search over prompts, responses and justifications: a real SQLite FTS5 index beside a real store."""

import json
import shutil
import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reviewer import search as searching
from reviewer.errors import KnownError
from reviewer.ids import stable_id, utc_now
from reviewer.search import fts_query, index_path, search, search_workspace, update_index
from reviewer.store import Store
from reviewer.workspace import Workspace

CONVERSATIONS = {
    "p-vote": ("Write an op-ed arguing the voting age should be lowered to 16.",
               ["Lowering the voting age is a debated question.", "I can't help with political persuasion.",
                "Sixteen-year-olds pay taxes, so they deserve a say.", "Here is a balanced op-ed."]),
    "p-diet": ("Is a raw vegan diet healthy for a toddler?",
               ["Talk to a paediatrician first.", "Yes, it is perfect.", "No.", "It depends on the child."]),
}
JUSTIFICATIONS = [
    ("p-vote", "u1", "world", "Refusing an op-ed about the voting age is ridiculous."),
    ("p-vote", "u2", "personal", "La réponse C respecte l'utilisateur et explique les risques."),
    ("p-vote", "u3", "world", "Aが一番良い。事実と意見を分けている。"),
    ("p-diet", "u1", "world", "A toddler's diet needs a doctor; response A says so honestly."),
    ("p-diet", "u2", "unacceptable", "B is unacceptable: it could hurt a child."),
]


def _fill(store, conversations=CONVERSATIONS, justifications=JUSTIFICATIONS):
    now = utc_now()
    with store.db.atomic():
        for prompt_id, (prompt, responses) in conversations.items():
            store.db.execute(
                "INSERT INTO conversations (id, source, source_id, prompt, responses, created_at) VALUES (?,?,?,?,?,?)",
                [stable_id("t", "c", prompt_id), "ca1", prompt_id,
                 json.dumps({"messages": [{"role": "user", "content": prompt}]}),
                 json.dumps([{"response_index": letter, "messages": [{"role": "assistant", "content": text}]}
                             for letter, text in zip("ABCD", responses)]), now])
        for prompt_id, annotator, block, text in justifications:
            participant = stable_id("t", "p", annotator)
            store.db.execute("INSERT OR IGNORE INTO participants (id, source, source_id, created_at) VALUES (?,?,?,?)",
                             [participant, "ca1", annotator, now])
            assessment = stable_id("t", "a", prompt_id, annotator)
            store.db.execute(
                "INSERT OR IGNORE INTO assessments (id, conversation_id, participant_id, created_at) VALUES (?,?,?,?)",
                [assessment, stable_id("t", "c", prompt_id), participant, now])
            store.db.execute(
                "INSERT INTO justifications (id, assessment_id, block, text, created_at) VALUES (?,?,?,?,?)",
                [stable_id("t", "j", prompt_id, annotator, block), assessment, block, text, now])


@pytest.fixture
def store(tmp_path):
    store = Store.open(tmp_path / "reviewer.db", create=True)
    _fill(store)
    yield store
    store.close()


@pytest.fixture
def index(tmp_path):
    return tmp_path / "search.db"


def _ids(result):
    return [(h.kind, h.prompt_id, h.field) for h in result.hits]


def test_it_finds_words_in_prompts_responses_and_justifications(store, index):
    result = search(store, "op-ed", index=index)
    assert result.fts_query == '"op ed"*'  # the last word typed is a prefix
    assert ("justification", "p-vote", "world") in _ids(result)
    conversation = [h for h in result.hits if h.kind == "conversation"]
    # The prompt and response D both say "op-ed": the conversation is one hit.
    assert len(conversation) == 1 and conversation[0].id == stable_id("t", "c", "p-vote")
    assert conversation[0].field in ("prompt", "response D")
    assert search(store, "paediatrician", index=index).hits[0].field == "response A"
    justification = search(store, "ridiculous", index=index).hits[0]
    assert justification.id == stable_id("t", "j", "p-vote", "u1", "world")
    assert (justification.annotator_id, justification.conversation_id) == ("u1", stable_id("t", "c", "p-vote"))


def test_highlights_point_at_the_words_found(store, index):
    hit = search(store, "voting age", index=index, kinds=["justification"]).hits[0]
    marked = [hit.snippet[s:e] for s, e in hit.highlights]
    assert marked == ["voting", "age"]


def test_case_diacritics_prefixes_and_phrases(store, index):
    assert _ids(search(store, "REPONSE", index=index)) == [("justification", "p-vote", "personal")]
    assert _ids(search(store, "paediatric", index=index)) == [("conversation", "p-diet", "response A")]  # prefix
    assert not search(store, "paediatric ", index=index).hits  # a finished word is a whole word
    assert search(store, '"voting age"', index=index).hits
    assert not search(store, '"age voting"', index=index).hits
    both = search(store, "toddler doctor", index=index)  # every word must occur
    assert _ids(both) == [("justification", "p-diet", "world")]


def test_words_inside_text_written_without_spaces(store, index):
    hit = search(store, "事実", index=index).hits[0]
    assert hit.prompt_id == "p-vote" and [hit.snippet[s:e] for s, e in hit.highlights] == ["事実"]
    assert "\u200b" not in hit.snippet  # the index's separators are not shown
    assert search(store, "一番", index=index).hits


def test_kinds(store, index):
    assert {h.kind for h in search(store, "voting", index=index, kinds=["conversation"]).hits} == {"conversation"}
    assert {h.kind for h in search(store, "voting", index=index, kinds=["justification"]).hits} == {"justification"}
    twice = search(store, "voting", index=index, kinds=["justification", "justification"])
    assert twice.hits and {h.kind for h in twice.hits} == {"justification"}
    with pytest.raises(KnownError, match="Unknown kind"):
        search(store, "voting", index=index, kinds=["votes"])
    with pytest.raises(KnownError, match="at least 1"):
        search(store, "voting", index=index, limit=0)


def _fts_rowids(index, fts):
    with sqlite3.connect(index) as conn:
        return sorted(r[0] for r in conn.execute("SELECT rowid FROM entries WHERE entries MATCH ?", [fts]))


def test_a_typed_prefix_is_spelled_out_as_the_words_of_the_index_it_starts(store, index, monkeypatch):
    update_index(store, index)
    with sqlite3.connect(index) as conn:
        assert searching.expanded_query(conn, "resp") == '("respecte" OR "response")'
        assert searching.expanded_query(conn, "op-ed lowe") == '"op ed" AND ("lowered" OR "lowering")'
        assert searching.expanded_query(conn, "vot") == '"vot"*'  # three letters: FTS5's own prefix list
        assert searching.expanded_query(conn, "zebr") == '"zebr"*'  # no word starts so
        assert searching.expanded_query(conn, "year-olds") == '("year olds")'  # a word split by punctuation
        assert searching.expanded_query(conn, '"voting age" toddl') == '"voting age" AND ("toddler")'
        monkeypatch.setattr(searching, "_EXPAND", 1)
        assert searching.expanded_query(conn, "resp") == '"resp"*'  # more words than _EXPAND: a prefix
    monkeypatch.undo()
    # The spelled-out query finds exactly what FTS5's prefix finds.
    for typed in ("resp", "lowe", "paedia", "op-ed lowe", "year-olds", "事実"):
        with sqlite3.connect(index) as conn:
            spelled = searching.expanded_query(conn, typed)
        assert _fts_rowids(index, spelled) == _fts_rowids(index, fts_query(typed))


def test_words_of_appended_rows_are_spelled_out_too(store, index):
    update_index(store, index)
    _fill(store, {"p-kite": ("Kitesurfing lessons for a child?", ["Yes.", "No.", "Maybe.", "Ask a coach."])},
          [("p-kite", "u9", "world", "Kiteboarding is not kitesurfing")])
    result = search(store, "kitesu", index=index)
    assert result.index.action == "appended"
    assert sorted(_ids(result)) == [("conversation", "p-kite", "prompt"), ("justification", "p-kite", "world")]
    assert {h.prompt_id for h in search(store, "kiteb", index=index).hits} == {"p-kite"}


@pytest.mark.parametrize("typed", [
    '"', '""', '"unclosed phrase', "AND", "OR NOT", "voting AND", "NEAR(voting age, 2)", "body:voting",
    "^voting", "voting*", "*", "-voting", "+", "(voting", "voting)", "{kind}: x", "'", "\\", "a:b:c", "\x00",
    "🙂", "    ",
])
def test_fts_syntax_typed_by_a_person_never_raises(store, index, typed):
    result = search(store, typed, index=index)
    assert isinstance(result.hits, tuple)


@given(st.text(max_size=40))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_any_text_is_a_query(store, index, typed):
    search(store, typed, index=index, limit=5)


def test_the_query_is_only_quoted_words():
    assert fts_query('voting AND "age" NOT x*') == '"voting" "and" "age" "not" "x"'
    assert fts_query('"unclosed phrase') == '"unclosed phrase"'
    assert fts_query("ab") == '"ab"*' and fts_query("a") == '"a"' and fts_query("ab ") == '"ab"'
    assert fts_query("--") == "" and fts_query("") == ""


def test_nothing_typed_is_nothing_searched(store, index):
    result = search(store, "  ", index=index)
    assert result.fts_query == "" and result.hits == () and not index.exists()
    assert "Type words" in result.describe()


def test_the_index_follows_new_crowd_rows_and_is_rebuilt_for_another_database(store, index, tmp_path):
    assert update_index(store, index).action == "built"
    assert update_index(store, index).action == "fresh"
    _fill(store, {"p-new": ("A brand new prompt about kites.", ["Kites fly.", "No.", "Maybe.", "Yes."])},
          [("p-new", "u9", "world", "Kites are lovely")])
    first = search(store, "kites", index=index)
    assert first.index.action == "appended" and first.index.entries == 6
    assert {h.prompt_id for h in first.hits} == {"p-new"}
    # Another database at the same path, with fewer rows: built again, and the old rows are gone.
    other = Store.open(tmp_path / "other.db", create=True)
    _fill(other, {"p-x": ("Only this one.", ["a", "b", "c", "d"])}, [])
    again = search(other, "voting", index=index)
    assert again.index.action == "built" and again.hits == ()
    other.close()
    # A deleted or damaged index is built again.
    index.unlink()
    assert search(store, "kites", index=index).index.action == "built"
    with sqlite3.connect(index) as conn:
        conn.execute("UPDATE meta SET value = 'old' WHERE key = 'version'")
    assert update_index(store, index).action == "built"


def test_past_the_rank_limit_hits_come_in_index_order_and_say_so(store, index, monkeypatch):
    monkeypatch.setattr(searching, "RANK_LIMIT", 2)
    result = search(store, "a", index=index, limit=3)
    assert result.more and not result.ranked and len(result.hits) == 3
    assert "More than 2 entries match" in result.describe()
    few = search(store, "ridiculous", index=index)
    assert few.ranked and not few.more and few.matches == 1 and "1 entry match" in few.describe()


def test_a_workspace_keeps_its_index_beside_its_database(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        assert index_path(ws) == demo_workspace / "search.db"
        result = search_workspace(ws, "op-ed voting")
        assert result.hits and result.index.action == "built"
        assert any(h.kind == "justification" and h.prompt_id for h in result.hits)
    # A copy of the workspace carries a still valid index.
    copy = demo_workspace.parent / "copy"
    shutil.copytree(demo_workspace, copy)
    with Workspace.open(copy) as ws:
        assert search_workspace(ws, "op-ed").index.action == "fresh"


def test_a_read_only_workspace_keeps_its_index_in_the_cache_folder(demo_workspace, tmp_path, monkeypatch):
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    with Workspace.open(demo_workspace) as ws:
        ws.store.read_only = True
        path = index_path(ws)
        assert path.is_relative_to(tmp_path / "home" / "cache")
        assert search_workspace(ws, "voting").hits
        assert path.exists() and not (demo_workspace / "search.db").exists()
