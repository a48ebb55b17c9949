"""Every path to test data, in one place: the vendored Model Spec, the project's own small files, real data.

No test builds a path to data itself (``tests/reviewer/test_datapaths.py`` checks this). Three kinds:

- **Vendored**: the five real Model Spec releases (CC0) in ``spec_repo/``, the same copy the demo uses.
- **Written by the project**: golden files and small exports in ``tests/data/`` (e.g. a Pol.is export
  in the real format), so the code paths real data covers are tested on a bare clone too.
- **Real data that cannot be vendored** (the Pol.is CCAI export states no licence): read from the
  folder named by ``SPEC_REVIEW_REAL_DATA``, or ``../shared/data`` beside the checkout when that
  exists. Tests on it are marked ``real_data``; without the folder they skip and say why; with a
  folder that is missing or incomplete they fail with one line naming what is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from reviewer.resources import resource_path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
SCRIPTS = ROOT / "scripts"
TEST_DATA = TESTS / "data"
GOLDEN = TESTS / "reviewer" / "golden"
OFFSCREEN_SCREEN = TEST_DATA / "offscreen-1920x1080.json"
"""The offscreen platform's screen for the tests: a 1920×1080 desktop (``tests/conftest.py``)."""

# --- vendored: the real Model Spec --------------------------------------------------------------

SPEC_REPO = resource_path("spec_repo")
_RELEASES = json.loads((SPEC_REPO / "releases.json").read_text(encoding="utf-8"))
MODEL_SPEC_DATES: list[str] = [Path(r["dir"]).name for r in _RELEASES]
LATEST = MODEL_SPEC_DATES[-1]
# The demo repository's HEAD: the last release before the collective-alignment clarifications.
BEFORE_CA = "2025-04-11"
AFTER_CA = "2025-09-12"


def model_spec(date: str) -> Path:
    """Return the vendored ``model_spec.md`` of the release of ``date`` (e.g. ``"2025-04-11"``)."""
    if date not in MODEL_SPEC_DATES:
        raise KeyError(f"no vendored Model Spec release {date!r}; have {MODEL_SPEC_DATES}")
    return SPEC_REPO / "releases" / date / "model_spec.md"


def model_spec_text(date: str) -> str:
    """Return the text of the release of ``date``, newlines as written."""
    with open(model_spec(date), encoding="utf-8", newline="") as handle:
        return handle.read()


def changelog(date: str) -> Path | None:
    """Return the vendored ``CHANGELOG.md`` of the release of ``date``, or None when it had none."""
    path = model_spec(date).parent / "CHANGELOG.md"
    return path if path.is_file() else None


SPEC_LICENSE = SPEC_REPO / "LICENSE"
# The releases the demo repository is seeded with, oldest first, from releases.json:
# (tag, release date as in MODEL_SPEC_DATES, commit time in UTC, commit message).
DEMO_RELEASES: list[tuple[str, str, str, str]] = [
    (r["tag"], Path(r["dir"]).name, r["date"], r["message"]) for r in _RELEASES if r["demo"]
]


# --- written by the project ---------------------------------------------------------------------

RESOURCES = resource_path("resources")
DEMO = RESOURCES / "demo"
POLIS_SAMPLE = TEST_DATA / "polis_sample"

# The demo's five proposals (resources/demo/source/proposals.json), named by the role each plays in the tests.
SUPPORTED = "3f6c2a8e-5b1d-4e7a-9c24-8d1e0f7b6a53"  # broad political content: the crowd clearly supports it
REFUTED = "c8e03b72-9d6a-4f1e-b527-3a0f84c6d915"  # tailored political content: the crowd clearly refutes it
SPLIT_BY_COUNTRY = "5e27d8a4-61bf-4c09-93d2-e84a0b5f1c76"  # erotica for verified adults: splits by country
MULTI_SECTION = "b2d47c19-0e8a-4f35-a6b1-5c93e2d8f471"  # two sections, both user level (quorum 1)
AUTHORITY_CHANGE = "7a91e5d3-2c4f-4b86-8e0d-f16b3a7c29e4"  # no_erotica_or_gore from platform to system
ROOT_LEVEL = SUPPORTED  # a platform (= root) section: quorum 2
USER_LEVEL = MULTI_SECTION  # the only demo proposal whose sections are all user level: quorum 1
# The three real changes 2025-09-12 made (their new text is that release's, byte for byte) ...
FROM_RELEASE = (SUPPORTED, MULTI_SECTION, AUTHORITY_CHANGE)
# ... and the two standing for the areas the collective-alignment study did not adopt.
NOT_ADOPTED = (REFUTED, SPLIT_BY_COUNTRY)
DEMO_TITLES: dict[str, str] = {
    r["id"]: r["title"]
    for r in (json.loads(line) for line in (DEMO / "proposals.jsonl").read_text(encoding="utf-8").splitlines())
}

# --- real data that cannot be vendored ------------------------------------------------------------

REAL_DATA_ENV = "SPEC_REVIEW_REAL_DATA"
DEFAULT_REAL_DATA = ROOT.parent / "shared" / "data"
REAL_POLIS_FILES = ("polis_ccai/comments.csv", "polis_ccai/participants-votes.csv")


def real_data_dir() -> Path:
    """Return the real-data folder, or skip (none given, no default) or fail (given but unusable)."""
    given = os.environ.get(REAL_DATA_ENV)
    if given:
        folder = Path(given).expanduser()
        if not folder.is_dir():
            pytest.fail(f"{REAL_DATA_ENV}={given}: no such folder", pytrace=False)
        return folder
    if DEFAULT_REAL_DATA.is_dir():
        return DEFAULT_REAL_DATA
    pytest.skip(
        f"real data not here: set {REAL_DATA_ENV}=FOLDER (holding polis_ccai/), or keep shared/data beside "
        "the checkout; the same code is tested on tests/data/polis_sample"
    )


def real_polis_dir() -> Path:
    """Return the folder of the real Pol.is CCAI export (skips or fails as ``real_data_dir``)."""
    folder = real_data_dir()
    missing = [name for name in REAL_POLIS_FILES if not (folder / name).is_file()]
    if missing:
        pytest.fail(f"real data folder {folder} is incomplete: missing {', '.join(missing)}", pytrace=False)
    return folder / "polis_ccai"
