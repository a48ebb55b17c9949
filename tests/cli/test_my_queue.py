"""My queue: what waits for one member, given their roles and the quorum (`spec-review queue --mine NAME`)."""

import json

from reviewer import operations
from reviewer.queue import waiting_for
from reviewer.workspace import Workspace
from tests.datapaths import DEMO_TITLES, ROOT_LEVEL, USER_LEVEL
from tests.reviewer.test_governance import run


def test_my_queue_follows_roles_votes_and_the_quorum(demo_workspace, capsys):
    with Workspace.open(demo_workspace) as ws:
        mine = {w.row.id: w.why for w in waiting_for(ws.store, "Amara Okafor")}
        assert set(mine) == set(DEMO_TITLES) and set(mine.values()) == {"needs your decision"}
        assert waiting_for(ws.store, "Sofía Herrera") == []  # an editor, and nothing adopted yet
        operations.decide(ws, USER_LEVEL, "adopt", "Supported across groups.", actor="Amara Okafor")
        operations.decide(ws, ROOT_LEVEL, "adopt", "Supported.", actor="Amara Okafor")
        operations.decide(ws, ROOT_LEVEL, "defer", "Not yet.", actor="Jonas Lindqvist", reason="needs-research")
        mine = {w.row.id: w.why for w in waiting_for(ws.store, "Amara Okafor")}
        assert USER_LEVEL not in mine  # decided, and adopted: nothing more for her
        assert mine[ROOT_LEVEL] == "contested: the reviewers disagree"
        editor = {w.row.id: w.why for w in waiting_for(ws.store, "Sofía Herrera")}
        assert editor == {USER_LEVEL: "adopted: waiting for an editor to commit it"}
    code, out, _err = run(capsys, "queue", demo_workspace, "--mine", "Sofía Herrera")
    assert code == 0 and USER_LEVEL in out and "waiting for an editor" in out
    code, out, _err = run(capsys, "queue", demo_workspace, "--mine", "Priya Raman", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["id"]: r["why"] for r in rows}[ROOT_LEVEL].startswith("contested")
    assert {r["id"]: r["kind"] for r in rows}[USER_LEVEL] == "commit"
    assert {r["id"] for r in rows} >= {ROOT_LEVEL, USER_LEVEL}  # a reviewer and an editor: both kinds
    code, _out, err = run(capsys, "queue", demo_workspace, "--mine", "Nobody")
    assert code == 1 and "Nobody is not a member" in err and len(err.strip().splitlines()) <= 2
    code, out, _err = run(capsys, "queue", demo_workspace)
    assert code == 0 and all(p in out for p in DEMO_TITLES)
