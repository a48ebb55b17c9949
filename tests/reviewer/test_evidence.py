import json
import sqlite3

import pytest
from sqlite_utils import Database

from reviewer import audit
from reviewer.errors import KnownError
from reviewer.evidence import (
    RANKING_RULE,
    apply_ranking_rule,
    evidence_links,
    evidence_summary,
    labels_for,
    link_statement,
    ranking_rule_stance,
    set_stance,
    unlink_statement,
)
from reviewer.ids import stable_id
from reviewer.migrations import migrations
from reviewer.proposals import add_proposal
from reviewer.rankings import parse_ranking
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import git, spec_repo_with

SPEC = """# Test spec {#overview}

What this spec is for.

## Be honest {#be_honest authority=user}

Tell the truth, even when it is unwelcome.

## Respect privacy {#respect_privacy authority=root}

Keep personal details private.

## Be brief {#be_brief authority=guideline}

Say it in few words.
"""

NEW_HONEST = """## Be honest {#be_honest authority=user}

Tell the truth, even when it is unwelcome, and say how sure you are.
"""

NOW = "2026-01-01T00:00:00.000000Z"


# ---- fixture helpers (the crowd rows the CA-1 and Pol.is importers will write, by the agreed ids) ----


def add_conversation(store: Store, prompt_id: str) -> str:
    cid = stable_id("ca1", "conversation", prompt_id)
    store.db.execute(
        "INSERT OR IGNORE INTO conversations (id, source, source_id, prompt, responses, created_at)"
        " VALUES (?, 'ca1', ?, ?, '[]', ?)",
        [cid, prompt_id, json.dumps({"messages": [{"role": "user", "content": f"prompt {prompt_id}"}]}), NOW],
    )
    return cid


def add_participant(store: Store, annotator: str, **demographics) -> str:
    pid = stable_id("ca1", "participant", annotator)
    store.db.execute(
        "INSERT OR IGNORE INTO participants (id, source, source_id, demographics, created_at)"
        " VALUES (?, 'ca1', ?, ?, ?)",
        [pid, annotator, json.dumps(demographics or {"country_of_residence": "Kenya", "age": "25-34"}), NOW],
    )
    return pid


def add_assessment(store: Store, prompt_id: str, annotator: str, *, world: str | None = "A>B>C>D",
                   personal: str | None = None, unacceptable: bool = False) -> dict[str, str]:
    """Insert one assessment with a world justification (and optionally personal and unacceptable ones).

    Returns block → justification id.
    """
    with store.db.atomic():
        cid = add_conversation(store, prompt_id)
        pid = add_participant(store, annotator)
        aid = stable_id("ca1", "assessment", prompt_id, annotator)
        store.db.execute(
            "INSERT INTO assessments (id, conversation_id, participant_id, world_ranking, personal_ranking, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [aid, cid, pid, world, personal, NOW],
        )
        ids = {}
        blocks = [("world", world)]
        if personal is not None:
            blocks.append(("personal", personal))
        if unacceptable:
            blocks.append(("unacceptable", None))
        for block, ranking in blocks:
            jid = stable_id("ca1", "justification", prompt_id, annotator, block, "0")
            store.db.execute(
                "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, language, created_at)"
                " VALUES (?, ?, ?, 0, ?, ?, 'en', ?)",
                [jid, aid, block, ranking, f"{annotator} on {prompt_id} ({block}): I prefer honest answers.", NOW],
            )
            ids[block] = jid
    return ids


def add_statement(store: Store, conversation_key: str, comment_id: int, text: str) -> str:
    jid = stable_id("polis", conversation_key, "statement", str(comment_id))
    with store.db.atomic():
        store.db.execute(
            "INSERT INTO justifications (id, assessment_id, block, position, ranking, text, created_at)"
            " VALUES (?, NULL, 'statement', ?, NULL, ?, ?)",
            [jid, comment_id, text, NOW],
        )
    return jid


