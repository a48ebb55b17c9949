import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cli import desktop as cli_desktop
from cli.main import COMMAND_MODULES, main
from tests.datapaths import RESOURCES, ROOT

SVG = "{http://www.w3.org/2000/svg}svg"


def parse_desktop_entry(text):
    """Return {group: {key: value}}; fails on any line that is not a group, a key=value pair, a comment or blank."""
    groups, current = {}, None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = groups.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert sep and key.strip() == key and key and current is not None, f"line {number} is not key=value: {line!r}"
        assert key not in current, f"duplicate key {key}"
        current[key] = value
    return groups


def _smoke_test_module():
    """packaging/smoke_test.py, which reads the bundle's desktop entry the same way (stdlib only)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("smoke_test", ROOT / "packaging" / "smoke_test.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def exec_argv(value):
    """Split an Exec value as the Desktop Entry spec says (the smoke test's reader, so both agree)."""
    return _smoke_test_module().desktop_exec_argv(value)


def test_command_module_is_registered():
    assert "cli.desktop" in COMMAND_MODULES


def test_bundled_desktop_entry_names_the_icon():
    entry = parse_desktop_entry((RESOURCES / "spec-review.desktop").read_text(encoding="utf-8"))
    keys = entry["Desktop Entry"]
    assert keys["Icon"] == "spec-review"
    assert keys["Type"] == "Application" and keys["Name"] == "Spec Review"
    assert (RESOURCES / "icons" / "spec-review.svg").is_file()
    assert not (ROOT / "packaging" / "spec-review.desktop").exists(), "one copy only: resources/spec-review.desktop"


def test_desktop_install_writes_entry_and_icon(capsys, tmp_path):
    prefix = tmp_path / "share"
    assert main(["desktop-install", "--prefix", str(prefix), "--json"]) == 0
    written = json.loads(capsys.readouterr().out)

    desktop_file = prefix / "applications" / "spec-review.desktop"
    icon = prefix / "icons" / "hicolor" / "scalable" / "apps" / "spec-review.svg"
    assert written["desktop_file"] == str(desktop_file) and written["icon"] == str(icon)

    keys = parse_desktop_entry(desktop_file.read_text(encoding="utf-8"))["Desktop Entry"]
    assert keys["Icon"] == "spec-review"
    argv = exec_argv(keys["Exec"])
    assert argv[:-2] == cli_desktop.launcher_command() and argv[-2:] == ["gui", "%f"]
    assert Path(argv[0]).is_absolute() and Path(argv[0]).is_file()
    assert written["exec"] == keys["Exec"]

    assert ET.parse(icon).getroot().tag == SVG
    assert icon.read_bytes() == (RESOURCES / "icons" / "spec-review.svg").read_bytes()


def test_desktop_install_prints_what_it_wrote_and_replaces_old_files(capsys, tmp_path):
    prefix = tmp_path / "share"
    old = prefix / "applications" / "spec-review.desktop"
    old.parent.mkdir(parents=True)
    old.write_text("[Desktop Entry]\nExec=/old/spec-review\n", encoding="utf-8")
    assert main(["desktop-install", "--prefix", str(prefix)]) == 0
    out = capsys.readouterr().out
    assert f"Wrote {old}" in out and "hicolor/scalable/apps/spec-review.svg" in out
    assert "/old/" not in old.read_text(encoding="utf-8")


def test_default_prefix_follows_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert cli_desktop.default_prefix() == tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cli_desktop.default_prefix() == tmp_path / "home" / ".local" / "share"


def test_frozen_build_runs_its_own_executable(monkeypatch, tmp_path):
    exe = tmp_path / "Spec Review $1" / "spec-review"
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", str(exe))
    assert cli_desktop.launcher_command() == [str(exe)]
    keys = parse_desktop_entry(cli_desktop.desktop_entry(cli_desktop.launcher_command()))["Desktop Entry"]
    assert keys["Exec"] == f'"{tmp_path}/Spec Review \\\\$1/spec-review" gui %f'
    assert exec_argv(keys["Exec"]) == [str(exe), "gui", "%f"]


@pytest.mark.parametrize(("arg", "written"), [
    ("/opt/spec-review/spec-review", "/opt/spec-review/spec-review"),
    ("/a b/spec-review", '"/a b/spec-review"'),
    ('/a"b', '"/a\\\\"b"'),
    ("/100%/x", "/100%%/x"),
    ("C:\\x", '"C:\\\\\\\\x"'),
])
def test_exec_argument_quoting(arg, written):
    assert cli_desktop.exec_argument(arg) == written


def test_unwritable_prefix_is_a_user_error(capsys, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("", encoding="utf-8")
    assert main(["desktop-install", "--prefix", str(blocker / "share")]) == 1
    assert "Cannot install the desktop entry" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["/plain/spec-review", "/a b/spec-review", '/q"uote', "/d$ollar `tick`", "/back\\slash",
                                  "/all \"`$\\ of them"])
def test_exec_argument_round_trips(path):
    assert exec_argv(cli_desktop.exec_argument(path) + " gui %f") == [path, "gui", "%f"]
