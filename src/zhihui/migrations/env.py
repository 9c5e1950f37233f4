"""Alembic environment: the URL comes from the caller (zhihui.db.upgrade) or the settings."""

from __future__ import annotations

from alembic import context

from zhihui.migrations_check import include_object
from zhihui.models import metadata
from zhihui.settings import get_settings


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
