"""The price table: what each model costs per million tokens (input, cached input, output), and costs from it.

The table lives beside the model settings, in ``prices.json``: the user's (in the config folder) and
a workspace's (in its folder), the workspace's entry winning for a model both name. Nothing is
priced by default: a model without an entry is shown as "no price set for MODEL", never as free
or at a guessed price. Prices are in US dollars per million tokens, as providers list them.

``cached input`` is the price of input tokens the provider reads from its prompt cache
(``usage.prompt_tokens_details.cached_tokens``); the other input tokens are charged at ``input``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer import paths
from reviewer.errors import KnownError

PRICES_FILE = "prices.json"
PER = 1_000_000
"""Prices are per this many tokens."""
_FIELDS = ("input", "cached_input", "output")


@dataclass(frozen=True)
class Price:
    """One model's prices, in US dollars per million tokens.

    Attributes:
        input: input tokens not read from the prompt cache.
        cached_input: input tokens read from the prompt cache.
        output: output tokens.
    """

    input: float
    cached_input: float
    output: float

    def __post_init__(self) -> None:
        for name in _FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise KnownError(f"A price must be a number of dollars, 0 or more ({name}: {value!r}).")

    def cost(self, input_tokens: int, cached_tokens: int, output_tokens: int) -> float:
        """Dollars for these tokens (``cached_tokens`` are part of ``input_tokens``)."""
        cached = min(max(cached_tokens, 0), max(input_tokens, 0))
        return ((input_tokens - cached) * self.input + cached * self.cached_input + output_tokens * self.output) / PER

    def to_json(self) -> dict[str, float]:
        """The entry as ``prices.json`` keeps it."""
        return {"input": self.input, "cached_input": self.cached_input, "output": self.output}


@dataclass(frozen=True)
class PriceRow:
    """One line of the price table as shown (``price_table``).

    Attributes:
        model: the model name.
        price: its prices.
        source: the file the entry comes from.
    """

    model: str
    price: Price
    source: str


@dataclass(frozen=True)
class Cost:
    """What some model calls cost, or why it is not known.

    Attributes:
        amount: dollars, or None when a model involved has no price.
        missing: the models without a price (empty when ``amount`` is known).
    """

    amount: float | None
    missing: tuple[str, ...] = ()

    def __add__(self, other: Cost) -> Cost:
        missing = tuple(dict.fromkeys((*self.missing, *other.missing)))
        if missing or self.amount is None or other.amount is None:
            return Cost(None, missing)
        return Cost(self.amount + other.amount)

    def describe(self) -> str:
        """``$1.23`` or ``no price set for MODEL``."""
        if self.amount is None:
            return "no price set for " + " or ".join(self.missing or ("the model",))
        return money(self.amount)


def money(amount: float) -> str:
    """Dollars with enough digits to tell small runs apart: ``$12.34``, ``$0.0123``."""
    if amount >= 100:
        return f"${amount:,.0f}"
    if amount >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.4f}"


def cost_of(prices: Mapping[str, Price], model: str, input_tokens: int, cached_tokens: int,
            output_tokens: int) -> Cost:
    """The cost of calls to ``model`` with these tokens, at ``prices`` (``no price`` when the model has none)."""
    price = prices.get(model)
    if price is None:
        return Cost(None, (model or "(no model)",))
    return Cost(price.cost(input_tokens, cached_tokens, output_tokens))


def prices_files(workspace_root: Path | None = None) -> list[Path]:
    """The price files that apply, lowest precedence first (the user's, then the workspace's)."""
    files = [paths.config_dir() / PRICES_FILE]
    if workspace_root is not None:
        files.append(Path(workspace_root) / PRICES_FILE)
    return files


def _read(path: Path) -> dict[str, Price]:
    """Read one price file (missing: empty).

    Raises:
        KnownError: unreadable, not JSON, or an entry that is not three prices.
    """
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise KnownError(f"The price table {path} cannot be read: {exc}.") from exc
    if not isinstance(data, dict):
        raise KnownError(f"The price table {path} must be a JSON object of models.")
    out = {}
    for model, entry in data.items():
        if not isinstance(entry, dict) or set(entry) != set(_FIELDS):
            raise KnownError(f"{path}: the entry for {model!r} must have exactly {', '.join(_FIELDS)}.",
                             hint='e.g. {"gpt-4.1": {"input": 2.0, "cached_input": 0.5, "output": 8.0}}')
        try:
            out[str(model)] = Price(**{k: entry[k] for k in _FIELDS})
        except KnownError as exc:
            raise KnownError(f"{path}: {model}: {exc.message}") from exc
    return out


def price_table(workspace_root: Path | None = None) -> list[PriceRow]:
    """Every priced model with the file its entry comes from, by model name (what a settings view shows)."""
    rows: dict[str, PriceRow] = {}
    for path in prices_files(workspace_root):
        for model, price in _read(path).items():
            rows[model] = PriceRow(model, price, str(path))
    return [rows[m] for m in sorted(rows)]


def load_prices(workspace_root: Path | None = None) -> dict[str, Price]:
    """The prices in force: the user's table, with the workspace's entries over it.

    Raises:
        KnownError: a price file is unreadable or malformed.
    """
    return {row.model: row.price for row in price_table(workspace_root)}


def set_price(path: Path, model: str, price: Price | None) -> Path:
    """Write (or with ``price`` None, remove) one model's entry in the price file ``path``, atomically.

    Raises:
        KnownError: no model name, the file is malformed (left as it was), or cannot be written.
    """
    model = model.strip()
    if not model:
        raise KnownError("Name the model the price is for.")
    path = Path(path)
    table = _read(path)
    if price is None:
        if model not in table:
            raise KnownError(f"{path} has no price for {model!r}.")
        del table[model]
    else:
        table[model] = price
    data: dict[str, Any] = {m: table[m].to_json() for m in sorted(table)}
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise KnownError(f"Cannot write the price table {path}: {exc.strerror or exc}.") from exc
    return path


__all__ = ["PER", "PRICES_FILE", "Cost", "Price", "PriceRow", "cost_of", "load_prices", "money", "price_table",
           "prices_files", "set_price"]
