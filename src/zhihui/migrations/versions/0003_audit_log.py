"""the audit log as a Merkle tree: leaf indices, subtree hashes, checkpoints, sequencer state

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 20:36:14.029190
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('root_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('created', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_checkpoint'))
    )
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_checkpoint_tree_size'), ['tree_size'], unique=False)

    op.create_table('audit_log_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('origin', sa.String(length=200), nullable=False),
    sa.Column('tree_size', sa.BigInteger(), nullable=False),
    sa.Column('updated', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log_state'))
    )
    op.create_table('audit_node',
    sa.Column('level', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('idx', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hash', sa.LargeBinary(length=32), nullable=False),
    sa.PrimaryKeyConstraint('level', 'idx', name=op.f('pk_audit_node'))
    )
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leaf_index', sa.BigInteger(), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entry_leaf_index'), ['leaf_index'])



def downgrade() -> None:
    with op.batch_alter_table('audit_entry', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entry_leaf_index'), type_='unique')
        batch_op.drop_column('leaf_index')

    op.drop_table('audit_node')
    op.drop_table('audit_log_state')
    with op.batch_alter_table('audit_checkpoint', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_checkpoint_tree_size'))

    op.drop_table('audit_checkpoint')
