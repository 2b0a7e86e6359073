"""Scheduling: who triggered an instance, a rerun's wait, the script as it ran; backfills

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('instances') as batch:
        batch.add_column(sa.Column('triggered_by', sa.String(length=128), nullable=False,
                                   server_default='scheduler'))
        batch.add_column(sa.Column('run_after', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('resolved_script', sa.Text(), nullable=True))
    op.create_table('backfills',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('task_id', sa.Integer(), nullable=False),
    sa.Column('task_ids', sa.JSON(), nullable=False),
    sa.Column('from_date', sa.Date(), nullable=False),
    sa.Column('to_date', sa.Date(), nullable=False),
    sa.Column('parallelism', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_backfills_task_id'), 'backfills', ['task_id'], unique=False)


def downgrade() -> None:
    op.drop_table('backfills')
    with op.batch_alter_table('instances') as batch:
        batch.drop_column('resolved_script')
        batch.drop_column('run_after')
        batch.drop_column('triggered_by')
