"""Opinion groups: planted groups are recovered from CA-1 rankings and Pol.is votes, stored, logged, verified and carried."""

import csv
import json
import random

import pytest

from reviewer import groups, operations
from reviewer.errors import KnownError
from reviewer.groups import GroupParams
from reviewer.ops import Area
from reviewer.rebuild import rebuild_workspace
from reviewer.replay import check_record, verify_workspace
from reviewer.workspace import Workspace
from tests.helpers import spec_repo_with

ACTOR = "Amara Okafor"
LETTERS = "ABCD"


def _adjusted_rand(truth, found):
    from sklearn.metrics import adjusted_rand_score

    common = sorted(set(truth) & set(found))
    return adjusted_rand_score([truth[p] for p in common], [found[p] for p in common])


# ---- small crowds with planted groups, written as the real formats -----------------------------------


def write_polis(folder, *, groups_planted=3, per_group=40, statements=30, seen=0.7, loyal=0.85, seed=7,
                group_ids=True):
    """A Pol.is export whose participants belong to planted groups; returns {participant: planted group}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    leaning = [[rng.choice((1, -1)) for _ in range(statements)] for _ in range(groups_planted)]
    with open(folder / "comments.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["timestamp", "datetime", "comment-id", "author-id", "agrees", "disagrees", "moderated",
                      "comment-body"])
        for c in range(statements):
            out.writerow([1700000000 + c, "", c, 0, 0, 0, 1, f"Statement number {c} about how the model should act"])
    planted = {}
    with open(folder / "participants-votes.csv", "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["participant", "xid", "group-id", "n-comments", "n-votes", "n-agree", "n-disagree",
                      *range(statements)])
        number = 0
        for g in range(groups_planted):
            for _ in range(per_group):
                cells = []
                for c in range(statements):
                    if rng.random() > seen:
                        cells.append("")
                    elif rng.random() < loyal:
                        cells.append(str(leaning[g][c]))
                    else:
                        cells.append(rng.choice(("0", str(-leaning[g][c]))))
                out.writerow([number, "", g if group_ids else "", 0, 0, 0, 0, *cells])
                planted[str(number)] = g
                number += 1
    return planted


def write_ca1(folder, *, groups_planted=3, per_group=30, prompts=24, per_person=10, loyal=0.85, seed=11):
    """CA-1 files whose annotators rank as their planted group prefers; returns {annotator id: planted group}."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    favourite = [[rng.sample(LETTERS, 4) for _ in range(prompts)] for _ in range(groups_planted)]
    assessments = {p: [] for p in range(prompts)}
    annotators = []
    planted = {}
    for g in range(groups_planted):
        for i in range(per_group):
            annotator = f"annotator-{g}-{i}"
            planted[annotator] = g
            mine = []
            for p in rng.sample(range(prompts), per_person):
                order = list(favourite[g][p]) if rng.random() < loyal else rng.sample(LETTERS, 4)
                ranking = ">".join(order)
                entry = {"annotator_id": annotator, "conversation_id": f"prompt-{p}", "importance": "Very important",
                         "representativeness": "It is very likely that I would ask a question like this to an AI"
                                               " chatbot.",
                         "subjectivity": "It depends on values or culture",
                         "ranking_blocks": {"world": [{"ranking": ranking, "rationale": f"I prefer {order[0]}."}]}}
                assessments[p].append(entry)
                mine.append(entry)
            annotators.append({"annotator_id": annotator, "assessments": mine,
                               "demographics": {"country_of_residence": ["Chile", "Japan", "Kenya"][g],
                                                "age": rng.choice(["18-24", "25-34", "35-44"])}})
    with open(folder / "comparisons.jsonl", "w", encoding="utf-8") as handle:
        for p in range(prompts):
            handle.write(json.dumps({
                "prompt_id": f"prompt-{p}",
                "prompt": {"id": f"prompt-{p}", "messages": [{"role": "user", "content": f"Question {p}?"}]},
                "responses": [{"response_index": x, "messages": [{"role": "assistant", "content": f"Answer {x}"}]}
                              for x in LETTERS],
                "metadata": {"assessments": assessments[p]},
            }) + "\n")
    with open(folder / "annotators.jsonl", "w", encoding="utf-8") as handle:
        for annotator in annotators:
            handle.write(json.dumps(annotator) + "\n")
    return planted


