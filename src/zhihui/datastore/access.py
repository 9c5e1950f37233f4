"""What of a distribution's data an actor may read: a ``View``.

Every read path of the datastore (datastore_search, datastore_search_sql, downloads, previews,
datastore_info) asks ``view(...)`` and reads only what it returns: which version, which file
(the original or a protected copy), which columns and which rows. No path reaches a file in
any other way.

The datastore starts from "the whole version, if ``resource.read`` allows". Other modules
narrow it, never widen it, with a ``@narrower`` function, in registration order:
- privacy (Art. 48, 50; PIPL): non-owners read the version through its de-identification
  policy, and never a version whose personal information no policy covers;
- exchange (Art. 46): conditionally shared data is read only through a grant, limited to its
  approved data items and rows.
A narrower returns the (possibly narrower) view, or raises ``NotFound``/``Forbidden``.
Narrowers are registered on import by the modules in ``core.events.LISTENERS``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhihui.catalog import service as catalog
from zhihui.catalog.models import Distribution, Resource
from zhihui.core import events
from zhihui.core.authz import Actor, can
from zhihui.core.errors import NotFound
from zhihui.datastore.models import DatastoreVersion
from zhihui.datastore.storage import Storage


@dataclass(frozen=True)
class View:
    """One readable table: ``version`` read from ``path`` with the schema ``columns`` (the
    shape of ``DatastoreVersion.columns``: id, type, item_type, length), restricted to the rows
    matching ``where`` (a DuckDB boolean expression written by a service, never by a user)."""

    distribution: Distribution
    resource: Resource
    version: DatastoreVersion
    path: Path
    columns: list[dict[str, Any]]
    where: str | None = None
    # why the view is narrower than the version, for the audit entry: {"privacy": ..., ...}
    notes: dict[str, Any] = field(default_factory=dict)

    @property
    def table(self) -> str:
        return self.distribution.id

    @property
    def restricted(self) -> bool:
        return bool(self.notes) or self.where is not None

    def narrowed(self, **changes: Any) -> View:
        return replace(self, **changes)


Narrower = Callable[[Session, Actor, View, int | None], View]
_narrowers: list[Narrower] = []


def narrower(fn: Narrower) -> Narrower:
    """Register ``fn(session, actor, view, number) -> view``: ``number`` is the version the
    caller asked for (None: the current one)."""
    if fn not in _narrowers:
        _narrowers.append(fn)
    return fn


def readable(session: Session, actor: Actor, distribution_id: str
             ) -> tuple[Distribution, Resource]:
    """The distribution and its resource, or 404 unless ``resource.read`` allows."""
    d, r = catalog.get_distribution(session, actor, distribution_id)
    if not can(actor, "resource.read", r):
        raise NotFound("error.distribution_not_found", id=distribution_id[:100])
    return d, r


def version_of(session: Session, d: Distribution, number: int | None,
               resource_id: str) -> DatastoreVersion:
    q = select(DatastoreVersion).where(DatastoreVersion.distribution_id == d.id)
    if number is not None:
        q = q.where(DatastoreVersion.number == number)
    version = session.scalar(q.order_by(DatastoreVersion.number.desc()).limit(1))
    if version is None:
        if number is not None:
            raise NotFound("datastore.version_not_found", id=resource_id[:100], number=number)
        raise NotFound("datastore.not_active", id=resource_id[:100])
    return version


def view(session: Session, actor: Actor, distribution_id: str, number: int | None = None, *,
         data_root: Path) -> View:
    """What ``actor`` may read of the current (or the numbered) version."""
    d, r = readable(session, actor, distribution_id)
    v = version_of(session, d, number, distribution_id)
    out = View(distribution=d, resource=r, version=v,
               path=Storage(data_root).data_file(v.path), columns=list(v.columns))
    events.load_listeners()
    for fn in _narrowers:
        out = fn(session, actor, out, number)
    return out
