"""PipelineClient against a real Jupyter server with the extension (one per module, in a
subprocess, its scheduler running): discovery through the runtime directory and through
JupyterHub's variables, no server reachable, typed results, every error as one
PipelineError, the Operation Center moving real rows, and the rich views' output."""

from __future__ import annotations

import os
import sqlite3
import time
import xml.dom.minidom
from datetime import date, timedelta

import pytest

from jupyter_offline_pipeline import PipelineClient, PipelineError
from jupyter_offline_pipeline.kernel.discovery import NO_SERVER, discover, runtime_servers
from jupyter_offline_pipeline.kernel.display import Diagnostics, InstanceList
from jupyter_offline_pipeline.service.schedule import RerunOnFailure, ScheduleConfig, WeekCycle
from pipeline_server import ORDERS, TOKENS, free_port, make_databases, running_server, runtime_file, sync_script

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_server(tmp_path_factory.mktemp("server")) as process:
        yield process


@pytest.fixture(scope="module")
def client(server) -> PipelineClient:
    """alice's client, found the way a kernel of this server finds it."""
    return PipelineClient(runtime_dir=str(server.runtime_dir))


@pytest.fixture(scope="module")
def bob(server) -> PipelineClient:
    return PipelineClient(server.url, TOKENS["bob"])


@pytest.fixture(scope="module")
def databases(server, client):
    shop, warehouse = make_databases(server.root)
    client.create_datasource("shop", "sqlite", {"path": str(shop)}, description="the orders")
    client.create_datasource("warehouse", url=f"sqlite:///{warehouse}")
    return shop, warehouse


@pytest.fixture(scope="module")
def published(client, databases) -> int:
    """A recurring task in production: the orders of each business date into the warehouse."""
    task = client.create_task("orders_daily", source="shop", target="warehouse", source_table="orders",
                              target_table="ods_orders", description="orders by business date")
    client.save_script(task.id, sync_script())
    result = client.submit(task.id, "the daily copy", confirm_warnings=True)  # others write ods_orders too
    assert result.status == "published", result
    return task.id


def warehouse_rows(databases, ds: str) -> int:
    with sqlite3.connect(databases[1]) as db:
        return db.execute("SELECT count(*) FROM ods_orders WHERE ds = ?", (ds,)).fetchone()[0]


# --- discovery ----------------------------------------------------------------------------------


def test_discovery_prefers_the_kernels_server_and_probes_each(server, tmp_path, monkeypatch):
    """The runtime directory lists a server that started the process (an ancestor), one
    whose root holds the working directory, and the real one: they are tried in that
    order, and the first that answers with the extension wins."""
    monkeypatch.chdir(tmp_path)
    runtime = tmp_path / "runtime"
    ancestor = runtime_file(runtime, os.getppid(), free_port(), root=tmp_path / "elsewhere")
    holds_cwd = runtime_file(runtime, os.getpid(), free_port(), root=tmp_path)
    real = next(server.runtime_dir.glob("jpserver-*.json"))
    (runtime / real.name).write_text(real.read_text())

    ranked = [s.found_by for s in runtime_servers(str(runtime))]
    assert list(dict.fromkeys(ranked)) == [ancestor.name, holds_cwd.name, real.name]
    found = discover(runtime_dir=str(runtime), environ={})
    assert found.found_by == real.name and found.token == TOKENS["alice"]
    assert found.url.endswith("/user/alice/")


def test_no_server_reachable_says_what_to_start(tmp_path):
    with pytest.raises(PipelineError) as nothing:
        discover(runtime_dir=str(tmp_path / "empty"), environ={})
    assert nothing.value.status is None
    assert str(nothing.value) == NO_SERVER.format(tried="")
    assert "start one with `jupyter lab`" in str(nothing.value)

    port = free_port()
    runtime_file(tmp_path / "stale", os.getpid(), port, root=tmp_path)  # listed, but nothing listens
    with pytest.raises(PipelineError) as closed:
        discover(runtime_dir=str(tmp_path / "stale"), environ={})
    assert f"tried http://127.0.0.1:{port}/ (unreachable" in str(closed.value)


