"""/api/v1/privacy: a resource's privacy for its editors (classifications, policy, notices),
corrections, policies, k-anonymity reports and impact assessments. Parse, call the service,
shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from zhihui.privacy import service
from zhihui.privacy.schemas import AssessmentIn, AssessmentOut, ColumnIn, PolicyIn
from zhihui.web.deps import ActorDep, SessionDep

router = APIRouter(prefix="/privacy/resources", tags=["privacy"])


def _root(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.settings.data_root


@router.get("/{resource_id}")
def status(resource_id: str, request: Request, session: SessionDep, actor: ActorDep
           ) -> dict[str, Any]:
    """Grade, personal flag, each table's column classification, the policy, what the public
    reads now and why (notices), and the impact assessments (editors, auditors)."""
    out = service.status(session, actor, resource_id, data_root=_root(request))
    session.commit()  # classifications found now for versions made before detection
    return out


@router.post("/{resource_id}/columns")
def confirm(resource_id: str, body: ColumnIn, request: Request, session: SessionDep,
            actor: ActorDep) -> dict[str, Any]:
    """Confirm or correct a column's classification (kept for later versions)."""
    row = service.confirm_column(session, actor, resource_id, body, data_root=_root(request))
    session.commit()
    return {"column": row.column, "type": row.kind, "personal": row.personal,
            "sensitive": row.sensitive, "source": row.source}


@router.get("/{resource_id}/policy")
def get_policy(resource_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return service.policy_dict(service.get_policy(session, actor, resource_id)) or {}


@router.put("/{resource_id}/policy")
def put_policy(resource_id: str, body: PolicyIn, request: Request, session: SessionDep,
               actor: ActorDep) -> dict[str, Any]:
    """Replace the de-identification policy; the protected copies are written at once."""
    policy = service.set_policy(session, actor, resource_id, body, data_root=_root(request))
    session.commit()
    return service.policy_dict(policy) or {}


@router.get("/{resource_id}/kanon")
def kanon(resource_id: str, request: Request, session: SessionDep, actor: ActorDep,
          columns: Annotated[str | None, Query(description="quasi-identifiers, comma-separated;"
                                                " default: the policy's")] = None,
          k: Annotated[int | None, Query(ge=1, le=1000)] = None,
          distribution: str | None = None) -> dict[str, Any]:
    """k-anonymity of the quasi-identifiers as the protected copy shows them."""
    quasi = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    out = service.kanon_report(session, actor, resource_id, data_root=_root(request),
                               distribution_id=distribution, quasi=quasi, k=k)
    session.commit()
    return out


@router.get("/{resource_id}/assessments", response_model=list[AssessmentOut])
def list_assessments(resource_id: str, session: SessionDep, actor: ActorDep
                     ) -> list[dict[str, Any]]:
    return [service.assessment_dict(a)
            for a in service.assessments(session, actor, resource_id)]


@router.post("/{resource_id}/assessments", response_model=AssessmentOut, status_code=201)
def record_assessment(resource_id: str, body: AssessmentIn, request: Request,
                      session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """Record a personal-information impact assessment (PIPL Art. 55-56)."""
    a = service.record_assessment(session, actor, resource_id, body, data_root=_root(request))
    session.commit()
    return service.assessment_dict(a)


def run_cleanup(app: Any) -> None:
    """Remove unreachable protected copies every hour while the app runs (privacy/cleanup)."""
    from zhihui.privacy import cleanup

    cleanup.run_periodically(app)
