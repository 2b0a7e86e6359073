"""The ipywidgets forms in real kernels beside a real server (one per module), driven as a
notebook's user would through their programmatic API and buttons: alice's kernel finds
the server in the runtime directory, bob's through JupyterHub's variables. Each test
checks what the user sees: the messages beside the fields (the client's checks as the
user edits, the server's answers to Save), the preview of the next runs, and what the
server stored."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from pipeline_server import Kernel, kernel_env, notebook_fixtures

pytestmark = pytest.mark.timeout(300)

PG = {"host": "127.0.0.1", "port": 5432, "database": "test", "user": "root"}


server, kernels, alice, bob = notebook_fixtures(
    "from jupyter_offline_pipeline import PipelineClient, schedule_form, create_task_form, datasource_form\n"
    "import json")


def ok(out) -> bool:
    return out.error is None


def value(kernel: Kernel, expression: str):
    """An expression's value in the kernel, through JSON."""
    out = kernel.run(f"print(json.dumps({expression}, default=str))")
    assert ok(out), out.error_text
    return json.loads(out.stdout)


def task_named(server, name: str) -> dict:
    tasks = server.api("GET", "/projects/1/tasks", params={"search": name}).json()
    return next(t for t in tasks if t["name"] == name)


@pytest.fixture(scope="module")
def daily(server) -> str:
    response = server.api("POST", "/projects/1/tasks", json={
        "name": "orders_daily", "schedule_type": "recurring", "source_type": "sqlite",
        "source_datasource": "shop", "target_type": "sqlite", "target_datasource": "warehouse",
        "source_table": "orders", "target_table": "ods_orders"})
    assert response.status_code == 201, response.text
    return "orders_daily"


# --- the schedule form ----------------------------------------------------------------------------


def test_schedule_form_loads_the_task_and_previews_ten_runs(alice, daily):
    out = alice.run(f"form = schedule_form({daily!r})\nform")
    assert ok(out), out.error_text
    assert "Schedule configuration of orders_daily" in out.text and "every day at 00:00 (UTC)" in out.text
    assert "next runs (business date):" in out.text
    assert "Next 10 runs" in out.html  # the static copy, where widgets do not render
    assert value(alice, "sorted(form.fields)")[:3] == ["basic.description", "basic.developer",
                                                       "basic.operation_owner"]
    assert value(alice, "type(form.fields['schedule.cycle']).__name__") == "Dropdown"
    assert value(alice, "form.get('schedule.cycle')") == {"type": "day", "time": "00:00"}

    runs = value(alice, "[(str(r.scheduled_time), str(r.business_date)) for r in form.runs]")
    assert len(runs) == 10
    for scheduled, business in runs:  # the business date is the day before the scheduled day
        assert date.fromisoformat(business) == date.fromisoformat(scheduled[:10]) - timedelta(days=1)
        assert scheduled[11:16] == "00:00"

    assert ok(alice.run("form.set('schedule.cycle', {'type': 'week', 'weekdays': [1, 5], 'time': '02:30'})\n"
                        "form.set('schedule.timezone', 'Asia/Shanghai')"))
    shown = value(alice, "form.preview_box.value")
    assert "Asia/Shanghai" in shown and shown.count(" Mon 02:30") + shown.count(" Fri 02:30") == 10
    assert value(alice, "form.errors") == {}


def test_schedule_form_shows_field_messages_as_the_user_edits(alice, daily):
    assert ok(alice.run(f"form = schedule_form({daily!r})"))
    assert ok(alice.run("form.set('schedule.cycle.time', '25:00')"))
    expected = "'25:00' is not a time of day: use HH:MM, 00:00 to 23:59"
    assert value(alice, "form.errors") == {"schedule.cycle.time": [expected]}
    assert value(alice, "form.message('schedule.cycle.time')") == expected  # beside the field
    assert expected in value(alice, "form.form.node('schedule.cycle.time').box.children[2].value")
    assert value(alice, "form.runs") is None
    assert "Fix the fields marked" in value(alice, "form.preview_box.value")
    assert value(alice, "form.tabs.titles")[1] == "Schedule ⚠"

    # a number out of range, a word in a list of numbers, a rule across fields
    assert ok(alice.run("form.set('schedule.cycle', {'type': 'minute', 'every_minutes': 75})"))
    assert value(alice, "form.message('schedule.cycle.every_minutes')") == "Input should be less than or equal to 59"
    assert ok(alice.run("form.set('schedule.cycle', {'type': 'week', 'weekdays': '1, x'})"))
    assert value(alice, "form.message('schedule.cycle.weekdays')") == "'x' is not a whole number"
    assert ok(alice.run("form.update({'schedule.cycle': {'type': 'minute', 'every_minutes': 15, "
                        "'start_time': '18:00', 'end_time': '08:00'}})"))
    assert value(alice, "form.message('schedule.cycle')") == "the window starts (18:00) after it ends (08:00)"
    assert ok(alice.run("form.set('run.timeout_hours', 1.234)"))
    assert "more than two decimals" in value(alice, "form.message('run.timeout_hours')")

    # parameters: rows added with Add, a bad name on its own row, a name twice on the list
    assert ok(alice.run("form.update({'schedule.cycle.end_time': '20:00', 'run.timeout_hours': 2})\n"
                        "form.form.node('parameters').add_button.click()\n"
                        "form.set('parameters.0', {'name': '1day', 'value': '${yyyyMMdd-1}'})"))
    assert "1day" in value(alice, "form.message('parameters.0.name')")
    assert ok(alice.run("form.set('parameters', [{'name': 'day', 'value': '1'}, {'name': 'day', 'value': '2'}])"))
    assert value(alice, "form.message('parameters')") == "parameter 'day' is defined twice"

    out = alice.run("print(form.save())")  # refused before the server is asked
    assert ok(out) and out.stdout.strip() == "None"
    assert "not saved: 1 field to fix" in value(alice, "form.status.value")


