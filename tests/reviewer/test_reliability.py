"""Krippendorff's alpha across every stance labeller, against a table computed by hand."""

import pytest

from reviewer import operations
from reviewer.evidence import StanceLabel, insert_label
from reviewer.ids import new_id
from reviewer.reliability import label_reliability, reliability_from_units, value_counts
from tests.reviewer.test_triage import jid, triaged  # noqa: F401 - the fixture

# Four links: (S, S), (S, R), (R, R, R), (N, S); a fifth labelled once is not pairable.
# Coincidences: o_SS 2, o_SR = o_RS 1, o_RR 3 (six ordered pairs at 1/2), o_NS = o_SN 1; n_S 4, n_R 4, n_N 1, n 9.
# D_o = 4/9; D_e = (2·4·4 + 2·4·1 + 2·4·1) / (9·8) = 2/3; alpha = 1 − (4/9)/(2/3) = 1/3.
UNITS = [["supports", "supports"], ["supports", "refutes"], ["refutes"] * 3, ["no_comment", "supports"], ["supports"]]


def test_alpha_equals_the_hand_computed_value():
    result = reliability_from_units(UNITS, resamples=200, seed=1)
    assert result.alpha == pytest.approx(1 / 3)
    assert result.units == 4 and result.values == 9
    assert result.low is not None and result.low <= result.alpha <= result.high
    assert reliability_from_units(UNITS, resamples=200, seed=1) == result  # seeded: the same interval


def test_alpha_is_undefined_without_two_stances_or_a_pairable_unit():
    assert reliability_from_units([["supports", "supports"]]).alpha is None
    assert reliability_from_units([["supports"], ["refutes"]]).alpha is None
    assert value_counts([["refutes"]]).shape == (0, 3)


def _label(ws, pid, justification, stance, kind, name, version=None):
    with ws.store.db.atomic():
        insert_label(ws.store, StanceLabel(
            id=new_id(), proposal_id=pid, justification_id=justification, stance=stance, source_kind=kind,
            source_name=name, prompt_version=version, confidence=None, quote=None, detail={}, supersedes=None,
            created_at="2026-03-01T00:00:00.000000Z"))


def test_every_labeller_counts_once_per_link_with_its_latest_label(triaged):  # noqa: F811
    ws, pid, _statement = triaged
    # The fixture has Ana's label on every link (a, b, d supports; c refutes); Ben, a model and the rule add some.
    a, b, c, d = jid("p1", "u1"), jid("p1", "u2"), jid("p1", "u3"), jid("p2", "u1")
    _label(ws, pid, a, "refutes", "model", "m", "v1")
    _label(ws, pid, a, "supports", "model", "m", "v1")  # later: the model's value for a
    _label(ws, pid, b, "refutes", "rule", "ranking-based")
    operations.set_stance(ws, pid, c, "refutes", actor="Ben")
    _label(ws, pid, c, "refutes", "model", "m", "v1")
    bulk = operations.set_stances(ws, pid, [d], "refutes", actor="Ana").value
    _label(ws, pid, d, "supports", "model", "m", "v1")
    result = label_reliability(ws.store, proposal_id=pid, resamples=100)
    by_hand = [["supports", "supports"], ["supports", "refutes"], ["refutes"] * 3, ["refutes", "supports"]]
    assert result.alpha == pytest.approx(reliability_from_units(by_hand, resamples=0).alpha)
    assert result.units == 4 and result.values == 9
    assert result.labellers == {"person": 2, "model": 1, "rule": 1}
    # Undone, Ana's bulk label no longer counts: her earlier "supports" on d does.
    operations.undo_stances(ws, actor="Ana", bulk_id=bulk.bulk_id)
    after = label_reliability(ws.store, proposal_id=pid, resamples=100)
    by_hand[3] = ["supports", "supports"]
    assert after.alpha == pytest.approx(reliability_from_units(by_hand, resamples=0).alpha)
    assert after.alpha != pytest.approx(result.alpha)
