"""Alembic runs migrations on the connection the Store hands it (no alembic.ini)."""

from alembic import context

from jupyter_offline_pipeline.store.models import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
)
with context.begin_transaction():
    context.run_migrations()
