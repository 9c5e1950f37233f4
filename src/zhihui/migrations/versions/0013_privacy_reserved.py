"""Reserved for the privacy module's next schema change (nothing yet)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 02:50:00
"""

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
