import threading

import pytest

from reviewer import governance
from reviewer.errors import KnownError
from reviewer.progress import Cancelled
from reviewer.workspace import Workspace
from tests.datapaths import DEMO_TITLES, USER_LEVEL
from tests.helpers import commit_file, git
from ui.dialogs import Dialogs
from ui.views.editor_view import CommitQueueModel, EditorView, commit_banner
from ui.workers import WorkspaceLane

pytestmark = pytest.mark.gui

TITLE = DEMO_TITLES[USER_LEVEL]
SECTION = "assume_objective_pov"  # the first of its two sections


def adopt_one(path, reviewer="Priya Raman"):
    """Adopt the demo's user-level proposal (quorum 1); return its id."""
    with Workspace.open(path) as workspace:
        proposal = next(p for p in workspace.store.list_proposals() if p.id == USER_LEVEL)
        loaded = workspace.load_spec()
        result = governance.decide(
            workspace.store, proposal.id, "adopt", reviewer, "The crowd's reasons hold up.",
            spec_document=loaded.document, spec_revision=loaded.revision,
        )
        assert result.status.status == "adopted"
        return proposal.id


def status_of(path, proposal_id):
    with Workspace.open(path) as workspace:
        return governance.proposal_status(workspace.store, proposal_id)


@pytest.fixture
def adopted(demo_workspace):
    return demo_workspace, adopt_one(demo_workspace)


@pytest.fixture
def make_view(qtbot, monkeypatch):
    lanes = []
    asked = []  # the editor confirms each commit (``answer`` changes the reply)

    def confirm(_parent, question):
        asked.append(question)
        return make.answer

    monkeypatch.setattr(Dialogs, "confirm", confirm)

    def make(path):
        lane = WorkspaceLane(path)
        lanes.append(lane)
        view = EditorView(lane)
        qtbot.addWidget(view)
        view.resize(1200, 700)
        with qtbot.waitSignal(view.refreshed, timeout=20000):
            view.refresh()
        return view

    make.answer, make.asked = True, asked
    yield make
    for lane in lanes:
        lane.shutdown()


def commit(qtbot, view, *, expect_failure=False, during=None):
    """Press Commit; wait for the result and the refreshed list; return the report (or the error)."""
    signal = view.failed if expect_failure else view.committed
    got = []
    signal.connect(got.append)
    with qtbot.waitSignals([signal, view.refreshed], timeout=20000, order="none"):
        view.on_commit()
        if during is not None:
            during()
    signal.disconnect(got.append)
    (value,) = got
    return value


def test_adopted_proposal_is_previewed_committed_and_tagged(qtbot, make_view, adopted):
    path, proposal_id = adopted
    repo = path / "spec"
    head = git(repo, "rev-parse", "HEAD")
    view = make_view(path)
    assert [i.proposal_id for i in view.model.items] == [proposal_id]
    assert view.model.index(0, 0).data() == TITLE
    assert view.model.index(0, 3).data() == "Applies cleanly"
    assert view.commit_button.isEnabled() and view.blocker_label.isHidden()
    html = view.preview.toHtml().lower()
    assert "#f5b5b5" in html and "#a8dab5" in html  # deleted and inserted words
    text = view.preview.toPlainText()
    assert f"#{SECTION}" in text and "ensure that proper cultural context is provided" in text
    view.set_scope("all")
    assert "model_spec.md after 1 commit" in view.preview.toPlainText()
    view.set_mode("inline")
    assert "Current text" not in view.preview.toPlainText()

    view.set_editor("Priya Raman")
    view.tag_edit.setText("v-gui-test")
    make_view.answer = False  # the editor reads what will be written, and says no: nothing is
    view.on_commit()
    (question,) = make_view.asked
    assert "Commit 1 adopted proposal to model_spec.md on main, as Priya Raman?" in question
    assert f"• {TITLE} (" in question and "Then cut release v-gui-test" in question
    assert view.message.text() == "Not committed: nothing was written." and git(repo, "rev-parse", "HEAD") == head
    make_view.answer = True
    report = commit(qtbot, view)
    assert view.message.text().startswith("Committed 1 proposal to main; release v-gui-test tagged at ")

    (item,) = report.items
    assert item.result == "committed" and item.proposal_id == proposal_id
    assert git(repo, "rev-list", "--count", f"{head}..HEAD") == "2"  # the proposal and the CHANGELOG
    message = git(repo, "log", "-1", "--format=%B", item.commit_sha)
    assert f"Proposal-Id: {proposal_id}" in message and "Editor: Priya Raman" in message
    assert git(repo, "tag", "--list", "v-gui-test") == "v-gui-test"
    assert view.model.items == [] and not view.commit_button.isEnabled()
    results = view.results.toPlainText()
    assert item.commit_sha[:10] in results and TITLE in results and "Release v-gui-test" in results
    assert "Committed 1 proposal to main" in view.message.text()
    assert status_of(path, proposal_id).status == "committed"


