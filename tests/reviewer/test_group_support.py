"""Support per group, group-aware consensus and bridging: against hand-computed values, and on a real workspace."""

import random

import pytest

from reviewer import groups, operations
from reviewer.group_support import (
    consensus,
    figures,
    proposal_groups,
    queue_figures,
    smoothed,
)
from reviewer.groups import GroupRun
from reviewer.queue import filter_by_groups, queue_rows, sort_by_groups
from reviewer.workspace import Workspace
from tests.datapaths import SPLIT_BY_COUNTRY, SUPPORTED
from tests.helpers import spec_repo_with
from tests.reviewer.test_groups import write_ca1


def _run(k):
    return GroupRun("run", "ca1", {}, "digest", None, k, 0.5, 10, 0, 6, 60, None, {"sizes": [5] * k}, "t", "me")


def test_the_smoothed_share_consensus_and_bridging_match_hand_computed_values():
    assert smoothed(0, 0) == 0.5 and smoothed(3, 1) == pytest.approx(4 / 6) and smoothed(0, 2) == 0.25
    # Three groups: (3 supports, 1 refutes), (0, 2), (5, 5) -> 4/6, 1/4, 6/12.
    f = figures(_run(3), {0: (3, 1), 1: (0, 2), 2: (5, 5)})
    assert f.consensus == pytest.approx(4 / 6 * 1 / 4 * 6 / 12) == pytest.approx(1 / 12)
    assert f.bridging == pytest.approx(0.25) and f.lowest == "B"
    assert f.divisiveness == pytest.approx(4 / 6 - 1 / 4) and f.divisive and not f.bridges
    assert f.decided == 16
    # A fourth group with no decided link counts as 1/2 (Pol.is's smoothing), never as 0 or 1.
    four = figures(_run(4), {0: (3, 1), 1: (0, 2), 2: (5, 5)})
    assert four.consensus == pytest.approx(1 / 24) and four.bridging == pytest.approx(0.25)
    # Support in every group: bridges, and the groups are close.
    agreed = figures(_run(2), {0: (9, 1), 1: (7, 1)})
    assert agreed.bridges and agreed.bridging == pytest.approx(8 / 10) and not agreed.divisive
    assert agreed.consensus == pytest.approx(10 / 12 * 8 / 10)
    assert consensus([]) == 1.0


@pytest.fixture
def planted(tmp_path):
    """A workspace with three planted CA-1 groups, their groups found, and a proposal linking some justifications."""
    truth = write_ca1(tmp_path / "ca1")
    ws = Workspace.create(tmp_path / "ws", spec_repo=spec_repo_with(tmp_path / "spec", "# Spec {#spec}\n\nText.\n"))
    operations.import_ca1(ws, [tmp_path / "ca1" / "comparisons.jsonl", tmp_path / "ca1" / "annotators.jsonl"],
                          actor="Ana")
    operations.add_member(ws, "Ana", ["reviewer"], actor="Ana")
    run = operations.compute_groups(ws, "ca1", actor="Ana").value
    yield ws, run, truth
    ws.close()


def test_a_proposals_support_per_opinion_group_counts_its_links_by_the_stored_groups(planted):
    ws, run, _truth = planted
    rows = ws.store.db.execute(
        "SELECT j.id, a.participant_id FROM justifications j JOIN assessments a ON a.id = j.assessment_id"
        " ORDER BY j.id").fetchall()
    rng = random.Random(3)
    chosen = rng.sample(rows, 120)
    proposal = operations.add_proposal(ws, actor="Ana", changes=[("spec", "# Spec {#spec}\n\nNew text.\n")],
                                       title="T", intent="I", kind="clarification",
                                       justifications=[j for j, _p in chosen]).value
    member_group = groups.assignments(ws.store, run.id)
    by_hand = {g: [0, 0] for g in range(run.k)}
    for i, (jid, participant) in enumerate(chosen[:90]):  # 30 links stay unlabelled
        stance = "supports" if (member_group[participant] == 0) == (i % 4 != 0) else "refutes"
        operations.set_stance(ws, proposal.id, jid, stance, actor="Ana")
        by_hand[member_group[participant]][0 if stance == "supports" else 1] += 1
    found = proposal_groups(ws.store, proposal.id)
    assert found.run == run and [g.group for g in found.opinion] == ["A", "B", "C"]
    assert [(g.supports, g.refutes) for g in found.opinion] == [tuple(by_hand[g]) for g in range(run.k)]
    assert sum(g.unlabelled for g in found.opinion) == 30 and found.ungrouped == 0
    assert [g.size for g in found.opinion] == run.detail["sizes"]
    shares = [(s + 1) / (s + r + 2) for s, r in (by_hand[g] for g in range(run.k))]
    product = shares[0] * shares[1] * shares[2]
    assert found.figures.consensus == pytest.approx(product)
    assert found.figures.bridging == pytest.approx(min(shares))
    assert found.figures.divisiveness == pytest.approx(max(shares) - min(shares))
    # Group A mostly supports and the others mostly refute: divisive, and A clearly supports.
    assert found.figures.divisive and not found.figures.bridges
    a = found.opinion[0]
    assert a.clearly_supports and a.low < a.share < a.high
    assert any(g.clearly_refutes for g in found.opinion[1:])
    # The demographic groups beside them, with their sizes in the whole crowd.
    countries = {g.group: g for g in found.demographic["country_of_residence"]}
    assert set(countries) == {"Chile", "Japan", "Kenya"} and all(g.size == 30 for g in countries.values())
    assert sum(g.decided for g in countries.values()) == 90
    # The queue reads the same figures.
    assert queue_figures(ws.store)[proposal.id] == found.figures
    (row,) = queue_rows(ws.store)
    assert row.groups == found.figures
    assert filter_by_groups([row], "divisive") == [row] and filter_by_groups([row], "bridging") == []


def test_without_groups_a_proposal_has_only_its_demographic_groups(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        found = proposal_groups(ws.store, SUPPORTED)
        assert found.run is None and found.opinion == [] and found.figures is None
        assert "country_of_residence" in found.demographic
        assert all(r.groups is None for r in queue_rows(ws.store))
        assert proposal_groups(ws.store, SUPPORTED, fields=()).demographic == {}


def test_the_queue_sorts_by_divisiveness_and_bridging(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        operations.compute_groups(ws, "ca1", actor="Amara Okafor")
        rows = queue_rows(ws.store)
    divisive = sort_by_groups(rows, "divisive")
    assert divisive[0].id == SPLIT_BY_COUNTRY  # split by country, and so by the groups the crowd falls into
    apart = [r.groups.divisiveness for r in divisive]
    assert apart == sorted(apart, reverse=True)
    bridging = [r.groups.bridging for r in sort_by_groups(rows, "bridging")]
    assert bridging == sorted(bridging, reverse=True)
    assert all(r.groups.bridges for r in filter_by_groups(rows, "bridging"))
    assert SPLIT_BY_COUNTRY in {r.id for r in filter_by_groups(rows, "divisive")}
