"""Decision outcomes and their reason categories (light imports only: the GUI reads them at start-up)."""

from reviewer.vocab import OUTCOMES, Outcome

__all__ = ["OUTCOMES", "REASONS", "Outcome"]

REASONS: dict[str, tuple[str, ...]] = {
    Outcome.ADOPT: (),
    Outcome.DEFER: ("needs-research", "needs-product-work", "needs-more-evidence", "other"),
    Outcome.SET_ASIDE: ("principle", "feasibility", "risk", "insufficient-evidence", "other"),
}
