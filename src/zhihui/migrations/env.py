"""Alembic environment: the URL comes from the caller (zhihui.db.upgrade) or the settings."""

from __future__ import annotations

from alembic import context
from zhihui.models import metadata
from zhihui.settings import get_settings

# Tables built by hand per dialect (the full-text index) are not in the metadata.
HAND_MADE = {"resource_fts", "resource_search"}


def include_object(obj, name, type_, reflected, compare_to):  # type: ignore[no-untyped-def]
    if type_ == "table" and (name in HAND_MADE or (name or "").startswith("resource_fts_")):
        return False
    return True


def run() -> None:
    cfg = context.config
    url = cfg.get_main_option("sqlalchemy.url") or get_settings().sqlalchemy_url
    from zhihui.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=metadata,
            include_object=include_object,
            render_as_batch=conn.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
