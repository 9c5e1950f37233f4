"""resource_facet: tags and formats keyed by the integer resource pk, for fast facet counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 23:50:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'resource_facet',
        sa.Column('resource_pk', sa.Integer(), nullable=False),
        sa.Column('field', sa.String(length=20), nullable=False),
        sa.Column('value', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(['resource_pk'], ['resource.pk'],
                                name=op.f('fk_resource_facet_resource_pk_resource'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('resource_pk', 'field', 'value',
                                name=op.f('pk_resource_facet')),
        sqlite_with_rowid=False,
    )
    # the facets of the resources already there
    op.execute(
        "INSERT INTO resource_facet (resource_pk, field, value) "
        "SELECT DISTINCT r.pk, 'tags', substr(t.name, 1, 100) FROM resource_tag t "
        "JOIN resource r ON r.id = t.resource_id")
    op.execute(
        "INSERT INTO resource_facet (resource_pk, field, value) "
        "SELECT DISTINCT r.pk, 'res_format', upper(substr(d.format, 1, 100)) FROM distribution d "
        "JOIN resource r ON r.id = d.resource_id WHERE d.format <> ''")


def downgrade() -> None:
    op.drop_table('resource_facet')