@pytest.fixture
def ws(tmp_path):
    workspace = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n"))
    yield workspace
    workspace.close()


def _by_source_id(workspace, found, prefix=""):
    rows = workspace.store.db.execute("SELECT id, source_id FROM participants").fetchall()
    names = {pid: source_id.removeprefix(prefix) for pid, source_id in rows}
    return {names[p]: g for p, g in found.items()}


def test_planted_groups_in_pol_is_votes_are_recovered(ws, tmp_path):
    planted = write_polis(tmp_path / "conv")
    operations.import_polis(ws, tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv",
                            actor=ACTOR)
    result = operations.compute_groups(ws, "polis", actor=ACTOR)
    run = result.value
    found = _by_source_id(ws, groups.assignments(ws.store, run.id), "conv/")
    assert run.k == 3 and run.participants == 120 and run.left_out == 0
    assert _adjusted_rand(planted, found) >= 0.8
    # The export's own group-id is the planted one: the stored ARI says the same.
    assert run.ari is not None and run.ari >= 0.8 and run.detail["ari_compared"] == 120
    assert result.changes.areas == {Area.GROUPS} and result.changes.all_proposals
    (event,) = ws.store.db.execute("SELECT payload FROM audit_events WHERE action = 'groups.compute'").fetchall()
    payload = json.loads(event[0])
    assert payload["digests"]["group_members"]["rows"] == 120 and payload["input_digest"] == run.input_digest
    assert payload["params"] == run.params and payload["params"]["min_entries"] == 7


def test_planted_groups_in_ca1_rankings_are_recovered_with_their_make_up(ws, tmp_path):
    planted = write_ca1(tmp_path / "ca1")
    operations.import_ca1(ws, [tmp_path / "ca1" / "comparisons.jsonl", tmp_path / "ca1" / "annotators.jsonl"],
                          actor=ACTOR)
    run = operations.compute_groups(ws, "ca1", actor=ACTOR).value
    found = _by_source_id(ws, groups.assignments(ws.store, run.id))
    assert run.k == 3 and run.items == 24 * 6 and run.entries == 90 * 10 * 6 and run.ari is None
    assert _adjusted_rand(planted, found) >= 0.8
    view = groups.groups_view(ws.store, run)
    # Each planted group lives in one country: each group found is (nearly) all one country.
    for group in view.groups:
        top = group.make_up["country_of_residence"][0]
        assert top.share >= 0.8 and abs(top.overall - 1 / 3) < 0.05
        assert group.distinctive and all(d.share_in > 0.5 and d.repness > 1 for d, _text in group.distinctive)
        d, text = group.distinctive[0]
        assert text.text.startswith("Question ") and len(text.pair) == 2
        assert groups.describe_item(d, text).startswith("prefers ")
    assert [g.size for g in view.groups] == sorted((g.size for g in view.groups), reverse=True)


def test_the_same_input_and_seed_give_the_same_groups_and_a_current_run_is_not_computed_again(ws, tmp_path):
    write_polis(tmp_path / "conv")
    operations.import_polis(ws, tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv",
                            actor=ACTOR)
    first = operations.compute_groups(ws, "polis", actor=ACTOR).value
    again = operations.compute_groups(ws, "polis", actor=ACTOR)
    assert again.value.id == first.id and not again.changes  # current: nothing written
    forced = operations.compute_groups(ws, "polis", actor=ACTOR, force=True).value
    assert forced.id != first.id
    assert groups.assignments(ws.store, forced.id) == groups.assignments(ws.store, first.id)
    assert forced.input_digest == first.input_digest and forced.silhouette == first.silhouette
    other = operations.compute_groups(ws, "polis", actor=ACTOR, params=GroupParams(seed=3)).value
    assert other.id != forced.id and other.params["seed"] == 3  # other parameters: stale
    assert groups.freshness(ws.store, "polis", GroupParams(seed=3)).stale is False
    assert groups.freshness(ws.store, "polis").reason == "computed with other parameters"


