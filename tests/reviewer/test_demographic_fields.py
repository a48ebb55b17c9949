"""The one rule for demographic splits, shared by the evidence chart and the agreement view."""

from __future__ import annotations

import json

from reviewer.evidence import FEW_GROUPS, MAX_GROUPS, DemographicField, demographic_fields
from reviewer.store import Store


def _store(demographics: list[object]) -> Store:
    store = Store.memory()
    store.db.conn.executemany(
        "INSERT INTO participants (id, source, source_id, demographics, created_at) VALUES (?, 'test', ?, ?, '2026')",
        [(f"p{i:05d}", str(i), d if isinstance(d, str) else json.dumps(d)) for i, d in enumerate(demographics)],
    )
    return store


def test_free_text_is_left_out_even_in_a_small_workspace():
    # Twenty participants: twenty distinct answers is free text although it is under the group bound.
    store = _store([{"gender": "fm"[i % 2], "motto": f"my own words {i}", "age": str(18 + i % 12)} for i in range(20)])
    assert demographic_fields(store) == [DemographicField("age", 12, 20), DemographicField("gender", 2, 20)]


def test_many_values_need_two_participants_each_and_stay_under_the_bound():
    rows = [{"region": f"r{i % 30}", "city": f"c{i % (MAX_GROUPS + 1)}", "team": f"t{i % 13}"} for i in range(25)]
    names = [f.name for f in demographic_fields(_store(rows))]
    assert names == []  # 25 and 13 values for 25 people: fewer than two each
    rows = [{"region": f"r{i % 30}", "city": f"c{i % (MAX_GROUPS + 1)}", "team": f"t{i % 13}"} for i in range(100)]
    # Two or more each, but 41 cities are over the bound.
    assert [f.name for f in demographic_fields(_store(rows))] == ["region", "team"]
    assert FEW_GROUPS < 13 < 30 < MAX_GROUPS


def test_country_first_lists_count_as_one_value_and_odd_rows_are_skipped():
    rows: list[object] = [{"zone": "a", "country_of_residence": "X", "langs": ["en", "fr"], "empty": ""},
                          {"zone": "b", "country_of_residence": "Y", "langs": ["en"], "none": None}]
    rows += ["not json", "[1, 2]", "42", {}]
    fields = demographic_fields(_store(rows))
    assert fields == [DemographicField("country_of_residence", 2, 2), DemographicField("langs", 2, 2),
                      DemographicField("zone", 2, 2)]


def test_a_sample_reads_only_the_first_participants():
    rows = [{"gender": "fm"[i % 2]} for i in range(10)] + [{"gender": "x", "late": "y"} for _ in range(10)]
    store = _store(rows)
    assert demographic_fields(store, sample=10) == [DemographicField("gender", 2, 10)]
    assert demographic_fields(store) == [DemographicField("gender", 3, 20), DemographicField("late", 1, 10)]
    assert demographic_fields(store.db.conn) == demographic_fields(store)
