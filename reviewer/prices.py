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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reviewer import paths
from reviewer.errors import KnownError
from reviewer.vocab import PriceFileKind

PRICES_FILE = "prices.json"
PER = 1_000_000
"""Prices are per this many tokens."""
_FIELDS = ("input", "cached_input", "output")
_FIELD_NAMES = {"input": "input price", "cached_input": "cached input price", "output": "output price"}


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
    return write_prices(path, table)


def write_prices(path: Path, table: Mapping[str, Price]) -> Path:
    """Replace the price file ``path`` with ``table`` (by model name), atomically: a failed write leaves it as it was.

    Raises:
        KnownError: the file cannot be written.
    """
    path = Path(path)
    data: dict[str, Any] = {m: table[m].to_json() for m in sorted(table)}
    tmp = path.with_name(path.name + ".tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise KnownError(f"Cannot write the price table {path}: {exc.strerror or exc}.") from exc
    return path


# ---- the table as a settings window edits it -------------------------------------------------------


@dataclass(frozen=True)
class PriceFile:
    """One price file as it stands: its entries, or why it cannot be read.

    Attributes:
        kind: the user's file or the workspace's.
        path: where it is (it need not exist: then it has no entries).
        prices: its entries by model, or None when it cannot be read (then it must not be written over).
        problem: why it cannot be read ("" when it can).
    """

    kind: PriceFileKind
    path: Path
    prices: dict[str, Price] | None
    problem: str = ""


@dataclass(frozen=True)
class TypedPrice:
    """One row of prices as a person typed it, before it is checked (``price_tables_from_rows``).

    Attributes:
        model: the model name.
        input: the input price, as typed (dollars per million tokens).
        cached_input: the cached input price, as typed.
        output: the output price, as typed.
        kind: the file the row is kept in.
    """

    model: str
    input: str
    cached_input: str
    output: str
    kind: PriceFileKind


def read_price_files(workspace_root: Path | None = None) -> list[PriceFile]:
    """Each price file that applies, the user's first, with its entries or why it cannot be read (never raises)."""
    kinds = [PriceFileKind.USER, PriceFileKind.WORKSPACE]
    out = []
    for kind, path in zip(kinds, prices_files(workspace_root), strict=False):
        try:
            out.append(PriceFile(kind, path, _read(path)))
        except KnownError as exc:
            out.append(PriceFile(kind, path, None, str(exc)))
    return out


def price_from_text(field: str, text: str) -> float:
    """A price typed as text (``2.5``, ``$2.50``, `` 0 ``), as dollars per million tokens.

    Args:
        field: ``input``, ``cached_input`` or ``output`` (named in the message).
        text: what was typed.

    Raises:
        KnownError: empty, not a number, not finite, or negative.
    """
    name = _FIELD_NAMES.get(field, field)
    raw = text.strip().removeprefix("$").strip()
    if not raw:
        raise KnownError(f"The {name} is empty.", hint="Type dollars per million tokens, e.g. 2.5 (0 when free).")
    try:
        value = float(raw)
    except ValueError:
        raise KnownError(f"The {name} {text.strip()!r} is not a number.",
                         hint="Type dollars per million tokens with a point for decimals, e.g. 2.5.") from None
    if not math.isfinite(value):
        raise KnownError(f"The {name} {text.strip()!r} is not a number of dollars.")
    if value < 0:
        raise KnownError(f"The {name} cannot be negative ({text.strip()}).",
                         hint="Prices are dollars per million tokens, 0 or more.")
    return value


def price_tables_from_rows(rows: Sequence[TypedPrice]) -> dict[PriceFileKind, dict[str, Price]]:
    """Check typed rows and sort them into one table per file (every file named, empty or not).

    Nothing is written: a caller writes the tables only when every row is good.

    Raises:
        KnownError: naming the first bad row (1-based, as shown) and what is wrong with it: no model,
            a price that is empty, not a number or negative, or a model priced twice in one file.
    """
    tables: dict[PriceFileKind, dict[str, Price]] = {kind: {} for kind in PriceFileKind}
    for number, row in enumerate(rows, start=1):
        model = " ".join(row.model.split())
        if not model:
            raise KnownError(f"Row {number} has no model name.", hint="Type the model's name as the endpoint knows it, "
                             "or remove the row.")
        try:
            values = {field: price_from_text(field, getattr(row, field)) for field in _FIELDS}
        except KnownError as exc:
            raise KnownError(f"Row {number} ({model}): {exc.message}", hint=exc.hint) from None
        table = tables[PriceFileKind(row.kind)]
        if model in table:
            raise KnownError(f"Row {number}: {model} is priced twice in the same file.",
                             hint="Keep one row for it, or keep the other in the other file.")
        table[model] = Price(**values)
    return tables


def save_price_files(files: Sequence[PriceFile], tables: Mapping[PriceFileKind, Mapping[str, Price]]) -> list[Path]:
    """Write each file whose entries ``tables`` changes; returns the files written (none when nothing changed).

    Args:
        files: the files as read (``read_price_files``).
        tables: the new entries of each file, by kind (``price_tables_from_rows``).

    Raises:
        KnownError: ``tables`` has entries for a file that could not be read (it is left as it was,
            and nothing is written), or a file cannot be written.
    """
    for file in files:
        if file.prices is None and tables.get(file.kind):
            raise KnownError(f"{file.path} cannot be read, so nothing was saved into it: {file.problem}",
                             hint="Mend or remove that file first; the other file's rows can be kept meanwhile.")
    known = {file.kind for file in files}
    strays = [kind for kind, table in tables.items() if table and kind not in known]
    if strays:
        raise KnownError(f"There is no {strays[0].value} price file here to keep those rows in.")
    written = []
    for file in files:
        new = dict(tables.get(file.kind, {}))
        if file.prices is None or new == file.prices:
            continue
        written.append(write_prices(file.path, new))
    return written


__all__ = ["PER", "PRICES_FILE", "Cost", "Price", "PriceFile", "PriceRow", "TypedPrice", "cost_of", "load_prices",
           "money", "price_from_text", "price_table", "price_tables_from_rows", "prices_files", "read_price_files",
           "save_price_files", "set_price", "write_prices"]
