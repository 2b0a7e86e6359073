"""The %pipeline magics in real kernels beside a real server (one per module): alice's
kernel finds the server in the runtime directory, bob's through JupyterHub's variables,
and a third finds none. Each test runs cells as a notebook would and checks what the
user sees: rich and plain output, usage errors and server errors without tracebacks."""

from __future__ import annotations

import pytest

from jupyter_offline_pipeline.kernel.magics import COMMANDS
from pipeline_server import ORDERS, kernel_env, notebook_fixtures, sync_script

pytestmark = pytest.mark.timeout(300)

CREATE = "%%pipeline script {name} --create --source shop --target warehouse --source-table orders " \
         "--target-table ods_orders"


server, kernels, alice, bob = notebook_fixtures("%load_ext jupyter_offline_pipeline")


@pytest.fixture(scope="module")
def orders_sync(alice) -> str:
    """A task created, scripted and submitted from the notebook."""
    out = alice.run(f"{CREATE.format(name='orders_sync')}\n{sync_script()}")
    assert ok(out) and "no problems" in out.text, out.text
    out = alice.run("%pipeline submit orders_sync --remarks 'the daily copy'")
    assert ok(out) and "scheduled in production" in out.text, out.text
    return "orders_sync"


@pytest.fixture(scope="module")
def orders_slow(alice) -> str:
    """A task whose runs last several seconds (throttled), with progress along the way."""
    out = alice.run(f"{CREATE.format(name='orders_slow')}\n{sync_script(mbps=0.003)}")
    assert ok(out), out.text
    assert ok(alice.run("%pipeline submit orders_slow --remarks slow --confirm-warnings"))
    return "orders_slow"


def ok(out) -> bool:
    return out.error is None


def assert_no_traceback(out) -> None:
    shown = out.error_text + out.stderr + out.text
    assert "Traceback (most recent call last)" not in shown and 'File "' not in shown, shown


def error_of(out, ename: str) -> str:
    """The error the cell ended with (its text as shown, colours removed)."""
    assert out.error is not None and out.error["ename"] == ename, (out.error, out.text)
    assert_no_traceback(out)
    return (out.error_text + out.stderr).replace("\x1b[31m", "").replace("\x1b[0m", "")


# --- arguments ----------------------------------------------------------------------------------


def test_help_lists_every_command(alice):
    out = alice.run("%pipeline --help")
    assert ok(out) and all(name in out.stdout for name in COMMANDS)
    for name in COMMANDS:
        out = alice.run(f"%pipeline {name} --help")
        assert ok(out) and out.stdout.startswith(f"usage: %pipeline {name}"), (name, out.stdout)


@pytest.mark.parametrize("line, message", [
    ("%pipeline frobnicate", "invalid choice: 'frobnicate'"),
    ("%pipeline run", "the following arguments are required: TASK"),
    ("%pipeline run orders --bizdate 2024-01-01", "'2024-01-01' is not a business date: use YYYYMMDD"),
    ("%pipeline run orders --param novalue", "'novalue' is not NAME=VALUE"),
    ("%pipeline list --bogus", "%pipeline list: unrecognized arguments: --bogus"),
    ("%pipeline submit orders", "the following arguments are required: --remarks"),
    ("%pipeline backfill orders --from 20240101", "the following arguments are required: --to"),
    ("%pipeline log not-a-number", "argument INSTANCE: invalid int value"),
    ("%pipeline script orders", "script takes the cell's body: use %%pipeline script TASK"),
    ("%%pipeline list\n{}", "list is a line magic"),
    ("%pipeline list --search 'unclosed", "No closing quotation"),
    ("%%pipeline script orders --create --source shop\n{}", "--create needs --target"),
])
def test_usage_errors(alice, line, message):
    assert message in error_of(alice.run(line), "UsageError")


# --- scripts, submit, errors from the server --------------------------------------------------------


def test_create_shows_the_template_then_saves_the_cell(alice, orders_sync):
    out = alice.run(CREATE.format(name="orders_template")[1:])  # the line magic: the template
    assert ok(out) and '"stepType": "sqlite"' in out.text and '"amount"' in out.text
    out = alice.run("tasks = %pipeline list --search orders\n[(t.name, t.status) for t in tasks]")
    assert ok(out) and "('orders_sync', 'published')" in out.text and "('orders_template', 'draft')" in out.text
    out = alice.run("%pipeline list")
    assert "<table>" in out.html and "orders_template" in out.html


