"""One store shared by the command line, the server extension and the scheduler.

SQLite in the Jupyter data directory by default (WAL, busy timeout: several processes
write to it), PostgreSQL for shared deployments. The schema is Alembic's: every open
upgrades it to the newest revision, so a new release never needs a manual step.
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")


def data_dir() -> Path:
    from jupyter_core.paths import jupyter_data_dir

    path = Path(jupyter_data_dir()) / "offline_pipeline"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    return os.environ.get("JUPYTER_PIPELINE_DB_URL") or f"sqlite:///{data_dir() / 'pipeline.db'}"


class Store:
    def __init__(self, db_url: str | None = None, migrate: bool = True):
        self.db_url = db_url or default_db_url()
        self.engine = _engine(self.db_url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_engine = _engine(self.db_url, write_lock=False) if self.engine.dialect.name == "sqlite" else None
        self._reads = sessionmaker(self._read_engine, expire_on_commit=False) if self._read_engine else self._sessions
        self._open = threading.local()
        if migrate:
            self.migrate()

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    def dispose(self) -> None:
        """Close every pooled connection (before the store's database is dropped, say)."""
        self.engine.dispose()
        if self._read_engine is not None:
            self._read_engine.dispose()

    @contextmanager
    def session(self, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises. A
        session opened inside another on the same thread joins it, whatever its kind: one
        transaction, and no second connection waiting on the first one's lock.

        ``read_only``: the block only reads. On SQLite it then takes no write lock (a
        snapshot of the WAL), so readers such as a worker resolving its script or the
        Operation Center's lists never queue behind the scheduler's writes."""
        outer = getattr(self._open, "session", None)
        if outer is not None:
            yield outer
            return
        with (self._reads if read_only else self._sessions)() as session, session.begin():
            self._open.session = session
            try:
                yield session
            finally:
                self._open.session = None


def _engine(db_url: str, write_lock: bool = True) -> Engine:
    if db_url.startswith("postgresql://"):
        db_url = "postgresql+psycopg://" + db_url[len("postgresql://"):]
    engine = create_engine(db_url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _begin_immediate if write_lock else _begin_snapshot)
    return engine


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()
    dbapi_connection.isolation_level = None  # transactions begin as _begin_immediate says


def _begin_immediate(connection) -> None:
    """Take the write lock when a transaction begins. A deferred transaction that read
    before another process wrote fails at its first write ("database is locked", which the
    busy timeout cannot cure); an immediate one waits its turn. Reads in WAL mode never wait."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def _begin_snapshot(connection) -> None:
    """A read-only transaction: its reads see one snapshot and take no lock."""
    connection.exec_driver_sql("BEGIN")
