"""A decision keeps the evidence it was made on; later labels are shown beside it, never over it."""

import json

import pytest

from reviewer import governance, report
from reviewer.decision_evidence import evidence_snapshot, labels_digest, snapshot_digest
from reviewer.evidence import evidence_links, evidence_summary, set_stance
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY, SUPPORTED
from tests.helpers import answers


@pytest.fixture
def demo(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        yield ws


def test_a_decision_stores_what_the_reviewer_saw(demo):
    before = evidence_summary(demo.store, SUPPORTED)
    result = governance.record_decision(demo, SUPPORTED, "adopt", "Amara Okafor", "The crowd supports it.")
    kept = result.decision.evidence
    assert kept["counts"] == before.counts and kept["by_source"] == before.by_source
    c = before.counts
    assert kept["share_supporting"] == round(c["supports"] / (c["supports"] + c["refutes"]), 4)
    low, high = kept["interval"]
    assert low < kept["share_supporting"] < high
    assert kept["split_by"] == "country_of_residence" and sum(v[0] for v in kept["split"].values()) == c["supports"]
    assert kept["labels_digest"] == labels_digest(demo.store, SUPPORTED)
    # Stored with the decision and in its audit event, the same.
    (stored,) = governance.decisions_for(demo.store, SUPPORTED)
    assert stored.evidence == kept
    (payload,) = demo.store.db.execute(
        "SELECT payload FROM audit_events WHERE action = 'decision.record' ORDER BY seq DESC LIMIT 1").fetchone()
    logged = json.loads(payload)
    (text,) = demo.store.db.execute("SELECT evidence FROM decisions WHERE id = ?", [result.decision.id]).fetchone()
    assert logged["evidence_sha256"] == snapshot_digest(text) and json.loads(text) == kept
    assert logged["evidence_counts"] == kept["counts"] and logged["evidence_share"] == kept["share_supporting"]


def test_a_later_label_changes_now_but_not_the_decisions_ground(demo):
    governance.record_decision(demo, SUPPORTED, "adopt", "Amara Okafor", "Supported, 86%.")
    kept = governance.decisions_for(demo.store, SUPPORTED)[0].evidence
    supporting = evidence_links(demo.store, SUPPORTED, stance="supports", limit=3)
    for link in supporting:
        set_stance(demo.store, SUPPORTED, link.justification_id, "refutes", "Jonas Lindqvist")
    now = evidence_snapshot(demo.store, SUPPORTED)
    assert now["counts"]["supports"] == kept["counts"]["supports"] - 3
    assert governance.decisions_for(demo.store, SUPPORTED)[0].evidence == kept  # untouched
    data = report.build_report(demo)
    (entry,) = [p for p in data["proposals"] if p["id"] == SUPPORTED]
    (decision,) = entry["decisions"]
    assert decision["evidence_changed_since"] is True and decision["evidence_at_decision"] == kept
    md = report.render_md(data)
    line = next(x for x in md.splitlines() if x.startswith("- Evidence when Amara Okafor decided"))
    assert f"{kept['counts']['supports']} supports" in line
    assert f"now: {now['counts']['supports']} supports" in line
    assert "Evidence when Amara Okafor decided" in report.render_html(data)


def test_unchanged_evidence_adds_no_note(demo):
    governance.record_decision(demo, SUPPORTED, "adopt", "Amara Okafor", "Supported.")
    data = report.build_report(demo)
    (entry,) = [p for p in data["proposals"] if p["id"] == SUPPORTED]
    assert entry["decisions"][0]["evidence_changed_since"] is False
    assert "Evidence when" not in report.render_md(data)


def test_proposal_show_gives_the_evidence_at_decision_beside_now(demo, capsys):
    from cli.main import main

    governance.record_decision(demo, SUPPORTED, "adopt", "Amara Okafor", "Supported.")
    (link,) = evidence_links(demo.store, SUPPORTED, stance="supports", limit=1)
    set_stance(demo.store, SUPPORTED, link.justification_id, "refutes", "Jonas Lindqvist")
    root = str(demo.root)
    assert main(["proposal", "show", root, SUPPORTED, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (decision,) = data["decisions"]
    assert decision["evidence_changed_since"] is True
    assert decision["evidence"]["counts"]["supports"] == data["evidence"]["counts"]["supports"] + 1
    assert main(["proposal", "show", root, SUPPORTED]) == 0
    out = capsys.readouterr().out
    assert "Evidence now:" in out and "at decision:" in out and "(changed since)" in out


def test_a_stance_run_says_before_it_runs_which_decided_proposals_it_may_relabel(demo):
    from reviewer.judges.estimates import estimate
    from reviewer.judges.items import stance_items

    items = stance_items(demo.store)
    before = estimate(demo.store, items, "test-model")
    assert before.decided_proposals == 0 and "already decided" not in before.describe()
    governance.record_decision(demo, SUPPORTED, "adopt", "Amara Okafor", "Supported.")
    plan = estimate(demo.store, items, "test-model")
    on_supported = sum(1 for i in items if i.request.payload["proposal_id"] == SUPPORTED)
    assert on_supported > 0
    assert (plan.decided_proposals, plan.decided_labels) == (1, on_supported)
    assert f"1 proposal already decided ({on_supported} labels)" in plan.describe()


def test_the_labels_digest_is_one_line_per_link_in_justification_order(demo):
    """The digest's bytes are fixed (decisions keep it): "justification\\tstance\\tkind\\tname\\n" per link."""
    import hashlib

    rows = demo.store.db.execute(
        "SELECT justification_id, stance, source_kind, source_name FROM evidence_current WHERE proposal_id = ?",
        [SUPPORTED]).fetchall()
    assert len(rows) > 100
    lines = sorted("\t".join("" if v is None else v for v in row) + "\n" for row in rows)
    assert labels_digest(demo.store, SUPPORTED) == hashlib.sha256("".join(lines).encode()).hexdigest()
    assert labels_digest(demo.store, "no-such-proposal") == hashlib.sha256(b"").hexdigest()


# ---- the evidence the desk read: kept by the decision while nothing has changed it -------------


def _evidence_reads(store):
    """Count the statements that read the labels' digest (the costly part of reading evidence again)."""
    seen: list[str] = []
    store.db.conn.set_trace_callback(lambda sql: seen.append(sql) if "group_concat(line" in sql else None)
    return seen


def test_a_decision_keeps_the_evidence_the_desk_read_without_reading_it_again(demo):
    from reviewer import operations
    from reviewer.decision_evidence import seen_evidence, still_current

    seen = seen_evidence(demo.store, SPLIT_BY_COUNTRY, "country_of_residence")
    assert seen.as_of_seq is not None and seen.snapshot == evidence_snapshot(demo.store, SPLIT_BY_COUNTRY)
    assert [g.group for g in seen.groups] == list(seen.snapshot["split"])
    # Events that leave this proposal's evidence alone: another reviewer's decision on it, a label on another.
    governance.record_decision(demo, SPLIT_BY_COUNTRY, "defer", "Jonas Lindqvist", "Wait.", "needs-research")
    (other,) = evidence_links(demo.store, SUPPORTED, stance="supports", limit=1)
    set_stance(demo.store, SUPPORTED, other.justification_id, "refutes", "Jonas Lindqvist")
    assert still_current(demo.store, seen, SPLIT_BY_COUNTRY)
    reads = _evidence_reads(demo.store)
    result = operations.decide(demo, SPLIT_BY_COUNTRY, "adopt", "Fine.", actor="Amara Okafor",
                               split_by="country_of_residence", seen=seen,
                               responses=answers(demo, SPLIT_BY_COUNTRY, "adopt"))
    demo.store.db.conn.set_trace_callback(None)
    assert reads == []  # kept, not read again
    assert result.value.decision.evidence == seen.snapshot


@pytest.mark.parametrize("change", ["label", "link", "import", "rule-without-proposals", "model-run", "other-field"])
def test_evidence_read_before_a_change_to_it_is_read_again(demo, change):
    from reviewer import audit, operations
    from reviewer.decision_evidence import seen_evidence, still_current

    seen = seen_evidence(demo.store, SPLIT_BY_COUNTRY, "country_of_residence")
    split_by = "country_of_residence"
    if change == "label":
        (link,) = evidence_links(demo.store, SPLIT_BY_COUNTRY, stance="supports", limit=1)
        operations.set_stance(demo, SPLIT_BY_COUNTRY, link.justification_id, "refutes", actor="Jonas Lindqvist")
    elif change == "link":
        (link,) = evidence_links(demo.store, SUPPORTED, limit=1)
        operations.link(demo, SPLIT_BY_COUNTRY, link.justification_id, actor="Jonas Lindqvist")
    elif change in ("import", "rule-without-proposals"):
        action = "import.ca1" if change == "import" else "evidence.rule"
        with demo.store.db.conn:
            audit.append_event(demo.store.db, actor="Jonas Lindqvist", action=action, object_type="import",
                               object_id="x", payload={})
    elif change == "model-run":
        with demo.store.db.conn:
            demo.store.db.execute(
                "INSERT INTO judge_jobs (id, job_key, task, model, prompt_version, status, items_total, created_at,"
                " updated_at) VALUES ('j', 'k', 'stance', 'm', 'v1', 'running', 1, 'now', 'now')")
    elif change == "other-field":
        split_by = "age_group"
    assert not still_current(demo.store, seen, SPLIT_BY_COUNTRY, split_by)
    result = operations.decide(demo, SPLIT_BY_COUNTRY, "adopt", "Fine.", actor="Amara Okafor",
                               split_by=split_by, seen=seen, responses=answers(demo, SPLIT_BY_COUNTRY, "adopt"))
    kept = result.value.decision.evidence
    assert kept == evidence_snapshot(demo.store, SPLIT_BY_COUNTRY, split_by)
    if change in ("label", "link"):
        assert kept["labels_digest"] != seen.snapshot["labels_digest"]


def test_a_long_log_since_the_reading_is_not_walked(demo, monkeypatch):
    from reviewer import decision_evidence, operations

    seen = decision_evidence.seen_evidence(demo.store, SPLIT_BY_COUNTRY, "country_of_residence")
    monkeypatch.setattr(decision_evidence, "_MOST_EVENTS_CHECKED", 2)
    for name in ("Ada", "Bo", "Cy"):
        operations.add_member(demo, name, ["auditor"], actor="Amara Okafor")
    assert not decision_evidence.still_current(demo.store, seen, SPLIT_BY_COUNTRY)
    monkeypatch.setattr(decision_evidence, "_MOST_EVENTS_CHECKED", 500)
    assert decision_evidence.still_current(demo.store, seen, SPLIT_BY_COUNTRY)
    assert not decision_evidence.still_current(demo.store, seen, SUPPORTED)  # another proposal's reading
