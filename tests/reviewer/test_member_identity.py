"""A member's git identity: the email their log commits are authored with, and the key they sign with."""

import json

import pytest

from reviewer import audit, governance, operations
from reviewer.changes import Area
from reviewer.errors import KnownError
from reviewer.rebuild import rebuild_workspace
from reviewer.replay import check_record, replay, verify_workspace
from reviewer.store import Store
from reviewer.workspace import Workspace
from tests.helpers import tamper

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx1Y3kgbm90IGEgcmVhbCBrZXkgYXQgYWxsIQ ada@laptop"


@pytest.fixture
def demo(demo_workspace):
    with Workspace.open(demo_workspace) as ws:
        yield ws


def _last_event(ws):
    return audit.list_events(ws.store.db, object_ref="member", newest_first=True)[0]


def test_a_member_is_added_with_an_email_and_key_and_the_event_carries_them(demo):
    added = operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor", email=" ada@example.org ",
                                  signing_key=KEY).value
    assert (added.email, added.signing_key, added.identity) == ("ada@example.org", KEY, "Ada Byron <ada@example.org>")
    assert governance.get_member(demo.store, "Ada Byron") == added
    event = _last_event(demo)
    assert event.action == "member.add"
    assert (event.payload["email"], event.payload["signing_key"]) == ("ada@example.org", KEY)
    # Without them, the event says there is no email, and carries no key.
    operations.add_member(demo, "Bo Chen", ["auditor"], actor="Amara Okafor")
    payload = _last_event(demo).payload
    assert payload["email"] is None and "signing_key" not in payload
    assert governance.get_member(demo.store, "Bo Chen").identity == "Bo Chen"
    assert verify_workspace(demo).ok


def test_set_identity_is_an_operation_with_its_own_event(demo):
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor", email="ada@example.org",
                          signing_key=KEY)
    result = operations.set_identity(demo, "Ada Byron", "ada@lovelace.example", actor="Amara Okafor")
    assert result.operation == "member.set_identity" and result.changes.touches(Area.MEMBERS)
    assert (result.value.email, result.value.signing_key) == ("ada@lovelace.example", KEY)  # the key is kept
    event = _last_event(demo)
    assert (event.action, event.actor) == ("member.set_identity", "Amara Okafor")
    assert event.payload["before"] == {"email": "ada@example.org", "signing_key": KEY}
    assert (event.payload["email"], event.payload["signing_key"]) == ("ada@lovelace.example", KEY)
    # "" removes the key; the same identity again logs nothing.
    assert operations.set_identity(demo, "Ada Byron", "ada@lovelace.example", signing_key="",
                                   actor="Amara Okafor").value.signing_key is None
    before = audit.head_of(demo.store.db).seq
    assert operations.set_identity(demo, "Ada Byron", "ada@lovelace.example", actor="Amara Okafor").changes.events == ()
    assert audit.head_of(demo.store.db).seq == before
    assert verify_workspace(demo).ok


@pytest.mark.parametrize(("email", "message"), [
    ("", "not an email address"), ("ada", "not an email address"), ("ada@", "not an email address"),
    ("Ada <ada@example.org>", "not an email address"), ("ada@exa mple.org", "not an email address"),
    ("a@b@c", "not an email address"), ("ada@example.org\n", None),
])
def test_an_email_git_cannot_record_is_refused_and_nothing_is_logged(demo, email, message):
    before = audit.head_of(demo.store.db).seq
    if message is None:
        assert operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor", email=email).value.email \
            == "ada@example.org"
        return
    with pytest.raises(KnownError, match=message):
        operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor", email=email)
    assert audit.head_of(demo.store.db).seq == before and governance.get_member(demo.store, "Ada Byron") is None


def test_identity_changes_go_through_set_identity_only(demo):
    operations.add_member(demo, "Ada Byron", ["auditor"], actor="Amara Okafor", email="ada@example.org")
    with pytest.raises(KnownError, match="member identity"):
        operations.add_member(demo, "Ada Byron", ["reviewer"], actor="Amara Okafor", email="mallory@example.org")
    assert governance.get_member(demo.store, "Ada Byron").roles == ("auditor",)
    # The same email again is no change: the roles are added.
    assert operations.add_member(demo, "Ada Byron", ["reviewer"], actor="Amara Okafor",
                                 email="ada@example.org").value.roles == ("auditor", "reviewer")
    with pytest.raises(KnownError, match="No member called"):
        operations.set_identity(demo, "Nobody", "n@example.org", actor="Amara Okafor")
    with pytest.raises(KnownError, match="Say who is acting"):
        operations.set_identity(demo, "Ada Byron", "n@example.org", actor=" ")


def test_the_identity_is_rebuilt_from_the_log_and_a_tampered_email_is_caught(demo_workspace, tmp_path):
    with Workspace.open(demo_workspace) as ws:
        operations.add_member(ws, "Ada Byron", ["auditor"], actor="Amara Okafor", email="ada@example.org")
        operations.set_identity(ws, "Ada Byron", "ada@lovelace.example", actor="Amara Okafor", signing_key=KEY)
        operations.add_member(ws, "Ada Byron", ["reviewer"], actor="Amara Okafor")  # a role change keeps it
        report = rebuild_workspace(ws, tmp_path / "rebuilt.db")
    assert report.ok
    rebuilt = Store.open(tmp_path / "rebuilt.db")
    try:
        ada = governance.get_member(rebuilt, "Ada Byron")
        assert (ada.email, ada.signing_key, ada.roles) == ("ada@lovelace.example", KEY, ("auditor", "reviewer"))
    finally:
        rebuilt.close()
    # Someone with sqlite3 gives Ada's place in the record to another address: the log says otherwise.
    tamper(demo_workspace / "reviewer.db", "UPDATE members SET email = 'mallory@example.org' WHERE name = 'Ada Byron'")
    with Workspace.open(demo_workspace) as ws:
        (found,) = check_record(ws.store)
        ada_id = governance.get_member(ws.store, "Ada Byron").id
        assert (found.table, found.id, found.field) == ("members", ada_id, "email")
        assert (found.logged, found.stored) == ("ada@lovelace.example", "mallory@example.org")
        assert not verify_workspace(ws).ok
    tamper(demo_workspace / "reviewer.db", "UPDATE members SET signing_key = NULL WHERE name = 'Ada Byron'")
    with Workspace.open(demo_workspace) as ws:
        assert {m.field for m in check_record(ws.store)} == {"email", "signing_key"}


def test_members_added_before_identities_were_logged_have_none():
    """An older member.add carries no email: replayed, the member has none; role changes keep an identity."""
    added = json.dumps({"name": "Ada", "roles": ["reviewer"]})
    assert replay([("x", "member.add", "m1", added)]).members == {"m1": ["Ada", ("reviewer",), None, None]}
    record = replay([
        ("x", "member.add", "m1", added),
        ("x", "member.set_identity", "m1", json.dumps({"name": "Ada", "email": "ada@example.org", "signing_key": KEY})),
        ("x", "member.role_remove", "m1", json.dumps({"name": "Ada", "roles": []})),
        ("x", "member.set_identity", "m2", json.dumps({"name": "Nobody", "email": "n@example.org"})),
    ])
    assert record.members == {"m1": ["Ada", (), "ada@example.org", KEY]}