def test_discovery_under_jupyterhub(server, tmp_path, monkeypatch, databases):
    """The single-user server's variables: the user's token and the server's own URL (a
    wildcard bind address), or only the prefix on the hub API's host."""
    hub = {"JUPYTERHUB_API_TOKEN": TOKENS["bob"], "JUPYTERHUB_SERVICE_PREFIX": "/user/alice/",
           "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{server.port}/user/alice/",
           "JUPYTERHUB_API_URL": "http://127.0.0.1:1/hub/api"}
    for name, value in hub.items():
        monkeypatch.setenv(name, value)
    as_bob = PipelineClient(runtime_dir=str(tmp_path))
    assert as_bob.server.found_by == "JupyterHub" and as_bob.url == server.url
    shop = next(d for d in as_bob.datasource_directory() if d.name == "shop")
    assert shop.owner == "alice" and shop.permissions == []  # bob's view: none of his

    monkeypatch.delenv("JUPYTERHUB_SERVICE_URL")
    monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{server.port}/hub/api")
    assert PipelineClient(runtime_dir=str(tmp_path)).url == server.url


def test_explicit_url_and_token(server, client):
    with pytest.raises(PipelineError) as refused:
        PipelineClient(server.url, "not-a-token").projects()
    assert refused.value.status == 403
    with pytest.raises(PipelineError) as down:
        PipelineClient(f"http://127.0.0.1:{free_port()}/").projects()
    assert down.value.status is None and "cannot reach the Jupyter server" in str(down.value)
    assert "openapi" in client.openapi() and client.schedule_schema()["title"] == "ScheduleConfig"


# --- tasks, with typed results and one kind of error ----------------------------------------------


def test_task_draft_schedule_and_validation(client, databases):
    task = client.create_task("orders_draft", source="shop", target="warehouse", source_table="orders",
                              target_table="ods_orders")
    assert (task.source_type, task.target_type, task.status) == ("sqlite", "sqlite", "draft")
    detail = client.task("orders_draft")
    assert isinstance(detail.schedule, ScheduleConfig) and detail.schedule.schedule.cycle.type == "day"
    assert '"amount"' in detail.script  # the template introspected the table

    config = client.schedule("orders_draft")
    config.schedule.cycle = WeekCycle(type="week", weekdays=[5, 1], time="02:30")
    saved = client.save_schedule("orders_draft", config)
    assert saved.schedule.cycle.weekdays == [1, 5]
    runs = client.preview_schedule(saved, 4)
    assert len(runs) == 4 and all(r.scheduled_time.isoweekday() in (1, 5) for r in runs)
    assert all(r.business_date == r.scheduled_time.date() - timedelta(days=1) for r in runs)

    with pytest.raises(PipelineError) as invalid:
        client.save_schedule("orders_draft", {"schedule": {"cycle": {"type": "minute", "every_minutes": 99}}})
    assert invalid.value.status == 400
    assert [i.field for i in invalid.value.issues] == ["schedule.cycle.every_minutes"]

    broken = sync_script().replace('"orders"', '"orderz"')
    diagnostics = client.validate(broken)
    assert isinstance(diagnostics, Diagnostics) and len(diagnostics.errors) == 1
    [error] = diagnostics.errors
    line = next(n for n, text in enumerate(broken.splitlines(), 1) if "orderz" in text)
    assert (error.line, error.pointer) == (line, "/steps/0/parameter/table/0")
    assert "orderz" in str(diagnostics) and "^" in str(diagnostics)
    assert client.validate(sync_script(), {"unused": "1"}) == []


def test_unknown_names_list_the_closest(client, databases):
    client.create_task("orders_hourly", source="shop", target="warehouse", schedule_type="manual")
    with pytest.raises(PipelineError) as unknown:
        client.task("orders_hourli")
    assert unknown.value.status == 404
    assert str(unknown.value).startswith("no task named 'orders_hourli' in project 'default'; "
                                         "did you mean 'orders_hourly'")
    with pytest.raises(PipelineError, match="project 'nowhere' does not exist"):
        client.tasks("nowhere")
    with pytest.raises(PipelineError, match="folder 'no/such' does not exist"):
        client.tasks(folder="no/such")


