"""Decision outcomes and their reason categories (no imports: the GUI reads them at start-up)."""

OUTCOMES = ("adopt", "defer", "set_aside")
REASONS: dict[str, tuple[str, ...]] = {
    "adopt": (),
    "defer": ("needs-research", "needs-product-work", "needs-more-evidence", "other"),
    "set_aside": ("principle", "feasibility", "risk", "insufficient-evidence", "other"),
}
