"""/api/v1/exchange: grants, applications, subscriptions and their delivery log, the changes
feed, feedback, statistics, the one-enterprise profile; and the webhook delivery worker that
runs beside the app. Parse, call the service, shape the answer."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse

from zhihui.core.errors import ZhihuiError
from zhihui.exchange import applications, feedback, grants, profile, stats, subscriptions
from zhihui.exchange.schemas import (
    AgreementIn,
    AnswerIn,
    ApplicationIn,
    ChangesOut,
    DecisionIn,
    FeedbackIn,
    KeyOut,
    RevokeIn,
    SubscriptionIn,
    SubscriptionOut,
)
from zhihui.exchange.service import refuse
from zhihui.web import background
from zhihui.web.deps import ActorDep, LangDep, SessionDep

router = APIRouter(prefix="/exchange", tags=["exchange"])


# --- grants ----------------------------------------------------------------------------------


@router.get("/grants")
def list_grants(session: SessionDep, actor: ActorDep, resource_id: str | None = None,
                live: bool = False) -> list[dict[str, Any]]:
    """Grants given by or to the caller's organisations, or to the caller."""
    found = grants.visible(session, actor, resource_id=resource_id, live_only=live)
    return [grants.grant_dict(g) for g in found]


@router.get("/grants/expiring")
def expiring_grants(session: SessionDep, actor: ActorDep,
                    days: Annotated[int, Query(ge=1, le=365)] = grants.EXPIRING_DAYS
                    ) -> list[dict[str, Any]]:
    """Live grants ending within ``days``: renew them by a new application."""
    return [grants.grant_dict(g) for g in grants.expiring(session, actor, days)]