def test_a_member_without_the_editor_role_is_refused(qtbot, make_view, adopted):
    path, proposal_id = adopted
    head = git(path / "spec", "rev-parse", "HEAD")
    view = make_view(path)
    view.set_editor("Amara Okafor")
    error = commit(qtbot, view, expect_failure=True)
    assert isinstance(error, KnownError)
    assert "Amara Okafor holds reviewer, not editor" in view.message.text()
    assert git(path / "spec", "rev-parse", "HEAD") == head
    assert [i.proposal_id for i in view.model.items] == [proposal_id]
    # No name at all: the view asks for one and runs nothing.
    view.set_editor("  ")
    view.on_commit()
    assert "Enter your name" in view.message.text() and view.progress_panel.isHidden()


def test_conflict_is_shown_with_its_section_and_nothing_is_committed(qtbot, make_view, adopted):
    path, proposal_id = adopted
    repo = path / "spec"
    spec = (repo / "model_spec.md").read_text(encoding="utf-8")
    line = "When an objective stance is appropriate, particularly on sensitive or controversial topics"
    assert spec.count(line) == 1
    moved = commit_file(repo, "model_spec.md", spec.replace(line, "Where objectivity is expected, above all on contested topics"),
                        "Edit the objective point of view outside the app")
    view = make_view(path)
    (item,) = view.model.items
    assert (item.result, item.conflict_section) == ("conflict", SECTION)
    assert view.model.index(0, 3).data() == f"Conflict in {SECTION}"
    assert f"Cannot be committed in #{SECTION}" in view.preview.toPlainText()

    view.set_editor("Sofía Herrera")
    report = commit(qtbot, view)

    assert [i.result for i in report.items] == ["needs_rebase"]
    assert git(repo, "rev-parse", "HEAD") == moved
    results = view.results.toPlainText()
    assert f"#{SECTION}" in results and "changed the same lines" in results
    assert "Nothing committed" in view.message.text()
    assert view.model.index(0, 2).data() == "Needs rebase"
    assert status_of(path, proposal_id).status == "needs_rebase"


def test_dirty_tree_detached_head_and_failing_hook_are_clear_messages(qtbot, make_view, adopted):
    path, _ = adopted
    repo = path / "spec"
    head = git(repo, "rev-parse", "HEAD")
    with open(repo / "model_spec.md", "a", encoding="utf-8") as handle:
        handle.write("\nlocal edit\n")
    view = make_view(path)
    assert "uncommitted changes" in view.blocker_label.text() and not view.blocker_label.isHidden()
    assert not view.commit_button.isEnabled()
    git(repo, "checkout", "-q", "--", "model_spec.md")
    git(repo, "checkout", "-q", "--detach", "HEAD")
    with qtbot.waitSignal(view.refreshed, timeout=20000):
        view.refresh()
    assert "detached HEAD" in view.blocker_label.text() and not view.commit_button.isEnabled()
    git(repo, "checkout", "-q", "main")
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'spec lint failed' >&2\nexit 1\n")
    hook.chmod(0o755)
    with qtbot.waitSignal(view.refreshed, timeout=20000):
        view.refresh()
    assert view.blocker_label.isHidden() and view.commit_button.isEnabled()
    view.set_editor("Priya Raman")
    error = commit(qtbot, view, expect_failure=True)
    assert isinstance(error, KnownError)
    assert "git refused the commit" in view.message.text() and "spec lint failed" in view.message.text()
    assert git(repo, "rev-parse", "HEAD") == head and git(repo, "status", "--porcelain") == ""
    assert len(view.model.items) == 1


