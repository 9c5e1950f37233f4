"""/api/v1/audit: the public face of the transparency log (checkpoints, the verifier key,
entries, proofs), and the sequencer that runs beside the app."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from zhihui.core.audit import service
from zhihui.core.authz import require
from zhihui.web import background
from zhihui.web.deps import ActorDep, SessionDep, SettingsDep

router = APIRouter(prefix="/audit", tags=["audit"])
NOTE = "text/plain; charset=utf-8"
SEQUENCER_INTERVAL = 30.0  # seconds: a checkpoint at least every minute while entries arrive


class EntriesOut(BaseModel):
    entries: list[dict[str, Any]]


class InclusionProofOut(BaseModel):
    index: int
    tree_size: int
    leaf_hash: str
    proof: list[str]


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    proof: list[str]


def _note(cp: Any) -> PlainTextResponse:
    return PlainTextResponse(
        cp.note, media_type=NOTE,
        headers={"X-Checkpoint-Time": cp.created.strftime("%Y-%m-%dT%H:%M:%SZ")},
    )


@router.get("/checkpoint", response_class=PlainTextResponse)
def checkpoint(session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The latest checkpoint, a C2SP signed note (origin, tree size, base64 root hash)."""
    return _note(service.current_checkpoint(session, service.log_key(settings)))


@router.post("/checkpoint", response_class=PlainTextResponse)
def make_checkpoint(session: SessionDep, actor: ActorDep,
                    settings: SettingsDep) -> PlainTextResponse:
    """Integrate the entries waiting now and sign a checkpoint (auditors, the operator)."""
    require(actor, "audit.checkpoint")
    cp = service.integrate(session, service.log_key(settings))
    session.commit()
    return _note(cp)


@router.get("/public-key", response_class=PlainTextResponse)
def public_key(session: SessionDep, settings: SettingsDep) -> PlainTextResponse:
    """The verifier key: ``<name>+<hex key id>+<base64(0x01 || Ed25519 public key)>``."""
    vkey = service.verifier(session, service.log_key(settings))
    return PlainTextResponse(f"{vkey}\n", media_type=NOTE)


@router.get("/entries", response_model=EntriesOut)
def entries(
    session: SessionDep, actor: ActorDep,
    start: int = 0,
    end: Annotated[int | None, Query(description="exclusive; at most start + 1000")] = None,
) -> dict[str, Any]:
    """Leaves [start, end): every leaf hash; canonical bytes and fields where allowed."""
    return {"entries": service.entries(session, actor, start, end)}


@router.get("/proof/inclusion", response_model=InclusionProofOut)
def inclusion(
    session: SessionDep, index: int,
    tree_size: Annotated[int | None, Query(description="default: the current size")] = None,
) -> dict[str, Any]:
    return service.inclusion_proof(session, index, tree_size)


@router.get("/proof/consistency", response_model=ConsistencyProofOut)
def consistency(session: SessionDep, first: int, second: int) -> dict[str, Any]:
    return service.consistency_proof(session, first, second)


def run_sequencer(app: FastAPI, interval: float = SEQUENCER_INTERVAL) -> None:
    """Integrate waiting entries every ``interval`` seconds while the app runs."""
    key = service.log_key(app.state.settings)
    background.periodically(app, interval, lambda a: service.sequence_once(a.state.db, key),
                            "audit sequencer")
