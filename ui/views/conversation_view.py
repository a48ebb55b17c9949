"""A conversation opened from a justification: prompt, four responses, rankings side by side, and the crowd's summary."""

from __future__ import annotations

import json

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QVBoxLayout, QWidget

from reviewer.conversations import ConversationDetail, ResponseTally, conversation_detail
from reviewer.errors import KnownError
from reviewer.progress import Cancelled
from reviewer.rankings import Ranking, ranking_or_none
from reviewer.render import escape, render_markdown
from reviewer.textsafe import dir_attributes, display_text
from ui.access import describe
from ui.dialogs import Dialogs
from ui.labels import PlainLabel, plain_tooltip
from ui.text_browser import SafeTextBrowser
from ui.workers import WorkspaceLane

_CSS = """
<style>
body { font-family: sans-serif; }
pre { background: #f6f8fa; padding: 6px; white-space: pre-wrap; }
th { background: #eef1f5; text-align: left; }
td.num { text-align: right; }
</style>
"""
FOCUS_BACKGROUND = "#e8f0fb"
_BLOCK_TITLES = {"personal": "for themselves", "world": "for the world", "unacceptable": "on unacceptable responses"}


def place_text(ranking: Ranking | None, letter: str) -> str:
    """Return the place of ``letter`` in ``ranking``: ``1``, ``2=`` for a tie, ``–`` when not ranked."""
    if ranking is None:
        return "–"
    place = 1
    for tier in ranking.tiers:
        if letter in tier:
            return f"{place}=" if len(tier) > 1 else str(place)
        place += len(tier)
    return "–"


def hard_breaks(text: str) -> str:
    """Keep the line breaks of chat text in Markdown (outside fenced blocks), as the writer saw them."""
    out = []
    fence = ""
    for line in text.split("\n"):
        stripped = line.lstrip()
        marker = stripped[:3]
        if marker in ("```", "~~~"):
            fence = "" if fence == marker else (fence or marker)
            out.append(line)
        elif fence or not stripped:
            out.append(line)
        else:
            out.append(line.rstrip() + "  ")
    return "\n".join(out)


def _messages_html(messages: tuple[tuple[str, str], ...] | list[tuple[str, str]], *, roles: bool = True) -> str:
    parts = []
    for role, text in messages:
        heading = f'<p style="margin-bottom:0"><b>{escape(role.capitalize())}</b></p>' if roles else ""
        parts.append(heading + render_markdown(hard_breaks(text)))
    return "".join(parts)


def _rating_text(raw: str) -> str:
    """Return a stored unacceptable-block rating (a JSON list) as plain words."""
    try:
        value = json.loads(raw)
    except ValueError:
        return raw
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def _tally_cells(tally: ResponseTally, n: int) -> str:
    first = f"{tally.first} ({tally.first / n * 100:.0f}%)" if n else "–"
    mean = f"{tally.mean_position:.2f}" if tally.mean_position is not None else "–"
    return f'<td class="num">{first}</td><td class="num">{mean}</td>'