def test_invalid_script_points_at_the_cells_line(alice, orders_sync):
    body = sync_script().replace('"orders"', '"orderz"')
    out = alice.run(f"%%pipeline script orders_sync\n{body}")
    cell_line = 1 + next(n for n, text in enumerate(body.splitlines(), 1) if "orderz" in text)
    assert f"cell line {cell_line}, column" in out.text and "'orderz'" in out.text
    assert f">{cell_line}:" in out.html  # the table's line column
    assert "the draft of 'orders_sync' is saved, with 1 error(s)" in error_of(out, "PipelineError")

    broken = sync_script().replace('"type": "job",', '"type": "job",,')
    out = alice.run(f"%%pipeline script orders_sync\n{broken}")
    assert "cell line 3, column" in out.text and "PipelineError" in out.error["ename"]
    assert ok(alice.run(f"%%pipeline script orders_sync\n{sync_script()}"))


def test_unknown_task(alice, orders_sync):
    shown = error_of(alice.run("%pipeline status orders_snyc"), "PipelineError")
    assert "PipelineError: no task named 'orders_snyc' in project 'default'; did you mean 'orders_sync'" in shown


def test_submit_shows_failed_checks_then_the_lineage(alice, orders_sync):
    out = alice.run(f"{CREATE.format(name='orders_lost')}\n{sync_script(target_table='ods_lost')}")
    assert "target table 'ods_lost'" in error_of(out, "PipelineError") + out.text
    out = alice.run("%pipeline submit orders_lost --remarks 'no such target'")
    assert "orders_lost: not submitted: a check failed" in error_of(out, "PipelineError")
    assert "schema             fail" in out.text and "ods_lost" in out.text
    assert "fail" in out.html and "<svg" not in out.html

    out = alice.run(f"%%pipeline script orders_lost\n{sync_script()}")
    assert ok(out)
    out = alice.run("%pipeline submit orders_lost --remarks 'the warehouse table'")
    assert "confirm the warnings (--confirm-warnings)" in error_of(out, "PipelineError")
    assert "table_duplication  warning" in out.text
    out = alice.run("result = %pipeline submit orders_lost --remarks 'the warehouse table' --confirm-warnings\n"
                    "result")
    assert ok(out) and "submitted as version 1" in out.text
    assert "shop:orders -> warehouse:ods_orders" in out.text  # the lineage, in words
    assert "<svg" in out.html and "warehouse:ods_orders" in out.html  # and drawn


def test_missing_permission(bob, orders_sync):
    shown = error_of(bob.run(f"%%pipeline script orders_sync\n{sync_script()}"), "PipelineError")
    assert "only alice (the owner) or an admin may change task 'orders_sync'" in shown
    shown = error_of(bob.run(f"{CREATE.format(name='bobs_copy')}\n{sync_script()}"), "PipelineError")
    assert "source_datasource: you may not read data source 'shop'" in shown
    assert "target_datasource: you may not write data source 'warehouse'" in shown
    out = bob.run("%pipeline datasources")
    assert ok(out) and "no data source you may see" in out.text


def test_no_server_reachable(kernels, tmp_path):
    lonely = kernels(kernel_env(tmp_path / "no-servers"))
    shown = error_of(lonely.run("%pipeline list"), "PipelineError")
    assert ("No Jupyter server with jupyter-offline-pipeline is reachable: start one with `jupyter lab` "
            "(pip install jupyter-offline-pipeline), or pass PipelineClient(url=..., token=...)") in shown


def test_dev_prod_project_publish_and_validate_a_file(alice, server, orders_sync):
    assert server.api("POST", "/projects", json={"name": "dw", "mode": "dev_prod"}).status_code == 201
    path = server.root / "orders.json"
    path.write_text(sync_script().replace('"amount"', '"amout"'))
    out = alice.run(f"%pipeline validate {path}")
    assert ok(out) and "line 7, column" in out.text and "amout" in out.text
    out = alice.run("%pipeline validate orders_sync")
    assert ok(out) and "no problems" in out.text

    assert ok(alice.run("%pipeline connect --project dw"))
    out = alice.run(f"{CREATE.format(name='dw_orders')}\n{sync_script()}")
    assert ok(out), out.text
    out = alice.run("%pipeline submit dw_orders --remarks 'to dw' --confirm-warnings")
    assert ok(out) and "submitted as version 1 (to publish)" in out.text
    out = alice.run("%pipeline publish dw_orders")
    assert ok(out) and "dw_orders" in out.text and "alice" in out.text
    assert ok(alice.run("%pipeline connect"))  # back to the default project


