"""Index the orders by customer and by status, built concurrently (outside the migration's
transaction, in an autocommit block, as Alembic documents for CREATE INDEX CONCURRENTLY).

Revision ID: 003
Revises: 002
"""

from __future__ import annotations

from alembic import op

revision = "003"
down_revision = "002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.get_context().autocommit_block():
        op.create_index("ix_orders_customer_id", "orders", ["customer_id"],
                        postgresql_concurrently=True)
        op.create_index("ix_orders_status_created", "orders", ["status", "created_at"],
                        postgresql_concurrently=True)


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_status_created", "orders", postgresql_concurrently=True)
        op.drop_index("ix_orders_customer_id", "orders", postgresql_concurrently=True)