def test_cancel_before_the_run_starts_commits_nothing(qtbot, make_view, adopted):
    path, _ = adopted
    head = git(path / "spec", "rev-parse", "HEAD")
    view = make_view(path)
    view.set_editor("Priya Raman")
    gate = threading.Event()
    view.lane.run(lambda ws: gate.wait(10))  # hold the lane so the cancel lands first

    def cancel():
        view.progress_panel.on_cancel()
        gate.set()

    assert isinstance(commit(qtbot, view, expect_failure=True, during=cancel), Cancelled)
    assert view.message.text().startswith("Cancelled")
    assert git(path / "spec", "rev-parse", "HEAD") == head and len(view.model.items) == 1


def test_nothing_waiting(make_view, demo_workspace):
    view = make_view(demo_workspace)
    assert view.model.items == [] and not view.commit_button.isEnabled()
    assert "Nothing adopted is waiting" in view.preview.toPlainText()
    assert view.editor_box.count() == 2  # the demo's editors: Priya Raman and Sofía Herrera


def test_commit_queue_model_passes_model_tester(qtmodeltester, make_view, adopted):
    path, _ = adopted
    view = make_view(path)
    assert view.model.rowCount() == 1
    qtmodeltester.check(view.model)
    qtmodeltester.check(CommitQueueModel())


def test_an_editor_whose_name_holds_a_bidi_override_is_shown_marked_and_commits_as_themselves(
        qtbot, make_view, adopted):
    path, proposal_id = adopted
    name = "Eve \u202eyrotide"
    with Workspace.open(path) as workspace:
        governance.add_member(workspace.store, name, ["editor"])
    view = make_view(path)
    index = next(i for i in range(view.editor_box.count()) if view.editor_box.itemData(i) == name)
    assert "\u202e" not in view.editor_box.itemText(index) and "RLO" in view.editor_box.itemText(index)
    view.editor_box.setCurrentIndex(index)
    assert view.editor() == name
    report = commit(qtbot, view)
    assert [i.result for i in report.items] == ["committed"]
    assert status_of(path, proposal_id).status == "committed"


def test_the_banner_names_every_part_of_the_result():
    from reviewer.committing import CommitItem, CommitReport, ReleaseInfo

    conflict = CommitItem("p2", "Two", "needs_rebase", None, ("s2",), message="conflict")
    done = CommitItem("p1", "One", "committed", "a" * 40, ("s1",))
    release = ReleaseInfo("v2", "b" * 40, ("p1",))
    assert commit_banner(CommitReport("main", "h", "h", (conflict,), release)) == (
        "1 proposal could not be committed (conflict with the current spec; marked as needing a rebase); release "
        "v2 tagged at bbbbbbbbbb.", "warning")  # not a red "Nothing committed" above "Release v2 tagged"
    assert commit_banner(CommitReport("main", "h", "h", (conflict,), None))[1] == "error"
    assert commit_banner(CommitReport("main", "h", "h", (done,), None)) == ("Committed 1 proposal to main.", "ok")
    assert commit_banner(CommitReport("main", "h", "h", (), None))[0] == "Nothing adopted was waiting to be committed."


