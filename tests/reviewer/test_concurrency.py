"""Several processes write one workspace at once: writers queue for the lock, none fails "database is locked"."""

import subprocess
import sys
import time

from reviewer import governance
from reviewer.workspace import Workspace
from tests.datapaths import DEMO_TITLES, ROOT

WRITER = """
import sys, time
from pathlib import Path
from reviewer import operations
from reviewer.duty import groups_owed
from reviewer.workspace import Workspace

workspace, reviewer, start, count = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
proposals = sys.argv[5:]
with Workspace.open(workspace) as ws:
    while time.time() < start:  # a barrier: every process begins at the same moment
        time.sleep(0.001)
    for i in range(count):
        outcome = "defer" if i % 2 else "adopt"
        proposal = proposals[i % len(proposals)]
        operations.decide(ws, proposal, outcome, f"Decision {i} by {reviewer}.", actor=reviewer,
                          reason="needs-more-evidence" if outcome == "defer" else None,
                          responses={g.id: "Answered." for g in groups_owed(ws.store, proposal, outcome)})
"""


def test_a_hundred_decisions_from_four_processes_all_land(demo_workspace):
    reviewers = ["Amara Okafor", "Jonas Lindqvist", "Priya Raman", "Lena Vogel"]
    with Workspace.open(demo_workspace) as ws:
        governance.add_member(ws.store, "Lena Vogel", ["reviewer"])
        proposals = ws.store.proposal_ids()
        events_before = ws.store.counts()["audit_events"]
    assert len(proposals) == len(DEMO_TITLES)
    start = time.time() + 3.0  # time for every interpreter to start and open the workspace
    runs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(demo_workspace), name, str(start), "25", *proposals],
                         cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for name in reviewers
    ]
    outputs = [run.communicate(timeout=300) for run in runs]
    for run, (_out, err) in zip(runs, outputs):
        assert run.returncode == 0, err
        assert "locked" not in err
    with Workspace.open(demo_workspace) as ws:
        assert ws.store.counts()["decisions"] == 100
        assert ws.store.counts()["audit_events"] == events_before + 100
        from reviewer import audit

        assert audit.verify_chain(ws.store.db).ok