def add_run(store: Store, run_id: str, created_at: str, rankings: dict[str, str], model: str = "o3") -> None:
    with store.db.atomic():
        store.db.execute(
            "INSERT INTO ranker_runs (id, spec_revision, model, prompt_version, source, created_at)"
            " VALUES (?, 'v1', ?, 'p1', 'test', ?)",
            [run_id, model, created_at],
        )
        for prompt_id, ranking in rankings.items():
            store.db.execute(
                "INSERT INTO ranker_rankings (id, run_id, conversation_id, ranking) VALUES (?, ?, ?, ?)",
                [stable_id("rr", run_id, prompt_id), run_id, stable_id("ca1", "conversation", prompt_id), ranking],
            )


def make_spec_repo(path):
    repo = spec_repo_with(path, SPEC)
    git(repo, "tag", "v1")
    return repo


def conv(prompt_id: str) -> str:
    return stable_id("ca1", "conversation", prompt_id)


RUN1 = "11111111-1111-4111-8111-111111111111"
RUN2 = "22222222-2222-4222-8222-222222222222"


@pytest.fixture(scope="module")
def spec_repo(tmp_path_factory):
    # Workspaces only read the repository, so one serves every test of the module.
    return make_spec_repo(tmp_path_factory.mktemp("spec") / "repo")


@pytest.fixture
def ws(tmp_path, spec_repo):
    workspace = Workspace.create(tmp_path / "ws", spec_repo=spec_repo)
    yield workspace
    workspace.close()


@pytest.fixture
def crowd(ws):
    """p1: six participants around expected A>B>C>D vs ranker B>A>C>D; p2: ties in the expected
    ranking; p3: no ranker ranking; p4: no expected ranking."""
    s = ws.store
    j = {
        "u1": add_assessment(s, "p1", "u1", world="A>B>C>D"),
        "u2": add_assessment(s, "p1", "u2", world="B>A>C>D"),
        "u3": add_assessment(s, "p1", "u3", world="A=B>C>D"),
        "u4": add_assessment(s, "p1", "u4", world="A=B=C=D"),
        "u5": add_assessment(s, "p1", "u5", world="B>A>C>D", personal="A>B>C>D"),
        "u6": add_assessment(s, "p1", "u6", world="A>B>C>D", unacceptable=True),
        "v1": add_assessment(s, "p2", "u1", world="A>B>C>D"),
        "w1": add_assessment(s, "p3", "u1", world="A>B>C>D"),
        "x1": add_assessment(s, "p4", "u1", world="A>B>C>D"),
    }
    add_assessment(s, "p9", "u1")  # not linked
    add_run(s, RUN1, "2026-02-01T00:00:00.000000Z", {"p1": "B>A>C>D", "p2": "B>A>C>D", "p4": "A>B>C>D"})
    return j


@pytest.fixture
def proposal(ws, crowd):
    p = add_proposal(
        ws, changes=[("be_honest", NEW_HONEST)], title="Say how sure", intent="Ask for calibrated honesty.",
        kind="clarification", created_by="Ana",
        linked_conversations=[conv("p1"), conv("p2"), conv("p3"), conv("p4")],
        expected_ranking={conv("p1"): "A>B>C>D", conv("p2"): "A>B>C=D", conv("p3"): "A>B>C>D"},
    )
    return p.id


def rule_labels(store, proposal_id):
    return {
        r[0]: (r[1], json.loads(r[2]))
        for r in store.db.execute(
            "SELECT justification_id, stance, detail FROM stance_labels WHERE proposal_id = ? AND source_kind = 'rule'"
            " ORDER BY created_at, rowid",
            [proposal_id],
        )
    }


def events(store):
    return [r[0] for r in store.db.execute("SELECT action FROM audit_events ORDER BY seq")]


