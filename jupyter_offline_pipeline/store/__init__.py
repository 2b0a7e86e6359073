"""The store: SQLAlchemy models and Alembic migrations; SQLite by default, PostgreSQL for hubs."""

from .database import Store, data_dir, default_db_url
from .models import DataSourceRow

__all__ = ["DataSourceRow", "Store", "data_dir", "default_db_url"]
