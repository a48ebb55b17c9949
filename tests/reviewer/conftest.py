"""Fixtures shared by the domain tests."""

import shutil

import pytest

from reviewer import operations
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import bare_remote


@pytest.fixture
def machines(demo_workspace, tmp_path):
    """Machine A (the demo workspace) and machine B (a copy of it), sharing a bare remote ``origin``."""
    remote = bare_remote(demo_workspace, tmp_path)
    with Workspace.open(demo_workspace) as a:
        operations.sync(a, actor="Amara Okafor")
    b_root = tmp_path / "machine-b"
    shutil.copytree(demo_workspace, b_root, symlinks=True)
    return demo_workspace, b_root, remote


@pytest.fixture
def store(tmp_path):
    """A new, empty workspace database in ``tmp_path`` (closed afterwards)."""
    s = Store.open(tmp_path / "reviewer.db", create=True)
    yield s
    s.close()
