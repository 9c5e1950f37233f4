"""Privacy rules, once for every door: detection of personal information in each new version,
the grade and personal flag of a resource (raised from detection, never silently lowered), the
catalogue rules that follow from them, de-identification policies and their protected copies,
k-anonymity reports and impact assessments.

- Art. 48: government data is opened except personal privacy; PIPL Art. 28: sensitive
  personal information; GB/T 43697: general / important / core data.
- A resource holding personal information is opened or shared unconditionally only when a
  policy covers every personal column; core data is never opened; opening or sharing it at
  all needs a recorded impact assessment (PIPL Art. 55-56).
- Whoever may not edit a resource reads its data through the policy (``protected_view``),
  never the original, and never a version whose personal columns no policy covers."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.catalog.schemas import ResourceIn
from zhihui.core import audit
from zhihui.core.authz import Actor, can, require
from zhihui.core.errors import FieldErrors, Forbidden, NotFound, ValidationFailed
from zhihui.datastore.access import View
from zhihui.datastore.infer import quote
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import positional, relation, sql_text
from zhihui.db import utcnow
from zhihui.privacy import classify, deid, kanon
from zhihui.privacy import detect as d
from zhihui.privacy.models import ColumnClassification, ImpactAssessment, Policy
from zhihui.privacy.schemas import AssessmentIn, ColumnIn, PolicyIn

GRADES = ("general", "important", "core")
PERSONAL_LEVELS = ("none", "personal", "sensitive_personal")
LEVEL = {name: i for i, name in enumerate(PERSONAL_LEVELS)}
SCOPES = ("opening", "sharing")
SAMPLE_ROWS = 1000
SAMPLE_BLOCKS = 10
KEY_FILE = Path("_keys") / "pseudonym.key"


# --- keys ------------------------------------------------------------------------------------


def data_root_of(view: View) -> Path:
    """The data root a view's version lives under: ``<root>/<version.path>/data.parquet``."""
    root = Path(view.path).parent
    for _ in Path(view.version.path).parts:
        root = root.parent
    return root


def master_key(data_root: Path) -> bytes:
    """The platform's pseudonym key, made once under the data root (shared by every process
    that reads the data; never served: reads go through versions' files only)."""
    path = Path(data_root) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{secrets.token_hex(8)}")
        tmp.write_bytes(secrets.token_bytes(32))
        tmp.chmod(0o600)
        try:
            os.link(tmp, path)  # the first process to make it wins; others read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_bytes()


def resource_key(data_root: Path, policy: Policy) -> bytes:
    """A per-resource key: HMAC of the resource and its salt under the master key."""
    return hmac.new(master_key(data_root), f"{policy.resource_id}:{policy.salt}".encode(),
                    hashlib.sha256).digest()


# --- detection -------------------------------------------------------------------------------


