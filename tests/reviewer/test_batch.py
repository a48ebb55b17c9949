"""The Batch API (``--batch``) against the local server's ``/files`` and ``/batches``: a whole run, a resumed one,
a failed or expired batch, and errors per line."""

import json

import pytest

from reviewer import operations
from reviewer.errors import KnownError
from reviewer.judges.batch import BatchOptions, custom_id
from reviewer.judges.estimates import estimate
from reviewer.judges.openai_judge import OpenAIJudge, make_client
from reviewer.judges.running import run_items
from reviewer.modelconfig import ApiKey
from reviewer.progress import Cancelled
from reviewer.propose import ProposeOptions, plan_propose
from reviewer.store import Store
from tests.fake_openai_server import FakeOpenAIServer, Reply, error_reply, json_reply
from tests.reviewer.test_prices import ranker_items
from tests.reviewer.test_propose import config_for, respond, seed_loop
from tests.reviewer.test_propose import workspace as workspace  # noqa: F401 - the fixture

NOW = BatchOptions(poll_every=0)


@pytest.fixture
def server():
    with FakeOpenAIServer() as s:
        yield s


class CancelWhileWaiting:
    """Cancels the run the first time it waits for a batch (``tick(0)``)."""

    def start(self, total, label=""):
        pass

    def tick(self, amount=1):
        if amount == 0:
            raise Cancelled()

    def finish(self):
        pass


def batch_propose(workspace, server, progress=None, **options):
    config = config_for(server)
    plan = plan_propose(workspace, ProposeOptions(mode="single", batch_api=True, batch_poll_every=0,
                                                  **{"max_candidates": 3, "holdout": 1, **options}), config)
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    return plan, operations.propose(workspace, plan, actor="tester", judge=judge, ranker=judge, progress=progress)


def batches(store):
    return store.db.execute("SELECT id, state, status, requests FROM judge_batches ORDER BY created_at, id").fetchall()


def test_a_propose_run_goes_through_the_batch_api_end_to_end(workspace, server):
    seed_loop(workspace.store)
    server.responder = respond()
    plan, result = batch_propose(workspace, server)
    summary = result.value
    assert (summary.kept, summary.merged, summary.rejected) == (1, 2, 0)
    # Two batches (generation, then re-ranking) and not one single call: every request went in a file.
    assert server.batches_created == 2 and len(server.batch_bodies) == len(server.requests)
    assert summary.generation.batches == ("batch_1",) and summary.rerank.batches == ("batch_2",)
    assert [(b[1], b[2]) for b in batches(workspace.store)] == [("read", "completed"), ("read", "completed")]
    (upload, purpose, data) = server.files["file-1"]
    assert purpose == "batch" and upload.endswith(".jsonl")
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [line["custom_id"] for line in lines] == [custom_id(i.input_hash) for i in plan.items]
    assert {(line["method"], line["url"]) for line in lines} == {("POST", "/v1/chat/completions")}
    assert lines[0]["body"]["response_format"]["json_schema"]["strict"] is True
    rerank_lines = server.files[server.batches["batch_2"]["input_file_id"]][2].decode().splitlines()
    assert len(rerank_lines) == summary.rerank.called == 6  # each candidate's conversation, before and after
    # The usage of each line is recorded as a call's.
    gen = summary.generation
    assert gen.input_tokens == sum(u["prompt_tokens"] for u in server.usage[:3]) and gen.cached_tokens > 0


def test_a_run_stopped_after_the_batch_was_sent_polls_the_same_batch(workspace, server):
    seed_loop(workspace.store)
    server.responder = respond()
    with pytest.raises(Cancelled):
        batch_propose(workspace, server, progress=CancelWhileWaiting())
    assert server.batches_created == 1 and server.batch_bodies == []
    assert batches(workspace.store) == [("batch_1", "open", "in_progress", 3)]
    _plan, result = batch_propose(workspace, server)
    # The generation batch was polled, not sent again; the re-ranking went in the only new batch.
    assert server.batches_created == 2 and result.value.generation.batches == ("batch_1",)
    assert result.value.generation.resumed and result.value.kept == 1
    bodies = [json.dumps(b, sort_keys=True) for b in server.batch_bodies]
    assert len(bodies) == len(set(bodies))  # nothing answered twice
    # Again: every answer is in the cache; no batch is sent or polled.
    _plan, again = batch_propose(workspace, server)
    assert server.batches_created == 2 and again.value.generation.called == 0 and again.value.rerank.called == 0
    assert again.value.generation.batches == () and again.value.rerank.batches == ()


