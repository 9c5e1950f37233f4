"""Rules shared by the exchange's parts: refusing with an audit entry that survives the
refusal, dialect-neutral "insert if absent", the resource an application or subscription is
about. The parts themselves are in grants.py, applications.py, subscriptions.py,
feedback.py, stats.py and profile.py."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import Insert
from sqlalchemy.orm import Session

from zhihui.core import audit
from zhihui.core.authz import Actor
from zhihui.core.errors import ZhihuiError


def refuse(session: Session, actor: Actor, error: ZhihuiError, action: str, target_type: str,
           target_id: str | None, *, org_id: str | None = None,
           detail: dict[str, Any] | None = None) -> NoReturn:
    """Raise ``error`` after an audit entry that says who was refused what and why.

    The door rolls back the request's transaction on an error, which would take the entry
    with it; so the entry is committed first. Only reads and refusals run before a refusal,
    so the commit saves nothing else that was meant to be undone (Art. 50: refused attempts
    are part of the record, e.g. to spot scraping with a revoked grant)."""
    audit.record(session, actor, action, target_type, target_id, org_id=org_id,
                 detail={"refused": error.message.key, "status": error.status,
                         **(detail or {})})
    session.commit()
    raise error


def insert_ignoring_conflict(session: Session, table: Any, values: dict[str, Any],
                             index_elements: list[str]) -> int:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; the number of rows made."""
    stmt: Insert
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        stmt = pg_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=index_elements)
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(
            index_elements=index_elements)
    return session.execute(stmt).rowcount or 0