# --- the Operation Center ---------------------------------------------------------------------------


def test_run_wait_shows_progress_then_the_summary(alice, orders_slow):
    out = alice.run("instance = %pipeline run orders_slow --bizdate 20240101 --wait\n"
                    "instance.state, instance.stat('records_written')")
    assert ok(out), out.text
    assert out.updates >= 2 and f"('success', {ORDERS})" in out.text  # one display, redrawn
    assert any("running" in v and " read · " in v and "rec/s" in v for v in out.versions), out.versions
    assert "success" in out.texts[0] and f"{ORDERS:,} written" in out.texts[0] and "badge" in out.htmls[0]


def test_rerun_and_kill(alice, orders_slow):
    instance = alice.run("running = %pipeline run orders_slow\nprint(running.id)").stdout.strip()
    shown = error_of(alice.run(f"%pipeline rerun {instance}"), "PipelineError")
    assert f"instance {instance} is waiting" in shown or f"instance {instance} is running" in shown
    out = alice.run(f"%pipeline kill {instance}")
    assert ok(out) and "killed" in out.text
    out = alice.run(f"%pipeline log {instance} --follow")  # ends: the instance has finished
    assert ok(out)
    out = alice.run(f"%pipeline rerun {instance} --force")
    assert ok(out) and instance in out.text and "2/" in out.text  # its second attempt
    assert ok(alice.run(f"%pipeline kill {instance}"))


def test_instances_log_and_backfill(alice, orders_sync):
    assert ok(alice.run("%pipeline run orders_sync --bizdate 20240102 --wait"))
    out = alice.run("page = %pipeline instances --task orders_sync --state success\n"
                    "frame = page.to_dataframe()\nprint(page.total, list(frame['stats.records_written']))\npage")
    assert ok(out) and f"1 [{ORDERS}]" in out.stdout
    assert "<svg" in out.html and "<rect" in out.html  # the timeline
    instance = alice.run("print(page[0].id)").stdout.strip()
    out = alice.run(f"%pipeline log {instance} --tail 12")
    assert ok(out) and "Records written" in out.text and "Status              : SUCCESS" in out.text
    out = alice.run(f"%pipeline log {instance} --follow")
    assert ok(out) and "summary" in out.stdout and out.stdout.count("Records written") == 1

    out = alice.run("%pipeline backfill orders_sync --from 20240105 --to 2024-01-07 --parallelism 2")
    assert ok(out) and "2024-01-05" in out.text and "2024-01-07" in out.text and "of 3" in out.text
    out = alice.run("%pipeline instances --kind backfill --from 20240105 --to 20240107")
    assert ok(out) and out.text.count(" backfill ") == 3


def test_a_failed_run_fails_the_cell(alice, server, orders_sync):
    out = alice.run(f"{CREATE.format(name='orders_broken')}\n"
                    f"{sync_script(pre_sql='delete from no_such_table')}")
    assert ok(out)
    task = server.api("GET", "/projects/1/tasks", params={"search": "orders_broken"}).json()[0]
    schedule = {**task_schedule(server, task["id"]), "run": {"rerun_on_failure": {"count": 0}}}
    assert server.api("PUT", f"/tasks/{task['id']}/schedule", json=schedule).status_code == 200
    assert ok(alice.run("%pipeline submit orders_broken --remarks broken --confirm-warnings"))
    shown = error_of(alice.run("%pipeline run orders_broken --wait"), "PipelineError")
    assert "of orders_broken failed" in shown and "no_such_table" in shown


def task_schedule(server, task_id: int) -> dict:
    return server.api("GET", f"/tasks/{task_id}").json()["schedule"]


def test_lineage_of_a_task_and_of_a_table(alice, orders_sync):
    out = alice.run("%pipeline lineage orders_sync")
    assert ok(out) and "<svg" in out.html and "shop:orders -> warehouse:ods_orders  (orders_sync)" in out.text
    out = alice.run("%pipeline lineage warehouse:ods_orders --direction up --depth 1")
    assert ok(out) and "shop:orders" in out.text
    out = alice.run("%pipeline datasources")
    assert ok(out) and "owner, read, write" in out.text and "<table>" in out.html
    out = alice.run("%pipeline status orders_sync")
    assert ok(out) and "every day at 00:00 (UTC)" in out.text and "versions" in out.text