# ---- the rule -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("participant", "expected", "ranker", "stance", "figures"),
    [
        ("A>B>C>D", "A>B>C>D", "B>A>C>D", "supports", (6, 6, 5, 6)),
        ("B>A>C>D", "A>B>C>D", "B>A>C>D", "refutes", (5, 6, 6, 6)),
        ("A=B>C>D", "A>B>C>D", "B>A>C>D", "no_comment", (5, 5, 5, 5)),
        ("A=B=C=D", "A>B>C>D", "B>A>C>D", "no_comment", (0, 0, 0, 0)),
        # Ties in the expected ranking drop that pair: 5/5 beats 5/6 although both agree on 5 pairs.
        ("A>B>C>D", "A>B>C=D", "B>A>C>D", "supports", (5, 5, 5, 6)),
        ("D>C>B>A", "A>B>C>D", "A>B>C>D", "no_comment", (0, 6, 0, 6)),
    ],
)
def test_ranking_rule_on_hand_computed_cases(participant, expected, ranker, stance, figures):
    got, numbers = ranking_rule_stance(parse_ranking(participant), parse_ranking(expected), parse_ranking(ranker))
    assert got == stance
    assert (numbers["expected_agreeing"], numbers["expected_counted"],
            numbers["ranker_agreeing"], numbers["ranker_counted"]) == figures


def test_apply_ranking_rule_labels_and_stores_its_figures(ws, crowd, proposal):
    s = ws.store
    result = apply_ranking_rule(s, proposal)
    labels = rule_labels(s, proposal)
    assert labels[crowd["u1"]["world"]][0] == "supports"
    assert labels[crowd["u2"]["world"]][0] == "refutes"
    assert labels[crowd["u3"]["world"]][0] == "no_comment"
    assert labels[crowd["u4"]["world"]][0] == "no_comment"
    # A personal justification is judged by its own block's ranking, the world one by the world ranking.
    assert labels[crowd["u5"]["personal"]][0] == "supports"
    assert labels[crowd["u5"]["world"]][0] == "refutes"
    assert labels[crowd["u6"]["unacceptable"]][0] == "supports"
    assert labels[crowd["v1"]["world"]][0] == "supports"
    # p3 has no ranker ranking, p4 no expected ranking: no label.
    assert crowd["w1"]["world"] not in labels and crowd["x1"]["world"] not in labels
    assert result.added == 9 and result.unchanged == 0 and result.links == 11
    assert result.results == {"supports": 5, "refutes": 2, "no_comment": 2}
    assert result.skipped == {"no_expected_ranking": 1, "no_ranker_ranking": 1, "no_participant_ranking": 0}
    detail = labels[crowd["v1"]["world"]][1]
    assert detail == {
        "rule": RANKING_RULE, "version": 1, "participant_ranking": "A>B>C>D", "participant_ranking_block": "world",
        "expected_ranking": "A>B>C=D", "ranker_ranking": "B>A>C>D", "ranker_run_id": RUN1, "ranker_model": "o3",
        "expected_agreeing": 5, "expected_counted": 5, "ranker_agreeing": 5, "ranker_counted": 6,
    }
    assert labels[crowd["u5"]["personal"]][1]["participant_ranking_block"] == "personal"
    summary = evidence_summary(s, proposal)
    assert summary.to_json() == {
        "proposal_id": proposal,
        "counts": {"supports": 5, "refutes": 2, "no_comment": 2, "unlabelled": 2},
        "by_source": {"rule:ranking-based": {"supports": 5, "refutes": 2, "no_comment": 2}},
        "links": 11,
    }
    assert events(s)[-1] == "evidence.rule"
    assert audit.verify_chain(s.db).ok


