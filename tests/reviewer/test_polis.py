import csv
import hashlib
import json
from collections import Counter

import pytest

from reviewer import audit
from reviewer.cli import main
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.importing import list_quarantine
from reviewer.polis import import_polis, participant_id, statement_id
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.datapaths import real_polis_dir
from tests.helpers import spec_repo_with

META = ("participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")


@pytest.fixture(scope="module")
def real_files():
    folder = real_polis_dir()
    return folder / "comments.csv", folder / "participants-votes.csv"


@pytest.fixture(scope="module")
def real_import(real_files, tmp_path_factory):
    """The real export imported once (the tests below only read it)."""
    store = Store.open(tmp_path_factory.mktemp("polis") / "w.db", create=True)
    summary = import_polis(store, *real_files)
    yield store, summary
    store.close()


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


@pytest.mark.real_data
def test_real_export_is_imported_exactly(real_files, real_import):
    store, summary = real_import
    comments_path, votes_path = real_files
    c_header, comments = read_csv(comments_path)
    v_header, participants = read_csv(votes_path)
    col = {name: i for i, name in enumerate(c_header)}
    expected_votes = {
        (v_header[i], row[0]): int(row[i])
        for row in participants for i in range(len(META), len(v_header)) if row[i] != ""
    }
    # Counted here independently of the importer.
    assert (len(comments), len(participants), len(expected_votes)) == (1418, 1126, 38252)
    assert summary.added == {"statements": 1418, "participants": 1126, "votes": 38252}
    assert summary.quarantined == 0
    assert summary.options == {"key": "polis_ccai"}

    stored_votes = {
        (comment, json.loads(extra)["participant"]): vote
        for comment, extra, vote in store.db.execute(
            "SELECT s.comment_id, p.extra, v.vote FROM votes v"
            " JOIN polis_statements s ON s.justification_id = v.statement_id"
            " JOIN participants p ON p.id = v.participant_id"
        )
    }
    assert stored_votes == expected_votes  # every vote cell
    assert Counter(expected_votes.values()) == Counter({1: 30367, -1: 4858, 0: 3027})

    statements = {
        r[0]: r[1:] for r in store.db.execute(
            "SELECT s.comment_id, j.text, j.block, j.assessment_id, s.author_id, s.timestamp, s.agrees,"
            " s.disagrees, s.moderated FROM polis_statements s JOIN justifications j ON j.id = s.justification_id"
        )
    }
    assert len(statements) == len(comments)
    for row in comments:
        text, block, assessment, author, timestamp, agrees, disagrees, moderated = statements[row[col["comment-id"]]]
        assert (text, block, assessment) == (row[col["comment-body"]], "statement", None)
        assert (author, timestamp) == (row[col["author-id"]], int(row[col["timestamp"]]))
        assert (agrees, disagrees, moderated) == (int(row[col["agrees"]]), int(row[col["disagrees"]]),
                                                  int(row[col["moderated"]]))
    flags = Counter(r[0] for r in store.db.execute("SELECT moderated FROM polis_statements"))
    assert flags == Counter(int(row[col["moderated"]]) for row in comments) == Counter({-1: 655, 0: 488, 1: 275})

    groups = {
        json.loads(extra)["participant"]: json.loads(demo)["opinion_group"]
        for demo, extra in store.db.execute("SELECT demographics, extra FROM participants WHERE source = 'polis'")
    }
    assert groups == {row[0]: (int(row[2]) if row[2] else None) for row in participants}
    assert Counter(groups.values()) == Counter({0: 708, 1: 386, None: 32})


@pytest.mark.real_data
def test_ids_and_audit_event(real_files, real_import):
    store, summary = real_import
    assert statement_id("polis_ccai", "1417") == stable_id("polis", "polis_ccai", "statement", "1417")
    assert participant_id("polis_ccai", "1") == stable_id("polis", "polis_ccai", "1")
    assert store.db.execute("SELECT text FROM justifications WHERE id = ?", [statement_id("polis_ccai", "1416")]
                            ).fetchone()[0] == "I think AI should value human life"
    assert store.db.execute("SELECT source_id FROM participants WHERE id = ?", [participant_id("polis_ccai", "753")]
                            ).fetchone()[0] == "polis_ccai/753"
    action, object_id, payload = store.db.execute(
        "SELECT action, object_id, payload FROM audit_events").fetchone()
    data = json.loads(payload)
    assert (action, object_id) == ("import.polis", summary.import_id)
    assert [f["sha256"] for f in data["files"]] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in real_files]
    assert data["added"]["votes"] == 38252
    assert audit.verify_chain(store.db).ok