def conversation_html(detail: ConversationDetail) -> str:
    """Return the page of one conversation (every crowd and model text escaped)."""
    crowd = detail.crowd
    participant = detail.participant
    letters = sorted(detail.responses) or ["A", "B", "C", "D"]
    parts = [_CSS, f"<h3>{escape(detail.heading)}</h3>"]
    others = "other participants" if participant else "participants"
    parts.append(
        f'<p style="color:#5f6b7a">{escape(detail.provenance)} · {crowd.assessments} {others} assessed it</p>'
    )
    parts.append("<h4>Prompt</h4>" + _messages_html(detail.prompt))

    # The participant and their justifications.
    if participant is not None:
        demo = " · ".join(
            f"{escape(str(k))}: {escape(str(v))}" for k, v in participant.demographics.items()
            if v not in (None, "")
        )
        parts.append(f"<h4>Participant {escape(participant.annotator_id)}</h4>")
        if demo:
            parts.append(f'<p style="color:#5f6b7a">{demo}</p>')
        for j in participant.justifications:
            focus = j.id == participant.focus_id
            language = f" · {escape(j.language)}{'?' if j.language_guessed else ''}" if j.language else ""
            if not j.ranking:
                ranking = ""
            elif j.block == "unacceptable":
                ranking = f" · rating: {escape(_rating_text(j.ranking))}"
            else:
                ranking = f" · ranking {escape(j.ranking)}"
            style = f"background:{FOCUS_BACKGROUND};" if focus else ""
            label = " (opened)" if focus else ""
            parts.append(
                f'<table width="100%" cellpadding="4" style="{style}"><tr><td>'
                f'<span style="color:#5f6b7a">Justification {escape(_BLOCK_TITLES.get(j.block, j.block))}'
                f"{ranking}{language}{label}</span><br/>"
                f'<p{dir_attributes(j.text)} style="white-space:pre-wrap;margin:0">{escape(j.text)}</p></td></tr></table>'
            )

    # Rankings side by side, with the crowd's summary.
    personal = ranking_or_none(participant.personal_ranking) if participant else None
    world = ranking_or_none(participant.world_ranking) if participant else None
    ranker = detail.rankers[0] if detail.rankers else None
    ranker_ranking = ranking_or_none(ranker.ranking) if ranker else None
    groups = ['<th rowspan="2">Response</th>']
    head = []
    if participant is not None:
        groups.append('<th colspan="2">This participant</th>')
        head += ["<th>personal</th>", "<th>world</th>"]
    groups.append('<th rowspan="2">Ranker</th>')
    groups.append(f'<th colspan="5">{escape(others.capitalize())} ({crowd.assessments})</th>')
    head += [
        f"<th>first, personal (n={crowd.personal_n})</th>", "<th>mean place</th>",
        f"<th>first, world (n={crowd.world_n})</th>", "<th>mean place</th>", "<th>unacceptable</th>",
    ]
    rows = ["<tr>" + "".join(groups) + "</tr>", "<tr>" + "".join(head) + "</tr>"]
    unacceptable = set(participant.unacceptable) if participant else set()
    for i, letter in enumerate(letters):
        cells = [f"<td><b>{escape(letter)}</b></td>"]
        if participant is not None:
            mark = " ✗" if letter in unacceptable else ""
            cells += [f'<td class="num">{place_text(personal, letter)}</td>',
                      f'<td class="num">{place_text(world, letter)}{mark}</td>']
        cells.append(f'<td class="num">{place_text(ranker_ranking, letter)}</td>')
        p_tally = crowd.personal[i] if i < len(crowd.personal) else None
        w_tally = crowd.world[i] if i < len(crowd.world) else None
        cells.append(_tally_cells(p_tally, crowd.personal_n) if p_tally else "<td></td><td></td>")
        cells.append(_tally_cells(w_tally, crowd.world_n) if w_tally else "<td></td><td></td>")
        cells.append(f'<td class="num">{w_tally.unacceptable if w_tally else 0}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    strings = ["<td>ranking</td>"]
    if participant is not None:
        strings += [f"<td>{escape(participant.personal_ranking or '–')}</td>",
                    f"<td>{escape(participant.world_ranking or '–')}</td>"]
    strings.append(f"<td>{escape(ranker.ranking) if ranker else '–'}</td><td colspan='5'></td>")
    rows.append('<tr style="color:#5f6b7a">' + "".join(strings) + "</tr>")
    parts.append("<h4>Rankings</h4>")
    parts.append('<table cellspacing="0" cellpadding="4" border="1" style="border-collapse:collapse">'
                 + "".join(rows) + "</table>")
    notes = ["Places: 1 is best; “2=” is a tie. Mean place: tied responses share the mean of the places they span."]
    if participant is not None and unacceptable:
        notes.append("✗: the participant marked this response unacceptable.")
    if ranker is not None:
        reason = f" Reason: {escape(ranker.reason)}" if ranker.reason else ""
        notes.append(
            f"Ranker: {escape(ranker.model)}, run {escape(ranker.run_id)} ({escape(ranker.prompt_version or 'no prompt version')}) on spec "
            f"{escape(ranker.spec_revision[:12])}, {escape(ranker.created_at)}.{reason}"
        )
        for earlier in detail.rankers[1:]:
            notes.append(f"Earlier run by {escape(earlier.model)} on {escape(earlier.spec_revision[:12])}: "
                         f"{escape(earlier.ranking)}")
    parts.append('<p style="color:#5f6b7a">' + "<br/>".join(notes) + "</p>")
    if crowd.world_n:
        tops = " · ".join(
            f"<b>{escape(top)}</b> {n} ({n / crowd.world_n * 100:.0f}%)" for top, n in crowd.world_top
        )
        parts.append(f"<p>Top choice in the {others}' world rankings (n={crowd.world_n}): {tops}</p>")
    else:
        parts.append(f"<p>No world rankings by {others}.</p>")

    # The four responses.
    parts.append("<h4>Responses</h4>")
    for letter in letters:
        facts = []
        if participant is not None:
            facts.append(f"participant: {place_text(world, letter)} (world), {place_text(personal, letter)} (personal)")
        if ranker_ranking is not None:
            facts.append(f"ranker: {place_text(ranker_ranking, letter)}")
        summary = f' <span style="color:#5f6b7a;font-weight:normal">{" · ".join(facts)}</span>' if facts else ""
        parts.append(f"<h4>Response {escape(letter)}{summary}</h4>")
        messages = detail.responses.get(letter, ())
        only_assistant = len(messages) == 1 and messages[0][0] == "assistant"
        parts.append(_messages_html(messages, roles=not only_assistant))
    return "".join(parts)


class ConversationView(QWidget):
    """Shows one conversation with the rankings of the participant who wrote a justification on it.

    Signals:
        loaded(str): a conversation is shown (its id).
        failed(object): reading it failed (the error).

    Attributes:
        detail: the conversation shown, or None.
        browser: the text browser that shows it.
    """

    loaded = Signal(str)
    failed = Signal(object)

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.lane = lane
        self.detail: ConversationDetail | None = None
        self._generation = 0
        self.title = PlainLabel("No conversation open.")
        self.title.setWordWrap(True)
        self.title.setStyleSheet("color:#5f6b7a")
        self.browser = SafeTextBrowser()
        describe(self.browser, None, "The conversation: its prompt, the responses, their rankings and the justifications")
        self.browser.setAccessibleName("Conversation")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.browser, 1)

    def show_conversation(self, conversation_id: str, justification_id: str | None = None) -> None:
        """Read and show ``conversation_id``; with ``justification_id``, focus on its author."""
        self._generation += 1
        generation = self._generation
        self.title.setText("Reading the conversation…")
        self.lane.run(
            lambda ws: conversation_detail(ws.store, conversation_id, justification_id),
            success=lambda detail: self._on_detail(generation, detail),
            failure=lambda error: self._on_failure(generation, error),
        )

    def _on_detail(self, generation: int, detail: ConversationDetail) -> None:
        if generation != self._generation:
            return
        self.detail = detail
        self.title.setText(
            f"{detail.heading} ({detail.provenance})" + (
                f", opened from participant {detail.participant.annotator_id}'s justification"
                if detail.participant else ""
            )
        )
        self.title.setToolTip(plain_tooltip(f"Conversation {detail.id}, {detail.provenance}"))
        self.browser.setHtml(conversation_html(detail))
        self.loaded.emit(detail.id)

    def _on_failure(self, generation: int, error: BaseException) -> None:
        if generation != self._generation:
            return
        if isinstance(error, Cancelled):
            self.title.setText("Cancelled")
            return
        self.title.setText(str(error) if isinstance(error, KnownError) else "Reading the conversation failed.")
        self.failed.emit(error)
        Dialogs.show_error(self, error)


class ConversationDialog(QDialog):
    """A non-modal window around a ``ConversationView`` (Escape closes it, as any dialog).

    Attributes:
        view: the conversation view inside.
    """

    def __init__(self, lane: WorkspaceLane, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Conversation")
        self.setModal(False)
        self.resize(900, 760)
        self.view = ConversationView(lane, self)
        self.view.loaded.connect(self._on_loaded)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)

    def _on_loaded(self, _conversation_id: str) -> None:
        detail = self.view.detail
        if detail is not None:  # the window list and the task bar name the prompt, not an id
            self.setWindowTitle(display_text(f"Conversation: {detail.heading}"))

    def open_conversation(self, conversation_id: str, justification_id: str | None = None) -> None:
        """Show ``conversation_id`` and bring the window to the front (the slot for ``conversation_requested``)."""
        self.view.show_conversation(conversation_id, justification_id)
        if self.isVisible():  # already open behind the main window: bring it forward
            self.raise_()
            self.activateWindow()
        else:
            self.show()