def test_rule_is_idempotent_and_supersedes_when_inputs_change(ws, crowd, proposal):
    s = ws.store
    apply_ranking_rule(s, proposal)
    before_events = events(s)
    again = apply_ranking_rule(s, proposal)
    assert again.added == 0 and again.unchanged == 9
    assert events(s) == before_events
    # A later run ranks p1 differently: only p1's links get new rule labels, each superseding the old one.
    add_run(s, RUN2, "2026-03-01T00:00:00.000000Z", {"p1": "A>B>C>D"})
    old = rule_labels(s, proposal)
    third = apply_ranking_rule(s, proposal)
    assert third.added == 8 and third.unchanged == 1
    u1 = crowd["u1"]["world"]
    history = labels_for(s, proposal, u1)
    assert [x.stance for x in history] == ["supports", "no_comment"]
    assert history[1].supersedes == history[0].id and history[1].detail["ranker_run_id"] == RUN2
    assert old[crowd["v1"]["world"]] == rule_labels(s, proposal)[crowd["v1"]["world"]]
    assert evidence_summary(s, proposal).counts["no_comment"] == 8
    # Naming the first run explicitly compares with it again.
    fourth = apply_ranking_rule(s, proposal, run_id=RUN1)
    assert fourth.added == 8
    assert labels_for(s, proposal, u1)[-1].stance == "supports"


def test_latest_run_is_chosen_by_created_at_not_insertion(ws, crowd, proposal):
    s = ws.store
    add_run(s, RUN2, "2025-01-01T00:00:00.000000Z", {"p1": "A>B>C>D", "p3": "A>B>C>D"})
    apply_ranking_rule(s, proposal)
    labels = rule_labels(s, proposal)
    assert labels[crowd["u1"]["world"]][1]["ranker_run_id"] == RUN1
    # p3 is ranked only by the older run, so that is its latest ranking.
    assert labels[crowd["w1"]["world"]][1]["ranker_run_id"] == RUN2


def test_rule_without_expected_ranking_adds_nothing(ws, crowd):
    p = add_proposal(ws, changes=[("be_honest", NEW_HONEST)], title="t", intent="i", kind="clarification",
                     linked_conversations=[conv("p1")])
    result = apply_ranking_rule(ws.store, p.id)
    assert result.added == 0 and result.skipped["no_expected_ranking"] == 8
    assert evidence_summary(ws.store, p.id).counts["unlabelled"] == 8
    with pytest.raises(KnownError, match="No ranker run"):
        apply_ranking_rule(ws.store, p.id, run_id="33333333-3333-4333-8333-333333333333")


# ---- people, models, links ----------------------------------------------------------------------


def test_person_override_keeps_the_earlier_label(ws, crowd, proposal):
    s = ws.store
    apply_ranking_rule(s, proposal)
    jid = crowd["u1"]["world"]
    rule_label = labels_for(s, proposal, jid)[0]
    label = set_stance(s, proposal, jid, "refutes", "Ana", note="Reads as a complaint about tone.")
    assert label.supersedes == rule_label.id and label.source == "person:Ana"
    assert label.detail == {"note": "Reads as a complaint about tone."}
    history = labels_for(s, proposal, jid)
    assert [(x.source_kind, x.stance) for x in history] == [("rule", "supports"), ("person", "refutes")]
    [link] = [x for x in evidence_links(s, proposal, history=True) if x.justification_id == jid]
    assert link.stance == "refutes" and link.label == label and len(link.history) == 2
    summary = evidence_summary(s, proposal)
    assert summary.counts == {"supports": 4, "refutes": 3, "no_comment": 2, "unlabelled": 2}
    assert summary.by_source["person:Ana"] == {"supports": 0, "refutes": 1, "no_comment": 0}
    assert summary.by_source["rule:ranking-based"]["supports"] == 4
    # A later rule run with changed inputs adds a rule label, but the person's label still wins.
    add_run(s, RUN2, "2026-03-01T00:00:00.000000Z", {"p1": "D>C>B>A"})
    assert apply_ranking_rule(s, proposal).added == 8
    assert labels_for(s, proposal, jid)[-1].source_kind == "rule"
    assert [x for x in evidence_links(s, proposal) if x.justification_id == jid][0].label == label
    # A second person overrides the first; the effective stance is the latest.
    second = set_stance(s, proposal, jid, "no-comment", "Ben")
    assert second.supersedes == label.id and second.stance == "no_comment"
    assert [x for x in evidence_links(s, proposal) if x.justification_id == jid][0].stance == "no_comment"
    assert events(s).count("stance.set") == 2
    assert audit.verify_chain(s.db).ok


