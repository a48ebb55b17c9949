"""The data the tests read: one module names every path, the vendored spec is the published text."""

import hashlib
import json
import re

import pytest

from tests import datapaths
from tests.datapaths import MODEL_SPEC_DATES, SPEC_REPO, TESTS, model_spec

# A test that builds its own path to data: the file it lives in, the shared folder, the bundled folders.
OWN_PATH = re.compile(r"__file__|[\"']shared[\"']|\.\./shared|resource_path\(|ROOT\s*/\s*[\"'](?:resources|spec_repo|tests)")


def git_blob_id(data: bytes) -> str:
    """The id git gives a file's content (``git hash-object``), computed here without git."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def test_no_test_builds_its_own_path_to_data():
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        if path.name == "datapaths.py" or path == __import__("pathlib").Path(__file__):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if OWN_PATH.search(line):
                offenders.append(f"{path.relative_to(TESTS)}:{number}: {line.strip()}")
    assert offenders == [], "use tests/datapaths.py:\n" + "\n".join(offenders)


def test_vendored_releases_are_the_published_blobs():
    releases = json.loads((SPEC_REPO / "releases.json").read_text(encoding="utf-8"))
    source = (SPEC_REPO / "SOURCE.md").read_text(encoding="utf-8")
    assert [r["dir"].split("/")[-1] for r in releases] == MODEL_SPEC_DATES == [
        "2025-02-12", "2025-04-11", "2025-09-12", "2025-10-27", "2025-12-18"]
    for release in releases:
        date = release["dir"].split("/")[-1]
        blob = git_blob_id(model_spec(date).read_bytes())
        assert blob == release["blob"], date
        assert f"| {date} |" in source and f"`{blob}`" in source, f"SOURCE.md does not name {date}'s blob"
    assert git_blob_id((SPEC_REPO / "LICENSE").read_bytes()) == "0e259d42c996742e9e3cba14c677129b2c1b6311"
    assert "CC0 1.0 Universal" in (SPEC_REPO / "LICENSE").read_text(encoding="utf-8")


def test_demo_history_stops_before_the_collective_alignment_release():
    releases = json.loads((SPEC_REPO / "releases.json").read_text(encoding="utf-8"))
    demo = [r["dir"].split("/")[-1] for r in releases if r["demo"]]
    assert demo[-1] == datapaths.BEFORE_CA == "2025-04-11"
    assert all(r["demo"] for r in releases[: len(demo)])  # a prefix of the history, oldest first


def test_real_data_folder_given_but_missing_fails_with_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv(datapaths.REAL_DATA_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(pytest.fail.Exception, match=r"SPEC_REVIEW_REAL_DATA=.*nowhere: no such folder"):
        datapaths.real_polis_dir()


def test_real_data_folder_incomplete_fails_naming_the_missing_file(monkeypatch, tmp_path):
    (tmp_path / "polis_ccai").mkdir()
    (tmp_path / "polis_ccai" / "comments.csv").write_text("x\n")
    monkeypatch.setenv(datapaths.REAL_DATA_ENV, str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match=r"incomplete: missing polis_ccai/participants-votes.csv$"):
        datapaths.real_polis_dir()


def test_without_a_real_data_folder_the_tests_skip_and_say_why(monkeypatch, tmp_path):
    monkeypatch.delenv(datapaths.REAL_DATA_ENV, raising=False)
    monkeypatch.setattr(datapaths, "DEFAULT_REAL_DATA", tmp_path / "absent")
    with pytest.raises(pytest.skip.Exception, match="SPEC_REVIEW_REAL_DATA"):
        datapaths.real_polis_dir()
