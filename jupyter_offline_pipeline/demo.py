"""The embedded demo: an SQLite shop database and a DuckDB warehouse, registered as data
sources, and a daily script that copies the orders across. Safe to run again: existing
demo data sources are reused and the script's preSql makes the run idempotent."""

from __future__ import annotations

import random
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path

from .script.params import ParamContext
from .service import DataSourceService
from .service.errors import Conflict
from .service.users import User

DEMO_ROWS = 100_000
SHOP, WAREHOUSE = "demo_shop", "demo_warehouse"

DEMO_SCRIPT = """{
  "type": "job",
  "version": "2.0",
  "steps": [
    {"stepType": "sqlite", "category": "reader", "name": "Reader",
     "parameter": {"datasource": "demo_shop", "table": ["orders"],
                   "column": ["id", "customer", "amount", "status", "gmt_create", "'${bizdate}'"],
                   "where": "", "splitPk": "id"}},
    {"stepType": "duckdb", "category": "writer", "name": "Writer",
     "parameter": {"datasource": "demo_warehouse", "table": "ods_orders",
                   "column": ["id", "customer", "amount", "status", "gmt_create", "ds"],
                   "writeMode": "replace",
                   "preSql": ["delete from @table where ds = '${bizdate}'"], "postSql": []}}
  ],
  "setting": {"errorLimit": {"record": 0}, "speed": {"concurrent": 2, "throttle": false}},
  "order": {"hops": [{"from": "Reader", "to": "Writer"}]}
}
"""


def run_demo(service: DataSourceService, folder: Path, user: User) -> int:
    from .engine import prepare_job, run_job
    from .progress import ProgressBar

    folder.mkdir(parents=True, exist_ok=True)
    shop, warehouse = folder / "shop.db", folder / "warehouse.duckdb"
    if not shop.exists():
        _make_shop(shop)
    _make_warehouse(warehouse)
    _register(service, SHOP, "sqlite", shop, user)
    _register(service, WAREHOUSE, "duckdb", warehouse, user)
    script = folder / "orders_daily.pipeline.json"
    script.write_text(DEMO_SCRIPT, encoding="utf-8")
    print(f"demo data sources {SHOP!r} and {WAREHOUSE!r} ready in {folder}", file=sys.stderr)
    print(f"running {script}", file=sys.stderr)
    job = prepare_job(DEMO_SCRIPT, service.resolve, ParamContext(), datasource_type=service.type_of)
    with ProgressBar() as bar:
        summary = run_job(job, progress=bar.update)
    print(summary.format())
    return 0 if summary.status == "success" else 1


DEMO_TASK = "orders_daily"


def publish_demo_task(service: DataSourceService, user: User) -> str:
    """The demo script as the task ``orders_daily`` of the default project, submitted (so
    in production, running daily); the sidebar and the Operation Center then show it."""
    from .service.projects import ProjectService
    from .service.submit import SubmitService
    from .service.tasks import TaskService

    project = ProjectService(service.store).ensure_default(user)
    tasks = TaskService(service.store, service)
    existing = [t for t in tasks.list(user, project.id, search=DEMO_TASK) if t.name == DEMO_TASK]
    if existing:
        return f"task {DEMO_TASK!r} is there from an earlier demo"
    task = tasks.create(user, project.id, name=DEMO_TASK, schedule_type="recurring",
                        description="created by jupyter pipeline demo", source_type="sqlite",
                        source_datasource=SHOP, target_type="duckdb", target_datasource=WAREHOUSE)
    tasks.save_draft(user, task.id, script=DEMO_SCRIPT)
    result = SubmitService(service.store, service).submit(user, task.id, "the demo", confirm_warnings=True)
    return f"task {DEMO_TASK!r} of project {project.name!r}: {result.status}"


def _register(service: DataSourceService, name: str, kind: str, path: Path, user: User) -> None:
    try:
        service.add(user, name, kind, {"path": str(path)}, "created by jupyter pipeline demo")
    except Conflict:
        pass  # already registered by an earlier demo run


def _make_shop(path: Path) -> None:
    rng = random.Random(42)
    start = datetime(2026, 1, 1)
    statuses = ["created", "paid", "shipped", "refunded"]
    rows = (
        (i, f"customer {rng.randrange(5000)}", round(rng.uniform(1, 2000), 2),
         rng.choice(statuses), (start + timedelta(minutes=i)).isoformat(sep=" "))
        for i in range(1, DEMO_ROWS + 1)
    )
    with sqlite3.connect(path) as conn:
        conn.execute("create table orders (id integer primary key, customer text, "
                     "amount decimal(12,2), status text, gmt_create timestamp)")
        conn.executemany("insert into orders values (?, ?, ?, ?, ?)", rows)
    conn.close()


def _make_warehouse(path: Path) -> None:
    import duckdb

    with duckdb.connect(str(path)) as conn:
        conn.execute("create table if not exists ods_orders (id bigint primary key, customer varchar, "
                     "amount decimal(12,2), status varchar, gmt_create timestamp, ds varchar)")
