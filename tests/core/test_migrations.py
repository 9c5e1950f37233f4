"""The migrations build exactly the schema the models describe."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from zhihui.migrations_check import include_object
from zhihui.models import metadata


def test_models_and_migrations_agree(db):
    with db.engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={
            "include_object": include_object, "compare_type": True})
        assert compare_metadata(ctx, metadata) == []
