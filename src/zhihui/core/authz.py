"""Who may do what: one question, ``can(actor, action, target)``, answered in one place.

This file is the map of rights. Every service asks it before it acts; the search filter is
derived from the same rules (``read_scope``) so that lists never show what ``can`` refuses.

Roles (Art. 7: the big-data bureau operates the platform and coordinates sharing/opening):
- operator (``sysadmin``): everything, including restoring deleted resources;
- per organisation: ``admin`` (members, organisation details, resources), ``editor``
  (resources), ``member`` (sees the government catalogue);
- a signed-in user with no organisation (an enterprise, a developer, a citizen);
- anonymous: the public open-data catalogue only (Art. 48).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Actor:
    """Who is acting, as established by the web/CLI layer and trusted by services."""

    user_id: str | None = None
    name: str = "anonymous"
    sysadmin: bool = False
    auditor: bool = False
    memberships: Mapping[str, str] = field(default_factory=dict)  # org id -> capacity
    token_id: str | None = None
    client: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.user_id is None

    @property
    def is_government(self) -> bool:
        """A member of any organisation (or the operator): sees the whole catalogue."""
        return self.sysadmin or bool(self.memberships)

    def capacity(self, org_id: str | None) -> str | None:
        return self.memberships.get(org_id) if org_id else None


ANONYMOUS = Actor()
# The platform itself (migrations, the demo loader): acts as the operator.
SYSTEM = Actor(user_id="system", name="system", sysadmin=True)


class ResourceLike(Protocol):
    owner_org_id: str
    opening_type: str
    deleted: bool


EDITING = ("admin", "editor")


def _edits(actor: Actor, org_id: str | None) -> bool:
    return actor.sysadmin or actor.capacity(org_id) in EDITING


def _resource_read(actor: Actor, r: ResourceLike) -> bool:
    if r.deleted:
        return _edits(actor, r.owner_org_id)
    # Art. 48: the public sees what is open (unconditionally or under conditions); the
    # catalogue of what is not opened is shared inside government (Art. 46).
    return r.opening_type != "none" or actor.is_government


def _resource_update(actor: Actor, r: ResourceLike) -> bool:
    if r.deleted:
        return actor.sysadmin
    return _edits(actor, r.owner_org_id)


def _self_or_operator(actor: Actor, user: Any) -> bool:
    return actor.sysadmin or (actor.user_id is not None and actor.user_id == user.id)


def _audit_entry_read(actor: Actor, entry: Any) -> bool:
    # Art. 50: the operator and auditors see the whole log; an organisation the entries about
    # its own resources; a user the entries of what they did. Others get the leaf hash only.
    return (
        actor.sysadmin
        or actor.auditor
        or (entry.org_id is not None and entry.org_id in actor.memberships)
        or (actor.user_id is not None and entry.actor_id == actor.user_id)
    )


def _case_read(actor: Actor, case: Any) -> bool:
    # a case's parties: the organisation that must answer, the applicant, the operator;
    # auditors read every case (Art. 50). Anonymous applicants use their receipt code.
    return (
        actor.sysadmin
        or actor.auditor
        or (case.owner_org_id is not None and case.owner_org_id in actor.memberships)
        or (actor.user_id is not None and actor.user_id == case.applicant_id)
    )


def _grant_read(actor: Actor, g: Any) -> bool:
    # Art. 46: the provider, the grantee (org or person), auditors and the operator
    return (
        actor.sysadmin
        or actor.auditor
        or g.provider_org_id in actor.memberships
        or (g.grantee_org_id is not None and g.grantee_org_id in actor.memberships)
        or (actor.user_id is not None and actor.user_id == g.grantee_user_id)
    )


def _application_read(actor: Actor, app: Any) -> bool:
    return (
        actor.sysadmin
        or actor.auditor
        or app.provider_org_id in actor.memberships
        or (app.applicant_org_id is not None and app.applicant_org_id in actor.memberships)
        or (actor.user_id is not None and actor.user_id == app.applicant_id)
    )


def _showcase_update(actor: Actor, showcase: Any) -> bool:
    return actor.sysadmin or (actor.user_id is not None and actor.user_id == showcase.owner_id)


RULES: dict[str, Callable[[Actor, Any], bool]] = {
    # resources (CKAN: datasets) and their distributions
    "resource.read": _resource_read,
    "resource.create": lambda a, org: _edits(a, org.id),
    "resource.update": _resource_update,
    "resource.delete": _resource_update,
    "resource.restore": lambda a, r: a.sysadmin,
    "resource.purge": lambda a, r: a.sysadmin,
    # a background ingest job (datastore/jobs.py): who started it, and the resource's editors
    "datastore.job_read": lambda a, job: (
        (a.user_id is not None and a.user_id == job.actor_id)
        or _resource_update(a, job.resource)),
    # organisations
    "org.read": lambda a, org: True,
    "org.create": lambda a, _: a.sysadmin,
    "org.update": lambda a, org: a.sysadmin or a.capacity(org.id) == "admin",
    "org.manage_members": lambda a, org: a.sysadmin or a.capacity(org.id) == "admin",
    # users and their tokens
    "user.create": lambda a, _: a.sysadmin,
    "user.read_private": _self_or_operator,
    "user.update": _self_or_operator,
    "token.create": _self_or_operator,
    "token.revoke": _self_or_operator,
    # showcases of applications built on open data (Art. 48)
    "showcase.create": lambda a, _: not a.is_anonymous,
    "showcase.update": _showcase_update,
    "showcase.delete": _showcase_update,
    # privacy (Art. 48, 50; PIPL Art. 28, 55): the original of personal data stays with its
    # owner; policies, classifications and impact assessments are the owner's to keep
    "privacy.read_original": _resource_update,
    "privacy.manage": _resource_update,
    "privacy.read_assessment": lambda a, r: a.auditor or _resource_update(a, r),
    # the audit log (Art. 50)
    "audit.read_all": lambda a, _: a.sysadmin or a.auditor,
    "audit.read_entry": _audit_entry_read,
    "audit.checkpoint": lambda a, _: a.sysadmin or a.auditor,
    # exchange (Art. 46, 48): grants, applications, subscriptions, feedback, statistics
    "grant.read": _grant_read,
    "grant.revoke": lambda a, g: _edits(a, g.provider_org_id),
    "application.create_sharing": lambda a, r: bool(a.memberships)
    and r.owner_org_id not in a.memberships,
    "application.create_opening": lambda a, r: not a.is_anonymous,
    "application.read": _application_read,
    "application.decide": lambda a, app: _edits(a, app.provider_org_id),
    "agreement.update": _resource_update,
    "subscription.create": lambda a, _: not a.is_anonymous,
    "feedback.create": lambda a, _: not a.is_anonymous,
    "feedback.answer": lambda a, fb: _edits(a, fb.org_id),
    "exchange.stats_org": lambda a, org: a.sysadmin or a.auditor or org.id in a.memberships,
    # workflow cases: applications and requests (core/workflow; Art. 46, 50)
    "workflow.read": _case_read,
    "workflow.decide": lambda a, case: _edits(a, case.owner_org_id),
    "workflow.escalate": lambda a, _: a.sysadmin,
    # an organisation's queue of requests to correct or delete, with contacts (Art. 50)
    "correction.queue": lambda a, org: a.sysadmin or org.id in a.memberships,
}

ACTIONS = tuple(RULES)


def can(actor: Actor, action: str, target: Any = None) -> bool:
    rule = RULES.get(action)
    if rule is None:
        raise KeyError(f"unknown action {action!r}")
    return bool(rule(actor, target))


def require(actor: Actor, action: str, target: Any = None) -> None:
    """Raise the right error when ``can`` says no: 401 for anonymous, 403 otherwise."""
    if can(actor, action, target):
        return
    from zhihui.core.errors import Forbidden, NotAuthenticated

    if actor.is_anonymous:
        raise NotAuthenticated(action=action)
    raise Forbidden(action=action)


@dataclass(frozen=True)
class ReadScope:
    """The ``resource.read`` rule as a filter for lists and search."""

    include_unopened: bool  # resources whose opening_type is none
    deleted_orgs: frozenset[str] | None  # orgs whose deleted resources show; None = all


def read_scope(actor: Actor) -> ReadScope:
    if actor.sysadmin:
        return ReadScope(include_unopened=True, deleted_orgs=None)
    return ReadScope(
        include_unopened=actor.is_government,
        deleted_orgs=frozenset(o for o, c in actor.memberships.items() if c in EDITING),
    )
