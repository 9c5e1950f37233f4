"""Load the demo city into a database through the services, as the platform itself (SYSTEM):
every catalogue rule is checked on the way in, and every change is audited."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from zhihui.catalog import service as catalog
from zhihui.catalog.schemas import ResourceIn
from zhihui.core.accounts import service as accounts
from zhihui.core.accounts.models import Organisation
from zhihui.core.authz import SYSTEM
from zhihui.core.errors import Conflict
from zhihui.db import Database
from zhihui.demo.city import CITY, DEMO_PASSWORD, OrgSpec, UserSpec, build_orgs, build_users
from zhihui.demo.exchange import SOURCES as CREDIT_SOURCES
from zhihui.demo.exchange import load_credit_sources
from zhihui.demo.privacy import protect_demo
from zhihui.demo.resources import ResourcePlan, build_resources
from zhihui.demo.tables import build_tables, load_tables, personal_resources
from zhihui.demo.templates import SHOWCASE_DESCRIPTIONS, SHOWCASES


@dataclass(frozen=True)
class DemoPlan:
    """Everything the demo creates, before it touches a database."""

    orgs: list[OrgSpec]
    users: list[UserSpec]
    resources: list[ResourcePlan]


def build_plan(seed: int = 2015) -> DemoPlan:
    orgs = build_orgs(seed)
    resources = build_resources(seed, orgs)
    resources += personal_resources(orgs, resources)
    return DemoPlan(orgs=orgs, users=build_users(), resources=resources)


@dataclass(frozen=True)
class DemoSummary:
    orgs: int
    users: int
    resources: int
    showcases: int
    tables: int = 0  # resources whose data was loaded into the datastore
    rows: int = 0
    password: str = DEMO_PASSWORD
    seconds: float = field(default=0.0, compare=False)

    def __str__(self) -> str:
        return (f"{self.orgs} organisations, {self.users} users (password {self.password}), "
                f"{self.resources} resources, {self.showcases} showcases, "
                f"{self.tables} tables ({self.rows:,} rows) in {self.seconds:.1f} s")


def demo_is_loaded(db: Database) -> bool:
    """Whether the city organisation (``hangzhou``) exists: then ``zhihui demo --if-empty``
    leaves the database alone."""
    with db.session() as s:
        return s.scalar(select(Organisation.id).where(Organisation.name == CITY[0])) is not None


def load_demo(db: Database, *, seed: int = 2015, tables: bool = False,
              data_root: Path | None = None) -> DemoSummary:
    """Create the demo city in one transaction: all of it, or nothing if a rule refuses.
    With ``tables``, also the data of about seventy resources (``demo/tables.py``), ingested
    under ``data_root`` (the settings' data root)."""
    started = time.perf_counter()
    if tables and data_root is None:
        raise ValueError("load_demo(tables=True) needs the data_root to store the tables in")
    if demo_is_loaded(db):
        raise Conflict("error.demo_loaded")
    plan = build_plan(seed)
    with db.session() as s:
        org_ids: dict[str, str] = {}
        for spec in plan.orgs:
            org = accounts.create_org(
                s, SYSTEM, name=spec.name, title=spec.title, title_en=spec.title_en,
                kind=spec.kind, catalog_code=spec.catalog_code,
                parent=org_ids[spec.parent] if spec.parent else None,
                uscc=spec.uscc, description=spec.description,
            )
            org_ids[spec.name] = org.id

        # One argon2 hash for every account: they share the documented password, and hashing
        # it for each of thirty-odd accounts would be most of the loading time.
        password_hash = accounts.hash_password(DEMO_PASSWORD)
        users = {}
        for u in plan.users:
            user = accounts.create_user(
                s, SYSTEM, name=u.name, password=DEMO_PASSWORD, password_hash=password_hash,
                fullname=u.fullname, email=u.email, sysadmin=u.sysadmin, auditor=u.auditor,
            )
            users[u.name] = user
            if u.org and u.capacity:
                accounts.set_membership(s, SYSTEM, user=user, org=accounts.get_org(s, u.org),
                                        capacity=u.capacity)

        ids: dict[str, str] = {}
        for r in plan.resources:
            created = catalog.create_resource(s, SYSTEM, ResourceIn.model_validate(r.data))
            ids.setdefault(r.data["name"], created.id)

        for name, title, owner, owner_title, url, keys in SHOWCASES:
            actor = accounts.actor_for(s, users[owner])
            catalog.create_showcase(
                s, actor, name=name, title=title, description=SHOWCASE_DESCRIPTIONS[name],
                url=url, owner_title=owner_title, resources=[ids[k] for k in keys],
            )

        loaded = []
        credit = 0
        if tables:
            assert data_root is not None
            loaded = load_tables(s, build_tables(plan.resources, seed), data_root=data_root)
            protect_demo(s, data_root)  # privacy: policies for the tables' personal columns
            # Art. 40-41: the credit sources keyed by the registry's codes (one-enterprise
            # profile); they read the registry loaded just above
            credit = load_credit_sources(s, data_root, seed)
    sources = len(CREDIT_SOURCES) if credit else 0  # and the court that provides one of them
    return DemoSummary(orgs=len(plan.orgs) + (1 if credit else 0), users=len(plan.users),
                       resources=len(plan.resources) + sources, showcases=len(SHOWCASES),
                       tables=len(loaded) + sources,
                       rows=sum(t.rows for t in loaded) + credit,
                       seconds=time.perf_counter() - started)