@pytest.mark.real_data
def test_reimport_is_idempotent(real_files, tmp_path):
    store = Store.open(tmp_path / "w.db", create=True)
    import_polis(store, *real_files)
    votes = store.db.execute("SELECT count(*) FROM votes").fetchone()[0]
    again = import_polis(store, *real_files)
    assert again.added == {"statements": 0, "participants": 0, "votes": 0}
    assert again.unchanged == {"statements": 1418, "participants": 1126, "votes": 38252}
    assert store.db.execute("SELECT count(*) FROM votes").fetchone()[0] == votes
    assert store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 2
    store.close()


def test_key_separates_conversations(tmp_path):
    store = Store.memory()
    paths = write_export(tmp_path / "e", SMALL_COMMENTS, SMALL_VOTES)
    import_polis(store, *paths)
    other = import_polis(store, *paths, key="e-copy")
    assert other.added == {"statements": 3, "participants": 3, "votes": 4}
    assert store.db.execute("SELECT count(DISTINCT conversation_key) FROM polis_statements").fetchone()[0] == 2


def write_export(folder, comments, votes):
    folder.mkdir(parents=True, exist_ok=True)
    c_path, v_path = folder / "comments.csv", folder / "participants-votes.csv"
    c_path.write_bytes(comments)
    v_path.write_bytes(votes)
    return c_path, v_path


SMALL_COMMENTS = (
    b"timestamp,datetime,comment-id,author-id,agrees,disagrees,moderated,comment-body\n"
    b"1689686433769,Tue Jul 18 06:20:33 PDT 2023,0,0,2,1,1,\"AI should, above all, be honest.\"\n"
    b"1689686433770,Tue Jul 18 06:20:34 PDT 2023,1,1,1,1,-1,La IA deber\xc3\xada respetar la cultura.\n"
    b"1689686433771,Tue Jul 18 06:20:35 PDT 2023,2,1,0,0,0,\"Two\nlines\"\n"
)
SMALL_VOTES = (
    b"participant,xid,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2\n"
    b"0,x0,0,2,3,1,1,1,-1,0\n"
    b"1,x1,1,1,1,1,0,1,,\n"
    b"2,x2,,0,0,0,0,,,\n"
)


def test_small_export_with_quoted_newlines(tmp_path):
    store = Store.memory()
    summary = import_polis(store, *write_export(tmp_path / "town-hall", SMALL_COMMENTS, SMALL_VOTES))
    assert summary.options == {"key": "town-hall"}
    assert summary.added == {"statements": 3, "participants": 3, "votes": 4}
    assert store.db.execute("SELECT text FROM justifications WHERE id = ?",
                            [statement_id("town-hall", "2")]).fetchone()[0] == "Two\nlines"
    assert store.db.execute("SELECT text FROM justifications WHERE id = ?",
                            [statement_id("town-hall", "1")]).fetchone()[0] == "La IA debería respetar la cultura."
    votes = set(store.db.execute("SELECT statement_id, participant_id, vote FROM votes"))
    p = lambda n: participant_id("town-hall", n)  # noqa: E731
    s = lambda n: statement_id("town-hall", n)  # noqa: E731
    assert votes == {(s("0"), p("0"), 1), (s("1"), p("0"), -1), (s("2"), p("0"), 0), (s("0"), p("1"), 1)}


