import csv
import hashlib
import io
import json
from collections import Counter

import pytest

from cli.main import main
from reviewer import audit
from reviewer.errors import KnownError
from reviewer.ids import stable_id
from reviewer.importing import list_quarantine
from reviewer.polis import import_polis, participant_id, statement_id
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.datapaths import POLIS_SAMPLE, real_polis_dir
from tests.helpers import spec_repo_with

COMMENT_HEADER = ["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                  "comment-body"]
META = ("participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree")

# What each export is known to hold, beside what the tests count from its files themselves, so a
# test cannot pass on an empty or truncated file. The sample's figures are in its README.md.
KNOWN = {
    "sample": {
        "size": (34, 45, 681),
        "votes": Counter({1: 407, -1: 193, 0: 81}),
        "moderated": Counter({1: 25, -1: 5, 0: 4}),
        "groups": Counter({0: 19, 1: 15, 2: 6, None: 5}),
    },
    "real": {
        "size": (1418, 1126, 38252),
        "votes": Counter({1: 30367, -1: 4858, 0: 3027}),
        "moderated": Counter({-1: 655, 0: 488, 1: 275}),
        "groups": Counter({0: 708, 1: 386, None: 32}),
    },
}


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


class Export:
    """A Pol.is export on disk and what its files hold, read here independently of the importer."""

    def __init__(self, name, folder):
        self.name, self.key = name, folder.name
        self.files = folder / "comments.csv", folder / "participants-votes.csv"
        self.c_header, self.comments = read_csv(self.files[0])
        self.v_header, self.participants = read_csv(self.files[1])
        # comment id -> {column: cell}; participant -> {column: cell} (its meta columns)
        self.statements = {row[2]: dict(zip(self.c_header, row)) for row in self.comments}
        self.meta = {row[0]: dict(zip(META, row[: len(META)])) for row in self.participants}
        self.votes = {
            (self.v_header[i], row[0]): int(row[i])
            for row in self.participants for i in range(len(META), len(self.v_header)) if row[i] != ""
        }

    @property
    def size(self):
        return len(self.comments), len(self.participants), len(self.votes)

    def group(self, participant):
        cell = self.meta[participant]["group-id"]
        return int(cell) if cell else None


@pytest.fixture(scope="module", params=["sample", pytest.param("real", marks=pytest.mark.real_data)])
def export(request):
    """The project's own sample export, always; the real CCAI export too when its folder is there."""
    return Export(request.param, POLIS_SAMPLE if request.param == "sample" else real_polis_dir())


@pytest.fixture(scope="module")
def imported(export, tmp_path_factory):
    """The export imported once (the tests below only read it)."""
    store = Store.open(tmp_path_factory.mktemp("polis") / "w.db", create=True)
    summary = import_polis(store, *export.files)
    yield store, summary
    store.close()


def test_export_is_in_the_polis_format(export):
    assert export.c_header == COMMENT_HEADER
    assert tuple(export.v_header[: len(META)]) == META
    # One vote column per comment, in ascending id order, moderated-out comments included.
    assert export.v_header[len(META):] == sorted(export.statements, key=int)
    for path in export.files:
        data = path.read_bytes()
        assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data and data.endswith(b"\n")
        rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
        rewritten = io.StringIO(newline="")
        csv.writer(rewritten, lineterminator="\n").writerows(rows)
        assert rewritten.getvalue().encode("utf-8") == data  # quoted only where needed
    authored = Counter(s["author-id"] for s in export.statements.values())
    assert set(authored) - set(export.meta) == {"0"}  # the owner, who has no row of votes
    for participant, meta in export.meta.items():
        cells = [v for (_, p), v in export.votes.items() if p == participant]
        assert int(meta["n-comments"]) == authored[participant]
        assert (int(meta["n-votes"]), int(meta["n-agree"]), int(meta["n-disagree"])) == (
            len(cells), cells.count(1), cells.count(-1))
    for comment, statement in export.statements.items():
        column = [v for (c, _), v in export.votes.items() if c == comment]
        counted = (column.count(1), column.count(-1))
        given = (int(statement["agrees"]), int(statement["disagrees"]))
        if export.name == "sample":
            assert given == counted, comment
        else:  # Pol.is's own counters also count votes of people not in the file
            assert given[0] >= counted[0] and given[1] >= counted[1], comment


def test_export_is_imported_exactly(export, imported):
    store, summary = imported
    known = KNOWN[export.name]
    assert export.size == known["size"]
    assert summary.added == dict(zip(("statements", "participants", "votes"), export.size))
    assert summary.quarantined == 0
    assert summary.options == {"key": export.key}
    assert [f.lines for f in summary.files] == [len(export.comments), len(export.participants)]  # records

    stored_votes = {
        (comment, json.loads(extra)["participant"]): vote
        for comment, extra, vote in store.db.execute(
            "SELECT s.comment_id, p.extra, v.vote FROM votes v"
            " JOIN polis_statements s ON s.justification_id = v.statement_id"
            " JOIN participants p ON p.id = v.participant_id"
        )
    }
    assert stored_votes == export.votes  # every vote cell
    assert Counter(export.votes.values()) == known["votes"]

    statements = {
        r[0]: r[1:] for r in store.db.execute(
            "SELECT s.comment_id, j.text, j.block, j.assessment_id, s.author_id, s.timestamp, s.datetime,"
            " s.agrees, s.disagrees, s.moderated"
            " FROM polis_statements s JOIN justifications j ON j.id = s.justification_id"
        )
    }
    assert statements.keys() == export.statements.keys()
    for comment, row in export.statements.items():
        text, block, assessment, author, timestamp, when, agrees, disagrees, moderated = statements[comment]
        assert (text, block, assessment) == (row["comment-body"], "statement", None)
        assert (author, timestamp, when) == (row["author-id"], int(row["timestamp"]), row["datetime"])
        assert (agrees, disagrees, moderated) == (int(row["agrees"]), int(row["disagrees"]), int(row["moderated"]))
    flags = Counter(r[0] for r in store.db.execute("SELECT moderated FROM polis_statements"))
    assert flags == Counter(int(s["moderated"]) for s in export.statements.values()) == known["moderated"]

    participants = {
        json.loads(extra)["participant"]: (json.loads(demo)["opinion_group"], json.loads(extra))
        for demo, extra in store.db.execute("SELECT demographics, extra FROM participants WHERE source = 'polis'")
    }
    assert {p: g for p, (g, _) in participants.items()} == {p: export.group(p) for p in export.meta}
    assert Counter(export.group(p) for p in export.meta) == known["groups"]
    for participant, (_, extra) in participants.items():
        meta = {k: v for k, v in export.meta[participant].items() if k != "group-id"}
        assert extra == {"conversation_key": export.key, **meta}


def test_ids_and_audit_event(export, imported):
    store, summary = imported
    key = export.key
    comment, participant = export.comments[0][2], export.participants[-1][0]
    assert statement_id(key, comment) == stable_id("polis", key, "statement", comment)
    assert participant_id(key, participant) == stable_id("polis", key, participant)
    assert store.db.execute("SELECT text FROM justifications WHERE id = ?", [statement_id(key, comment)]
                            ).fetchone()[0] == export.statements[comment]["comment-body"]
    assert store.db.execute("SELECT source_id FROM participants WHERE id = ?", [participant_id(key, participant)]
                            ).fetchone()[0] == f"{key}/{participant}"
    action, object_id, payload = store.db.execute(
        "SELECT action, object_id, payload FROM audit_events").fetchone()
    data = json.loads(payload)
    assert (action, object_id) == ("import.polis", summary.import_id)
    assert [f["sha256"] for f in data["files"]] == [hashlib.sha256(p.read_bytes()).hexdigest() for p in export.files]
    assert data["added"]["votes"] == len(export.votes)
    assert audit.verify_chain(store.db).ok


def test_reimport_is_idempotent(export, tmp_path):
    store = Store.open(tmp_path / "w.db", create=True)
    import_polis(store, *export.files)
    votes = store.db.execute("SELECT count(*) FROM votes").fetchone()[0]
    again = import_polis(store, *export.files)
    assert again.added == {"statements": 0, "participants": 0, "votes": 0}
    assert again.unchanged == dict(zip(("statements", "participants", "votes"), export.size))
    assert again.updated == {"statements": 0, "participants": 0, "votes": 0}
    assert store.db.execute("SELECT count(*) FROM votes").fetchone()[0] == votes == len(export.votes)
    assert store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == 2
    store.close()


def test_sample_quoting_moderation_groups_and_empty_cells():
    """What tests/data/polis_sample/README.md says was planted in the sample."""
    store = Store.memory()
    summary = import_polis(store, POLIS_SAMPLE / "comments.csv", POLIS_SAMPLE / "participants-votes.csv")
    key = summary.options["key"]
    assert key == "polis_sample" and summary.quarantined == 0

    def text(comment):
        return store.db.execute("SELECT text FROM justifications WHERE id = ?",
                                [statement_id(key, comment)]).fetchone()[0]

    def votes(*, comment=None, participant=None):
        rows = store.db.execute(
            "SELECT s.comment_id, p.source_id, v.vote FROM votes v"
            " JOIN polis_statements s ON s.justification_id = v.statement_id"
            " JOIN participants p ON p.id = v.participant_id")
        return {(c if participant else p.split("/")[1]): v for c, p, v in rows
                if comment in (None, c) and participant in (None, p.split("/")[1])}

    def group(participant):
        demo = store.db.execute("SELECT demographics FROM participants WHERE id = ?",
                                [participant_id(key, participant)]).fetchone()[0]
        return json.loads(demo)["opinion_group"]

    # Quoting: commas, doubled quotes, newlines inside a field; the records, not the lines, counted.
    assert text("4") == ("The AI should present both sides of a contested political question, unless one side"
                         " is plainly false.")
    assert text("10") == ('When the AI repeats a claim it could not check, it should say "I could not verify'
                          ' this".')
    assert text("15") == "When the AI is not sure, it should:\n1. say so\n2. suggest where to check"
    assert text("33") == 'Two rules, in order:\n"be kind", then\n"be right".'
    lines = (POLIS_SAMPLE / "comments.csv").read_bytes().count(b"\n")
    assert summary.files[0].lines == 34 and lines == 34 + 1 + 4
    # Non-ASCII text and markup are kept as written.
    assert text("11") == "Les réponses de l'IA devraient être aussi précises en français qu'en anglais."
    assert text("14") == "AIは、わからないときは「わかりません」と言うべきだ。"
    assert text("17") == "The AI’s own “opinions” should be labelled as opinions."
    assert text("24") == "Η τεχνητή νοημοσύνη πρέπει να σέβεται τον χρήστη."
    assert text("30") == "<b>AI</b> should be free &amp; open"
    # Moderation flags: accepted, moderated out (its votes still imported), not yet moderated.
    flags = dict(store.db.execute("SELECT comment_id, moderated FROM polis_statements"))
    assert (flags["0"], flags["19"], flags["30"], flags["24"], flags["31"]) == (1, -1, -1, 0, 0)
    assert votes(comment="19") == {"43": 1, "2": -1, "1": 0}
    assert votes(comment="24") == {"33": 1}  # only its author's
    # Opinion groups, an empty group-id stored as None.
    assert [group(p) for p in ("1", "2", "3", "44")] == [0, 1, 2, None]
    assert votes(participant="44") == {"21": 1, "22": 1}
    # Empty cells are "not seen": no vote row; 0 is a pass.
    mine = votes(participant="1")
    assert (mine["0"], mine["20"], "5" in mine) == (0, -1, False)
    assert len(mine) == 20


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
