"""What a model run will cost before it starts: cached answers, calls, and tokens counted or estimated."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from reviewer.errors import KnownError
from reviewer.judges.items import WorkItem
from reviewer.judges.prompts import PROMPT_VERSIONS
from reviewer.prices import Cost, Price, cost_of, load_prices, money
from reviewer.store import Store, sql_errors

# Answer length guesses for the estimate (tokens); the prompts ask for short answers.
_OUTPUT_TOKENS = {"ranker": 80, "stance": 90, "relevance_per_section": 12, "relevance": 10}
# Chat formatting adds a few tokens per message and for the reply (OpenAI's published rule of thumb).
_TOKENS_PER_MESSAGE = 3
_TOKENS_PER_REPLY = 3
CACHE_MIN_TOKENS = 1024
"""A provider's prompt cache holds prefixes of at least this many tokens (OpenAI's published minimum)."""


@cache
def _o200k() -> Any:
    """Load the o200k_base encoding once per process (about a second), or None when unavailable."""
    try:
        import bpe_openai  # built-in encodings: works offline, unlike tiktoken, which downloads at first use

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # noqa: BLE001 - any failure means: estimate instead
        return None


class TokenCounter:
    """Counts tokens with the o200k_base encoding when ``bpe-openai`` is installed, else estimates.

    Attributes:
        method: the encoding name, or a description of the approximation.
        exact: whether counts come from a real tokenizer.
    """

    APPROXIMATE = "approximate (UTF-8 bytes / 4)"

    def __init__(self, use_tokenizer: bool = True) -> None:
        self._use_tokenizer = use_tokenizer
        self._memo: dict[str, int] = {}

    @property
    def _encoding(self) -> Any:
        # Loaded at the first count, so an estimate with nothing to send costs no load.
        return _o200k() if self._use_tokenizer else None

    @property
    def exact(self) -> bool:
        """Whether counts come from a real tokenizer."""
        return self._encoding is not None

    @property
    def method(self) -> str:
        """The encoding name, or a description of the approximation."""
        return "o200k_base" if self.exact else self.APPROXIMATE

    def count(self, text: str) -> int:
        """Return the number of tokens in ``text`` (memoised: shared spec parts are counted once)."""
        cached = self._memo.get(text)
        if cached is not None:
            return cached
        if self._encoding is not None:
            try:
                value = len(self._encoding.encode_ordinary(text))
            except ValueError:  # over the encoder's size limit: estimate that part
                value = -(-len(text.encode("utf-8")) // 4)
        else:
            value = -(-len(text.encode("utf-8")) // 4)
        self._memo[text] = value
        return value


@dataclass(frozen=True)
class Estimate:
    """What a run will cost, shown before it starts.

    Attributes:
        task: the task.
        model: the model.
        prompt_version: the prompt.
        items: work items in the run.
        cached: items already answered (no call).
        calls: model calls to make (one per input not cached: items with the same input share a call;
            retries come on top).
        input_tokens: prompt tokens of those calls.
        output_tokens: an approximate answer size for those calls.
        tokenizer: how input tokens were counted (``o200k_base`` or an approximation).
        exact: whether ``input_tokens`` comes from a real tokenizer (exact for OpenAI's o200k models).
        decided_proposals: proposals with decisions whose evidence this run may relabel (stance runs).
        decided_labels: the items of this run on those proposals.
        endpoint: where the requests (and the API key) would go, shown so it can be checked first.
        cached_input_tokens: of ``input_tokens``, about how many the provider's prompt cache may serve:
            the leading messages an earlier request of the run already began with (at least
            ``CACHE_MIN_TOKENS``).
        cost: the price of those tokens at the price table's prices, counting the cached part at the
            cached-input price (None: a model has no price; ``no_price`` names it).
        cost_without_cache: the same with every input token at the full input price.
        no_price: the models without a price in the table.
    """

    task: str
    model: str
    prompt_version: str
    items: int
    cached: int
    calls: int
    input_tokens: int
    output_tokens: int
    tokenizer: str
    exact: bool
    decided_proposals: int = 0
    decided_labels: int = 0
    endpoint: str | None = None
    cached_input_tokens: int = 0
    cost: float | None = None
    cost_without_cache: float | None = None
    no_price: tuple[str, ...] = ()

    def describe(self) -> str:
        """Return the estimate as one paragraph for the terminal."""
        how = "counted with o200k_base" if self.exact else "approximate"
        at = f" at {self.endpoint}" if self.endpoint else ""
        text = (f"{self.task} with {self.model}{at} ({self.prompt_version}): {self.items} items, {self.cached} already "
                f"answered, {self.calls} model calls; about {self.input_tokens:,} input tokens ({how}) and "
                f"{self.output_tokens:,} output tokens (approximate). "
                + cost_sentence(self.calls, self.cached_input_tokens, self.cost, self.cost_without_cache,
                                self.no_price))
        if self.decided_proposals:
            text += (f" It may relabel the evidence of {self.decided_proposals} proposal"
                     f"{'' if self.decided_proposals == 1 else 's'} already decided ({self.decided_labels} labels);"
                     " their decisions keep the evidence they were made on, and the desk and report will show both.")
        return text


def cost_sentence(calls: int, cached_input_tokens: int, cost: float | None, cost_without_cache: float | None,
                  no_price: tuple[str, ...]) -> str:
    """The estimate's sentence on money: the cost with and without the prompt cache, or which model has no price."""
    if not calls:
        return "Cost: nothing to send."
    if cost is None:
        return (f"Cost: unknown, no price set for {' or '.join(no_price)} (set one with "
                "`spec-review judge prices --set MODEL --input X --cached-input Y --output Z`, or in the app's "
                "Models ▸ Price table…).")
    text = f"Cost: about {money(cost)}"
    if cached_input_tokens and cost_without_cache is not None:
        text += (f" if the provider's prompt cache serves about {cached_input_tokens:,} of the input tokens "
                 f"({money(cost_without_cache)} if it serves none)")
    return text + "."


def estimated_cost(prices: Mapping[str, Price], model: str, input_tokens: int, cached_tokens: int,
                   output_tokens: int) -> tuple[Cost, Cost]:
    """The cost with the estimated prompt-cache share, and without any."""
    return (cost_of(prices, model, input_tokens, cached_tokens, output_tokens),
            cost_of(prices, model, input_tokens, 0, output_tokens))


def cacheable_tokens(items: Sequence[WorkItem], counter: TokenCounter) -> int:
    """About how many input tokens a prompt cache can serve: per item, its leading parts an earlier item began with.

    Providers cache a request's prefix and match it against later requests; the requests here are
    built with their shared parts first (instructions, the spec) and the conversation last, so the
    leading parts a run has sent before are what a cache can reuse. Prefixes shorter than
    ``CACHE_MIN_TOKENS`` are not cached.
    """
    seen: set[tuple[int, ...]] = set()
    total = 0
    for item in items:
        parts = item.token_parts
        key: tuple[int, ...] = ()
        shared = running = 0
        for part in parts[:-1]:  # the last part (the conversation) is what differs
            key = (*key, hash(part))
            running += counter.count(part)
            if key in seen:
                shared = running
            else:
                seen.add(key)
        if shared >= CACHE_MIN_TOKENS:
            total += shared
    return total


def cached_results(store: Store, task: str, prompt_version: str, model: str,
                   hashes: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Return the cached ``ok`` results by input hash."""
    wanted = list(dict.fromkeys(hashes))
    found: dict[str, dict[str, Any]] = {}
    with sql_errors("reading the judge cache"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = store.db.execute(
                "SELECT input_hash, result FROM judge_cache WHERE task = ? AND prompt_version = ? AND model = ?"
                f" AND status = 'ok' AND input_hash IN ({','.join('?' * len(chunk))})",
                [task, prompt_version, model, *chunk]).fetchall()
            found.update((h, json.loads(r)) for h, r in rows)
    return found


def estimate(store: Store, items: Sequence[WorkItem], model: str, *, prompt_version: str | None = None,
             counter: TokenCounter | None = None, endpoint: str | None = None,
             prices: Mapping[str, Price] | None = None) -> Estimate:
    """Count the calls, tokens and money a run of ``items`` will need, leaving out cached answers (sent to ``endpoint``).

    Args:
        prices: the price table (default: the user's, ``reviewer.prices.load_prices()``).
    """
    if not items:
        raise KnownError("There is nothing to send to the model.")
    task = items[0].request.task
    version = prompt_version or PROMPT_VERSIONS[task]
    cached = cached_results(store, task, version, model, (i.input_hash for i in items))
    # One call per input: items with the same input (the same request under two keys) share its answer.
    todo = []
    seen: set[str] = set()
    for item in items:
        if item.input_hash not in cached and item.input_hash not in seen:
            seen.add(item.input_hash)
            todo.append(item)
    counter = counter or TokenCounter()
    tokens_in = sum(sum(counter.count(p) for p in i.token_parts)
                    + _TOKENS_PER_MESSAGE * len(i.request.messages) + _TOKENS_PER_REPLY for i in todo)
    if task == "propose":  # the answer is the whole section again, plus a title, an intent and a reason
        tokens_out = sum(int(i.request.payload.get("expected_output_tokens", 0)) for i in todo)
    elif task == "relevance":
        tokens_out = sum(_OUTPUT_TOKENS["relevance"] + _OUTPUT_TOKENS["relevance_per_section"]
                         * len(i.request.payload["section_ids"]) for i in todo)
    else:
        tokens_out = _OUTPUT_TOKENS[task] * len(todo)
    decided_proposals = decided_labels = 0
    if task == "stance":
        by_proposal = Counter(item.request.payload["proposal_id"] for item in items)
        decided = _decided(store, by_proposal)
        decided_proposals, decided_labels = len(decided), sum(by_proposal[p] for p in decided)
    cacheable = cacheable_tokens(todo, counter)
    with_cache, without = estimated_cost(load_prices() if prices is None else prices, model, tokens_in, cacheable,
                                         tokens_out)
    # Nothing to send: zero is exact, and the tokenizer need not be loaded.
    return Estimate(task=task, model=model, prompt_version=version, items=len(items), cached=len(items) - len(todo),
                    calls=len(todo), input_tokens=tokens_in, output_tokens=tokens_out,
                    tokenizer=counter.method if todo else "none needed", exact=counter.exact if todo else True,
                    decided_proposals=decided_proposals, decided_labels=decided_labels, endpoint=endpoint,
                    cached_input_tokens=cacheable, cost=with_cache.amount, cost_without_cache=without.amount,
                    no_price=with_cache.missing)


def _decided(store: Store, proposal_ids: Iterable[str]) -> set[str]:
    """Return those of ``proposal_ids`` that have at least one decision."""
    wanted = list(proposal_ids)
    found: set[str] = set()
    with sql_errors("reading which proposals are decided"):
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            found.update(r[0] for r in store.db.execute(
                f"SELECT DISTINCT proposal_id FROM decisions WHERE proposal_id IN ({','.join('?' * len(chunk))})",
                chunk))
    return found
