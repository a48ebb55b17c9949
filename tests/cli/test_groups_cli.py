"""spec-review groups: computed when stale, shown as text or JSON; a proposal's groups; the queue by groups."""

import json

from cli.main import main
from tests.datapaths import SPLIT_BY_COUNTRY


def _json(capsys, argv):
    capsys.readouterr()
    assert main(argv) == 0
    return json.loads(capsys.readouterr().out)


def test_groups_are_computed_once_then_shown_from_the_record(demo_workspace, capsys):
    ws = str(demo_workspace)
    first = _json(capsys, ["groups", ws, "--json", "--by", "Amara Okafor"])
    assert first["recomputed"] == "computed now: no groups were computed yet"
    run = first["run"]
    assert run["source"] == "ca1" and run["participants"] == 175 and 2 <= run["k"] <= 5
    assert [g["label"] for g in first["groups"]] == ["ABCDE"[i] for i in range(run["k"])]
    assert sum(g["size"] for g in first["groups"]) == 175
    assert all(g["make_up"]["country_of_residence"] for g in first["groups"])
    again = _json(capsys, ["groups", ws, "--json"])
    assert again["run"]["id"] == run["id"] and again["recomputed"] is None
    assert main(["groups", ws]) == 0
    text = capsys.readouterr().out
    assert f"{run['k']} opinion groups in the CA-1 rankings" in text and "Group A:" in text and "sets it apart" in text


def test_a_proposals_groups_and_the_queue_by_groups(demo_workspace, capsys):
    ws = str(demo_workspace)
    assert main(["groups", ws]) == 0
    data = _json(capsys, ["groups", ws, "--proposal", SPLIT_BY_COUNTRY, "--json"])
    assert data["figures"]["divisive"] and data["opinion"] and data["demographic"]["country_of_residence"]
    assert all({"size", "supports", "refutes", "share", "low", "high"} <= set(g) for g in data["opinion"])
    rows = _json(capsys, ["queue", ws, "--sort", "divisive", "--json"])
    assert rows[0]["id"] == SPLIT_BY_COUNTRY and rows[0]["groups"]["divisiveness"] >= 0.25
    bridging = _json(capsys, ["queue", ws, "--only", "bridging", "--json"])
    assert all(r["groups"]["bridging"] > 0.5 for r in bridging)
    # What waits for one reviewer sorts and filters the same way.
    mine = _json(capsys, ["queue", ws, "--mine", "Amara Okafor", "--json"])
    mine_sorted = _json(capsys, ["queue", ws, "--mine", "Amara Okafor", "--sort", "divisive", "--json"])
    assert sorted(r["id"] for r in mine_sorted) == sorted(r["id"] for r in mine)
    assert mine_sorted[0]["id"] == SPLIT_BY_COUNTRY
    divisive = {r["id"] for r in _json(capsys, ["queue", ws, "--only", "divisive", "--json"])}
    mine_divisive = _json(capsys, ["queue", ws, "--mine", "Amara Okafor", "--only", "divisive", "--json"])
    assert {r["id"] for r in mine_divisive} == {r["id"] for r in mine} & divisive


def test_bad_input_is_refused_with_a_clear_error(demo_workspace, capsys):
    assert main(["groups", str(demo_workspace), "--source", "polis"]) == 1
    assert "Too few participants" in capsys.readouterr().err  # the demo has no Pol.is votes
    assert main(["groups", str(demo_workspace), "--k-max", "40"]) == 1
    assert "range within" in capsys.readouterr().err