def test_rule_model_and_person_labels_side_by_side(ws, crowd, proposal, tmp_path):
    from reviewer.formats import import_stances

    s = ws.store
    apply_ranking_rule(s, proposal)
    a, b = crowd["u1"]["world"], crowd["u2"]["world"]
    lines = [
        {"id": "aaaaaaaa-0000-4000-8000-000000000001", "proposal_id": proposal,
         "justification": {"prompt_id": "p1", "annotator_id": who, "block": "world", "position": 0},
         "stance": "no_comment", "source_kind": "model", "source_name": "gpt-4.1", "prompt_version": "stance-v2",
         "confidence": 0.8, "quote": "honest answers", "detail": {}, "supersedes": None,
         "created_at": "2026-04-01T00:00:00Z"}
        for who in ("u1",)
    ]
    path = tmp_path / "model.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    import_stances(s, path)
    set_stance(s, proposal, b, "supports", "Ana")
    by_link = {x.justification_id: x for x in evidence_links(s, proposal, history=True)}
    assert by_link[a].stance == "no_comment" and by_link[a].label.source == "model:gpt-4.1"
    assert by_link[a].label.confidence == 0.8 and by_link[a].label.quote == "honest answers"
    assert {x.source_kind for x in by_link[a].history} == {"rule", "model"}
    assert by_link[b].label.source == "person:Ana"
    summary = evidence_summary(s, proposal)
    assert summary.by_source == {
        "model:gpt-4.1": {"supports": 0, "refutes": 0, "no_comment": 1},
        "person:Ana": {"supports": 1, "refutes": 0, "no_comment": 0},
        "rule:ranking-based": {"supports": 4, "refutes": 1, "no_comment": 2},
    }
    assert summary.counts == {"supports": 5, "refutes": 1, "no_comment": 3, "unlabelled": 2}
    assert sum(summary.counts.values()) == summary.links


def test_evidence_links_fields_filter_and_pages(ws, crowd, proposal):
    s = ws.store
    apply_ranking_rule(s, proposal)
    every = evidence_links(s, proposal)
    assert len(every) == 11
    assert [x.justification_id for x in every] == sorted(x.justification_id for x in every)
    page = evidence_links(s, proposal, limit=5, offset=5)
    assert [x.justification_id for x in page] == [x.justification_id for x in every[5:10]]
    personal = [x for x in every if x.block == "personal"][0]
    assert personal.prompt_id == "p1" and personal.annotator_id == "u5" and personal.ranking == "A>B>C>D"
    assert personal.demographics == {"country_of_residence": "Kenya", "age": "25-34"}
    assert personal.conversation_id == conv("p1") and personal.linked_by == "conversation"
    assert personal.text.startswith("u5 on p1 (personal)") and personal.language == "en"
    assert personal.label.source == "rule:ranking-based" and personal.history == ()
    assert len(evidence_links(s, proposal, stance="refutes")) == 2
    assert len(evidence_links(s, proposal, stance="unlabelled")) == 2
    assert all(x.stance is None and x.label is None for x in evidence_links(s, proposal, stance="unlabelled"))
    with pytest.raises(KnownError, match="Unknown stance"):
        evidence_links(s, proposal, stance="maybe")
    with pytest.raises(KnownError, match="No proposal"):
        evidence_summary(s, "00000000-0000-4000-8000-000000000000")