def test_an_import_that_changes_the_votes_makes_the_groups_stale(ws, tmp_path):
    write_polis(tmp_path / "conv")
    files = (tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv")
    operations.import_polis(ws, *files, actor=ACTOR)
    first = operations.compute_groups(ws, "polis", actor=ACTOR).value
    operations.import_polis(ws, *files, actor=ACTOR)  # the same export again: adds nothing
    assert groups.freshness(ws.store, "polis").reason == "crowd data was imported since"
    assert operations.compute_groups(ws, "polis", actor=ACTOR).value.id == first.id  # same matrix: stands
    write_polis(tmp_path / "conv", seed=8)  # a later export: other votes
    operations.import_polis(ws, *files, actor=ACTOR)
    later = operations.compute_groups(ws, "polis", actor=ACTOR).value
    assert later.id != first.id and later.input_digest != first.input_digest


def test_too_few_participants_or_bad_parameters_are_refused_and_nothing_is_written(ws, tmp_path):
    write_polis(tmp_path / "conv", groups_planted=1, per_group=2)
    operations.import_polis(ws, tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv",
                            actor=ACTOR)
    before = ws.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0]
    with pytest.raises(KnownError, match="Too few participants"):
        operations.compute_groups(ws, "polis", actor=ACTOR)
    with pytest.raises(KnownError, match="range within"):
        operations.compute_groups(ws, "polis", actor=ACTOR, params=GroupParams(k_min=1))
    with pytest.raises(KnownError, match="not a crowd source"):
        operations.compute_groups(ws, "twitter", actor=ACTOR)
    with pytest.raises(KnownError, match="Too few participants"):
        operations.compute_groups(ws, "ca1", actor=ACTOR)  # no rankings at all
    assert ws.store.db.execute("SELECT count(*) FROM audit_events").fetchone()[0] == before
    assert ws.store.db.execute("SELECT count(*) FROM group_runs").fetchone()[0] == 0


def test_participants_with_too_few_entries_are_left_out_and_counted(ws, tmp_path):
    write_polis(tmp_path / "conv", seen=0.3)  # about 9 of 30 statements each: some fall under 7
    operations.import_polis(ws, tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv",
                            actor=ACTOR)
    matrix = groups.crowd_matrix(ws.store, "polis")
    import numpy as np

    counts = np.bincount(matrix.rows, minlength=len(matrix.participants))
    run = operations.compute_groups(ws, "polis", actor=ACTOR).value
    assert run.left_out == int((counts < 7).sum()) > 0
    assert run.participants == int((counts >= 7).sum()) == len(groups.assignments(ws.store, run.id))


def test_audit_verify_checks_the_stored_assignments_and_a_rebuild_keeps_them(ws, tmp_path):
    write_polis(tmp_path / "conv")
    operations.import_polis(ws, tmp_path / "conv" / "comments.csv", tmp_path / "conv" / "participants-votes.csv",
                            actor=ACTOR)
    run = operations.compute_groups(ws, "polis", actor=ACTOR).value
    assert check_record(ws.store) == []
    report = rebuild_workspace(ws, tmp_path / "rebuilt.db")
    assert report.ok and report.rows["group_members"] == 120 and report.rows["group_runs"] == 1
    ws.store.db.execute("UPDATE group_members SET group_index = 1 - group_index WHERE rowid = 1")
    found = check_record(ws.store)
    assert [(m.table, m.id, m.field) for m in found] == [("group_members", f"group run {run.id}", "sha256")]
    ws.store.db.execute("DELETE FROM group_members WHERE rowid = 2")
    assert [(m.table, m.field) for m in check_record(ws.store)] == [("group_members", "rows")]
    assert not verify_workspace(ws).ok


