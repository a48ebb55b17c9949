"""The command line's evidence triage: `evidence` with --search/--country/--language/--source/--sort."""

import json

from cli.main import main

PROPOSAL = "5e27d8a4-61bf-4c09-93d2-e84a0b5f1c76"  # a demo proposal with 565 links labelled by the rule


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_evidence_search_filters_and_sorts(capsys, demo_workspace):
    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--search", "honest", "--country", "India",
                       "--json")
    data = json.loads(out)
    assert code == 0 and data["links"] == 565 and 0 < data["shown"] < 565
    rows = [r for stance in data["items"].values() for r in stance]
    assert len(rows) == data["shown"]
    assert all(r["demographics"]["country_of_residence"] == "India" for r in rows)
    assert all("honest" in r["text"].lower() for r in rows)
    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--language", "es", "--sort", "divisive",
                       "--stance", "supports", "--limit", "5")
    assert code == 0
    assert "most divisive first" in out.splitlines()[0] and out.count("(rule:ranking-based)") == 5


def test_a_capped_search_says_its_counts_are_floors(capsys, demo_workspace, monkeypatch):
    from reviewer import triage

    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--search", "honest", "--json")
    assert code == 0 and json.loads(out)["capped"] is False
    monkeypatch.setattr(triage, "SEARCH_LIMIT", 5)
    monkeypatch.setattr(triage, "OWN_LINKS_LIMIT", 0)  # more links than are looked up one by one
    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--search", "honest", "--json")
    data = json.loads(out)
    assert code == 0 and data["capped"] is True and data["shown"] <= 5
    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--search", "honest")
    assert code == 0 and ": at least " in out.splitlines()[0]
    assert "More than 5 justifications in the crowd hold these words" in out


def test_evidence_source_filter_and_bad_group(capsys, demo_workspace):
    code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--source", "person", "--json")
    assert code == 0 and json.loads(out)["shown"] == 0
    code, _, err = run(capsys, "evidence", demo_workspace, PROPOSAL, "--group", "tribe:x")
    assert code == 1 and "Unknown group" in err


def test_label_set_in_bulk_then_undo(capsys, demo_workspace, tmp_path):
    _, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--search", "honest", "--stance", "refutes", "--json")
    chosen = [r["justification_id"] for r in json.loads(out)["items"]["refutes"]]
    listed = tmp_path / "ids.txt"
    listed.write_text("\n".join(chosen[1:]) + "\n", encoding="utf-8")
    code, out, _ = run(capsys, "label", "set", demo_workspace, PROPOSAL, "no-comment", chosen[0], "--from-file", listed,
                       "--person", "Amara Okafor")
    assert code == 0 and out.startswith(f"Labelled {len(chosen)} justifications no comment as Amara Okafor")
    _, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--source", "person", "--json")
    assert json.loads(out)["counts"]["no_comment"] == len(chosen)
    code, out, _ = run(capsys, "label", "undo", demo_workspace, "--person", "Amara Okafor", "--json")
    data = json.loads(out)
    assert code == 0 and data["undone"] and {c["before"]["stance"] for c in data["changed"]} == {"refutes"}
    _, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--source", "person", "--json")
    assert json.loads(out)["shown"] == 0
    code, _, err = run(capsys, "label", "undo", demo_workspace, "--person", "Amara Okafor")
    assert code == 1 and "no bulk labelling left to undo" in err
    code, _, err = run(capsys, "label", "set", demo_workspace, PROPOSAL, "supports", "nope", "--person", "Amara Okafor")
    assert code == 1 and "not linked" in err


def test_reliability_and_trust_show_alpha(capsys, demo_workspace):
    code, out, _ = run(capsys, "reliability", demo_workspace, "--json")
    assert code == 0 and json.loads(out)["alpha"] is None  # the demo's links carry the rule's labels only
    _, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--stance", "supports", "--limit", "10", "--json")
    chosen = [r["justification_id"] for r in json.loads(out)["items"]]
    run(capsys, "label", "set", demo_workspace, PROPOSAL, "refutes", *chosen[:4], "--person", "Amara Okafor")
    run(capsys, "label", "set", demo_workspace, PROPOSAL, "supports", *chosen[4:], "--person", "Jonas Lindqvist")
    code, out, _ = run(capsys, "reliability", demo_workspace, "--proposal", PROPOSAL, "--resamples", "200", "--json")
    data = json.loads(out)
    assert code == 0 and data["units"] == 10 and data["labellers"] == {"person": 2, "rule": 1}
    assert data["low"] <= data["alpha"] <= data["high"]
    code, out, _ = run(capsys, "trust", demo_workspace)
    assert "Krippendorff's alpha (nominal)" in out and "over 10 links labelled by two or more of 2 people, 1 rule" in out
    assert "1,000 resamples" in out
    code, out, _ = run(capsys, "trust", demo_workspace, "--resamples", "0")  # the alpha alone, no interval
    assert code == 0 and "Krippendorff's alpha (nominal)" in out and "resamples" not in out
    code, out, _ = run(capsys, "agreement", demo_workspace, "--labels", "--resamples", "50")
    assert code == 0 and "50 resamples" in out
    code, _, err = run(capsys, "reliability", demo_workspace, "--resamples", "-1")
    assert code == 1 and "--resamples" in err


def test_evidence_filters_by_opinion_group(capsys, demo_workspace):
    from reviewer.group_support import proposal_groups, proposal_run
    from reviewer.groups import assignments
    from reviewer.store import Store
    from reviewer.triage import filter_choices

    code, _, err = run(capsys, "evidence", demo_workspace, PROPOSAL, "--group", "opinion:A")
    assert code == 1 and "No opinion groups" in err and "spec-review groups" in err
    assert run(capsys, "groups", demo_workspace, "--source", "ca1")[0] == 0
    store = Store.open(demo_workspace / "reviewer.db")
    try:
        group_run = proposal_run(store, PROPOSAL)
        members = assignments(store, group_run.id)
        split = {g.group: g for g in proposal_groups(store, PROPOSAL, fields=[]).opinion}
        choices = filter_choices(store, PROPOSAL).opinion_groups
    finally:
        store.close()
    assert [label for label, _n in choices] == sorted(split)[:len(choices)] and choices
    for label, links in choices:
        code, out, _ = run(capsys, "evidence", demo_workspace, PROPOSAL, "--group", f"opinion:{label}", "--json",
                           "--limit", "1000")
        data = json.loads(out)
        rows = [r for stance in data["items"].values() for r in stance]
        index = "ABCDEFGHIJ".index(label)
        # Every link shown is from a member of the group, and they are all of its links: the group split's counts.
        assert code == 0 and data["shown"] == links == len(rows)
        assert all(members.get(r["participant_id"]) == index for r in rows)
        assert data["counts"]["supports"] == split[label].supports and data["counts"]["refutes"] == split[label].refutes
    code, _, err = run(capsys, "evidence", demo_workspace, PROPOSAL, "--group", "opinion:Z")
    assert code == 1 and "no opinion group 'Z'" in err


def test_agreement_batch_without_under_is_refused(capsys, demo_workspace):
    code, _, err = run(capsys, "agreement", demo_workspace, "--batch")
    assert code == 1 and "--batch" in err and "--under" in err
