"""Account rules: organisations, users, memberships, passwords and API tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.core import audit
from zhihui.core.accounts.models import (
    CAPACITIES,
    ORG_KINDS,
    ApiToken,
    Membership,
    Organisation,
    User,
)
from zhihui.core.authz import ANONYMOUS, Actor, require
from zhihui.core.errors import FieldErrors, NotAuthenticated, NotFound
from zhihui.db import utcnow

_hasher = PasswordHasher()
# Names appear in URLs; letters of any script (Chinese too), digits, - and _.
NAME_RE = re.compile(r"^[\w\-]{2,100}$")
TOKEN_PREFIX = "zh_"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _check_name(errors: FieldErrors, name: str) -> None:
    if not NAME_RE.fullmatch(name or ""):
        errors.add("name", "field.name_invalid")


# --- organisations -----------------------------------------------------------------------


def get_org(session: Session, id_or_name: str) -> Organisation:
    if "\x00" in id_or_name:
        raise NotFound("error.org_not_found", id=id_or_name.replace("\x00", ""))
    org = session.get(Organisation, id_or_name) or session.scalar(
        select(Organisation).where(Organisation.name == id_or_name)
    )
    if org is None:
        raise NotFound("error.org_not_found", id=id_or_name)
    return org


def list_orgs(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.catalog_code)))


def create_org(
    session: Session,
    actor: Actor,
    *,
    name: str,
    title: str,
    kind: str,
    catalog_code: str,
    parent: str | None = None,
    uscc: str | None = None,
    title_en: str = "",
    description: str = "",
) -> Organisation:
    require(actor, "org.create")
    errors = FieldErrors()
    _check_name(errors, name)
    if not title.strip():
        errors.add("title", "field.required")
    if kind not in ORG_KINDS:
        errors.add("kind", "field.choice", choices=", ".join(ORG_KINDS))
    if not re.fullmatch(r"[0-9A-Za-z]{1,20}", catalog_code or ""):
        errors.add("catalog_code", "field.catalog_code_invalid")
    if uscc and not re.fullmatch(r"[0-9A-HJ-NPQRTUWXY]{18}", uscc):
        errors.add("uscc", "field.uscc_invalid")
    parent_org = None
    if parent:
        try:
            parent_org = get_org(session, parent)
        except NotFound:
            errors.add("parent", "field.org_unknown", id=parent)
    if kind != "city" and parent is None and kind in ORG_KINDS:
        errors.add("parent", "field.required")
    if session.scalar(select(Organisation.id).where(Organisation.name == name)):
        errors.add("name", "field.name_taken")
    if session.scalar(select(Organisation.id).where(Organisation.catalog_code == catalog_code)):
        errors.add("catalog_code", "field.catalog_code_taken")
    if uscc and session.scalar(select(Organisation.id).where(Organisation.uscc == uscc)):
        errors.add("uscc", "field.uscc_taken")
    errors.raise_if_any()
    org = Organisation(
        name=name,
        title=title.strip(),
        title_en=title_en,
        kind=kind,
        catalog_code=catalog_code,
        parent_id=parent_org.id if parent_org else None,
        uscc=uscc or None,
        description=description,
    )
    session.add(org)
    session.flush()
    audit.record(session, actor, "org.create", "org", org.id, org_id=org.id,
                 content={"name": name, "title": title, "kind": kind})
    return org


# --- users --------------------------------------------------------------------------------


def get_user(session: Session, id_or_name: str) -> User:
    if "\x00" in id_or_name:
        raise NotFound("error.user_not_found", id=id_or_name.replace("\x00", ""))
    user = session.get(User, id_or_name) or session.scalar(
        select(User).where(User.name == id_or_name)
    )
    if user is None:
        raise NotFound("error.user_not_found", id=id_or_name)
    return user


def create_user(
    session: Session,
    actor: Actor,
    *,
    name: str,
    password: str,
    fullname: str = "",
    email: str = "",
    sysadmin: bool = False,
    auditor: bool = False,
    password_hash: str | None = None,
) -> User:
    """A new account. ``password_hash`` may carry the argon2 hash of ``password`` when one is
    already at hand (the demo loader: many accounts share one documented password)."""
    require(actor, "user.create")
    errors = FieldErrors()
    _check_name(errors, name)
    if len(password or "") < 8:
        errors.add("password", "field.password_short", min=8)
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        errors.add("email", "field.email_invalid")
    if session.scalar(select(User.id).where(User.name == name)):
        errors.add("name", "field.name_taken")
    errors.raise_if_any()
    user = User(
        name=name,
        fullname=fullname,
        email=email,
        password_hash=password_hash or hash_password(password),
        sysadmin=sysadmin,
        auditor=auditor,
    )
    session.add(user)
    session.flush()
    audit.record(session, actor, "user.create", "user", user.id,
                 content={"name": name, "sysadmin": sysadmin, "auditor": auditor})
    return user


def set_membership(
    session: Session, actor: Actor, *, user: User, org: Organisation, capacity: str
) -> Membership:
    require(actor, "org.manage_members", org)
    if capacity not in CAPACITIES:
        errors = FieldErrors()
        errors.add("capacity", "field.choice", choices=", ".join(CAPACITIES))
        errors.raise_if_any()
    m = session.scalar(
        select(Membership).where(Membership.user_id == user.id, Membership.org_id == org.id)
    )
    if m is None:
        m = Membership(user_id=user.id, org_id=org.id, capacity=capacity)
        session.add(m)
    else:
        m.capacity = capacity
    session.flush()
    audit.record(session, actor, "org.member_set", "org", org.id, org_id=org.id,
                 content={"user": user.name, "capacity": capacity})
    return m


def memberships_of(session: Session, user_id: str) -> dict[str, str]:
    rows = session.execute(
        select(Membership.org_id, Membership.capacity).where(Membership.user_id == user_id)
    )
    return {org_id: cap for org_id, cap in rows}


def actor_for(session: Session, user: User, *, token_id: str | None = None,
              client: str | None = None) -> Actor:
    return Actor(
        user_id=user.id,
        name=user.name,
        sysadmin=user.sysadmin,
        auditor=user.auditor,
        memberships=memberships_of(session, user.id),
        token_id=token_id,
        client=client,
    )


def authenticate(session: Session, name: str, password: str) -> User:
    """The user whose name and password these are, or NotAuthenticated (same for both)."""
    user = None if "\x00" in name else session.scalar(select(User).where(User.name == name))
    if user is None or not user.active or not user.password_hash:
        # Spend the same time as a real check, so names cannot be probed by timing.
        _hasher.hash(password or "x")
        raise NotAuthenticated("error.login_failed")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        raise NotAuthenticated("error.login_failed") from None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


# --- API tokens ---------------------------------------------------------------------------


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, actor: Actor, *, user: User, name: str = "", days: int = 365
) -> tuple[ApiToken, str]:
    """A new token; its secret is returned once and stored only as a hash."""
    require(actor, "token.create", user)
    if not 1 <= days <= 3650:
        errors = FieldErrors()
        errors.add("days", "field.range", min=1, max=3650)
        errors.raise_if_any()
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name[:200],
        token_hash=_token_hash(secret),
        expires=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.record(session, actor, "token.create", "token", token.id,
                 content={"user": user.name, "name": name, "expires": token.expires})
    return token, secret


def revoke_token(session: Session, actor: Actor, token_id: str) -> ApiToken:
    token = None if "\x00" in token_id else session.get(ApiToken, token_id)
    if token is None:
        raise NotFound("error.token_not_found", id=token_id)
    require(actor, "token.revoke", session.get(User, token.user_id))
    if token.revoked is None:
        token.revoked = utcnow()
        audit.record(session, actor, "token.revoke", "token", token.id)
    return token


def list_tokens(session: Session, actor: Actor, user: User) -> list[ApiToken]:
    require(actor, "user.read_private", user)
    return list(session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created)
    ))


def actor_for_token(session: Session, secret: str, *, client: str | None = None) -> Actor:
    """The actor an ``Authorization`` header stands for; 401 if expired, revoked or unknown."""
    secret = secret.strip()
    if secret.lower().startswith("bearer "):
        secret = secret[7:].strip()
    if not secret:
        return ANONYMOUS
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
    now = utcnow()
    if token is None or token.revoked is not None or token.expires <= now:
        raise NotAuthenticated("error.token_invalid")
    user = session.get(User, token.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("error.token_invalid")
    # Record use at most once a minute: a write per request would serialise readers.
    if token.last_used is None or now - token.last_used > timedelta(minutes=1):
        token.last_used = now
    return actor_for(session, user, token_id=token.id, client=client)


def token_is_live(token: ApiToken, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return token.revoked is None and token.expires > now
