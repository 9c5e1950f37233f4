"""core/workflow: processes, their transitions, comments, attachments and the holiday calendar

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 23:40:00
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass  # reserved; the module's tables are added here


def downgrade() -> None:
    pass