def test_submit_checks_lineage_and_publish(client, databases, published):
    missing = client.create_task("orders_nowhere", source="shop", target="warehouse")
    client.save_script(missing.id, sync_script(target_table="ods_missing"))
    failed = client.submit("orders_nowhere", "a target that does not exist")
    assert failed.status == "failed" and not failed.ok
    schema = next(c for c in failed.checks if c.name == "schema")
    assert schema.status == "fail" and "ods_missing" in schema.messages[0]
    assert schema.diagnostics[0].pointer == "/steps/1/parameter/table"
    assert [c.status for c in failed.checks][-2:] == ["skipped", "skipped"]

    project = client.create_project("dw", "dev_prod")
    folder = client.create_folder("ods", project="dw")
    task = client.create_task("orders_to_publish", source="shop", target="warehouse", folder="ods", project="dw")
    client.save_script("dw/orders_to_publish", sync_script())
    warned = client.submit("dw/orders_to_publish", "into the warehouse")  # orders_daily writes there too
    assert warned.status == "needs_confirmation" and not warned.ok
    assert next(c for c in warned.checks if c.name == "table_duplication").status == "warning"
    result = client.submit("dw/orders_to_publish", "into the warehouse", confirm_warnings=True)
    assert (result.status, result.version, result.ok) == ("submitted", 1, True)
    assert [t.name for t in client.tasks("dw", folder="ods")] == ["orders_to_publish"]
    assert client.tree("dw").find("ods").id == folder.id
    assert [p.task_name for p in client.to_publish("dw")] == ["orders_to_publish"]
    published = client.publish("dw/orders_to_publish")
    assert published[0].published_by == "alice" and not client.to_publish(project.id)
    assert "orders_to_publish" in [t.name for t in client.production_tasks("dw")]

    graph = client.lineage(task.id)
    assert graph.focus == ["shop:orders", "warehouse:ods_orders"]
    assert {(e.source, e.target) for e in graph.table_edges()} >= {("shop:orders", "warehouse:ods_orders")}
    assert graph.task_names[task.id] == "orders_to_publish"
    assert client.lineage(datasource="warehouse", table="ods_orders").edges
    assert [v.number for v in client.versions(task.id)] == [1]
    assert client.version(task.id, 1).schedule.schedule.cycle.type == "day"


def test_a_second_user_needs_permissions(client, bob, databases):
    with pytest.raises(PipelineError) as refused:
        bob.create_task("bobs_copy", source="shop", target="warehouse")
    assert refused.value.status == 400
    assert {i.field for i in refused.value.issues} == {"source_datasource", "target_datasource"}
    assert "you may not read data source 'shop'" in str(refused.value)

    client.create_task("alices_only", source="shop", target="warehouse", schedule_type="manual")
    with pytest.raises(PipelineError) as forbidden:
        bob.save_script("alices_only", sync_script())
    assert forbidden.value.status == 403 and "only alice (the owner)" in forbidden.value.message

    asked = bob.request_permission("shop", "read", "to copy the orders")
    assert client.decide(asked.id, grant=True).status == "granted"
    client.grant("warehouse", "bob", "write")
    assert {(g.user, g.permission) for g in client.grants("shop")} == {("bob", "read")}
    assert bob.create_task("bobs_copy", source="shop", target="warehouse").owner == "bob"
    client.revoke("warehouse", "bob", "write")


# --- the Operation Center ----------------------------------------------------------------------------


def test_run_now_wait_log_and_code(client, published, databases):
    seen = []
    instance = client.run(published, bizdate=date(2024, 1, 1))
    assert (instance.kind, instance.business_date, instance.triggered_by) == ("manual", date(2024, 1, 1), "alice")
    done = client.wait(instance.id, poll=0.3, timeout=120, on_update=lambda i: seen.append(i.state))
    assert done.state == "success", done.error
    assert seen[-1] == "success" and done.stat("records_written") == ORDERS
    assert warehouse_rows(databases, "20240101") == ORDERS

    log = client.log(done.id)
    assert log.finished and "Records written" in log.text and log.offset == log.size
    assert client.log(done.id, tail=3).text.count("\n") <= 3
    assert client.download_log(done.id) == log.text
    assert "".join(client.follow_log(done.id)) == log.text
    code = client.code(done.id)
    assert "${bizdate}" in code.script and "20240101" in code.resolved_script

    page = client.instances("orders_daily", state=["success"], kind="manual")
    assert isinstance(page, InstanceList) and page.total >= 1 and page[0].id == done.id
    frame = page.to_dataframe()
    assert frame.loc[0, "stats.records_written"] == ORDERS and frame.loc[0, "state"] == "success"
    assert client.instances(published, start="20240101", end="2024-01-01", limit=1).total >= 1


