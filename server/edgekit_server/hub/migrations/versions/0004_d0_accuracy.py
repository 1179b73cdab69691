"""An update's accuracy on the bundle's D0 clips, from the scores the device sent with it.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("updates", sa.Column("d0_accuracy", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("updates", "d0_accuracy")
