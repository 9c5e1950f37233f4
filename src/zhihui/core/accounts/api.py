"""/api/v1 routes for organisations, users and tokens."""

from __future__ import annotations

from fastapi import APIRouter

from zhihui.catalog.service import org_dict
from zhihui.core.accounts import service
from zhihui.core.accounts.models import User
from zhihui.core.accounts.schemas import (
    MemberIn,
    NewTokenOut,
    OrgIn,
    OrgOut,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
)
from zhihui.core.authz import Actor, can
from zhihui.core.errors import NotAuthenticated
from zhihui.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(tags=["accounts"])


def _user_out(session, actor: Actor, user: User) -> UserOut:  # type: ignore[no-untyped-def]
    private = can(actor, "user.read_private", user)
    return UserOut(
        id=user.id, name=user.name, fullname=user.fullname, sysadmin=user.sysadmin,
        created=user.created, email=user.email if private else None,
        memberships=service.memberships_of(session, user.id) if private else None,
    )


@router.get("/orgs", response_model=list[OrgOut])
def list_orgs(session: SessionDep) -> list[dict]:
    return [org_dict(o) for o in service.list_orgs(session)]


@router.get("/orgs/{org_id}", response_model=OrgOut)
def show_org(org_id: str, session: SessionDep) -> dict:
    return org_dict(service.get_org(session, org_id))


@router.post("/orgs", response_model=OrgOut, status_code=201)
def create_org(body: OrgIn, session: SessionDep, actor: ActorDep) -> dict:
    org = service.create_org(session, actor, **body.model_dump())
    session.commit()
    return org_dict(org)


@router.post("/orgs/{org_id}/members", status_code=204)
def set_member(org_id: str, body: MemberIn, session: SessionDep, actor: ActorDep) -> None:
    org = service.get_org(session, org_id)
    user = service.get_user(session, body.user)
    service.set_membership(session, actor, user=user, org=org, capacity=body.capacity)
    session.commit()


@router.get("/users/me", response_model=UserOut)
def me(session: SessionDep, actor: ActorDep) -> UserOut:
    if actor.is_anonymous:
        raise NotAuthenticated()
    return _user_out(session, actor, service.get_user(session, actor.user_id or ""))


@router.get("/users/{user_id}", response_model=UserOut)
def show_user(user_id: str, session: SessionDep, actor: ActorDep) -> UserOut:
    return _user_out(session, actor, service.get_user(session, user_id))


@router.post("/users", response_model=UserOut, status_code=201)
def create_user(body: UserIn, session: SessionDep, actor: ActorDep) -> UserOut:
    user = service.create_user(session, actor, **body.model_dump())
    session.commit()
    return _user_out(session, actor, user)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, actor: ActorDep) -> list:
    if actor.is_anonymous:
        raise NotAuthenticated()
    return service.list_tokens(session, actor, service.get_user(session, actor.user_id or ""))


@router.post("/tokens", response_model=NewTokenOut, status_code=201)
def create_token(body: TokenIn, session: SessionDep, actor: ActorDep,
                 settings: SettingsDep) -> NewTokenOut:
    if actor.is_anonymous:
        raise NotAuthenticated()
    user = service.get_user(session, actor.user_id or "")
    token, secret = service.create_token(session, actor, user=user, name=body.name,
                                         days=body.days)
    session.commit()
    return NewTokenOut(**TokenOut.model_validate(token, from_attributes=True).model_dump(),
                       token=secret)


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: str, session: SessionDep, actor: ActorDep) -> None:
    service.revoke_token(session, actor, token_id)
    session.commit()
