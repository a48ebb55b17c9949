"""The words the app and the command line show, defined once: statuses, outcomes, quorum, flagged, stale...

The GUI's Help ▸ Glossary and every status word linked to it, and ``spec-review glossary``, read
these entries, so the app and the terminal define a word the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from reviewer.judges.base import FLAGGED_MEANING
from reviewer.vocab import Status


@dataclass(frozen=True)
class Term:
    """One glossary entry.

    Attributes:
        key: its anchor, as links name it (``needs_rebase``).
        word: the word as the app shows it (``Needs rebase``).
        definition: what it means, in a few plain sentences.
        see: the keys of related entries.
    """

    key: str
    word: str
    definition: str
    see: tuple[str, ...] = ()


_FLAGGED = FLAGGED_MEANING.removeprefix("Flagged: ")
_FLAGGED = _FLAGGED[:1].upper() + _FLAGGED[1:]

TERMS: tuple[Term, ...] = (
    # ---- where a proposal stands (reviewer.vocab.Status) ----
    Term(Status.OPEN, "Open",
         "No reviewer's vote counts on the proposal yet: nobody has decided on its current text.",
         ("quorum",)),
    Term(Status.PENDING, "Pending",
         "Every vote that counts agrees, but fewer reviewers have voted than the quorum of the "
         "proposal's level asks for. It waits for more reviewers.", ("quorum",)),
    Term(Status.CONTESTED, "Contested",
         "Reviewers whose votes count disagree (one adopts, another defers, say). Nothing is final "
         "until they agree; a reviewer can decide again, and only their latest vote counts.", ("quorum",)),
    Term(Status.ADOPTED, "Adopted",
         "The quorum of reviewers agrees to adopt the change. An editor commits it to the spec "
         "(the Editor page).", ("committed", "quorum")),
    Term(Status.DEFERRED, "Deferred",
         "The quorum agrees to come back to the proposal later, with a reason such as needs research "
         "or needs more evidence.", ("quorum",)),
    Term(Status.SET_ASIDE, "Set aside",
         "The quorum agrees not to make the change, for a reason of principle, feasibility, risk or "
         "insufficient evidence.", ("quorum",)),
    Term(Status.COMMITTED, "Committed",
         "An adopted proposal an editor has carried out: its text is in a commit of the spec "
         "repository. A committed proposal is never decided or revised again.", ("adopted",)),
    Term(Status.NEEDS_REBASE, "Needs rebase",
         "Adopted, but the spec has changed under the proposal since it was written, so its text no "
         "longer applies as it is. An editor rebases it (Editor page ▸ Rebase…), which makes a new "
         "revision for the reviewers to confirm.", ("adopted", "on_earlier_text")),
    # ---- deciding ----
    Term("adopt", "Adopt", "Vote to make the change to the spec. Adopting needs no reason category.",
         ("quorum",)),
    Term("defer", "Defer", "Vote to decide later, with a reason category (needs research, needs product "
         "work, needs more evidence or other) and a rationale.", ("quorum",)),
    Term("set_aside_vote", "Set aside (vote)", "Vote not to make the change, with a reason category "
         "(principle, feasibility, risk, insufficient evidence or other) and a rationale.", ("quorum",)),
    Term("quorum", "Quorum",
         "How many distinct reviewers must agree before an outcome is final. Each authority level has "
         "its own quorum (root changes need more reviewers than guideline ones); "
         "`spec-review quorum` shows and sets them.", ("pending", "contested")),
    Term("on_earlier_text", "On an earlier text",
         "A vote made on an earlier revision of a proposal whose text has changed since. It no longer "
         "counts towards the quorum until its reviewer confirms it on the current revision "
         "(Confirm my vote) or decides again. Also called a stale vote.", ("stale",)),
    Term("stale", "Stale",
         "Read on something that has changed since: a vote on an earlier text, or a decision marked * "
         "whose evidence (the counts of supporting and refuting justifications) has changed since it "
         "was made. Hover the decision to see the evidence then and now.", ("on_earlier_text",)),
    # ---- evidence ----
    Term("supports", "Supports", "A justification whose argument speaks for the proposed change."),
    Term("refutes", "Refutes", "A justification whose argument speaks against the proposed change."),
    Term("no_comment", "No comment", "A justification linked to the proposal that says nothing for or "
         "against the change."),
    Term("unlabelled", "Unlabelled", "A justification linked to the proposal that has no stance label yet."),
    Term("flagged", "Flagged", _FLAGGED, ("supports", "refutes")),
    Term("share_supporting", "Share supporting",
         "Supports ÷ (supports + refutes), with its 95% Wilson interval; justifications that do not "
         "comment are left out."),
    Term("bridging", "Bridging",
         "A statement that people in different opinion groups agree on alike: its agreement is high in "
         "every group, not only overall.", ("consensus",)),
    Term("consensus", "Consensus",
         "Agreement across the whole crowd on a statement, measured overall rather than group by group.",
         ("bridging",)),
)
"""Every entry, in the order the glossary shows them: the statuses first."""

_BY_KEY = {t.key: t for t in TERMS}


def term(key: str) -> Term:
    """Return the entry ``key`` (a status value such as ``needs_rebase`` works too).

    Raises:
        KeyError: no such entry.
    """
    return _BY_KEY[str(key)]


def status_term(status: str) -> Term | None:
    """Return the entry of a proposal status, or None for a status the glossary does not know."""
    return _BY_KEY.get(str(status)) if str(status) in set(Status) else None


def glossary_text() -> str:
    """The glossary as plain text, one entry a paragraph (``spec-review glossary``)."""
    parts = []
    for entry in TERMS:
        see = f"\n  See also: {', '.join(term(k).word for k in entry.see)}." if entry.see else ""
        parts.append(f"{entry.word}\n  {entry.definition}{see}")
    return "\n\n".join(parts) + "\n"