@router.get("/grants/{grant_id}")
def get_grant(grant_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    return grants.grant_dict(grants.get(session, actor, grant_id))


@router.post("/grants/{grant_id}/revoke")
def revoke_grant(grant_id: str, body: RevokeIn, session: SessionDep,
                 actor: ActorDep) -> dict[str, Any]:
    """Revoke at once (the provider's editors, the operator)."""
    g = grants.revoke(session, actor, grant_id, body.reason)
    session.commit()
    return grants.grant_dict(g)


@router.post("/grants/{grant_id}/key", response_model=KeyOut, status_code=201)
def grant_key(grant_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The API key of one's opening grant (shown once; a new one replaces the old)."""
    g, secret = grants.issue_key(session, actor, grant_id)
    session.commit()
    return {"grant_id": g.id, "key": secret, "quota_per_day": g.quota_per_day}


# --- applications and usage agreements ------------------------------------------------------


@router.post("/applications/{kind}", status_code=201)
def apply(kind: Annotated[str, Path(pattern="^(sharing|opening)$")], body: ApplicationIn,
          session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """File a sharing application (a department) or an opening application (an enterprise
    or citizen, accepting the current usage agreement)."""
    app = applications.submit(session, actor, kind, body.model_dump())
    session.commit()
    return applications.application_dict(app)


@router.get("/applications")
def list_applications(session: SessionDep, actor: ActorDep,
                      role: Annotated[str, Query(pattern="^(any|applicant|provider)$")] = "any"
                      ) -> list[dict[str, Any]]:
    return [applications.application_dict(a)
            for a in applications.visible(session, actor, role=role)]


@router.get("/applications/{application_id}")
def get_application(application_id: str, session: SessionDep,
                    actor: ActorDep) -> dict[str, Any]:
    return applications.application_dict(applications.get(session, actor, application_id))


@router.post("/applications/{application_id}/decision")
def decide(application_id: str, body: DecisionIn, session: SessionDep,
           actor: ActorDep) -> dict[str, Any]:
    """approve (optionally fewer items or rows; an opening grant's daily quota), refuse (with
    a reason), or withdraw (the applicant)."""
    app = applications.decide(session, actor, application_id, body.action, reason=body.reason,
                              columns=body.columns, row_filter=body.row_filter,
                              quota_per_day=body.quota_per_day,
                              fields_set=set(body.model_fields_set))
    session.commit()
    return applications.application_dict(app)


@router.get("/agreements/{resource_id}")
def agreement(resource_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """The current usage agreement of a conditionally opened resource."""
    from zhihui.catalog import service as catalog

    r = catalog.get_resource(session, actor, resource_id)
    a = applications.current_agreement(session, r)
    if a is None:
        from zhihui.core.errors import NotFound

        raise NotFound("exchange.agreement_missing")
    return {"resource_id": r.id, "version": a.version, "text": a.text,
            "created": a.created.isoformat()}


@router.put("/agreements/{resource_id}", status_code=201)
def publish_agreement(resource_id: str, body: AgreementIn, session: SessionDep,
                      actor: ActorDep) -> dict[str, Any]:
    a = applications.publish_agreement(session, actor, resource_id, body.text)
    session.commit()
    return {"resource_id": a.resource_id, "version": a.version, "text": a.text,
            "created": a.created.isoformat()}


# --- subscriptions and the changes feed ------------------------------------------------------


@router.post("/subscriptions", response_model=SubscriptionOut, status_code=201)
def subscribe(body: SubscriptionIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """Subscribe to a resource's new versions: a webhook (signed) and/or the feed."""
    sub, secret = subscriptions.subscribe(session, actor, body.resource_id, url=body.url,
                                          secret=body.secret)
    session.commit()
    return {**subscriptions.subscription_dict(sub), "secret": secret}


@router.get("/subscriptions", response_model=list[SubscriptionOut])
def my_subscriptions(session: SessionDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [subscriptions.subscription_dict(s) for s in subscriptions.mine(session, actor)]


@router.delete("/subscriptions/{subscription_id}", response_model=SubscriptionOut)
def unsubscribe(subscription_id: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    sub = subscriptions.unsubscribe(session, actor, subscription_id)
    session.commit()
    return subscriptions.subscription_dict(sub)


@router.get("/subscriptions/{subscription_id}/deliveries")
def deliveries(subscription_id: str, session: SessionDep, actor: ActorDep,
               limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    """The delivery log: each message, its status and every attempt (time, code, error)."""
    return subscriptions.deliveries(session, actor, subscription_id, limit)


@router.post("/subscriptions/{subscription_id}/verify")
async def verify(subscription_id: str, request: Request, session: SessionDep,
                 actor: ActorDep) -> dict[str, Any]:
    """Check a message and its ``Zhihui-Signature`` header against this subscription's
    secret, as a receiver would: forged (403), replayed (403) and malformed (400) signatures
    are refused and audited."""
    body = await request.body()
    sub = subscriptions.get(session, actor, subscription_id)
    try:
        stamp = subscriptions.verify(sub.secret, body,
                                     request.headers.get(subscriptions.SIGNATURE_HEADER, ""))
    except ZhihuiError as exc:
        refuse(session, actor, exc, "subscription.verify", "subscription", sub.id)
    return {"valid": True, "timestamp": stamp}


@router.get("/changes", response_model=ChangesOut)
def changes(session: SessionDep, actor: ActorDep,
            since: Annotated[str | None, Query(max_length=200,
                                               description="the cursor returned last")] = None,
            resource: Annotated[str | None, Query(max_length=100)] = None,
            limit: Annotated[int, Query(ge=1, le=subscriptions.FEED_MAX)] = 100
            ) -> JSONResponse:
    """New versions the caller may read, oldest first, after ``since``; poll again with the
    returned ``cursor``."""
    feed = subscriptions.changes(session, actor, since, limit=limit, resource_id=resource)
    # Polled often: the service's answer is plain JSON already (str, int, bool), so it is
    # rendered as it is; FastAPI's generic encoder took ~40% of a request for 100 changes.
    return JSONResponse(feed)


# --- feedback and statistics -----------------------------------------------------------------


@router.post("/feedback", status_code=201)
def give_feedback(body: FeedbackIn, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """Report a problem with a resource, or suggest data to open (signed-in users)."""
    fb = feedback.submit(session, actor, kind=body.kind, title=body.title, body=body.body,
                         resource_id=body.resource_id, org_id=body.org_id)
    session.commit()
    return feedback.feedback_dict(fb)


@router.get("/feedback")
def list_feedback(session: SessionDep, actor: ActorDep, resource_id: str | None = None,
                  kind: str | None = None) -> list[dict[str, Any]]:
    """Public questions and answers (of a resource the caller may see)."""
    if resource_id:
        from zhihui.catalog import service as catalog

        resource_id = catalog.get_resource(session, actor, resource_id).id
    return [feedback.feedback_dict(f)
            for f in feedback.public_list(session, resource_id=resource_id, kind=kind)]


@router.post("/feedback/{feedback_id}/answer")
def answer_feedback(feedback_id: str, body: AnswerIn, session: SessionDep,
                    actor: ActorDep) -> dict[str, Any]:
    fb = feedback.answer(session, actor, feedback_id, body.answer)
    session.commit()
    return feedback.feedback_dict(fb)


@router.get("/stats")
def public_stats(session: SessionDep) -> dict[str, Any]:
    """Aggregates for everyone: per provider organisation and in total."""
    return stats.public(session)


@router.get("/stats/{org}")
def org_stats(org: str, session: SessionDep, actor: ActorDep) -> dict[str, Any]:
    """An organisation's own detail, per resource (its members, auditors, the operator)."""
    from zhihui.core.accounts import service as accounts

    return stats.for_org(session, actor, accounts.get_org(session, org))


# --- the one-enterprise profile (Art. 41) ------------------------------------------------------


@router.get("/enterprises/{code}")
def enterprise(code: str, request: Request, session: SessionDep, actor: ActorDep,
               lang: LangDep) -> dict[str, Any]:
    """Everything keyed by one unified social credit code that the caller may read, source by
    source, and the sources they may not read with the reason (422: not a valid code)."""
    found = profile.profile(session, actor, code,
                            data_root=request.app.state.settings.data_root, lang=lang)
    session.commit()  # the audit entries of the reads
    return found


# --- the delivery worker ---------------------------------------------------------------------


def run_delivery_worker(app: FastAPI) -> None:
    """Post due webhook deliveries every ``subscriptions.WORKER_INTERVAL`` seconds while the
    app runs (any number of processes may: deliveries are leased)."""
    background.periodically(app, subscriptions.WORKER_INTERVAL,
                            lambda a: subscriptions.deliver_due(a.state.db), "webhook delivery")
