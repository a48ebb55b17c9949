"""Spec Review domain logic: spec model, store, decisions and audit (never imports Qt)."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The one place the version is written is pyproject.toml; installs and the frozen build carry it.
    __version__ = version("spec-review")
except PackageNotFoundError:  # a source tree that was never installed (`bash scripts/dev` installs it)
    __version__ = "0+unknown"
