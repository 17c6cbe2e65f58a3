"""Orders get a status.

Revision ID: 002
Revises: 001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "002"
down_revision = "001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("orders", sa.Column("status", sa.Text, nullable=False,
                                      server_default="new"))


def downgrade() -> None:
    op.drop_column("orders", "status")