def test_schedule_form_saves_and_shows_the_servers_field_issues(alice, server, daily):
    assert ok(alice.run(f"form = schedule_form({daily!r})\nform.set('schedule.cycle', None)"))
    assert value(alice, "form.errors") == {}  # the model allows no cycle: only the server knows the task
    out = alice.run("form.save_button.click()")  # Save, as clicked
    assert ok(out), out.error_text
    assert value(alice, "form.errors") == {"schedule.cycle": ["a recurring task needs a cycle"]}
    assert value(alice, "form.message('schedule.cycle')") == "a recurring task needs a cycle"
    assert "not saved" in value(alice, "form.status.value")

    out = alice.run("saved = form.update({'schedule.cycle': {'type': 'week', 'weekdays': [5, 1], 'time': '02:30'}, "
                    "'schedule.timezone': 'Asia/Shanghai', 'parameters': [{'name': 'region', 'value': 'eu'}], "
                    "'run.rerun_on_failure.count': 3}).save()\nprint(saved.schedule.cycle)")
    assert ok(out), out.error_text
    assert "weekdays=[1, 5]" in out.stdout
    assert value(alice, "form.errors") == {}
    assert "saved at" in value(alice, "form.status.value")
    assert value(alice, "form.get('schedule.cycle.weekdays')") == [1, 5]  # as the server stored it

    stored = server.api("GET", f"/tasks/{task_named(server, daily)['id']}").json()["schedule"]
    assert stored["schedule"]["cycle"] == {"type": "week", "weekdays": [1, 5], "time": "02:30"}
    assert stored["schedule"]["timezone"] == "Asia/Shanghai"
    assert stored["parameters"] == [{"name": "region", "value": "eu"}]
    assert stored["run"]["rerun_on_failure"] == {"count": 3, "interval_minutes": 5}

    out = alice.run(f"schedule_form({daily!r})")  # loaded from the draft
    assert ok(out) and "weekdays 1, 5 at 02:30 (Asia/Shanghai)" in out.text


def test_schedule_form_of_an_unknown_task_and_without_a_server(alice, kernels, tmp_path):
    out = alice.run("schedule_form('orders_dialy')")
    assert out.error["ename"] == "PipelineError"
    assert "no task named 'orders_dialy' in project 'default'; did you mean 'orders_daily'" in out.error_text
    lonely = kernels(kernel_env(tmp_path / "no-servers"))
    out = lonely.run("schedule_form('orders_daily')")
    assert out.error["ename"] == "PipelineError"
    assert "No Jupyter server with jupyter-offline-pipeline is reachable" in out.error_text


def test_the_magic_shows_a_form(alice, daily):
    out = alice.run(f"%load_ext jupyter_offline_pipeline\nform = %pipeline schedule {daily}\nform")
    assert ok(out) and "Schedule configuration of orders_daily" in out.text
    out = alice.run("%pipeline datasource shop")
    assert ok(out) and "Data source shop (sqlite): path=" in out.text


# --- the Create Offline Script dialog -------------------------------------------------------------