def test_statements_are_linked_and_unlinked_by_hand_with_history(ws, crowd, proposal):
    s = ws.store
    statement = add_statement(s, "ccai", 1417, "AI should follow the same laws as people.")
    with pytest.raises(KnownError, match="not linked"):
        set_stance(s, proposal, statement, "supports", "Ana")
    link_statement(s, proposal, statement, "Ana", note="on point")
    with pytest.raises(KnownError, match="already linked"):
        link_statement(s, proposal, statement, "Ana")
    assert evidence_summary(s, proposal).links == 12
    set_stance(s, proposal, statement, "supports", "Ana")
    [link] = [x for x in evidence_links(s, proposal) if x.justification_id == statement]
    assert link.linked_by == "hand" and link.block == "statement" and link.prompt_id is None
    assert link.stance == "supports"
    unlink_statement(s, proposal, statement, "Ben")
    assert evidence_summary(s, proposal).links == 11
    assert len(labels_for(s, proposal, statement)) == 1  # the label is kept
    history = s.db.execute(
        "SELECT action, person FROM evidence_hand_links WHERE justification_id = ? ORDER BY rowid", [statement]
    ).fetchall()
    assert history == [("link", "Ana"), ("unlink", "Ben")]
    # Linked again, the link finds its earlier label.
    link_statement(s, proposal, statement, "Ana")
    assert [x for x in evidence_links(s, proposal) if x.justification_id == statement][0].stance == "supports"
    with pytest.raises(KnownError, match="through its conversation"):
        unlink_statement(s, proposal, crowd["u1"]["world"], "Ana")
    assert [e for e in events(s) if e.startswith("evidence.")] == ["evidence.link", "evidence.unlink", "evidence.link"]


def test_set_stance_rejects_bad_input_and_writes_nothing(ws, crowd, proposal):
    s = ws.store
    count = len(events(s))
    with pytest.raises(KnownError, match="Unknown stance"):
        set_stance(s, proposal, crowd["u1"]["world"], "agrees", "Ana")
    with pytest.raises(KnownError, match="person"):
        set_stance(s, proposal, crowd["u1"]["world"], "supports", " ")
    with pytest.raises(KnownError, match="No justification"):
        set_stance(s, proposal, "00000000-0000-4000-8000-000000000000", "supports", "Ana")
    assert len(events(s)) == count


def test_justifications_imported_after_the_proposal_are_linked(ws, crowd, proposal):
    s = ws.store
    assert evidence_summary(s, proposal).links == 11
    late = add_assessment(s, "p2", "late", world="A>B>C>D", personal="B>A>C>D")
    assert evidence_summary(s, proposal).links == 13
    apply_ranking_rule(s, proposal)
    assert rule_labels(s, proposal)[late["personal"]][0] == "refutes"


def test_migration_fills_current_stances_for_existing_links():
    # A database as it was before this migration, with a link and a label already in it.
    old = Store(Database(sqlite3.connect(":memory:", isolation_level=None)))
    migrations.apply(old.db, stop_before="0003_evidence")
    ids = add_assessment(old, "p1", "u1")
    pid = "99999999-9999-4999-8999-999999999999"
    old.db.execute(
        "INSERT INTO proposals (id, title, intent, kind, origin, base_revision, created_at, created_by)"
        " VALUES (?, 't', 'i', 'clarification', 'human-first', 'x', ?, 'x')",
        [pid, NOW],
    )
    old.db.execute("INSERT INTO proposal_conversations VALUES (?, ?)", [pid, conv("p1")])
    old.db.execute(
        "INSERT INTO stance_labels (id, proposal_id, justification_id, stance, source_kind, source_name, created_at)"
        " VALUES ('88888888-8888-4888-8888-888888888888', ?, ?, 'refutes', 'model', 'm', ?)",
        [pid, ids["world"], NOW],
    )
    migrations.apply(old.db)
    summary = evidence_summary(old, pid)
    assert summary.counts["refutes"] == 1 and summary.links == 1
    assert summary.by_source == {"model:m": {"supports": 0, "refutes": 1, "no_comment": 0}}