def test_a_failed_batch_says_why_keeps_everything_and_the_next_run_sends_a_new_one(tmp_path, server):
    store = Store.open(tmp_path / "r.db", create=True)
    items = ranker_items(3)
    server.responder = lambda body: json_reply({"ranking": "A>B>C>D", "reason": "By the spec."})
    server.batch_outcome = "failed"
    config = config_for(server, model="rk")
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    with pytest.raises(KnownError) as err:
        run_items(store, items, judge, config, ranker_run=False, batch=NOW)
    assert "The batch batch_1 failed (The input file could not be read (scripted failure).)" in err.value.message
    assert "run the same command again" in err.value.hint.lower()
    assert batches(store) == [("batch_1", "failed", "failed", 3)]
    assert store.db.execute("SELECT status FROM judge_jobs").fetchone() == ("failed",)
    assert store.db.execute("SELECT count(*) FROM judge_cache").fetchone() == (0,)
    server.batch_outcome = "completed"
    summary = run_items(store, items, judge, config, ranker_run=False, batch=NOW)
    assert (summary.ok, summary.batches, summary.resumed) == (3, ("batch_2",), True)
    store.close()


def test_an_expired_batch_keeps_what_it_answered_and_the_next_run_sends_only_the_rest(tmp_path, server):
    store = Store.open(tmp_path / "r.db", create=True)
    items = ranker_items(3)
    server.responder = lambda body: json_reply({"ranking": "A>B>C>D", "reason": "By the spec."})
    server.batch_outcome, server.expire_after = "expired", 1
    config = config_for(server, model="rk")
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    with pytest.raises(KnownError, match="The batch batch_1 expired: 1 of 3 requests were answered and are kept"):
        run_items(store, items, judge, config, ranker_run=False, batch=NOW)
    assert store.db.execute("SELECT count(*) FROM judge_cache WHERE status = 'ok'").fetchone() == (1,)
    failures = store.db.execute("SELECT item_key, kind, error FROM judge_failures ORDER BY item_key").fetchall()
    assert [(k, kind) for k, kind, _e in failures] == [("r1", "expired"), ("r2", "expired")]
    assert failures[0][2].startswith("batch_expired: ")
    server.batch_outcome = "completed"
    summary = run_items(store, items, judge, config, ranker_run=False, batch=NOW)
    assert (summary.cached, summary.called, summary.ok) == (1, 2, 3)
    assert server.batches["batch_2"]["request_counts"]["total"] == 2
    store.close()


def test_errors_in_the_error_file_are_reported_per_item(tmp_path, server):
    store = Store.open(tmp_path / "r.db", create=True)
    items = ranker_items(4)
    server.queue(json_reply({"ranking": "A>B>C>D", "reason": "Fine."}),
                 error_reply(400, "This request is too long."),
                 Reply(line_error={"code": "server_error", "message": "Something broke."}),
                 json_reply({"ranking": "not a ranking", "reason": "Oops."}))
    config = config_for(server, model="rk")
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    summary = run_items(store, items, judge, config, ranker_run=False, batch=NOW)
    assert (summary.ok, summary.failed) == (1, 3)
    failures = {f.item_key: (f.kind, f.error) for f in summary.failures}
    assert failures["r1"][0] == "bad_request" and "This request is too long." in failures["r1"][1]
    assert failures["r2"] == ("batch", "server_error: Something broke.")
    assert failures["r3"][0] == "invalid_output" and "does not follow the schema" in failures["r3"][1]
    stored = dict(store.db.execute("SELECT item_key, kind FROM judge_failures").fetchall())
    assert stored == {"r1": "bad_request", "r2": "batch", "r3": "invalid_output"}
    assert batches(store)[0][1:3] == ("read", "completed")
    store.close()


def test_requests_with_the_same_input_go_once_and_answer_each_item(tmp_path, server):
    store = Store.open(tmp_path / "r.db", create=True)
    items = ranker_items(2)
    twin = ranker_items(1, prefix="twin")[0]  # the same request as r0 under another key
    assert twin.input_hash == items[0].input_hash
    server.responder = lambda body: json_reply({"ranking": "A>B>C>D", "reason": "By the spec."})
    config = config_for(server, model="rk")
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    summary = run_items(store, [*items, twin], judge, config, ranker_run=False, batch=NOW)
    assert summary.ok == 3 and len(server.batch_bodies) == 2
    assert summary.input_tokens == sum(u["prompt_tokens"] for u in server.usage)  # counted once
    assert store.db.execute("SELECT count(*) FROM judge_job_items WHERE status = 'done'").fetchone() == (3,)
    store.close()


def test_the_same_request_under_two_keys_is_sent_once_without_the_batch_api_too(tmp_path, server):
    store = Store.open(tmp_path / "r.db", create=True)
    items = [*ranker_items(2), ranker_items(1, prefix="twin")[0]]
    server.responder = lambda body: json_reply({"ranking": "A>B>C>D", "reason": "By the spec."})
    config = config_for(server, model="rk")
    judge = OpenAIJudge(make_client(config, ApiKey("k", "test")), config)
    assert estimate(store, items, "rk", prices={}).calls == 2  # the estimate counts the calls the run makes
    summary = run_items(store, items, judge, config, ranker_run=False)
    assert len(server.requests) == 2 and (summary.called, summary.cached, summary.ok) == (2, 1, 3)
    assert store.db.execute("SELECT count(*) FROM judge_job_items WHERE status = 'done'").fetchone() == (3,)
    store.close()
