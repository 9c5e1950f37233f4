"""Append to the audit log."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from zhihui.core.audit.models import AuditEntry
from zhihui.core.authz import Actor


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str
    ).encode()


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value)).hexdigest()


def record(
    session: Session,
    actor: Actor,
    action: str,
    target_type: str,
    target_id: str | None,
    *,
    org_id: str | None = None,
    content: Any = None,
    detail: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction (flushed, committed with the change)."""
    entry = AuditEntry(
        actor_id=actor.user_id,
        actor_name=actor.name,
        token_id=actor.token_id,
        client=actor.client,
        action=action,
        target_type=target_type,
        target_id=target_id,
        org_id=org_id,
        digest=digest(content) if content is not None else None,
        detail=detail or {},
    )
    session.add(entry)
    return entry
