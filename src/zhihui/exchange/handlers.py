"""How the exchange joins the datastore without the datastore importing it (core.events):

- ``through_grant``, an ``access.narrower``: every read of a resource's data by someone
  outside the owning organisation passes the grant rules (``grants.decide``);
- ``announce``, a listener of ``datastore.version_published``: the changes feed and the
  webhook deliveries, in the ingest's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from zhihui.core import events
from zhihui.core.authz import Actor
from zhihui.datastore import access
from zhihui.exchange import grants, subscriptions


@access.narrower
def through_grant(session: Session, actor: Actor, view: access.View,
                  number: int | None) -> access.View:
    """Art. 46: conditionally shared data is read only through a live grant, narrowed to
    its data items and rows; the audit entry of the read names the grant."""
    if grants.owns(actor, view.resource):  # the owner and the operator: nothing to check
        return view
    return grants.narrow(session, actor, view)


@events.on("datastore.version_published")
def announce(session: Session, *, version: Any, resource: Any, **_: Any) -> None:
    subscriptions.on_version_published(session, version, resource)


def register() -> None:
    """Make sure the narrower is registered (tests that replace the list restore it)."""
    access.narrower(through_grant)
