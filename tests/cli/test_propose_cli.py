"""spec-review propose (estimate, confirmation, run, --list) and agreement --under, against the local server."""

import json

import pytest

from cli.main import main
from reviewer.workspace import Workspace
from tests.fake_openai_server import FakeOpenAIServer, loop_responder
from tests.helpers import spec_repo_with
from tests.reviewer.test_judges import SPEC
from tests.reviewer.test_propose import seed_loop


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEC_REVIEW_API_KEY", "test")
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    repo = spec_repo_with(tmp_path / "repo", SPEC)
    ws = Workspace.create(tmp_path / "ws", spec_repo=repo)
    seed_loop(ws.store)
    ws.close()
    return tmp_path / "ws"


@pytest.fixture
def server():
    with FakeOpenAIServer(loop_responder) as s:
        yield s


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_propose_asks_first_then_keeps_what_raises_agreement_and_lists_every_candidate(capsys, workspace, server):
    args = ["propose", workspace, "--mode", "single", "--max-candidates", "2", "--holdout", "1",
            "--base-url", server.base_url, "--model", "proposer"]
    code, out, err = run(capsys, *args, "--json")
    assert code == 1 and "--yes" in err and server.requests == []
    estimate = json.loads(out)["estimate"]
    assert estimate["generation_calls"] == 2 and estimate["rerank_calls"] == 3 + 2 * 2 and estimate["exact"]
    code, out, err = run(capsys, *args, "--yes", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert (data["kept"], data["merged"], data["rejected"]) == (1, 1, 0)
    (proposal_id,) = data["proposal_ids"]
    kept = next(c for c in data["candidates"] if c["status"] == "kept")
    assert kept["figures"]["change"] == 1.0 and kept["figures"]["change_low"] == 1.0
    code, out, err = run(capsys, "propose", workspace, "--list")
    assert code == 0, err
    assert "kept     protect_privacy (single, proposer/propose-v1)" in out and f"proposal {proposal_id}" in out
    assert "change +100.0 points [+100.0, +100.0]" in out
    code, out, _ = run(capsys, "propose", workspace, "--list", "--status", "merged", "--json")
    assert [c["status"] for c in json.loads(out)] == ["merged"]
    code, out, _ = run(capsys, "proposal", "show", workspace, proposal_id, "--json")
    assert json.loads(out)["origin"] == "automated-single"


def test_propose_without_a_mode_or_an_endpoint_says_what_to_do(capsys, workspace, monkeypatch):
    code, _, err = run(capsys, "propose", workspace)
    assert code == 1 and "--mode batch or --mode single" in err
    monkeypatch.delenv("SPEC_REVIEW_MODEL", raising=False)
    code, _, err = run(capsys, "propose", workspace, "--mode", "batch", "--yes")
    assert code == 1 and "proposal add" in err


def test_agreement_under_a_proposal(capsys, workspace, server):
    from reviewer.proposals import add_proposal
    from tests.fake_openai_server import LOOP_MARK

    with Workspace.open(workspace) as ws:
        current = ws.load_spec().document.get("protect_privacy").text
        proposal = add_proposal(ws, changes=[("protect_privacy", current + f"\n{LOOP_MARK}\n")], title="Crowd first",
                                intent="Follow the crowd.", kind="clarification")
    code, out, err = run(capsys, "agreement", workspace, "--under", proposal.id, "--base-url", server.base_url,
                         "--model", "rk", "--yes")
    assert code == 0, err
    assert "now            0.0% [0.0%–0.0%]" in out and "under proposal 100.0% [100.0%–100.0%]" in out
    assert "change         +100.0 points [+100.0, +100.0]" in out
    code, out, err = run(capsys, "agreement", workspace, "--under", proposal.id, "--base-url", server.base_url,
                         "--model", "rk", "--yes", "--json")
    data = json.loads(out)
    assert data["figures"]["conversations"] == 3 and data["summary"]["called"] == 0  # from the cache


def test_prices_are_set_from_the_command_line_and_the_estimate_and_the_run_show_money(capsys, workspace, server):
    code, out, err = run(capsys, "judge", "prices", "--set", "proposer", "--input", "2", "--cached-input", "0.5")
    assert code == 1 and "missing --output" in err
    code, out, err = run(capsys, "judge", "prices")
    assert code == 0 and "No prices set" in out
    assert run(capsys, "judge", "prices", "--set", "proposer", "--input", "2", "--cached-input", "0.5",
               "--output", "8")[0] == 0
    code, out, err = run(capsys, "judge", "prices", workspace, "--save-here", "--set", "rk", "--input", "1",
                         "--cached-input", "0.25", "--output", "4", "--json")
    assert code == 0, err
    table = {p["model"]: p for p in json.loads(out)["prices"]}
    assert table["rk"]["source"] == str(workspace / "prices.json") and table["proposer"]["output"] == 8
    args = ["propose", workspace, "--mode", "single", "--max-candidates", "1", "--holdout", "1",
            "--base-url", server.base_url, "--model", "proposer", "--ranker-model", "rk"]
    code, out, err = run(capsys, *args, "--json")
    estimate = json.loads(out)["estimate"]
    assert estimate["cost"] > 0 and estimate["no_price"] == [] and estimate["cost_without_cache"] >= estimate["cost"]
    assert estimate["cost"] == pytest.approx(estimate["generation_cost"] + estimate["rerank_cost"])
    code, out, err = run(capsys, *args, "--yes", "--json")
    assert code == 0, err
    data = json.loads(out)
    gen, rerank = data["generation"], data["rerank"]
    by_hand = ((gen["input_tokens"] - gen["cached_tokens"]) * 2 + gen["cached_tokens"] * 0.5
               + gen["output_tokens"] * 8) / 1e6 + ((rerank["input_tokens"] - rerank["cached_tokens"]) * 1
                                                   + rerank["cached_tokens"] * 0.25 + rerank["output_tokens"] * 4) / 1e6
    assert data["usage"]["cost"] == pytest.approx(by_hand) and data["usage"]["cached_tokens"] > 0
    assert data["usage"]["cached_tokens"] == sum(u["cached_tokens"] for u in server.usage)
    assert run(capsys, "judge", "prices", "--remove", "proposer")[0] == 0
    code, out, err = run(capsys, "propose", workspace, "--mode", "single", "--max-candidates", "2", "--holdout", "1",
                         "--base-url", server.base_url, "--model", "proposer", "--ranker-model", "rk")
    assert code == 1 and "no price set for proposer" in out + err


def test_propose_and_the_what_if_through_the_batch_api(capsys, workspace, server):
    from reviewer.proposals import add_proposal
    from tests.fake_openai_server import LOOP_MARK

    code, out, err = run(capsys, "propose", workspace, "--mode", "single", "--max-candidates", "1", "--holdout", "1",
                         "--base-url", server.base_url, "--model", "proposer", "--batch", "--poll-every", "0",
                         "--yes", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["estimate"]["batch_api"] and data["kept"] == 1
    assert data["generation"]["batches"] == ["batch_1"] and data["rerank"]["batches"] == ["batch_2"]
    assert len(server.batch_bodies) == len(server.requests)  # no single call
    with Workspace.open(workspace) as ws:
        current = ws.load_spec().document.get("protect_privacy").text
        proposal = add_proposal(ws, changes=[("protect_privacy", current + f"\n{LOOP_MARK}\nAlso.\n")],
                                title="Crowd first", intent="Follow the crowd.", kind="clarification")
    code, out, err = run(capsys, "agreement", workspace, "--under", proposal.id, "--base-url", server.base_url,
                         "--model", "rk", "--batch", "--poll-every", "0", "--yes")
    assert code == 0, err
    assert "under proposal 100.0%" in out and server.batches_created == 3