def test_opinion_groups_travel_to_another_machine(machines):
    a_root, b_root, _remote = machines
    with Workspace.open(a_root) as a:
        run = operations.compute_groups(a, "ca1", actor="Amara Okafor").value
        operations.sync(a, actor="Amara Okafor")
        members = groups.assignments(a.store, run.id)
    with Workspace.open(b_root) as b:
        received = operations.sync(b, actor="Jonas Lindqvist")
        assert [e["action"] for e in received.value.received] == ["groups.compute"]
        assert Area.GROUPS in received.changes.areas
        assert groups.current_run(b.store, "ca1") == run
        assert groups.assignments(b.store, run.id) == members
        assert verify_workspace(b).ok
        assert not groups.freshness(b.store, "ca1").stale  # computed on A, current on B too


@pytest.mark.real_data
def test_groups_of_the_real_pol_is_export_against_its_own_group_ids(ws, real_polis_dir, capsys):
    operations.import_polis(ws, real_polis_dir / "comments.csv", real_polis_dir / "participants-votes.csv",
                            actor=ACTOR)
    run = operations.compute_groups(ws, "polis", actor=ACTOR).value
    # The export has two groups; with k held to 2, as many as the export's own clustering kept:
    two = operations.compute_groups(ws, "polis", actor=ACTOR, params=GroupParams(k_max=2)).value
    with capsys.disabled():
        print(f"\nreal Pol.is export: k={run.k} by silhouette ({run.detail['silhouettes']}), {run.participants}"
              f" grouped, {run.left_out} left out; adjusted Rand index against its own group-id: {run.ari:.3f}"
              f" over {run.detail['ari_compared']} participants; with k held to 2: {two.ari:.3f}")
    assert run.participants > 900 and run.ari is not None and -1 <= run.ari <= 1
    assert run.detail["ari_compared"] > 900 and two.k == 2 and two.ari is not None


def _matrix_of(path, rows):
    from reviewer.store import Store

    store = Store.open(path, create=True)
    db = store.db.conn
    now = "2026-01-01T00:00:00.000000Z"
    with store.db.atomic():
        db.execute("PRAGMA defer_foreign_keys = ON")
        for cid in sorted({r[1] for r in rows}):
            db.execute("INSERT INTO conversations (id, source, source_id, prompt, responses, created_at)"
                       " VALUES (?, 'ca1', ?, '[]', '[]', ?)", [cid, cid, now])
        for pid in sorted({r[0] for r in rows}):
            db.execute("INSERT INTO participants (id, source, source_id, created_at) VALUES (?, 'ca1', ?, ?)",
                       [pid, pid, now])
        db.executemany("INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, created_at)"
                       " VALUES (?, ?, ?, ?, ?)", [(f"a-{p}-{c}", c, p, r, now) for p, c, r in rows])
    try:
        return groups.crowd_matrix(store, "ca1")
    finally:
        store.close()


def test_the_matrix_is_the_same_whatever_order_the_rankings_were_stored_in(tmp_path):
    rng = random.Random(3)
    rankings = ["A>B>C>D", "D>C>B>A", "A=B>C>D", "B>A>D>C", "not a ranking"]
    rows = [(f"p{p:02d}", f"c{c}", rng.choice(rankings)) for p in range(30) for c in rng.sample(range(12), 5)]
    rows.append(("p99", "c0", "not a ranking"))  # a participant with nothing usable is not a row
    rows.append(("p98", "c99", "A>B>C>D"))  # a conversation only they ranked is a column
    shuffled = rows[:]
    rng.shuffle(shuffled)
    first, second = _matrix_of(tmp_path / "a.db", rows), _matrix_of(tmp_path / "b.db", shuffled)
    assert first.digest == second.digest
    assert first.participants == second.participants and "p99" not in first.participants
    assert (first.rows == second.rows).all() and (first.cols == second.cols).all()
    assert (first.values == second.values).all()
    keys = list(zip(first.rows.tolist(), first.cols.tolist()))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    # Each entry is the pair's sign in the participant's own ranking.
    usable = [r for r in rows if r[2] != "not a ranking"]
    assert first.entries == 6 * len(usable)
    p, c, ranking = usable[0]
    row, col = first.participants.index(p), first.items.index(f"{c}/AB")
    at = [i for i, k in enumerate(keys) if k == (row, col)]
    assert first.values[at[0]] == {"A>B>C>D": 1, "D>C>B>A": -1, "A=B>C>D": 0, "B>A>D>C": -1}[ranking]