def test_a_conflict_is_resolved_in_the_three_way_view_and_committed(qtbot, make_view, adopted):
    """Issue 13: each conflicting hunk as base / current spec / proposed, resolved in place, saved as a revision."""
    from reviewer import operations
    from ui.views.rebase_dialog import RebaseDialog

    path, proposal_id = adopted
    repo = path / "spec"
    spec = (repo / "model_spec.md").read_text(encoding="utf-8")
    line = "When an objective stance is appropriate, particularly on sensitive or controversial topics"
    commit_file(repo, "model_spec.md", spec.replace(line, "Where objectivity is expected, above all on contested topics"),
                "Edit the objective point of view outside the app")
    view = make_view(path)
    with qtbot.waitSignal(view.refreshed, timeout=20000):
        view.show()  # on screen, following the operations' changes as in the window
    view.lane.changed.connect(view.on_changes)
    view.table.selectRow(0)
    assert view.rebase_button.isEnabled()
    view.set_editor("")
    view.on_rebase()
    assert "Enter your name" in view.message.text() and view.rebase_dialog is None
    view.set_editor("Sofía Herrera")
    with qtbot.waitSignal(view.refreshed, timeout=20000, raising=False):
        view.on_rebase()
    qtbot.waitUntil(lambda: view.rebase_dialog is not None and view.rebase_dialog.isVisible(), timeout=20000)
    dialog: RebaseDialog = view.rebase_dialog
    assert "1 conflicting hunk to resolve" in dialog.intro.text()
    ((section, editor),) = dialog.conflicts
    assert section == SECTION
    assert line in editor.hunk.base and "Where objectivity is expected" in editor.hunk.current
    assert line not in editor.hunk.proposed or editor.hunk.proposed != editor.hunk.base
    # Type the resolution in place: the current spec's wording, kept.
    editor.resolution.setPlainText(editor.hunk.current.replace("Where objectivity", "Wherever objectivity"))
    dialog.note.setText("Kept the newer wording of the first sentence.")
    with qtbot.waitSignal(dialog.rebased, timeout=20000) as saved:
        dialog.save_button.click()
    revision = saved.args[0]
    assert (revision.revision, revision.kind, revision.created_by) == (2, "resolve", "Sofía Herrera")
    assert "Wherever objectivity is expected" in revision.sections[0].new_text
    qtbot.waitUntil(lambda: "Saved revision 2" in view.message.text(), timeout=5000)
    qtbot.waitUntil(lambda: view.model.items == [], timeout=20000)  # new text: the vote waits for confirmation
    status = status_of(path, proposal_id)
    assert (status.status, status.stale) == ("open", {"Priya Raman": ("adopt", 1)})
    with Workspace.open(path) as workspace:
        operations.confirm_vote(workspace, proposal_id, actor="Priya Raman")
    with qtbot.waitSignal(view.refreshed, timeout=20000):
        view.refresh()
    (item,) = view.model.items
    assert item.result == "clean"
    report = commit(qtbot, view)
    assert [i.result for i in report.items] == ["committed"]
    assert "Wherever objectivity is expected" in (repo / "model_spec.md").read_text(encoding="utf-8")


def test_a_failed_rebase_keeps_the_dialog_and_every_resolution(qtbot, make_view, adopted):
    from reviewer import operations

    path, proposal_id = adopted
    repo = path / "spec"
    spec = (repo / "model_spec.md").read_text(encoding="utf-8")
    line = "When an objective stance is appropriate, particularly on sensitive or controversial topics"
    commit_file(repo, "model_spec.md", spec.replace(line, "Where objectivity is expected"), "moved")
    view = make_view(path)
    view.table.selectRow(0)
    view.set_editor("Sofía Herrera")
    view.on_rebase()
    qtbot.waitUntil(lambda: view.rebase_dialog is not None and view.rebase_dialog.isVisible(), timeout=20000)
    dialog = view.rebase_dialog
    ((_section, editor),) = dialog.conflicts
    editor.resolution.setPlainText("<<<<<<< mine\n")
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "Not saved:" in dialog.message.text(), timeout=20000)
    assert "conflict markers" in dialog.message.text() and dialog.isVisible()
    assert editor.resolution.toPlainText() == "<<<<<<< mine\n" and dialog.save_button.isEnabled()
    # Someone else revised meanwhile: the dialog's revision is refused, nothing is overwritten.
    with Workspace.open(path) as workspace:
        operations.revise_proposal(workspace, proposal_id, actor="Priya Raman", title="Retitled meanwhile")
    editor.resolution.setPlainText(editor.hunk.current)
    dialog.save_button.click()
    qtbot.waitUntil(lambda: "at revision 2 now, not 1" in dialog.message.text(), timeout=20000)
