"""exchange_change.position: the changes feed's order, given when the change's transaction
commits, so a poller never skips a change whose transaction commits after a later-numbered
one's (PostgreSQL; on SQLite, whose writers commit one at a time, the position is the seq)

Revision ID: 0014
Revises: 0010 (0011-0013 were reserved for parallel work and not needed)
Create Date: 2026-11-27 02:50:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0010'
branch_labels = None
depends_on = None

# the pg_advisory_xact_lock keys a committing change writer holds from the moment its
# positions are drawn until its commit is visible
LOCK = (2015, 46)


def upgrade() -> None:
    with op.batch_alter_table('exchange_change') as batch:
        batch.add_column(sa.Column('position', sa.BigInteger(), nullable=True))
    # Changes written before are all committed, and cursors handed out before (c1.<seq>)
    # named their seq: their position is their seq.
    op.execute("UPDATE exchange_change SET position = seq")
    op.create_index(op.f('ix_exchange_change_position'), 'exchange_change', ['position'],
                    unique=True)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE SEQUENCE exchange_change_position_seq")
        op.execute("SELECT setval('exchange_change_position_seq', "
                   "(SELECT COALESCE(max(seq), 0) + 1 FROM exchange_change), false)")
        # A deferred constraint trigger runs as the transaction commits. The lock makes
        # committing writers draw positions one at a time, and it is released only after
        # the commit is visible to others, so a higher position is never visible before a
        # lower one.
        op.execute(f"""
            CREATE FUNCTION exchange_change_position() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_advisory_xact_lock({LOCK[0]}, {LOCK[1]});
                UPDATE exchange_change
                   SET position = nextval('exchange_change_position_seq')
                 WHERE seq = NEW.seq;
                RETURN NULL;
            END $$""")
        op.execute("""
            CREATE CONSTRAINT TRIGGER exchange_change_position
            AFTER INSERT ON exchange_change DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION exchange_change_position()""")
    else:
        op.execute("""
            CREATE TRIGGER exchange_change_position AFTER INSERT ON exchange_change
            FOR EACH ROW BEGIN
                UPDATE exchange_change SET position = NEW.seq WHERE seq = NEW.seq;
            END""")


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS exchange_change_position"
               + (" ON exchange_change" if op.get_bind().dialect.name == 'postgresql' else ""))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP FUNCTION IF EXISTS exchange_change_position()")
        op.execute("DROP SEQUENCE IF EXISTS exchange_change_position_seq")
    op.drop_index(op.f('ix_exchange_change_position'), table_name='exchange_change')
    with op.batch_alter_table('exchange_change') as batch:
        batch.drop_column('position')