def test_rerun_kill_and_conflicts(client, published, databases):
    first = client.wait(client.run(published, bizdate="20240102").id, poll=0.3, timeout=120)
    again = client.rerun(first.id, force=True)
    assert [i.id for i in again] == [first.id] and again[0].attempt == first.attempt + 1
    assert client.wait(first.id, poll=0.3, timeout=120).state == "success"
    with pytest.raises(PipelineError) as finished:
        client.kill(first.id)
    assert finished.value.status == 409 and "only a waiting or running instance" in str(finished.value)

    with pytest.raises(PipelineError) as unknown:
        client.run(published, params={"nope": "1"})
    assert unknown.value.status == 400 and unknown.value.issues[0].field == "params.nope"


def test_a_failed_run_is_notified(client, databases):
    """A run whose preSql fails, without reruns: failed, with the reason, and notified."""
    task = client.create_task("orders_broken", source="shop", target="warehouse")
    client.save_script(task.id, sync_script(pre_sql="delete from no_such_table"))
    config = client.schedule(task.id)
    config.run.rerun_on_failure = RerunOnFailure(count=0)
    client.save_schedule(task.id, config)
    assert client.submit(task.id, "a broken preSql", confirm_warnings=True).ok
    before = client.notifications().last
    failed = client.wait(client.run(task.id, bizdate="20240103").id, poll=0.3, timeout=120)
    assert failed.state == "failed" and "no_such_table" in failed.error
    alerts = client.notifications(after=before)
    assert [(n.instance_id, n.state, n.task_name) for n in alerts] == [(failed.id, "failed", "orders_broken")]
    assert not client.notifications(after=alerts.last)


def test_backfill(client, published, databases):
    backfill = client.backfill("orders_daily", "20240110", date(2024, 1, 12), parallelism=2)
    assert (backfill.start, backfill.end, backfill.parallelism) == (date(2024, 1, 10), date(2024, 1, 12), 2)
    assert backfill.total == 3 and [t.name for t in backfill.tasks] == ["orders_daily"]
    deadline = time.monotonic() + 180
    while (state := client.get_backfill(backfill.id)).dates_done < 3:
        assert time.monotonic() < deadline, state
        time.sleep(0.5)
    assert state.counts == {"success": 3} and state.state in ("running", "finished")
    assert all(warehouse_rows(databases, f"2024011{d}") == ORDERS for d in (0, 1, 2))
    assert backfill.id in [b.id for b in client.backfills("orders_daily")]
    assert client.instances(backfill=backfill.id).total == 3
    with pytest.raises(PipelineError) as invalid:
        client.backfill("orders_daily", "20240105", "20240101")
    assert invalid.value.status == 400 and invalid.value.issues[0].field == "from"


# --- rich output --------------------------------------------------------------------------------


def test_every_view_has_html_and_text(client, published, databases):
    views = [client.datasources(), client.datasource("shop"), client.test_datasource("shop"), client.projects(),
             client.tree(), client.tasks(), client.task(published), client.versions(published),
             client.validate(sync_script().replace('"id"', '"idd"', 1)), client.lineage(published),
             client.preview_schedule(client.schedule(published), 3), client.production_tasks(),
             client.instances(published), client.backfills(), client.notifications(), client.grants("shop")]
    instance = client.instances(published, state="success", limit=1)[0]
    views += [client.instance(instance.id), client.log(instance.id, tail=5), client.code(instance.id)]
    for view in views:
        html, text = view._repr_html_(), str(view)
        assert html.startswith('<div class="jop">') and text.strip(), type(view)
        for svg in html.split("<svg")[1:]:  # every chart is well-formed SVG
            xml.dom.minidom.parseString("<svg" + svg.split("</svg>")[0] + "</svg>")
    lineage_html = client.lineage(published)._repr_html_()
    assert "<svg" in lineage_html and "warehouse:ods_orders" in lineage_html and "amount" in lineage_html
    timeline = client.instances(published)._repr_html_()
    assert timeline.count("<rect") >= 1 and "success" in timeline
    listed = str(client.tasks())
    assert listed.splitlines()[0].split()[:2] == ["id", "name"] and "orders_daily" in listed
