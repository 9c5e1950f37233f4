"""datastore jobs: background ingest with progress

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 23:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('datastore_job',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('distribution_id', sa.String(length=36), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(length=20), nullable=False),
    sa.Column('stage', sa.String(length=20), nullable=False),
    sa.Column('done', sa.BigInteger(), nullable=False),
    sa.Column('total', sa.BigInteger(), nullable=False),
    sa.Column('upload_path', sa.String(length=300), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('distribution_changes', sa.JSON(), nullable=False),
    sa.Column('error_key', sa.String(length=100), nullable=False),
    sa.Column('error_params', sa.JSON(), nullable=False),
    sa.Column('version_id', sa.String(length=36), nullable=True),
    sa.Column('version_number', sa.Integer(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('worker', sa.String(length=100), nullable=False),
    sa.Column('heartbeat', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished', sa.DateTime(timezone=True), nullable=True),
    sa.Column('actor_id', sa.String(length=36), nullable=True),
    sa.Column('actor_name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['distribution_id'], ['distribution.id'], name=op.f('fk_datastore_job_distribution_id_distribution'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_datastore_job'))
    )
    with op.batch_alter_table('datastore_job', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_datastore_job_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datastore_job_distribution_id'), ['distribution_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datastore_job_resource_id'), ['resource_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_datastore_job_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('datastore_job', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_datastore_job_state'))
        batch_op.drop_index(batch_op.f('ix_datastore_job_resource_id'))
        batch_op.drop_index(batch_op.f('ix_datastore_job_distribution_id'))
        batch_op.drop_index(batch_op.f('ix_datastore_job_actor_id'))

    op.drop_table('datastore_job')