def _sample(path: Path, names: list[str]) -> list[list[Any]]:
    """``SAMPLE_ROWS`` rows to classify the columns by: every row of a small table, else
    ``SAMPLE_BLOCKS`` runs of consecutive rows spread evenly over the file. DuckDB reads only
    the row groups that hold them (a reservoir sample read every row: 71 ms against 16 ms on
    1,000,000 rows, measured), and the same file always gives the same sample."""
    con = duckdb.connect(":memory:", config={"memory_limit": "512MB"})
    try:
        cols = ", ".join(quote(n) for n in names)
        total = con.execute(f"SELECT count(*) FROM read_parquet({sql_text(str(path))})"
                            ).fetchone()[0]
        where = ""
        if total > SAMPLE_ROWS:
            # a revised version's _id has gaps (deleted rows): the runs span more ids
            last = total if positional(path) else con.execute(
                f"SELECT max(_id) FROM {relation(path)}").fetchone()[0]
            step = last // SAMPLE_BLOCKS
            block = -(-SAMPLE_ROWS * last // (total * SAMPLE_BLOCKS))
            where = " WHERE " + " OR ".join(
                f"_id BETWEEN {k * step + 1} AND {k * step + block}"
                for k in range(SAMPLE_BLOCKS))
        rows = con.execute(f"SELECT {cols} FROM {relation(path)}{where} ORDER BY _id"
                           ).fetchall()
    finally:
        con.close()
    return [[None if v is None else str(v) for v in row] for row in rows]


def _confirmed(session: Session, distribution_id: str) -> dict[str, ColumnClassification]:
    """The newest confirmation of each column name of a distribution."""
    out: dict[str, ColumnClassification] = {}
    for c in session.scalars(select(ColumnClassification).where(
            ColumnClassification.distribution_id == distribution_id,
            ColumnClassification.source == "confirmed")
            .order_by(ColumnClassification.confirmed_at)):
        out[c.column] = c
    return out


def classifications(session: Session, version: DatastoreVersion, data_root: Path
                    ) -> list[ColumnClassification]:
    """What each column of the version holds: stored at ingest, or found now for a version
    made before detection ran (then stored with the caller's transaction)."""
    rows = list(session.scalars(select(ColumnClassification).where(
        ColumnClassification.version_id == version.id)
        .order_by(ColumnClassification.position)))
    if rows:
        return rows
    names = [c["id"] for c in version.columns]
    path = Path(data_root) / version.path / "data.parquet"
    found = classify.classify_table(names, _sample(path, names))
    confirmed = _confirmed(session, version.distribution_id)
    for i, (name, cc) in enumerate(zip(names, found, strict=True)):
        row = ColumnClassification(
            version_id=version.id, distribution_id=version.distribution_id,
            resource_id=version.resource_id, column=name[:300], position=i, kind=cc.type,
            personal=cc.personal, sensitive=cc.sensitive, confidence=cc.confidence,
            matched=cc.matched, sampled=cc.sampled)
        before = confirmed.get(name)
        if before is not None:  # an editor's word outlives the version it was given on
            row.kind, row.personal, row.sensitive = before.kind, before.personal, before.sensitive
            row.source, row.confirmed_by = "confirmed", before.confirmed_by
            row.confirmed_at, row.confidence = before.confirmed_at, 1.0
        rows.append(row)
        session.add(row)
    session.flush()
    return rows


def level_of(columns: list[ColumnClassification]) -> str:
    if any(c.personal and c.sensitive for c in columns):
        return "sensitive_personal"
    if any(c.personal for c in columns):
        return "personal"
    return "none"


def current_versions(session: Session, resource_id: str) -> list[DatastoreVersion]:
    """The newest version of each distribution of the resource."""
    out = []
    for dist_id in session.scalars(select(Distribution.id).where(
            Distribution.resource_id == resource_id).order_by(Distribution.position)):
        v = session.scalar(select(DatastoreVersion).where(
            DatastoreVersion.distribution_id == dist_id)
            .order_by(DatastoreVersion.number.desc()).limit(1))
        if v is not None:
            out.append(v)
    return out


def _stored(session: Session, version_id: str) -> list[ColumnClassification]:
    return list(session.scalars(select(ColumnClassification).where(
        ColumnClassification.version_id == version_id)
        .order_by(ColumnClassification.position)))


def detected_level(session: Session, resource_id: str) -> str:
    """The personal level of the resource's current data, as detected and confirmed."""
    levels = [level_of(_stored(session, v.id)) for v in current_versions(session, resource_id)]
    return max(levels, key=LEVEL.__getitem__, default="none")


def detect_version(session: Session, actor: Actor, version: DatastoreVersion,
                   resource: Resource, data_root: Path) -> list[ColumnClassification]:
    """Classify a new version's columns and raise the resource's flags to what was found."""
    columns = classifications(session, version, data_root)
    personal = [{"column": c.column, "type": c.kind, "sensitive": c.sensitive}
                for c in columns if c.personal]
    audit.record(session, actor, "privacy.detect", "distribution", version.distribution_id,
                 org_id=resource.owner_org_id, content=personal,
                 detail={"version": version.number, "resource_id": resource.id,
                         "personal_columns": [p["column"][:100] for p in personal][:50]})
    raise_flags(session, actor, resource)
    if personal:
        policy = session.get(Policy, resource.id)
        if policy is not None and not uncovered(policy, columns):
            materialise(session, version, policy, data_root)
    return columns


def raise_flags(session: Session, actor: Actor, resource: Resource) -> None:
    """Raise (never lower) the personal flag to what the data holds; sensitive personal
    information makes the data at least ``important`` (GB/T 43697 treats large-scale
    sensitive personal information as important data)."""
    found = detected_level(session, resource.id)
    before = (resource.grade or "general", resource.personal or "none")
    if LEVEL[found] > LEVEL[before[1]]:
        resource.personal = found
    if found == "sensitive_personal" and before[0] == "general":
        resource.grade = "important"
    after = (resource.grade, resource.personal)
    if after != before:
        audit.record(session, actor, "privacy.raise", "resource", resource.id,
                     org_id=resource.owner_org_id,
                     content={"grade": after[0], "personal": after[1]},
                     detail={"from": list(before), "to": list(after), "detected": found})


def confirm_column(session: Session, actor: Actor, resource_id: str, data: ColumnIn, *,
                   data_root: Path) -> ColumnClassification:
    """An editor confirms or corrects the classification of a column of the current version;
    later versions with a column of that name keep it."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    versions = {v.distribution_id: v for v in current_versions(session, r.id)}
    v = versions.get(data.distribution_id)
    if v is None:
        raise NotFound("error.distribution_not_found", id=data.distribution_id[:100])
    row = next((c for c in classifications(session, v, data_root) if c.column == data.column),
               None)
    if row is None:
        raise ValidationFailed(fields={"column": [_msg("privacy.column_unknown",
                                                       column=data.column[:100])]})
    if data.type is not None and data.type not in classify.PERSONAL_TYPES | {d.USCC}:
        raise ValidationFailed(fields={"type": [_msg("field.choice", choices=", ".join(
            sorted(classify.PERSONAL_TYPES | {d.USCC})))]})
    before = {"type": row.kind, "personal": row.personal, "sensitive": row.sensitive}
    row.kind = data.type
    row.personal = data.personal
    row.sensitive = data.personal and data.sensitive
    row.source, row.confidence = "confirmed", 1.0
    row.confirmed_by, row.confirmed_at = actor.name[:100], utcnow()
    session.flush()
    audit.record(session, actor, "privacy.confirm", "distribution", v.distribution_id,
                 org_id=r.owner_org_id,
                 detail={"version": v.number, "column": data.column[:100], "before": before,
                         "after": {"type": row.kind, "personal": row.personal,
                                   "sensitive": row.sensitive}})
    raise_flags(session, actor, r)
    return row


def _msg(key: str, **params: Any):  # type: ignore[no-untyped-def]
    from zhihui.core.errors import Message

    return Message(key, params)


# --- policies --------------------------------------------------------------------------------


def rules_of(policy: Policy | None) -> dict[str, deid.Rule]:
    return {r["column"]: deid.Rule.of(r) for r in (policy.rules if policy else [])}


def uncovered(policy: Policy | None, columns: list[ColumnClassification]) -> list[str]:
    """Personal columns no rule of the policy covers."""
    rules = rules_of(policy)
    return [c.column for c in columns if c.personal and c.column not in rules]


def fingerprint(policy: Policy, version: DatastoreVersion, data_root: Path) -> str:
    key_id = hashlib.sha256(master_key(data_root)).hexdigest()[:16]
    return audit.service.digest({"rules": policy.rules, "qi": policy.quasi_identifiers,
                                 "k": policy.k, "salt": policy.salt, "key": key_id,
                                 "columns": version.columns, "v": 1})[:20]


@dataclass(frozen=True)
class Protected:
    path: Path
    columns: list[dict[str, Any]]
    fingerprint: str
    rows: int


def plan_for(session: Session, version: DatastoreVersion, policy: Policy, data_root: Path
             ) -> deid.Plan:
    kinds = {c.column: c.kind for c in _stored(session, version.id)}
    rules = {c: r for c, r in rules_of(policy).items()}
    return deid.plan(list(version.columns), rules, kinds, resource_key(data_root, policy))


def materialise(session: Session, version: DatastoreVersion, policy: Policy, data_root: Path
                ) -> Protected:
    """The protected copy of a version under the policy, written beside it once (its name
    is the policy's fingerprint, so a changed policy makes a new copy)."""
    fp = fingerprint(policy, version, data_root)
    folder = Path(data_root) / version.path
    target = folder / f"protected-{fp}.parquet"
    p = plan_for(session, version, policy, data_root)
    rows = deid.write(folder / "data.parquet", target, p, list(policy.quasi_identifiers),
                      policy.k)
    return Protected(target, p.columns, fp, rows)


def policy_dict(policy: Policy | None) -> dict[str, Any] | None:
    if policy is None:
        return None
    return {"rules": policy.rules, "quasi_identifiers": policy.quasi_identifiers,
            "k": policy.k, "revision": policy.revision, "updated": policy.updated,
            "updated_by": policy.updated_by}


def _columns_of(session: Session, r: Resource) -> dict[str, str]:
    """Column name -> type, over the current versions (and data items without data)."""
    out: dict[str, str] = {}
    for v in current_versions(session, r.id):
        for c in v.columns:
            out.setdefault(c["id"], c["type"])
    for item in r.data_items or []:
        out.setdefault(item.get("name", ""), "text")
    return out


def set_policy(session: Session, actor: Actor, resource_id: str, data: PolicyIn, *,
               data_root: Path) -> Policy:
    """Replace the resource's policy (audited), then write the protected copies of its
    current versions, so a rule that cannot be applied is refused here, not at read time."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    columns = _columns_of(session, r)
    e = FieldErrors()
    seen = set()
    for i, rule in enumerate(data.rules):
        where = f"rules.{i}"
        if rule.column not in columns:
            e.add(f"{where}.column", "privacy.column_unknown", column=rule.column[:100])
        if rule.column in seen:
            e.add(f"{where}.column", "privacy.rule_duplicate", column=rule.column[:100])
        seen.add(rule.column)
        if rule.method not in deid.METHODS:
            e.add(f"{where}.method", "field.choice", choices=", ".join(deid.METHODS))
        elif rule.method == "generalise":
            if rule.to not in deid.GENERALISE_TO:
                e.add(f"{where}.to", "field.choice", choices=", ".join(deid.GENERALISE_TO))
            elif rule.column in columns and columns[rule.column] not in \
                    deid.GENERALISE_TYPES[rule.to]:
                e.add(f"{where}.to", "privacy.generalise_type", column=rule.column[:100],
                      to=rule.to, type=columns[rule.column])
    suppressed = {r.column for r in data.rules if r.method == "suppress"}
    for q in data.quasi_identifiers:
        if q not in columns:
            e.add("quasi_identifiers", "privacy.column_unknown", column=q[:100])
        elif q in suppressed:
            e.add("quasi_identifiers", "privacy.quasi_suppressed", column=q[:100])
    e.raise_if_any()
    policy = session.get(Policy, r.id)
    before = policy_dict(policy)
    if policy is None:
        policy = Policy(resource_id=r.id, salt=secrets.token_hex(16), revision=0)
        session.add(policy)
    policy.rules = [deid.Rule(**rule.model_dump()).as_dict() for rule in data.rules]
    policy.quasi_identifiers = list(dict.fromkeys(data.quasi_identifiers))
    policy.k = data.k
    policy.revision = (policy.revision or 0) + 1
    policy.updated, policy.updated_by = utcnow(), actor.name[:100]
    session.flush()
    audit.record(session, actor, "privacy.policy", "resource", r.id, org_id=r.owner_org_id,
                 content=policy_dict(policy),
                 detail={"revision": policy.revision, "had_policy": before is not None,
                         "columns": [x["column"][:100] for x in policy.rules][:50]})
    for v in current_versions(session, r.id):
        cols = classifications(session, v, data_root)
        if not uncovered(policy, cols):
            try:
                materialise(session, v, policy, data_root)
            except duckdb.Error as exc:
                raise ValidationFailed("privacy.policy_failed",
                                       detail=str(exc).splitlines()[0][:200]) from None
    return policy


def get_policy(session: Session, actor: Actor, resource_id: str) -> Policy | None:
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    return session.get(Policy, r.id)


# --- the protected view (the narrower in handlers.py) ----------------------------------------


def protected_view(session: Session, view: View, number: int | None, data_root: Path) -> View:
    """What someone who may not edit the resource reads: the version through the policy;
    if the version holds a personal column that no rule covers, the newest earlier version
    that is covered (only when the current version was asked for), else 403."""
    policy = session.get(Policy, view.resource.id)
    version = view.version
    while True:
        cols = classifications(session, version, data_root)
        missing = uncovered(policy, cols)
        if not missing:
            break
        earlier = None if number is not None else session.scalar(
            select(DatastoreVersion).where(
                DatastoreVersion.distribution_id == version.distribution_id,
                DatastoreVersion.number < version.number)
            .order_by(DatastoreVersion.number.desc()).limit(1))
        if earlier is None:
            raise Forbidden("privacy.awaiting_deidentification", id=view.table,
                            version=view.version.number)
        version = earlier
    applies = policy is not None and any(c["id"] in rules_of(policy) for c in version.columns)
    if not applies and version.id == view.version.id:
        return view  # nothing personal, nothing to protect
    if not applies:
        return view.narrowed(version=version, path=Path(data_root) / version.path /
                             "data.parquet", columns=list(version.columns),
                             notes={**view.notes, "privacy": {"version": version.number}})
    assert policy is not None
    p = materialise(session, version, policy, data_root)
    note = {"policy": p.fingerprint, "revision": policy.revision, "version": version.number}
    if version.id != view.version.id:
        note["instead_of"] = view.version.number
    return view.narrowed(version=version, path=p.path, columns=p.columns,
                         notes={**view.notes, "privacy": note})


# --- grading rules (called by the catalogue) -------------------------------------------------


def has_assessment(session: Session, resource_id: str, scope: str) -> bool:
    return session.scalar(select(ImpactAssessment.id).where(
        ImpactAssessment.resource_id == resource_id, ImpactAssessment.scope == scope)
        .limit(1)) is not None


def personal_columns(session: Session, resource_id: str) -> list[ColumnClassification]:
    out = []
    for v in current_versions(session, resource_id):
        out += [c for c in _stored(session, v.id) if c.personal]
    return out


def check_resource(session: Session, data: ResourceIn, existing: Resource | None,
                   e: FieldErrors) -> None:
    """The catalogue's privacy rules on a resource about to be saved, as field messages.

    - grade and personal take their listed values and are never below what the data holds;
    - core data is not opened (opening_type must be none);
    - personal information is opened or shared unconditionally only when a policy covers
      every personal column;
    - personal information is opened or shared at all only with an impact assessment of
      that scope on record (PIPL Art. 55)."""
    if data.grade is not None and data.grade not in GRADES:
        e.add("grade", "field.choice", choices=", ".join(GRADES))
    if data.personal is not None and data.personal not in PERSONAL_LEVELS:
        e.add("personal", "field.choice", choices=", ".join(PERSONAL_LEVELS))
    grade = data.grade if data.grade in GRADES else (existing.grade if existing else None)
    personal = data.personal if data.personal in PERSONAL_LEVELS else (
        existing.personal if existing else None)
    grade, personal = grade or "general", personal or "none"
    if existing is not None:
        found = detected_level(session, existing.id)
        if LEVEL[personal] < LEVEL[found]:
            e.add("personal", "privacy.personal_below_detected", level=found)
            personal = found
    if grade == "core" and data.opening_type not in ("", "none"):
        e.add("opening_type", "privacy.core_not_opened")
    if personal == "none":
        return
    policy = session.get(Policy, existing.id) if existing is not None else None
    columns = personal_columns(session, existing.id) if existing is not None else []
    for scope in SCOPES:
        value = getattr(data, f"{scope}_type")
        if value == "unconditional":
            missing = uncovered(policy, columns)
            if policy is None or not policy.rules or missing:
                e.add(f"{scope}_type", "privacy.unconditional_needs_policy",
                      columns="、".join(missing[:10]) or "—")
        if value in ("unconditional", "conditional") and (
                existing is None or not has_assessment(session, existing.id, scope)):
            e.add(f"{scope}_type", f"privacy.assessment_required_{scope}")


# --- k-anonymity and impact assessments ------------------------------------------------------


def kanon_report(session: Session, actor: Actor, resource_id: str, *, data_root: Path,
                 distribution_id: str | None = None, quasi: list[str] | None = None,
                 k: int | None = None) -> dict[str, Any]:
    """k over the quasi-identifiers (the policy's, unless given) of a distribution's current
    version, as the protected copy shows them."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    versions = current_versions(session, r.id)
    if distribution_id:
        versions = [v for v in versions if v.distribution_id == distribution_id]
    if not versions:
        raise NotFound("datastore.not_active", id=(distribution_id or resource_id)[:100])
    v = versions[0]
    policy = session.get(Policy, r.id)
    quasi = list(quasi if quasi is not None else (policy.quasi_identifiers if policy else []))
    k = k or (policy.k if policy else 1)
    names = {c["id"] for c in v.columns}
    unknown = [q for q in quasi if q not in names]
    if unknown:
        raise ValidationFailed(fields={"quasi_identifiers": [
            _msg("privacy.column_unknown", column=unknown[0][:100])]})
    classifications(session, v, data_root)
    if policy is None:
        p = deid.plan(list(v.columns), {}, {}, b"")
    else:
        p = plan_for(session, v, policy, data_root)
    out = kanon.report(Path(data_root) / v.path / "data.parquet", p, quasi, k)
    return {"distribution_id": v.distribution_id, "version": v.number, **out}


def assessment_dict(a: ImpactAssessment) -> dict[str, Any]:
    return {"id": a.id, "resource_id": a.resource_id, "scope": a.scope, "purpose": a.purpose,
            "recipients": a.recipients, "risks": a.risks, "measures": a.measures,
            "columns": a.columns, "policy": a.policy, "k": a.k, "approved_by": a.approved_by,
            "approved_on": a.approved_on, "created": a.created, "created_by": a.created_by}


def record_assessment(session: Session, actor: Actor, resource_id: str, data: AssessmentIn, *,
                      data_root: Path) -> ImpactAssessment:
    """Record an impact assessment with what was assessed as it stands now: the personal
    columns, the policy and the k it gives (PIPL Art. 56: kept at least three years)."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    e = FieldErrors()
    if data.scope not in SCOPES:
        e.add("scope", "field.choice", choices=", ".join(SCOPES))
    for name in ("purpose", "recipients", "risks", "approved_by"):
        if not getattr(data, name).strip():
            e.add(name, "field.required")
    if data.approved_on > date.today():
        e.add("approved_on", "privacy.approved_in_future")
    e.raise_if_any()
    policy = session.get(Policy, r.id)
    k = None
    if policy is not None and policy.quasi_identifiers and current_versions(session, r.id):
        k = kanon_report(session, actor, r.id, data_root=data_root)["k"]
    columns = [{"distribution_id": c.distribution_id, "column": c.column, "type": c.kind,
                "sensitive": c.sensitive} for c in personal_columns(session, r.id)]
    a = ImpactAssessment(
        resource_id=r.id, scope=data.scope, purpose=data.purpose.strip(),
        recipients=data.recipients.strip(), risks=data.risks.strip(),
        measures=data.measures.strip(), columns=columns,
        policy={"rules": policy.rules, "quasi_identifiers": policy.quasi_identifiers,
                "k": policy.k, "revision": policy.revision} if policy else {},
        k=k, approved_by=data.approved_by.strip(), approved_on=data.approved_on,
        created=utcnow(), created_by=actor.name[:100])
    session.add(a)
    session.flush()
    audit.record(session, actor, "privacy.assessment", "resource", r.id, org_id=r.owner_org_id,
                 content=assessment_dict(a),
                 detail={"assessment": a.id, "scope": a.scope, "k": k,
                         "approved_by": a.approved_by[:100]})
    return a


def assessments(session: Session, actor: Actor, resource_id: str) -> list[ImpactAssessment]:
    """Shown to the owner's editors, auditors and the operator."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.read_assessment", r)
    return list(session.scalars(select(ImpactAssessment).where(
        ImpactAssessment.resource_id == r.id).order_by(ImpactAssessment.created.desc())))


# --- what an editor sees ---------------------------------------------------------------------


def status(session: Session, actor: Actor, resource_id: str, *, data_root: Path
           ) -> dict[str, Any]:
    """The resource's privacy as its editors see it: flags, each distribution's columns as
    classified, the policy, what the public reads now and why (notices), assessments."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    policy = session.get(Policy, r.id)
    tables = []
    notices = []
    for v in current_versions(session, r.id):
        cols = classifications(session, v, data_root)
        missing = uncovered(policy, cols)
        reads = "original"
        if missing:
            reads = "withheld"
            for older in session.scalars(select(DatastoreVersion).where(
                    DatastoreVersion.distribution_id == v.distribution_id,
                    DatastoreVersion.number < v.number)
                    .order_by(DatastoreVersion.number.desc())):
                if not uncovered(policy, classifications(session, older, data_root)):
                    reads = f"version {older.number}"
                    break
            notices.append({"key": "privacy.notice_uncovered", "distribution_id":
                            v.distribution_id, "version": v.number, "columns": missing,
                            "public_reads": reads})
        elif policy is not None and any(c.column in rules_of(policy) for c in cols):
            reads = "protected"
        tables.append({
            "distribution_id": v.distribution_id, "version": v.number, "public_reads": reads,
            "columns": [{"column": c.column, "type": c.kind, "personal": c.personal,
                         "sensitive": c.sensitive, "confidence": c.confidence,
                         "source": c.source, "confirmed_by": c.confirmed_by,
                         "covered": c.column in rules_of(policy)} for c in cols]})
    return {
        "resource_id": r.id, "name": r.name, "grade": r.grade, "personal": r.personal,
        "detected": detected_level(session, r.id), "tables": tables, "notices": notices,
        "policy": policy_dict(policy),
        "assessments": [assessment_dict(a) for a in assessments(session, actor, r.id)]
        if can(actor, "privacy.read_assessment", r) else [],
    }


def redetect(session: Session, actor: Actor, resource_id: str, *, data_root: Path) -> int:
    """Classify current versions that have no classification yet (versions made before the
    privacy module ran); returns how many were classified."""
    r = catalog.get_resource(session, actor, resource_id)
    require(actor, "privacy.manage", r)
    n = 0
    for v in current_versions(session, r.id):
        if not _stored(session, v.id):
            detect_version(session, actor, v, r, data_root)
            n += 1
    return n

