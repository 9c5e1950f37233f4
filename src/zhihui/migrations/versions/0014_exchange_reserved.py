"""Reserved for the exchange module's next schema change (nothing yet)

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 02:50:00
"""

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
