"""Privacy's hooks into the datastore, registered on import (``core.events.LISTENERS``):

- on ``datastore.version_published``: classify the new version's columns, raise the
  resource's flags, write the protected copy when a policy covers it;
- a narrower on every read (``datastore.access``): whoever may not read the original (Art.
  48, 50; PIPL) reads the protected copy, or an earlier covered version, or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from zhihui.catalog.models import Resource
from zhihui.core import events
from zhihui.core.authz import Actor, can
from zhihui.datastore import access
from zhihui.datastore.models import DatastoreVersion
from zhihui.privacy import service


@events.on("datastore.version_published")
def detect_on_ingest(session: Session, *, actor: Actor, version: DatastoreVersion,
                     resource: Resource, data_root: Path, **_: Any) -> None:
    service.detect_version(session, actor, version, resource, data_root)


@access.narrower
def protect(session: Session, actor: Actor, view: access.View, number: int | None
            ) -> access.View:
    if can(actor, "privacy.read_original", view.resource):
        return view
    return service.protected_view(session, view, number, service.data_root_of(view))
