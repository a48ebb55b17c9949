"""The named reads behind the propose dialog and the Candidates view (reviewer.candidates)."""

import pytest

from reviewer.candidates import candidate_text, propose_choices
from reviewer.errors import KnownError
from reviewer.modelconfig import ModelConfig, save_config
from reviewer.propose import list_candidates
from reviewer.workspace import Workspace
from tests.propose_fakes import MARK, fake_propose


def test_the_dialog_offers_every_section_and_the_configured_model_first(demo_workspace):
    save_config(ModelConfig(base_url="http://127.0.0.1:9/v1", model="configured-model"),
                demo_workspace / "models.json")
    with Workspace.open(demo_workspace) as ws:
        before = propose_choices(ws)
        fake_propose(ws, "single", max_candidates=1)
        after = propose_choices(ws)
        ids = [s.id for s in ws.load_spec().document.sections if s.id]
    assert [sid for sid, _title in before.sections] == ids and ("be_kind", "Be kind") in before.sections
    assert before.models == ("configured-model",) and before.configured_model == "configured-model"
    assert before.endpoint == "http://127.0.0.1:9/v1"
    # The model earlier candidates were proposed with is offered after the configured one.
    assert after.models == ("configured-model", "fake-judge")


def test_a_candidate_text_is_diffed_against_its_section_at_its_spec(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        fake_propose(ws, "single", max_candidates=1)
        row = list_candidates(ws.store)[0]
        text = candidate_text(ws, row.id)
        section = ws.load_spec().document.get(row.section_id)
        with pytest.raises(KnownError, match="No candidate 'nope'"):
            candidate_text(ws, "nope")
    assert text.section_id == row.section_id and text.current_text == section.text
    assert text.new_text.rstrip("\n").endswith(MARK)
    inserted = [line.text for h in text.hunks for line in h.lines if line.kind == "insert"]
    assert MARK in inserted and all(line.kind != "delete" for h in text.hunks for line in h.lines)
    # Every conversation it was written from or tested on is named by its prompt's id.
    assert set(text.sources) == {*row.conversations, *row.holdout} and all(text.sources.values())
