"""The price table, estimates in money, and the usage a run records (cached input tokens included)."""

import json

import pytest

from reviewer.errors import KnownError
from reviewer.judges.estimates import CACHE_MIN_TOKENS, TokenCounter, cacheable_tokens, estimate
from reviewer.judges.items import Digests, make_messages_item
from reviewer.judges.prompts import load_prompt
from reviewer.judges.running import run_items, run_usage, usage_text
from reviewer.prices import (
    Cost,
    Price,
    TypedPrice,
    cost_of,
    load_prices,
    money,
    price_table,
    price_tables_from_rows,
    prices_files,
    read_price_files,
    save_price_files,
    set_price,
)
from reviewer.store import Store
from reviewer.vocab import PriceFileKind
from tests.fake_openai_server import FakeOpenAIServer, cached_prefix, json_reply, message_tokens
from tests.reviewer.test_judges import judge_for


@pytest.fixture
def store():
    return Store.memory()


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("SPEC_REVIEW_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def ranker_items(n, spec="The spec. " * 600, prefix="r"):
    """``n`` ranker requests sharing the instructions and a long spec, each with its own conversation."""
    prompt = load_prompt("ranker")
    digests = Digests()
    return [make_messages_item(prompt, f"{prefix}{i}", [spec, f"<conversation>question {i}</conversation>"],
                               {"conversation_id": f"c{i}"}, digests) for i in range(n)]


# ---- the table -----------------------------------------------------------------------------------------


def test_the_price_table_is_edited_per_model_and_the_workspace_wins(home, tmp_path):
    assert load_prices() == {} and price_table() == []
    user = prices_files()[0]
    set_price(user, "gpt-x", Price(2.0, 0.5, 8.0))
    set_price(user, "gpt-y", Price(1.0, 0.25, 4.0))
    workspace = tmp_path / "ws"
    set_price(workspace / "prices.json", "gpt-x", Price(3.0, 1.0, 9.0))
    prices = load_prices(workspace)
    assert prices == {"gpt-x": Price(3.0, 1.0, 9.0), "gpt-y": Price(1.0, 0.25, 4.0)}
    assert [(r.model, r.source) for r in price_table(workspace)] == [
        ("gpt-x", str(workspace / "prices.json")), ("gpt-y", str(user))]
    set_price(user, "gpt-y", None)
    assert load_prices() == {"gpt-x": Price(2.0, 0.5, 8.0)}
    assert json.loads(user.read_text()) == {"gpt-x": {"input": 2.0, "cached_input": 0.5, "output": 8.0}}
    with pytest.raises(KnownError, match="no price for 'gpt-y'"):
        set_price(user, "gpt-y", None)


def test_bad_prices_are_refused_and_a_bad_file_is_named_and_left_alone(home):
    with pytest.raises(KnownError, match="0 or more"):
        Price(-1.0, 0.0, 0.0)
    with pytest.raises(KnownError, match="0 or more"):
        Price(float("nan"), 0.0, 0.0)
    user = prices_files()[0]
    user.parent.mkdir(parents=True)
    user.write_text('{"gpt-x": {"input": 1}}')
    with pytest.raises(KnownError, match="exactly input, cached_input, output") as err:
        load_prices()
    assert str(user) in err.value.message
    with pytest.raises(KnownError):
        set_price(user, "gpt-z", Price(1.0, 1.0, 1.0))
    assert user.read_text() == '{"gpt-x": {"input": 1}}'


def test_costs_by_hand():
    price = Price(input=2.0, cached_input=0.5, output=8.0)
    # 1,000,000 input of which 400,000 cached, 100,000 output: 0.6 * 2 + 0.4 * 0.5 + 0.1 * 8 = 2.2 dollars.
    assert price.cost(1_000_000, 400_000, 100_000) == pytest.approx(2.2)
    assert cost_of({"m": price}, "m", 1_000_000, 400_000, 100_000).amount == pytest.approx(2.2)
    missing = cost_of({"m": price}, "other", 10, 0, 10)
    assert missing.amount is None and missing.describe() == "no price set for other"
    assert (Cost(1.0) + missing).amount is None and (Cost(1.0) + Cost(0.5)).amount == 1.5
    assert (money(2.2), money(0.00123), money(1234.5)) == ("$2.20", "$0.0012", "$1,234")


# ---- estimates in money --------------------------------------------------------------------------------


def test_an_estimate_shows_money_with_and_without_the_prompt_cache(store, home):
    items = ranker_items(4)
    counter = TokenCounter()
    shared = sum(counter.count(p) for p in items[0].token_parts[:-1])
    assert shared >= CACHE_MIN_TOKENS
    # The first request pays for the instructions and the spec; the three after it begin the same way.
    assert cacheable_tokens(items, counter) == 3 * shared
    unpriced = estimate(store, items, "gpt-x", counter=counter, prices={})
    assert unpriced.cost is None and unpriced.no_price == ("gpt-x",)
    assert "no price set for gpt-x" in unpriced.describe()
    price = Price(2.0, 0.5, 8.0)
    est = estimate(store, items, "gpt-x", counter=counter, prices={"gpt-x": price})
    assert est.cached_input_tokens == 3 * shared
    assert est.cost == pytest.approx(price.cost(est.input_tokens, 3 * shared, est.output_tokens))
    assert est.cost_without_cache == pytest.approx(price.cost(est.input_tokens, 0, est.output_tokens))
    assert est.cost < est.cost_without_cache
    assert f"Cost: about {money(est.cost)}" in est.describe()
    assert f"({money(est.cost_without_cache)} if it serves none)" in est.describe()
    # Without a table given, the user's table is read.
    set_price(prices_files()[0], "gpt-x", price)
    assert estimate(store, items, "gpt-x", counter=counter).cost == pytest.approx(est.cost)


def test_short_shared_prefixes_are_not_counted_as_cacheable():
    items = ranker_items(3, spec="A short spec.")
    assert cacheable_tokens(items, TokenCounter()) == 0


# ---- the usage a run records ---------------------------------------------------------------------------


def test_a_run_records_the_endpoints_usage_with_cached_tokens_per_call_and_per_job(store, home):
    items = ranker_items(5)
    with FakeOpenAIServer(lambda body: json_reply({"ranking": "A>B>C>D", "reason": "By the spec."})) as server:
        judge, config = judge_for(server, concurrency=1)
        summary = run_items(store, items, judge, config, ranker_run=False)
        usage = list(server.usage)
        requests = list(server.requests)
    # What the server reported, worked out again from the requests it received.
    assert [u["prompt_tokens"] for u in usage] == [sum(message_tokens(r["messages"])) for r in requests]
    assert [u["cached_tokens"] for u in usage] == [0] + [
        cached_prefix(r["messages"], p["messages"]) for p, r in zip(requests, requests[1:])]
    assert usage[1]["cached_tokens"] == sum(message_tokens(requests[0]["messages"])[:2]) > 1000
    totals = {k: sum(u[k] for u in usage) for k in ("prompt_tokens", "cached_tokens", "completion_tokens")}
    assert (summary.input_tokens, summary.cached_tokens, summary.output_tokens) == (
        totals["prompt_tokens"], totals["cached_tokens"], totals["completion_tokens"])
    per_call = store.db.execute("SELECT sum(input_tokens), sum(cached_tokens), sum(output_tokens) FROM judge_cache"
                                " WHERE task = 'ranker'").fetchone()
    per_job = store.db.execute("SELECT input_tokens, cached_tokens, output_tokens FROM judge_jobs WHERE id = ?",
                               [summary.job_id]).fetchone()
    assert per_call == per_job == (totals["prompt_tokens"], totals["cached_tokens"], totals["completion_tokens"])
    (payload,) = store.db.execute("SELECT payload FROM audit_events WHERE action = 'judge.finish'").fetchone()
    assert json.loads(payload)["cached_tokens"] == totals["cached_tokens"]
    price = Price(2.0, 0.5, 8.0)
    used = run_usage([summary], {"test-model": price})
    assert used["cost"] == pytest.approx(price.cost(totals["prompt_tokens"], totals["cached_tokens"],
                                                    totals["completion_tokens"]))
    assert f"({totals['cached_tokens']:,} of them from the prompt cache)" in usage_text(used)
    assert usage_text(run_usage([summary], {})).endswith("no price set for test-model.")


# ---- the table as the settings window edits it ---------------------------------------------------------


def _typed(model, input_, cached, output, kind=PriceFileKind.USER):
    return TypedPrice(model, input_, cached, output, kind)


def test_typed_rows_become_one_table_per_file_and_only_changed_files_are_written(home, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    user = prices_files()[0]
    set_price(user, "gpt-x", Price(2.0, 0.5, 8.0))
    files = read_price_files(workspace)
    assert [(f.kind, f.path, f.prices) for f in files] == [
        (PriceFileKind.USER, user, {"gpt-x": Price(2.0, 0.5, 8.0)}),
        (PriceFileKind.WORKSPACE, workspace / "prices.json", {})]
    before = user.stat().st_mtime_ns
    tables = price_tables_from_rows([_typed("gpt-x", "2", "0.5", "$8.00"),
                                     _typed("  local   llama ", "0", "0", "0.1", PriceFileKind.WORKSPACE)])
    assert tables == {PriceFileKind.USER: {"gpt-x": Price(2.0, 0.5, 8.0)},
                      PriceFileKind.WORKSPACE: {"local llama": Price(0.0, 0.0, 0.1)}}
    assert save_price_files(files, tables) == [workspace / "prices.json"]  # the user's file is unchanged: not written
    assert user.stat().st_mtime_ns == before
    assert load_prices(workspace) == {"gpt-x": Price(2.0, 0.5, 8.0), "local llama": Price(0.0, 0.0, 0.1)}
    # Removing every row of a file empties it; the CLI reads what the GUI wrote, and the reverse.
    assert save_price_files(read_price_files(workspace), price_tables_from_rows([])) == [user, workspace / "prices.json"]
    assert load_prices(workspace) == {} and json.loads(user.read_text()) == {}


@pytest.mark.parametrize(("row", "message"), [
    (("", "1", "1", "1"), "Row 2 has no model name."),
    (("m", "-1", "1", "1"), "Row 2 (m): The input price cannot be negative (-1)."),
    (("m", "1", "abc", "1"), "Row 2 (m): The cached input price 'abc' is not a number."),
    (("m", "1", "1", ""), "Row 2 (m): The output price is empty."),
    (("m", "1", "1", "nan"), "Row 2 (m): The output price 'nan' is not a number of dollars."),
    (("m", "1", "1", "2,5"), "Row 2 (m): The output price '2,5' is not a number."),
    (("ok", "1", "1", "1"), "Row 2: ok is priced twice in the same file."),
])
def test_a_bad_row_is_named_with_what_is_wrong_and_nothing_is_written(home, tmp_path, row, message):
    user = prices_files()[0]
    set_price(user, "ok", Price(1.0, 1.0, 1.0))
    before = user.read_bytes()
    with pytest.raises(KnownError) as caught:
        save_price_files(read_price_files(), price_tables_from_rows([_typed("ok", "1", "1", "1"), _typed(*row)]))
    assert caught.value.message == message
    assert user.read_bytes() == before


def test_an_unreadable_file_is_never_written_over(home, tmp_path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "prices.json").write_text("{not json", encoding="utf-8")
    files = read_price_files(workspace)
    assert files[1].prices is None and "cannot be read" in files[1].problem
    with pytest.raises(KnownError, match="cannot be read, so nothing was saved"):
        save_price_files(files, price_tables_from_rows([_typed("m", "1", "1", "1"),
                                                         _typed("w", "1", "1", "1", PriceFileKind.WORKSPACE)]))
    assert (workspace / "prices.json").read_text() == "{not json" and not prices_files()[0].exists()
    # The readable file's rows are saved; the unreadable one is left alone.
    assert save_price_files(files, price_tables_from_rows([_typed("m", "1", "1", "1")])) == [prices_files()[0]]
    assert (workspace / "prices.json").read_text() == "{not json"
