"""the catalogue's full-text index, per dialect (see zhihui/catalog/search.py)

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Tokens are character pairs made in Python; unicode61 only splits on spaces here.
        op.execute(
            "CREATE VIRTUAL TABLE resource_fts USING fts5("
            "name, body, pinyin, tokenize = 'unicode61 remove_diacritics 0')"
        )
    else:
        op.execute(
            "CREATE TABLE resource_search ("
            " pk integer PRIMARY KEY REFERENCES resource(pk) ON DELETE CASCADE,"
            " document tsvector NOT NULL)"
        )
        op.execute(
            "CREATE INDEX ix_resource_search_document ON resource_search USING gin(document)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE resource_fts")
    else:
        op.execute("DROP TABLE resource_search")