def test_an_auditor_cannot_set_a_stance_and_nothing_is_written(tmp_path):
    from reviewer import governance
    from reviewer.errors import KnownError
    from reviewer.workspace import Workspace

    with Workspace.create_demo(tmp_path / "demo") as ws:
        store = ws.store
        proposal_id, justification_id = store.db.execute(
            "SELECT proposal_id, justification_id FROM evidence_current LIMIT 1"
        ).fetchone()
        before = store.counts()
        with pytest.raises(KnownError, match="without the reviewer role"):
            set_stance(store, proposal_id, justification_id, "refutes", "Wei Chen")  # auditor
        assert store.counts() == before
        governance.add_member(store, "Wei Chen", ["reviewer"])
        label = set_stance(store, proposal_id, justification_id, "refutes", "Wei Chen")
        assert label.source_name == "Wei Chen"


def test_a_polis_statement_counts_under_its_authors_opinion_group(ws, crowd, proposal, tmp_path):
    from reviewer.evidence import evidence_page, evidence_split
    from reviewer.polis import import_polis, participant_id, statement_id
    from tests.reviewer.test_polis import SMALL_COMMENTS, SMALL_VOTES, write_export

    s = ws.store
    import_polis(s, *write_export(tmp_path / "town-hall", SMALL_COMMENTS, SMALL_VOTES))
    # Statement 0 was written by participant 0 (opinion group 0), statement 1 by participant 1 (group 1).
    for number, stance in (("0", "supports"), ("1", "refutes")):
        link_statement(s, proposal, statement_id("town-hall", number), "Ana")
        set_stance(s, proposal, statement_id("town-hall", number), stance, "Ana")
    split = {g.group: (g.supports, g.refutes) for g in evidence_split(s, proposal, "opinion_group")}
    assert split["0"] == (1, 0) and split["1"] == (0, 1)
    rows = {r.justification_id: r for r in evidence_page(s, proposal, "supports", limit=100)}
    row = rows[statement_id("town-hall", "0")]
    assert row.participant_id == participant_id("town-hall", "0") and row.annotator_id == "town-hall/0"
    assert row.demographics == {"opinion_group": 0} and row.conversation_id is None
    [link] = [x for x in evidence_links(s, proposal) if x.justification_id == statement_id("town-hall", "1")]
    assert link.participant_id == participant_id("town-hall", "1") and link.demographics == {"opinion_group": 1}


def test_migration_0008_gives_statements_linked_before_it_their_author(tmp_path):
    from sqlite_utils import Database

    from reviewer.migrations import migrations
    from reviewer.polis import import_polis, participant_id, statement_id
    from reviewer.store import Store
    from tests.reviewer.test_polis import SMALL_COMMENTS, SMALL_VOTES, write_export

    path = tmp_path / "old.db"
    db = Database(path)
    migrations.apply(db, stop_before="0008_statement_author")  # a workspace as version 0007 left it
    db.close()
    store = Store.open(path)  # migrated again to the newest on opening…
    import_polis(store, *write_export(tmp_path / "e", SMALL_COMMENTS, SMALL_VOTES))
    store.close()
    db = Database(path)  # …so take the link back to how 0007 stored it: no participant for a statement
    db.execute("INSERT INTO proposals (id, title, intent, kind, origin, base_revision, created_at, created_by)"
               " VALUES ('p', 't', 'i', 'clarification', 'imported', 'HEAD', '2026-01-01T00:00:00Z', 'Ana')")
    db.execute("INSERT INTO evidence_current (proposal_id, justification_id, via) VALUES ('p', ?, 'hand')",
               [statement_id("e", "1")])
    db.execute("UPDATE evidence_current SET participant_id = NULL")
    db.execute("DELETE FROM _sqlite_migrations WHERE name = '0008_statement_author'")
    db.execute("DROP TRIGGER evidence_current_participant")
    db.execute("CREATE TRIGGER evidence_current_participant AFTER INSERT ON evidence_current BEGIN SELECT 1; END")
    db.conn.commit()
    # Run 0008 again by itself (opening the store would refuse a record with a step missing
    # between later ones, which is what this set-up made).
    migrations.apply(db)
    db.close()
    store = Store.open(path)
    try:
        assert store.db.execute("SELECT participant_id FROM evidence_current").fetchall() == [
            (participant_id("e", "1"),)]
    finally:
        store.close()
