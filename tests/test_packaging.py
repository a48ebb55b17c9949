"""Packaging: the wheel holds every project file and installs into a clean venv as a working ``spec-review``.

The slow test builds the wheel from a clean copy of the files git tracks (packaging/build_wheel.py),
installs it with its dependencies into a new venv without system site packages, and runs the
installed command from a scratch folder outside the checkout (packaging/smoke_test.py, the same
checks the frozen build gets from ``bash scripts/dev package``, less the --help of every command).
"""

import importlib.util
import json
import subprocess
import sys
import time
import zipfile

import pytest

from cli.main import build_parser
from tests.datapaths import ROOT

PACKAGING = ROOT / "packaging"
# Source folder -> the name it has inside the wheel (pyproject.toml, [tool.setuptools.package-dir]).
DATA_FOLDERS = {"resources/": "spec_review_resources/", "spec_repo/": "spec_review_spec_repo/"}
CODE_FOLDERS = ("reviewer/", "ui/")


def load_script(name):
    """Import packaging/NAME.py (a script folder, not a package: ``packaging`` is also a PyPI name)."""
    spec = importlib.util.spec_from_file_location(f"spec_review_packaging_{name}", PACKAGING / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def expected_in_wheel(project_files):
    """The wheel entry each data file and code module of the project must have."""
    expected = {}
    for name in project_files:
        for folder, package in DATA_FOLDERS.items():
            if name.startswith(folder):
                expected[name] = package + name[len(folder):]
        if name.startswith(CODE_FOLDERS) and name.endswith(".py"):
            expected[name] = name
    return expected


def missing_from_wheel(project_files, wheel_names):
    """Return a line per project file the wheel lacks, naming the file and where it should be."""
    present = set(wheel_names)
    return [f"{source} (as {entry})" for source, entry in sorted(expected_in_wheel(project_files).items())
            if entry not in present]


def test_missing_wheel_entries_are_named():
    files = ["resources/prompts/stance-v1.md", "spec_repo/README.md", "cli/main.py", "ui/app.py", "README.md"]
    wheel = ["spec_review_resources/prompts/stance-v1.md", "cli/main.py"]
    assert missing_from_wheel(files, wheel) == [
        "spec_repo/README.md (as spec_review_spec_repo/README.md)",
        "ui/app.py (as ui/app.py)",
    ]


def test_smoke_test_finds_every_command_in_the_help(monkeypatch):
    """packaging/smoke_test.py walks ``--help`` output; it must find exactly the parser's command tree."""
    monkeypatch.setenv("COLUMNS", "200")  # as the smoke test runs the commands
    smoke = load_script("smoke_test")
    parser = build_parser()

    def subparsers(p):
        return [action for action in p._actions if action.__class__.__name__ == "_SubParsersAction"]

    def tree(p, path=()):
        out = []
        for action in subparsers(p):
            for name, child in action.choices.items():
                out += [(*path, name), *tree(child, (*path, name))]
        return out

    def help_of(path):
        p = parser
        for word in path:
            p = subparsers(p)[0].choices[word]
        return p.format_help()

    expected = tree(parser)
    assert ("desktop-install",) in expected and ("audit", "verify") in expected
    assert sorted(smoke.list_commands(help_of)) == sorted(expected)


def run_installed(python, code, cwd, env):
    result = subprocess.run([str(python), "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.slow
def test_wheel_installs_into_a_clean_venv_and_runs(tmp_path):
    timings = {}
    started = time.monotonic()
    build = load_script("build_wheel")
    smoke = load_script("smoke_test")

    files = build.project_files()
    wheel = build.build_wheel(tmp_path / "dist")
    names = zipfile.ZipFile(wheel).namelist()
    missing = missing_from_wheel(files, names)
    assert not missing, "the wheel lacks:\n" + "\n".join(missing)
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "benchmarks/", "scripts/"))]
    timings["build"] = time.monotonic() - started

    # A venv of the interpreter behind this one, without system site packages; pip installs into it
    # from outside (`pip --python`), so the venv needs no pip of its own. --no-compile: byte-compiling
    # every installed module up front took 10 of 24 s; the commands compile what they import.
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q", "--no-compile",
         "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=600,
    )
    assert installed.returncode == 0, f"pip install of {wheel.name} failed:\n{installed.stdout}\n{installed.stderr}"
    assert "include-system-site-packages = false" in (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    assert (venv / "bin" / "spec-review-gui").is_file()
    timings["install"] = time.monotonic() - started - timings["build"]

    work = tmp_path / "work"
    work.mkdir()
    runner = smoke.smoke_test([str(venv / "bin" / "spec-review")], work, every_help=False, log=lambda _line: None)

    # The prompts come from the installed package, byte for byte the project's files.
    found = run_installed(venv / "bin" / "python", (
        "import json, reviewer, spec_review_resources\n"
        "from reviewer.judges.prompts import PROMPT_VERSIONS, load_prompt\n"
        "print(json.dumps({'reviewer': reviewer.__spec__.origin, 'resources': spec_review_resources.__spec__.origin,\n"
        "                  'prompts': {v: load_prompt(t).system for t, v in PROMPT_VERSIONS.items()}}))\n"
    ), work, runner.env)
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    assert found["reviewer"] == str(site / "reviewer" / "__init__.py")
    assert found["resources"] == str(site / "spec_review_resources" / "__init__.py")
    prompts = {name[len("resources/prompts/"):-len(".md")]: name for name in files
               if name.startswith("resources/prompts/") and name.endswith(".md")}
    assert sorted(found["prompts"]) == sorted(prompts)
    for version, text in found["prompts"].items():
        assert text == (ROOT / prompts[version]).read_text(encoding="utf-8").strip() + "\n", version
    timings["run"] = time.monotonic() - started - timings["build"] - timings["install"]

    total = time.monotonic() - started
    print(f"wheel test: {total:.0f} s (" + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()) + ")")
    assert total < 180, f"the wheel test should stay well under 3 minutes; it took {total:.0f} s ({timings})"
