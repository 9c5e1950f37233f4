"""The whole matrix of roles x actions x visibility, each answer written out by hand."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from zhihui.core.authz import ACTIONS, ANONYMOUS, Actor, can, read_scope

JTJ, HBJ = "org-jtj", "org-hbj"

ACTORS = {
    "anonymous": ANONYMOUS,
    "public": Actor(user_id="u-public", name="public"),
    "member": Actor(user_id="u-member", name="member", memberships={JTJ: "member"}),
    "editor": Actor(user_id="u-editor", name="editor", memberships={JTJ: "editor"}),
    "admin": Actor(user_id="u-admin", name="admin", memberships={JTJ: "admin"}),
    "other_editor": Actor(user_id="u-oe", name="oe", memberships={HBJ: "editor"}),
    "other_admin": Actor(user_id="u-oa", name="oa", memberships={HBJ: "admin"}),
    "auditor": Actor(user_id="u-aud", name="auditor", auditor=True),
    "sysadmin": Actor(user_id="u-sys", name="sysadmin", sysadmin=True),
}
EVERYONE = set(ACTORS)
SIGNED_IN = EVERYONE - {"anonymous"}
GOVERNMENT = {"member", "editor", "admin", "other_editor", "other_admin", "sysadmin"}
JTJ_EDITORS = {"editor", "admin", "sysadmin"}


@dataclass
class R:
    owner_org_id: str
    opening_type: str
    deleted: bool = False


@dataclass
class Org:
    id: str


@dataclass
class User:
    id: str


@dataclass
class Entry:
    org_id: str | None
    actor_id: str | None


@dataclass
class Showcase:
    owner_id: str


@dataclass
class Case:
    owner_org_id: str | None
    applicant_id: str | None


@dataclass
class Job:
    actor_id: str | None
    resource: R


@dataclass
class Grant:
    provider_org_id: str
    grantee_org_id: str | None
    grantee_user_id: str | None


@dataclass
class Application:
    provider_org_id: str
    applicant_org_id: str | None
    applicant_id: str


@dataclass
class Feedback:
    org_id: str | None


OPEN = R(JTJ, "unconditional")
CONDITIONAL = R(JTJ, "conditional")
UNOPENED = R(JTJ, "none")
DELETED = R(JTJ, "unconditional", deleted=True)

# (action, target label, target) -> who may
EXPECTED: list[tuple[str, str, object, set[str]]] = [
    ("resource.read", "open", OPEN, EVERYONE),
    ("resource.read", "conditional", CONDITIONAL, EVERYONE),
    ("resource.read", "unopened", UNOPENED, GOVERNMENT),
    ("resource.read", "deleted", DELETED, JTJ_EDITORS),
    ("resource.update", "open", OPEN, JTJ_EDITORS),
    ("resource.update", "unopened", UNOPENED, JTJ_EDITORS),
    ("resource.update", "deleted", DELETED, {"sysadmin"}),
    ("resource.delete", "open", OPEN, JTJ_EDITORS),
    ("resource.delete", "deleted", DELETED, {"sysadmin"}),
    ("resource.restore", "deleted", DELETED, {"sysadmin"}),
    ("resource.purge", "deleted", DELETED, {"sysadmin"}),
    ("datastore.job_read", "public's upload", Job("u-public", OPEN),
     {"public"} | JTJ_EDITORS),
    ("datastore.job_read", "deleted resource", Job("u-editor", DELETED), {"editor", "sysadmin"}),
    ("resource.create", "own org", Org(JTJ), JTJ_EDITORS),
    ("resource.create", "other org", Org(HBJ), {"other_editor", "other_admin", "sysadmin"}),
    ("org.read", "org", Org(JTJ), EVERYONE),
    ("org.create", "-", None, {"sysadmin"}),
    ("org.update", "own org", Org(JTJ), {"admin", "sysadmin"}),
    ("org.manage_members", "own org", Org(JTJ), {"admin", "sysadmin"}),
    ("org.manage_members", "other org", Org(HBJ), {"other_admin", "sysadmin"}),
    ("user.create", "-", None, {"sysadmin"}),
    ("user.read_private", "self(editor)", User("u-editor"), {"editor", "sysadmin"}),
    ("user.update", "self(editor)", User("u-editor"), {"editor", "sysadmin"}),
    ("token.create", "self(editor)", User("u-editor"), {"editor", "sysadmin"}),
    ("token.revoke", "self(editor)", User("u-editor"), {"editor", "sysadmin"}),
    ("showcase.create", "-", None, SIGNED_IN),
    ("showcase.update", "public's", Showcase("u-public"), {"public", "sysadmin"}),
    ("showcase.delete", "public's", Showcase("u-public"), {"public", "sysadmin"}),
    ("privacy.read_original", "open", OPEN, JTJ_EDITORS),
    ("privacy.read_original", "deleted", DELETED, {"sysadmin"}),
    ("privacy.manage", "open", OPEN, JTJ_EDITORS),
    ("privacy.read_assessment", "open", OPEN, JTJ_EDITORS | {"auditor"}),
    ("audit.read_all", "-", None, {"auditor", "sysadmin"}),
    ("audit.read_entry", "jtj's", Entry(JTJ, "u-sys"), {"member", "editor", "admin", "auditor",
                                                        "sysadmin"}),
    ("audit.read_entry", "public's own", Entry(None, "u-public"), {"public", "auditor",
                                                                  "sysadmin"}),
    ("audit.read_entry", "anonymous read", Entry(None, None), {"auditor", "sysadmin"}),
    ("audit.checkpoint", "-", None, {"auditor", "sysadmin"}),
    ("workflow.read", "jtj's case by public", Case(JTJ, "u-public"),
     {"public", "member", "editor", "admin", "auditor", "sysadmin"}),
    ("workflow.read", "operator's case", Case(None, None), {"auditor", "sysadmin"}),
    ("workflow.decide", "jtj's case", Case(JTJ, "u-public"), JTJ_EDITORS),
    ("workflow.decide", "operator's case", Case(None, "u-editor"), {"sysadmin"}),
    ("workflow.escalate", "-", None, {"sysadmin"}),
    ("correction.queue", "own org", Org(JTJ), {"member", "editor", "admin", "sysadmin"}),
    # exchange (docs/exchange.md)
    ("grant.read", "jtj's to hbj", Grant(JTJ, HBJ, None),
     {"member", "editor", "admin", "other_editor", "other_admin", "auditor", "sysadmin"}),
    ("grant.read", "jtj's to public", Grant(JTJ, None, "u-public"),
     {"public", "member", "editor", "admin", "auditor", "sysadmin"}),
    ("grant.revoke", "jtj's to hbj", Grant(JTJ, HBJ, None), JTJ_EDITORS),
    ("application.create_sharing", "jtj's", CONDITIONAL, {"other_editor", "other_admin"}),
    ("application.create_opening", "jtj's", CONDITIONAL, SIGNED_IN),
    ("application.read", "hbj's to jtj", Application(JTJ, HBJ, "u-oe"),
     {"member", "editor", "admin", "other_editor", "other_admin", "auditor", "sysadmin"}),
    ("application.read", "public's to jtj", Application(JTJ, None, "u-public"),
     {"public", "member", "editor", "admin", "auditor", "sysadmin"}),
    ("application.decide", "to jtj", Application(JTJ, HBJ, "u-oe"), JTJ_EDITORS),
    ("agreement.update", "jtj's", CONDITIONAL, JTJ_EDITORS),
    ("subscription.create", "-", None, SIGNED_IN),
    ("feedback.create", "-", None, SIGNED_IN),
    ("feedback.answer", "about jtj's", Feedback(JTJ), JTJ_EDITORS),
    ("feedback.answer", "to no one", Feedback(None), {"sysadmin"}),
    ("exchange.stats_org", "jtj", Org(JTJ), {"member", "editor", "admin", "auditor",
                                             "sysadmin"}),
]


def test_every_action_is_in_the_matrix():
    assert {a for a, *_ in EXPECTED} == set(ACTIONS)


@pytest.mark.parametrize(
    "action,label,target,allowed", EXPECTED, ids=[f"{a}:{lbl}" for a, lbl, *_ in EXPECTED]
)
def test_matrix(action, label, target, allowed):
    answers = {role: can(actor, action, target) for role, actor in ACTORS.items()}
    assert {role for role, yes in answers.items() if yes} == allowed


@pytest.mark.parametrize("role", sorted(ACTORS))
def test_search_scope_agrees_with_can(role):
    """Lists never show what ``can`` would refuse, and hide nothing it allows."""
    actor = ACTORS[role]
    scope = read_scope(actor)
    for r in (OPEN, CONDITIONAL, UNOPENED, DELETED, R(HBJ, "none", deleted=True)):
        listed = (r.opening_type != "none" or scope.include_unopened) and (
            not r.deleted or scope.deleted_orgs is None or r.owner_org_id in scope.deleted_orgs
        )
        assert listed == can(actor, "resource.read", r), (role, r)


def test_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        can(ANONYMOUS, "resource.fly")
