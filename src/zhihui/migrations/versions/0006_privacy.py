"""privacy: grades, de-identification policies, detection results, impact assessments

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 23:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # GB/T 43697 grade and PIPL Art. 28 flag on the resource, where the catalogue reads them
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grade', sa.String(length=20), nullable=False,
                                      server_default='general'))
        batch_op.add_column(sa.Column('personal', sa.String(length=30), nullable=False,
                                      server_default='none'))

    op.create_table('privacy_column',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('version_id', sa.String(length=36), nullable=False),
    sa.Column('distribution_id', sa.String(length=36), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('column', sa.String(length=300), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=30), nullable=True),
    sa.Column('personal', sa.Boolean(), nullable=False),
    sa.Column('sensitive', sa.Boolean(), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('matched', sa.Integer(), nullable=False),
    sa.Column('sampled', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('confirmed_by', sa.String(length=100), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['version_id'], ['datastore_version.id'], name=op.f('fk_privacy_column_version_id_datastore_version'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_column')),
    sa.UniqueConstraint('version_id', 'column', name=op.f('uq_privacy_column_version_id'))
    )
    with op.batch_alter_table('privacy_column', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_column_distribution_id'), ['distribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_column_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_privacy_column_version_id'), ['version_id'], unique=False)

    op.create_table('privacy_policy',
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('rules', sa.JSON(), nullable=False),
    sa.Column('quasi_identifiers', sa.JSON(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=False),
    sa.Column('salt', sa.String(length=64), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_privacy_policy_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('resource_id', name=op.f('pk_privacy_policy'))
    )

    op.create_table('privacy_assessment',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('scope', sa.String(length=20), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('recipients', sa.Text(), nullable=False),
    sa.Column('risks', sa.Text(), nullable=False),
    sa.Column('measures', sa.Text(), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('policy', sa.JSON(), nullable=False),
    sa.Column('k', sa.Integer(), nullable=True),
    sa.Column('approved_by', sa.String(length=100), nullable=False),
    sa.Column('approved_on', sa.Date(), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['resource_id'], ['resource.id'], name=op.f('fk_privacy_assessment_resource_id_resource'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_privacy_assessment'))
    )
    with op.batch_alter_table('privacy_assessment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_assessment_resource_id'), ['resource_id'], unique=False)


def downgrade() -> None:
    op.drop_table('privacy_assessment')
    op.drop_table('privacy_policy')
    with op.batch_alter_table('privacy_column', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_privacy_column_version_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_column_resource_id'))
        batch_op.drop_index(batch_op.f('ix_privacy_column_distribution_id'))
    op.drop_table('privacy_column')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_column('personal')
        batch_op.drop_column('grade')