def test_create_task_form_offers_only_what_the_user_may_read_or_write(bob, server):
    for name in ("shop", "warehouse"):
        response = server.api("POST", f"/datasources/{name}/grants", json={"user": "bob", "permission": "read"})
        assert response.status_code == 201, response.text
    assert ok(bob.run("form = create_task_form()\nform.update({'source_type': 'sqlite', 'target_type': 'sqlite'})"))
    assert value(bob, "form.offered('source')") == ["shop", "warehouse"]
    assert value(bob, "form.offered('target')") == []  # bob may read alice's warehouse, not write it
    assert value(bob, "[v for _, v in form.fields['target_datasource'].options]") == [""]
    assert value(bob, "form.fields['target_datasource'].options[0][0]") == \
        "None you may write: New, or request a permission"
    out = bob.run("form.set('target_datasource', 'warehouse')")
    assert out.error["ename"] == "FormError"
    assert "'warehouse' is not offered as the target" in out.error_text
    out = bob.run("print(form.save())")
    assert ok(out) and out.stdout.strip() == "None"
    assert value(bob, "form.message('target_datasource')") == "is required"
    assert value(bob, "form.message('name')") == "is required"

    response = server.api("POST", "/datasources/warehouse/grants", json={"user": "bob", "permission": "write"})
    assert response.status_code == 201
    out = bob.run("form = create_task_form()\n"
                  "form.update({'name': 'bobs_copy', 'schedule_type': 'manual', 'source_type': 'sqlite', "
                  "'source_datasource': 'shop', 'source_table': 'orders', 'target_type': 'sqlite'})\n"
                  "print(form.get('target_datasource'), form.fields['source_table'].options)")
    assert ok(out), out.error_text
    assert out.stdout.split()[0] == "warehouse"  # the only one bob may write: chosen
    assert "'orders'" in out.stdout  # the source's tables, to pick from
    out = bob.run("task = form.create_button.click() or form.task\nprint(task.name, task.owner, task.schedule_type)")
    assert ok(out) and out.stdout.split() == ["bobs_copy", "bob", "manual"], out.stdout + out.error_text
    assert "created task bobs_copy" in value(bob, "form.status.value")
    script = server.api("GET", f"/tasks/{task_named(server, 'bobs_copy')['id']}").json()["script"]
    assert '"amount"' in script  # the template has the table's columns


def test_create_task_form_rules_and_the_servers_answer(alice, server, daily):
    assert ok(alice.run("form = create_task_form()"))
    assert value(alice, "form.errors") == {}  # nothing touched yet
    assert ok(alice.run("form.set('name', 'a/b')"))
    assert value(alice, "form.message('name')") == "must not contain /"
    assert ok(alice.run(f"form.set('name', {daily!r})"))
    assert value(alice, "form.message('name')") == "a task named 'orders_daily' already exists in this project"
    assert ok(alice.run("form.update({'name': 'raced', 'source_type': 'sqlite', 'source_datasource': 'shop', "
                        "'target_type': 'sqlite', 'target_datasource': 'warehouse'})"))
    assert value(alice, "form.errors") == {}
    # someone takes the name before OK: the server's message goes on the name
    response = server.api("POST", "/projects/1/tasks", json={
        "name": "raced", "schedule_type": "manual", "source_type": "sqlite", "source_datasource": "shop",
        "target_type": "sqlite", "target_datasource": "warehouse"})
    assert response.status_code == 201
    out = alice.run("print(form.save())")
    assert ok(out) and out.stdout.strip() == "None"
    assert "already exists" in value(alice, "form.message('name')")


# --- data sources ---------------------------------------------------------------------------------


def test_datasource_form_masks_the_password_and_tests_the_connection(alice, server):
    assert ok(alice.run("form = datasource_form(type='postgresql')"))
    assert value(alice, "type(form.fields['params.password']).__name__") == "Password"
    assert value(alice, "form.get('params.port')") == 5432  # the schema's default
    out = alice.run("print(form.save())")
    assert ok(out) and out.stdout.strip() == "None"
    assert value(alice, "form.message('params.host')") == "is required"
    assert value(alice, "form.message('name')") == "is required"

    params = {f"params.{k}": v for k, v in PG.items()}
    out = alice.run(f"form.update({{'name': 'pg_forms', **{params!r}, 'params.password': 'pw-s3cret'}})\n"
                    "test = form.test_button.click() or form.tested\nprint(test.ok, test.message)\nform")
    assert ok(out), out.error_text
    assert out.stdout.startswith("True PostgreSQL")  # saved first, then tested by the server
    assert "✓ connected: PostgreSQL" in value(alice, "form.status.value")
    assert "pw-s3cret" not in out.text and "password=******" in out.text
    stored = server.api("GET", "/datasources/pg_forms").json()
    assert stored["params"]["password"] == "******" and stored["params"]["host"] == "127.0.0.1"

    # editing: the password is not shown, empty keeps it; a wrong port fails the test with the reason
    out = alice.run("edit = datasource_form('pg_forms')\nprint(repr(edit.get('params.password')), "
                    "edit.fields['params.password'].placeholder)")
    assert ok(out) and out.stdout.strip() == "'' unchanged (stored encrypted)"
    out = alice.run("edit.set('params.port', 1)\ntest = edit.test()\nprint(test.ok)")
    assert ok(out) and out.stdout.strip() == "False"
    assert "the server 127.0.0.1:1 cannot be reached" in value(alice, "edit.status.value")
    assert server.api("GET", "/datasources/pg_forms").json()["params"]["password"] == "******"
    out = alice.run("edit.set('params.port', 70000)\nprint(edit.save())")
    assert ok(out) and out.stdout.strip() == "None"
    assert value(alice, "edit.message('params.port')") == "must be at most 65535"

    # the server's answer on its field: a taken name
    out = alice.run("again = datasource_form(type='sqlite').update({'name': 'shop', 'params.path': 'x.db'})\n"
                    "print(again.save())")
    assert ok(out) and out.stdout.strip() == "None"
    assert value(alice, "again.message('name')") == "this name is taken"