def test_bad_rows_are_quarantined_with_line_numbers(tmp_path):
    comments = SMALL_COMMENTS + (
        b"1689686433772,x,,1,0,0,0,no id\n"                      # line 6: missing comment-id
        b"1689686433773,x,4,1,many,0,0,bad count\n"               # line 7
        b"1689686433774,x,5,1,0,0,0,caf\xe9\n"                    # line 8: not UTF-8
        b"1689686433775,x,6,1,0,0\n"                              # line 9: too few fields
        b"1689686433776,x,7,1,0,0,2,bad flag\n"                   # line 10
    )
    votes = (
        b"participant,xid,group-id,n-comments,n-votes,n-agree,n-disagree,0,1,2,99\n"
        b"0,x0,0,2,3,1,1,1,2,0,\n"                                # line 2: vote 2 on comment 1
        b"1,x1,1,1,1,1,0,1,,,1\n"                                 # line 3: comment 99 unknown
        b",x3,0,0,0,0,0,,,,\n"                                    # line 4: no participant id
    )
    store = Store.memory()
    summary = import_polis(store, *write_export(tmp_path / "e", comments, votes))
    found = {(e.file.rsplit("/", 1)[-1], e.line, e.item): e.reason for e in list_quarantine(store)}
    assert found == {
        ("comments.csv", 6, None): "missing comment-id",
        ("comments.csv", 7, None): "agrees 'many' is not a whole number",
        ("comments.csv", 8, None): "not UTF-8 text",
        ("comments.csv", 9, None): "the record has 6 fields, the header 8",
        ("comments.csv", 10, None): "moderated 2 is not -1, 0 or 1",
        ("participants-votes.csv", 2, "comment 1"): "vote '2' on comment 1 is not 1, -1, 0 or empty",
        ("participants-votes.csv", 3, "comment 99"): "vote on comment 99, which is not in the comments file",
        ("participants-votes.csv", 4, None): "missing participant id",
    }
    assert summary.quarantined == 8
    assert summary.added == {"statements": 3, "participants": 2, "votes": 3}
    assert "caf\\xe9" in next(e.raw for e in list_quarantine(store) if e.line == 8)


def test_strict_mode_and_missing_files_write_nothing(tmp_path):
    store = Store.memory()
    comments = SMALL_COMMENTS + b"1,x,,1,0,0,0,no id\n"
    paths = write_export(tmp_path / "e", comments, SMALL_VOTES)
    with pytest.raises(KnownError, match=r"comments.csv:6: missing comment-id"):
        import_polis(store, *paths, strict=True)
    with pytest.raises(KnownError, match="does not exist"):
        import_polis(store, paths[0], tmp_path / "nope.csv")
    wrong = write_export(tmp_path / "w", b"a,b\n1,2\n", SMALL_VOTES)
    with pytest.raises(KnownError, match="not a Pol.is comments export"):
        import_polis(store, *wrong)
    for t in ("justifications", "participants", "votes", "quarantine", "audit_events"):
        assert store.db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] == 0


def test_later_export_refreshes_the_snapshot(tmp_path):
    store = Store.memory()
    import_polis(store, *write_export(tmp_path / "k", SMALL_COMMENTS, SMALL_VOTES))
    later_comments = SMALL_COMMENTS.replace(b",0,0,2,1,1,", b",0,0,3,1,-1,").replace(
        b"La IA deber\xc3\xada", b"La IA debe")
    later_votes = SMALL_VOTES.replace(b"0,x0,0,2,3,1,1,1,-1,0", b"0,x0,1,2,3,1,1,1,1,0")
    summary = import_polis(store, *write_export(tmp_path / "k", later_comments, later_votes))
    assert summary.updated == {"statements": 1, "participants": 1, "votes": 1}
    assert summary.conflicts["statements"] == 1  # the text changed: the first text is kept
    row = store.db.execute("SELECT agrees, moderated FROM polis_statements WHERE comment_id = '0'").fetchone()
    assert row == (3, -1)
    text, extra = store.db.execute(
        "SELECT j.text, s.extra FROM justifications j JOIN polis_statements s ON s.justification_id = j.id"
        " WHERE s.comment_id = '1'").fetchone()
    assert text == "La IA debería respetar la cultura."
    assert json.loads(extra)["import_conflicts"] == [{"differs": {"comment-body": "La IA debe respetar la cultura."}}]
    assert store.db.execute("SELECT vote FROM votes WHERE statement_id = ? AND participant_id = ?",
                            [statement_id("k", "1"), participant_id("k", "0")]).fetchone()[0] == 1


def test_cli_import_polis(tmp_path, capsys):
    repo = spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n")
    Workspace.create(tmp_path / "ws", spec_repo=repo).close()
    comments, votes = write_export(tmp_path / "exp", SMALL_COMMENTS, SMALL_VOTES)
    assert main(["import", "polis", str(tmp_path / "ws"), str(comments), str(votes), "--key", "hall", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["added"] == {"statements": 3, "participants": 3, "votes": 4} and data["options"] == {"key": "hall"}
    assert main(["import", "polis", str(tmp_path / "ws"), str(comments), str(votes)]) == 0
    out = capsys.readouterr().out
    assert "statements" in out and "No bad rows." in out
